"""The catalog as data: a version as the YAML record of ``catalog/data/README.md``, the whole
published catalog exported to (and imported from) that format, and the .xlsx for the legal office.

The record is the single shape shared by export, the publish checks (which run the loader's own
validation on it) and the version diff, so what is checked is exactly what would be exported.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from auth.models import Unit
from catalog.loader import CatalogError, apply, validate
from catalog.models import (
    Bundle,
    BundleItem,
    BundleVersion,
    Category,
    ExternalDepartment,
    ItemStatus,
    ItemType,
    ItemVersion,
    ServiceItem,
    Situation,
    VersionState,
)
from core.db import db
from core.exports import Sheet, xlsx_bytes

ITEM_TYPE_NAMES = {
    ItemType.PERMIT: "行政许可",
    ItemType.CONFIRMATION: "行政确认",
    ItemType.PUBLIC_SERVICE: "公共服务",
    ItemType.OTHER: "其他",
}


def money(value: Decimal | None) -> int | float | None:
    """A fee as YAML writes it: ``20`` rather than ``20.00``; ``None`` stays ``None``."""
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def _when(condition: dict[str, list[str]] | None) -> dict[str, Any]:
    return {k: (v[0] if len(v) == 1 else list(v)) for k, v in (condition or {}).items()}


def version_record(v: ItemVersion, code: str, category_code: str) -> dict[str, Any]:
    """One version as an item record of the YAML format (keys in README order)."""
    rec: dict[str, Any] = {
        "code": code,
        "name": v.name,
        "aliases": list(v.aliases or []),
        "category": category_code,
        "item_type": ITEM_TYPE_NAMES[v.item_type],
        "unit_kind": v.unit_kind.value,
        "legal_basis": v.legal_basis,
        "conditions": v.conditions,
        "description": v.description,
        "legal_days": v.legal_days,
        "promised_days": v.promised_days,
        "day_kind": v.day_kind.value,
        "instant": bool(v.instant),
        "min_assurance": v.min_assurance or 1,
        "fee": money(v.fee) or 0,
        "fee_note": v.fee_note,
        "visits": v.visits,
        "visit_reason": v.visit_reason,
        "online_depth": v.online_depth,
        "delivery": list(v.delivery or []),
        "result_name": v.result_name,
        "e_certificate": bool(v.e_certificate),
        "proxy_allowed": bool(v.proxy_allowed),
        "counters": v.counters,
        "hours": v.hours,
        "phone": v.phone,
        "complaint_phone": v.complaint_phone,
        "popular": bool(v.popular),
        "faq": [{"q": f["q"], "a": f["a"]} for f in (v.faq or [])],
        "foreigner_facing": bool(v.foreigner_facing),
        **({"en": dict(v.english)} if v.english else {}),
        "situations": [
            {
                "key": s.key,
                "question": s.question,
                "options": [
                    {"value": o.value, "label": o.label}
                    | ({"fee": money(o.fee)} if o.fee is not None else {})
                    for o in s.options
                ],
            }
            for s in v.situations
        ],
        "documents": [],
        "fields": [],
    }
    for d in v.documents:
        doc: dict[str, Any] = {
            "name": d.name,
            "form": d.form.value,
            "copies": d.copies,
            "requirement": d.requirement.value,
            "source": d.source.value,
        }
        if d.issuer:
            doc["issuer"] = d.issuer
        doc["notes"] = d.notes
        doc["accept"] = list(d.accept or [])
        if d.condition:
            doc["when"] = _when(d.condition)
        if d.blank_form:
            doc["blank_form"] = d.blank_form
        if d.sample:
            doc["sample"] = d.sample
        rec["documents"].append(doc)
    for f in v.fields:
        fld: dict[str, Any] = {
            "key": f.key,
            "label": f.label,
            "type": f.type.value,
            "required": bool(f.required),
        }
        if f.options:
            fld["options"] = list(f.options)
        if f.help:
            fld["help"] = f.help
        if f.condition:
            fld["when"] = _when(f.condition)
        rec["fields"].append(fld)
    return rec


def _loaded_versions(states: tuple[VersionState, ...]):
    return db.session.execute(
        select(ItemVersion, ServiceItem.code, Category.code)
        .join(ServiceItem, ServiceItem.id == ItemVersion.item_id)
        .join(Category, Category.id == ItemVersion.category_id)
        .where(ItemVersion.state.in_(states), ServiceItem.status != ItemStatus.RETIRED)
        .options(
            selectinload(ItemVersion.documents),
            selectinload(ItemVersion.fields),
            selectinload(ItemVersion.situations).selectinload(Situation.options),
        )
        .order_by(ServiceItem.code)
    ).all()


def export_data() -> dict[str, list[dict[str, Any]]]:
    """The published catalog (units, items not retired, bundles with their published 一件事 flow, the
    external departments) as one YAML-shaped mapping."""
    units = []
    all_units = list(db.session.scalars(select(Unit).order_by(Unit.code)))
    codes = {u.id: u.code for u in all_units}
    for u in all_units:
        units.append(
            {
                "code": u.code,
                "name": u.name,
                "kind": u.kind.value,
                "district": u.district,
                "parent": codes.get(u.parent_id) if u.parent_id else None,
                "address": u.address,
                "phone": u.phone,
                "hours": u.hours,
            }
        )
    items = [version_record(v, code, cat) for v, code, cat in _loaded_versions((VersionState.PUBLISHED,))]
    live = {i["code"] for i in items}
    bundles = []
    flows = {
        bundle_id: definition
        for bundle_id, definition in db.session.execute(
            select(BundleVersion.bundle_id, BundleVersion.definition).where(
                BundleVersion.state == VersionState.PUBLISHED
            )
        )
    }
    for b in db.session.scalars(
        select(Bundle).options(selectinload(Bundle.items).selectinload(BundleItem.item)).order_by(Bundle.code)
    ):
        bundles.append(
            {
                "code": b.code,
                "name": b.name,
                "aliases": list(b.aliases or []),
                "description": b.description,
                "items": [bi.item.code for bi in b.items if bi.item.code in live],
                "partners": list(b.partners or []),
                **({"en": dict(b.english)} if b.english else {}),
                **({"flow": flows[b.id]} if b.id in flows else {}),
            }
        )
    departments = [
        {
            "code": d.code,
            "name": d.name,
            "contract": d.contract,
            **({"en": d.english_name} if d.english_name else {}),
        }
        for d in db.session.scalars(select(ExternalDepartment).order_by(ExternalDepartment.code))
    ]
    return {"units": units, "items": items, "bundles": bundles, "departments": departments}


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000, default_flow_style=False)


def export_yaml() -> str:
    """The whole catalog as one YAML file ``flask catalog load`` (and :func:`import_text`) accept."""
    header = "# 事项目录导出（格式见 catalog/data/README.md）\n"
    return header + dump_yaml(export_data())


def import_text(text: str, filename: str = "import.yaml"):
    """Validate (all or nothing) and upsert a YAML/JSON catalog file; raises :class:`CatalogError`.

    Loader semantics: an unchanged item keeps its version, a changed one gets a new published
    version, so applications stay pinned. The caller commits."""
    import json

    try:
        data = json.loads(text) if filename.endswith(".json") else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise CatalogError([f"{filename}: 无法解析：{exc}"]) from exc
    if not isinstance(data, dict) or not set(data) <= {"units", "items", "bundles", "departments"}:
        raise CatalogError([f"{filename}: 顶层必须是含 units / items / bundles / departments 的映射"])
    records = validate([(filename, data)])
    _adopt_exported_hashes(records["items"])
    return apply(records)


def _adopt_exported_hashes(items: list[dict[str, Any]]) -> None:
    """An item whose incoming record equals the export of its published version is unchanged.

    The loader compares a hash of the source record, and a version loaded from hand-written YAML
    was hashed in that file's spelling (omitted defaults, flow style). Record the hash of the
    exported spelling on such a version (metadata only) so re-importing an export does not mint
    new versions of unchanged items."""
    from catalog.loader import _canonical_hash

    incoming = {i["code"]: i["_hash"] for i in items}
    for v, code, category in _loaded_versions((VersionState.PUBLISHED,)):
        if (
            code in incoming
            and v.source_hash != incoming[code]
            and _canonical_hash(version_record(v, code, category)) == incoming[code]
        ):
            v.source_hash = incoming[code]
    db.session.flush()


XLSX_ITEM_COLUMNS = [
    ("code", "事项编码"),
    ("name", "事项名称"),
    ("category", "类别"),
    ("item_type", "事项类型"),
    ("unit_kind", "实施主体"),
    ("legal_basis", "设定依据"),
    ("conditions", "受理条件"),
    ("legal_days", "法定时限"),
    ("promised_days", "承诺时限"),
    ("day_kind", "计时方式"),
    ("instant", "即办件"),
    ("min_assurance", "账号要求"),
    ("fee", "收费标准（元）"),
    ("fee_note", "收费说明"),
    ("visits", "到现场次数"),
    ("visit_reason", "到现场原因"),
    ("online_depth", "网办深度"),
    ("delivery", "送达方式"),
    ("result_name", "办理结果"),
    ("e_certificate", "电子证照"),
    ("proxy_allowed", "可代办"),
    ("counters", "办理地点"),
    ("phone", "咨询电话"),
    ("complaint_phone", "投诉电话"),
]
XLSX_DOC_COLUMNS = [
    ("code", "事项编码"),
    ("item", "事项名称"),
    ("name", "材料名称"),
    ("form", "材料形式"),
    ("copies", "份数"),
    ("requirement", "必要性"),
    ("source", "来源"),
    ("issuer", "核发单位"),
    ("when", "适用情形"),
    ("notes", "备注"),
]


def export_xlsx() -> bytes:
    """An .xlsx for the legal office: sheet 事项 (one row per item) and sheet 申请材料.

    Written by :func:`core.exports.xlsx_bytes`: text a spreadsheet would run as a formula (an item
    named ``=HYPERLINK(…)``) is escaped and stored as a string, numbers stay numbers, 是/否 for flags.
    """
    from catalog.labels import label

    data = export_data()
    item_rows: list[list[Any]] = []
    doc_rows: list[list[Any]] = []
    for rec in data["items"]:
        row = []
        for key, _ in XLSX_ITEM_COLUMNS:
            value = rec[key]
            if key == "delivery":
                value = "、".join(str(label("delivery", d)) for d in value)
            elif key == "day_kind":
                value = str(label("day_kind", value))
            row.append(value)
        item_rows.append(row)
        for d in rec["documents"]:
            when = "；".join(
                f"{k}={'/'.join(v) if isinstance(v, list) else v}" for k, v in (d.get("when") or {}).items()
            )
            doc_rows.append(
                [
                    rec["code"],
                    rec["name"],
                    d["name"],
                    str(label("form", d["form"])),
                    d["copies"],
                    str(label("requirement", d["requirement"])),
                    str(label("source", d["source"])),
                    d.get("issuer", ""),
                    when,
                    d["notes"],
                ]
            )
    return xlsx_bytes(
        [
            Sheet("事项", [t for _, t in XLSX_ITEM_COLUMNS], item_rows, fit_columns=True, wrap=True),
            Sheet("申请材料", [t for _, t in XLSX_DOC_COLUMNS], doc_rows, fit_columns=True, wrap=True),
        ]
    )


__all__ = ["CatalogError", "export_data", "export_xlsx", "export_yaml", "import_text", "version_record"]
