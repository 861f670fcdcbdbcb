"""The exchange with other departments, wired into the app: the signed callback
(``POST /api/v1/exchange/<department>/callback``), the contracts page (``/exchange/contracts``), the
department directory the outbox worker uses, and the ``flask exchange`` commands.

The callback is machine to machine: no session, no cookie, so it is CSRF-exempt; the department proves
itself with ``X-Signature`` over ``X-Timestamp`` and the raw body, checked before the body is read
(:func:`authenticate`). Refusals: an unknown or inactive department, a timestamp outside
``EXCHANGE_CALLBACK_WINDOW`` or a wrong signature → 401; a message id that is not one of this
department's hand-offs → 404 (another department's message is answered the same, so nothing is
learnt about it); a body that is not the contract → 422 naming the field. Nothing changes on a refusal.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Flask, current_app, g, render_template, request
from flask_babel import gettext as _

from applications.bundles import callbacks, contracts, gateway
from core import api
from core.db import utcnow
from core.extensions import csrf
from core.transaction import transaction

api_bp = Blueprint("exchange_api", __name__, url_prefix=api.API_PREFIX + "/exchange")
bp = Blueprint("exchange", __name__)

CALLBACK_LIMIT = "300 per minute"


def authenticate(department: str, **_kwargs: object) -> None:
    """Refuse (401) unless the request is signed by the active department ``department`` with a
    timestamp inside the window. Keeps the department on ``g.exchange_department``."""
    found = gateway.find(department)
    if found is None:
        raise api.ApiError(401, "unauthorized", _("未知的部门或部门已停用"), "department")
    stamp = (request.headers.get("X-Timestamp") or "").strip()
    if not stamp.isdigit() or len(stamp) > 12:
        raise api.ApiError(401, "unauthorized", _("缺少 X-Timestamp（Unix 秒数）"), "X-Timestamp")
    window = int(current_app.config.get("EXCHANGE_CALLBACK_WINDOW") or 300)
    skew = abs(utcnow().timestamp() - int(stamp))
    if skew > window:
        raise api.ApiError(
            401,
            "unauthorized",
            _("X-Timestamp 与本系统时间相差超过 %(n)s 秒（%(at)s UTC）", n=window, at=_utc(utcnow())),
            "X-Timestamp",
        )
    raw = request.get_data(cache=True)
    if not gateway.verify(found, stamp, raw, request.headers.get("X-Signature") or ""):
        raise api.ApiError(
            401,
            "unauthorized",
            _("签名无效：请用本部门的密钥对“时间戳.请求体”计算 HMAC-SHA256"),
            "X-Signature",
        )
    g.exchange_department = found


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@api_bp.route("/<department>/callback", methods=["POST"])
@csrf.exempt  # machine to machine: no cookie authority; the department's signature is the credential
@api.operation(
    summary="协办部门回执一件事的推送",
    description=(
        "协办部门报告一件事推送（message_id）的进展：received 已接收、done 已办结（带契约规定的 result）、"
        "returned 退回（note 写明原因）。须带 X-Timestamp（Unix 秒数，与本系统时间相差不超过 5 分钟）和 "
        "X-Signature（以本部门密钥对“时间戳.原始请求体”计算的 HMAC-SHA256，十六进制）。重复回执不重复"
        "处理；已结束的步骤不再改变。契约见 /exchange/contracts。"
    ),
    tags=("exchange",),
    body=contracts.CallbackBody,
    body_status=422,
    response=contracts.CallbackOut,
    errors=(401, 404),
    public=False,
    limit=CALLBACK_LIMIT,
    authenticate=authenticate,
    path_params={"department": ("协办部门代码", "ybj")},
)
def callback(department: str, body: contracts.CallbackBody):
    found = g.exchange_department
    with transaction():
        try:
            outcome = callbacks.apply(found, body)
        except callbacks.UnknownMessage:
            raise api.ApiError(
                404, "not_found", _("本部门没有编号为 %(id)s 的推送", id=body.message_id), "message_id"
            ) from None
        except contracts.ResultProblem as problem:
            raise api.ApiError(422, "invalid", problem.message, problem.field) from None
        answer = contracts.CallbackOut(
            message_id=body.message_id, status=callbacks.current_status(outcome.part), changed=outcome.changed
        )
    return answer


@bp.route("/exchange/contracts")
def contracts_page():
    """The documented contracts, for the departments' developers (public: nothing personal)."""
    return render_template(
        "bundles/exchange_contracts.html",
        contracts=contracts.documentation(),
        callback_fields=contracts.fields_of(contracts.CallbackBody),
        envelope_fields=contracts.fields_of(contracts.Envelope),
        window=int(current_app.config.get("EXCHANGE_CALLBACK_WINDOW") or 300),
    )


def init_exchange(app: Flask) -> None:
    """Register the callback, the contracts page, the department directory and ``flask exchange``."""
    from applications.bundles.cli import register_cli

    app.extensions["exchange_directory"] = gateway.directory
    app.register_blueprint(api_bp)
    app.register_blueprint(bp)
    register_cli(app)
