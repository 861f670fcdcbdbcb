"""The JSON contract with each department a 一件事 hands a step to (``ExternalDepartment.contract``).

Outgoing (portal → department): ``POST <endpoint_url>`` with an :class:`Envelope` body — the same for
every contract — whose ``data`` is the contract's data model (built from the step's ``payload_map``).
Headers: ``Idempotency-Key`` (``outbox:<id>``; a redelivery after a crash carries the same key and must
be answered 2xx without acting twice), ``X-Timestamp`` (Unix seconds), ``X-Signature`` (hex
HMAC-SHA256 of ``<timestamp>.<raw body>`` under the department's secret, see
:mod:`applications.bundles.gateway`). Any 2xx answer means "accepted"; anything else is retried with
backoff (30 s, 1 min … 1 h, 8 attempts; then an operator requeues).

Incoming (department → portal): ``POST /api/v1/exchange/<department>/callback`` with a
:class:`CallbackBody`, signed the same way with the same secret; the timestamp must be within
``EXCHANGE_CALLBACK_WINDOW`` seconds (5 min) of the portal's clock. ``status`` is ``received``
(已接收), ``done`` (已办结, with the contract's ``result`` fields) or ``returned`` (退回, with a
``note`` saying why). Repeating a callback changes nothing; a status after the step ended is ignored.

Served to the departments as a page (``/exchange/contracts``) and in the API document (the callback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MESSAGE_ID = r"^handoff:[1-9][0-9]{0,17}$"
#: a department's number for what it issued: letters, digits and - / only
RESULT_NUMBER = r"^[A-Za-z0-9][A-Za-z0-9/\-]{3,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- outgoing ---------------------------------------------------------------------------------------


class BirthVaccinationData(_Strict):
    """birth-vaccination-v1 · 卫健（wsjk）：预防接种证建档。"""

    baby_name: str = Field(min_length=1, max_length=50, description="新生儿姓名")
    birth_date: str = Field(description="出生日期 YYYY-MM-DD", examples=["2026-11-20"])
    hospital: str | None = Field(None, max_length=100, description="出生医院")
    mobile: str = Field(description="父母联系电话（11 位手机号）", examples=["13800000000"])


class BirthInsuranceData(_Strict):
    """birth-insurance-v1 · 医保（ybj）：城乡居民医保参保登记（出生登记办结后推送）。"""

    baby_name: str = Field(min_length=1, max_length=50, description="新生儿姓名")
    birth_date: str = Field(description="出生日期 YYYY-MM-DD")
    hukou_reference: str = Field(min_length=1, max_length=40, description="出生登记（户口）的办件编号")
    mobile: str = Field(description="父母联系电话")


class SocialSecurityCardData(_Strict):
    """sscard-v1 · 人力社保（rsj）：社会保障卡申领（出生登记与医保参保都办结后推送）。"""

    baby_name: str = Field(min_length=1, max_length=50, description="新生儿姓名")
    hukou_reference: str = Field(min_length=1, max_length=40, description="出生登记（户口）的办件编号")
    insurance_number: str = Field(min_length=1, max_length=40, description="医保参保号（医保回执的结果）")
    mail_address: str | dict[str, Any] | None = Field(None, description="社保卡邮寄地址")
    mobile: str = Field(description="联系电话")


class VehicleTaxData(_Strict):
    """vehicle-tax-v1 · 税务（tax）：车辆购置税申报缴纳。"""

    vin: str = Field(min_length=1, max_length=17, description="车辆识别代号（车架号）")
    price: str = Field(min_length=1, max_length=20, description="购车发票价格（元）")
    mobile: str = Field(description="车主联系电话")


class Envelope(_Strict):
    """Every outgoing message (``data`` as the contract says)."""

    message_id: str = Field(
        pattern=MESSAGE_ID, description="本次推送的编号，回执时原样带回", examples=["handoff:42"]
    )
    contract: str = Field(description="契约名称及版本", examples=["birth-insurance-v1"])
    department: str = Field(description="接收部门代码", examples=["ybj"])
    bundle_reference: str | None = Field(description="一件事的办件编号")
    step: str = Field(description="一件事中的步骤")
    step_name: str = Field(description="步骤名称")
    sent_at: str = Field(description="推送生成时间（UTC，ISO 8601）")
    data: dict[str, Any] = Field(description="契约规定的业务数据")


# -- results (in a ``done`` callback) ---------------------------------------------------------------


class VaccinationResult(_Strict):
    vaccination_cert_no: str = Field(pattern=RESULT_NUMBER, description="预防接种证编号")


class InsuranceResult(_Strict):
    insurance_number: str = Field(pattern=RESULT_NUMBER, description="医保参保号")


class CardResult(_Strict):
    card_no: str = Field(pattern=RESULT_NUMBER, description="社会保障卡卡号")


class TaxResult(_Strict):
    tax_certificate_no: str = Field(pattern=RESULT_NUMBER, description="车辆购置税完税证明号")


@dataclass(frozen=True)
class Contract:
    name: str
    department: str
    title: str
    data: type[BaseModel]
    result: type[BaseModel]
    #: a plausible result (the development simulator answers with numbers shaped like these)
    result_prefix: str


CONTRACTS: dict[str, Contract] = {
    c.name: c
    for c in (
        Contract(
            "birth-vaccination-v1", "wsjk", "预防接种证建档", BirthVaccinationData, VaccinationResult, "YJ"
        ),
        Contract(
            "birth-insurance-v1", "ybj", "城乡居民医保参保登记", BirthInsuranceData, InsuranceResult, "YB"
        ),
        Contract("sscard-v1", "rsj", "社会保障卡申领", SocialSecurityCardData, CardResult, "SB"),
        Contract("vehicle-tax-v1", "tax", "车辆购置税申报缴纳", VehicleTaxData, TaxResult, "WS"),
    )
}


# -- incoming ---------------------------------------------------------------------------------------


class CallbackBody(_Strict):
    """A department's report on one message (``POST /api/v1/exchange/<department>/callback``)."""

    model_config = ConfigDict(
        extra="forbid",
        title="ExchangeCallback",
        json_schema_extra={
            "examples": [
                {
                    "message_id": "handoff:42",
                    "status": "done",
                    "external_ref": "YB2026120600017",
                    "result": {"insurance_number": "YB-3301-0042"},
                    "note": "",
                }
            ]
        },
    )

    message_id: str = Field(pattern=MESSAGE_ID, description="推送时的 message_id", examples=["handoff:42"])
    status: Literal["received", "done", "returned"] = Field(
        description="received 已接收 · done 已办结（带 result）· returned 退回（note 写明原因）"
    )
    external_ref: str | None = Field(None, max_length=64, description="部门自己的受理编号")
    result: dict[str, str] | None = Field(
        None,
        description=(
            "办结结果（status 为 done 时必填）：birth-vaccination-v1 为 vaccination_cert_no，"
            "birth-insurance-v1 为 insurance_number，sscard-v1 为 card_no，"
            "vehicle-tax-v1 为 tax_certificate_no"
        ),
    )
    note: str = Field("", max_length=300, description="说明；退回时必填")


class CallbackOut(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        title="ExchangeCallbackAnswer",
        json_schema_extra={"examples": [{"message_id": "handoff:42", "status": "done", "changed": True}]},
    )

    message_id: str = Field(description="回执所指的推送")
    status: Literal["pushed", "received", "done", "returned", "cancelled"] = Field(
        description="这一步现在的状态（重复或过时的回执不改变它）"
    )
    changed: bool = Field(description="这次回执是否改变了状态")


class ResultProblem(ValueError):
    """A ``done`` callback whose result is not what the contract says; ``field`` names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def check_result(contract_name: str, body: CallbackBody) -> dict[str, str]:
    """The result of a callback checked against the contract: for ``done`` the contract's result
    fields, nothing else; for the other statuses the result must be absent or empty, and ``returned``
    needs a note. Raises :class:`ResultProblem`."""
    if body.status == "returned" and not body.note.strip():
        raise ResultProblem("note", _("退回时请在 note 中写明原因"))
    if body.status != "done":
        if body.result:
            raise ResultProblem("result", _("只有 status 为 done 时才带 result"))
        return {}
    contract = CONTRACTS.get(contract_name)
    if contract is None:  # a department without a documented contract: keep what it sent
        return dict(body.result or {})
    try:
        checked = contract.result.model_validate(body.result or {})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = ".".join(str(p) for p in first.get("loc") or ()) or "result"
        fields = "、".join(contract.result.model_fields)
        if first["type"] == "missing":
            message = _("%(contract)s 办结时 result 须包含 %(fields)s", contract=contract.name, fields=fields)
        elif first["type"] == "extra_forbidden":
            message = _(
                "%(contract)s 的 result 只有 %(fields)s，没有 %(name)s",
                contract=contract.name,
                fields=fields,
                name=name,
            )
        else:
            message = _("result.%(name)s 格式不对（字母、数字、- 或 /，4 至 40 位）", name=name)
        raise ResultProblem(f"result.{name}", message) from None
    return checked.model_dump()


def data_problems(contract_name: str, data: dict[str, Any]) -> list[str]:
    """What is wrong with an outgoing message's ``data`` for its contract (empty: fine)."""
    contract = CONTRACTS.get(contract_name)
    if contract is None:
        return [f"unknown contract {contract_name!r}"]
    try:
        contract.data.model_validate(data)
    except ValidationError as exc:
        return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)]
    return []


def unmapped_fields(contract_name: str, payload_keys: set[str]) -> list[str]:
    """The contract's required data fields a step's ``payload_map`` does not fill, and the keys it
    maps that the contract does not know (for the catalog editor's publish checks)."""
    contract = CONTRACTS.get(contract_name)
    if contract is None:
        return []
    fields = contract.data.model_fields
    missing = [
        _("缺少 %(name)s", name=name)
        for name, info in fields.items()
        if info.is_required() and name not in payload_keys
    ]
    unknown = [_("契约没有 %(name)s", name=key) for key in sorted(payload_keys - set(fields))]
    return missing + unknown


def documentation() -> list[dict[str, Any]]:
    """Each contract with its data and result schemas (for the contracts page)."""
    out = []
    for contract in CONTRACTS.values():
        out.append(
            {
                "name": contract.name,
                "department": contract.department,
                "title": contract.title,
                "data": fields_of(contract.data),
                "result": fields_of(contract.result),
            }
        )
    return out


def fields_of(model: type[BaseModel]) -> list[dict[str, Any]]:
    return [
        {"name": name, "required": info.is_required(), "description": info.description or ""}
        for name, info in model.model_fields.items()
    ]
