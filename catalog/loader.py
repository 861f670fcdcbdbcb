"""Load the catalog from YAML/JSON files (``flask catalog load PATH``).

Validation is all-or-nothing: every file is parsed and checked first, and a single problem loads
nothing; each message names the file, the item and the field. Loading is an idempotent upsert by
code: an item whose content is unchanged keeps its version, a changed item gets a new published
version (the old one is kept, superseded), so applications stay pinned to what they were filed under.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from flask import has_app_context
from sqlalchemy import select

from auth.models import Unit, UnitKind
from catalog import bundle_spec, english
from catalog.models import (
    Bundle,
    BundleItem,
    BundleVersion,
    Category,
    DayKind,
    Delivery,
    DocForm,
    DocSource,
    DocumentRequirement,
    ExternalDepartment,
    FieldType,
    FormField,
    ItemStatus,
    ItemType,
    ItemVersion,
    Requirement,
    ServiceItem,
    Situation,
    SituationOption,
    VersionState,
)
from catalog.search import build_entry, search_text
from core import audit
from core.db import db, utcnow
from core.i18n import N_

CATEGORIES = [  # names and descriptions marked for the English catalogue (shown through gettext)
    ("huji", N_("户籍"), N_("身份证、户口登记与迁移、户籍类证明"), "bi-people", 1),
    ("vehicle", N_("车驾管"), N_("机动车登记、驾驶证、年检与交通违法处理"), "bi-car-front", 2),
    ("exit_entry", N_("出入境"), N_("护照、港澳台通行证与签注、外国人服务"), "bi-airplane", 3),
    ("public_order", N_("治安管理"), N_("特种行业与治安许可、犬只和电动自行车登记"), "bi-shield-check", 4),
]
CATEGORY_CODES = {c[0] for c in CATEGORIES}

ITEM_TYPES = {
    "行政许可": ItemType.PERMIT,
    "行政确认": ItemType.CONFIRMATION,
    "公共服务": ItemType.PUBLIC_SERVICE,
    "其他": ItemType.OTHER,
    **{t.value: t for t in ItemType},
}
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class CatalogError(ValueError):
    """The catalog files are invalid; ``problems`` lists every message."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class LoadResult:
    units: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    items: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    bundles: dict[str, int] = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})

    @property
    def changed(self) -> bool:
        return any(d["created"] or d["updated"] for d in (self.units, self.items, self.bundles))


# Reading ----------------------------------------------------------------------------------------


def read_files(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """Parse every ``*.yaml``/``*.yml``/``*.json`` file of a folder (or one file)."""
    root = Path(path)
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix in {".yaml", ".yml", ".json"})
    elif root.exists():
        files = [root]
    else:
        raise CatalogError([f"{root}: 文件或目录不存在"])
    out, problems = [], []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
            data = json.loads(text) if f.suffix == ".json" else yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
            problems.append(f"{f.name}: 无法解析：{exc}")
            continue
        if data is None:
            continue
        if not isinstance(data, dict) or not set(data) <= {"units", "items", "bundles", "departments"}:
            problems.append(f"{f.name}: 顶层必须是含 units / items / bundles / departments 的映射")
            continue
        out.append((f.name, data))
    if problems:
        raise CatalogError(problems)
    return out


# Validation -------------------------------------------------------------------------------------


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, field_name: str, message: str) -> None:
        self.problems.append(f"{where}: 字段 {field_name}: {message}")

    def text(self, where: str, d: dict, key: str, *, required: bool = True, max_len: int = 10000) -> str:
        value = d.get(key)
        if value is None or value == "":
            if required:
                self.fail(where, key, "必填")
            return ""
        if not isinstance(value, str | int | float):
            self.fail(where, key, "应为文本")
            return ""
        value = str(value).strip()
        if len(value) > max_len:
            self.fail(where, key, f"不能超过{max_len}个字符")
        return value

    def integer(self, where: str, d: dict, key: str, lo: int, hi: int, default: int | None = None) -> int:
        value = d.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, key, "应为整数")
            return lo
        if not lo <= value <= hi:
            self.fail(where, key, f"应在 {lo} 到 {hi} 之间")
        return value

    def boolean(self, where: str, d: dict, key: str, default: bool = False) -> bool:
        value = d.get(key, default)
        if not isinstance(value, bool):
            self.fail(where, key, "应为 true 或 false")
            return default
        return value

    def choice(self, where: str, d: dict, key: str, allowed: dict | set, default: Any = None) -> Any:
        value = d.get(key, default)
        if value not in allowed:
            self.fail(where, key, f"取值 {value!r} 无效，可选：{'、'.join(map(str, allowed))}")
            return None
        return allowed[value] if isinstance(allowed, dict) else value

    def str_list(self, where: str, d: dict, key: str) -> list[str]:
        value = d.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.fail(where, key, "应为文本列表")
            return []
        return [str(v).strip() for v in value if str(v).strip()]

    def money(self, where: str, value: Any, key: str) -> Decimal:
        try:
            amount = Decimal(str(value))
        except (InvalidOperation, ValueError):
            self.fail(where, key, "应为金额（元）")
            return Decimal("0")
        if amount < 0 or amount > Decimal("1000000"):
            self.fail(where, key, "金额应在 0 到 1000000 元之间")
        return amount.quantize(Decimal("0.01"))


def _condition(chk: _Checker, where: str, raw: Any, situations: dict[str, set[str]]) -> dict[str, list[str]]:
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        chk.fail(where, "when", "应为 情形键: 选项值 的映射")
        return {}
    out: dict[str, list[str]] = {}
    for key, values in raw.items():
        values = values if isinstance(values, list) else [values]
        values = [str(v) for v in values]
        if key not in situations:
            chk.fail(where, "when", f"引用了不存在的情形 {key!r}")
            continue
        unknown = [v for v in values if v not in situations[key]]
        if unknown:
            chk.fail(where, "when", f"情形 {key!r} 没有选项 {'、'.join(unknown)}")
        out[str(key)] = values
    return out


def _canonical_hash(data: Any) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def validate(files: list[tuple[str, dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Check every unit, item and bundle; return normalised records or raise :class:`CatalogError`."""
    chk = _Checker()
    units: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    bundles: list[dict[str, Any]] = []
    departments: list[dict[str, Any]] = []
    for fname, data in files:
        for raw in data.get("departments") or []:
            departments.append(_validate_department(chk, fname, raw))
        for raw in data.get("units") or []:
            units.append(_validate_unit(chk, fname, raw))
        for raw in data.get("items") or []:
            items.append(_validate_item(chk, fname, raw))
        for raw in data.get("bundles") or []:
            bundles.append(_validate_bundle(chk, fname, raw))
    _cross_checks(chk, units, items, bundles)
    _flow_checks(chk, items, bundles, departments)
    if chk.problems:
        raise CatalogError(chk.problems)
    return {"units": units, "items": items, "bundles": bundles, "departments": departments}


def _validate_department(chk: _Checker, fname: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        chk.problems.append(f"{fname}: 协办部门条目应为映射")
        return {}
    where = f"{fname}: 协办部门 {raw.get('code', '?')}"
    code = chk.text(where, raw, "code", max_len=40)
    if code and not bundle_spec.is_key(code):
        chk.fail(where, "code", "编码只能用小写字母、数字和下划线，并以字母开头")
    return {
        "_where": where,
        "code": code,
        "name": chk.text(where, raw, "name", max_len=100),
        "contract": chk.text(where, raw, "contract", required=False, max_len=40),
        "english_name": chk.text(where, raw, "en", required=False, max_len=200),
    }


def _flow_checks(chk: _Checker, items: list[dict], bundles: list[dict], departments: list[dict]) -> None:
    """A bundle's ``flow`` must be a usable definition that fits the items as the files describe them
    (or as the database holds them, for items not in the files) and name known departments."""
    by_code = {i.get("code"): i for i in items}
    known_departments = {d.get("code") for d in departments}
    if has_app_context():
        known_departments |= set(db.session.scalars(select(ExternalDepartment.code)))

    def facts(code: str) -> bundle_spec.ItemFacts | None:
        rec = by_code.get(code)
        if rec is None:
            if not has_app_context():
                return None
            from catalog.queries import item_facts

            return item_facts(code)
        return bundle_spec.ItemFacts(
            code=code,
            name=rec.get("name", ""),
            active=rec.get("status", "active") == "active",
            fields=frozenset(f["key"] for f in rec.get("fields", [])),
            situations={
                s["key"]: frozenset(o["value"] for o in s["options"]) for s in rec.get("situations", [])
            },
            documents=frozenset(d["name"] for d in rec.get("documents", [])),
            delivery=tuple(rec.get("delivery") or ()),
        )

    for b in bundles:
        if b.get("flow") is None:
            continue
        try:
            defn = bundle_spec.parse(b["flow"])
        except bundle_spec.DefinitionError as exc:
            for problem in exc.problems:
                chk.fail(b["_where"], "flow", problem)
            continue
        for problem in bundle_spec.catalog_problems(defn, facts):
            chk.fail(b["_where"], "flow", problem)
        for step in defn.handoff_steps:
            if step.department not in known_departments:
                chk.fail(b["_where"], "flow", f"步骤“{step.name}”的协办部门 {step.department} 不存在")
        missing = [s.item for s in defn.item_steps if s.item not in b.get("items", [])]
        if missing:
            chk.fail(b["_where"], "flow", f"步骤中的事项 {'、'.join(missing)} 须列入 items")


def _validate_unit(chk: _Checker, fname: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        chk.problems.append(f"{fname}: 单位条目应为映射")
        return {}
    where = f"{fname}: 单位 {raw.get('code', '?')}"
    return {
        "_where": where,
        "code": chk.text(where, raw, "code", max_len=32),
        "name": chk.text(where, raw, "name", max_len=100),
        "kind": chk.choice(where, raw, "kind", {k.value: k for k in UnitKind}),
        "district": chk.text(where, raw, "district", required=False, max_len=32) or None,
        "parent": chk.text(where, raw, "parent", required=False, max_len=32) or None,
        "address": chk.text(where, raw, "address", required=False, max_len=200) or None,
        "phone": chk.text(where, raw, "phone", required=False, max_len=32) or None,
        "hours": chk.text(where, raw, "hours", required=False, max_len=200) or None,
    }


def _validate_item(chk: _Checker, fname: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        chk.problems.append(f"{fname}: 事项条目应为映射")
        return {}
    where = f"{fname}: 事项 {raw.get('code', '?')}"
    item: dict[str, Any] = {"_where": where, "_hash": _canonical_hash(raw)}
    item["code"] = chk.text(where, raw, "code", max_len=40)
    item["name"] = chk.text(where, raw, "name", max_len=100)
    item["aliases"] = chk.str_list(where, raw, "aliases")
    item["category"] = chk.choice(where, raw, "category", CATEGORY_CODES)
    item["item_type"] = chk.choice(where, raw, "item_type", ITEM_TYPES)
    item["unit_kind"] = chk.choice(where, raw, "unit_kind", {k.value: k for k in UnitKind})
    item["legal_basis"] = chk.text(where, raw, "legal_basis")
    item["conditions"] = chk.text(where, raw, "conditions", required=False)
    item["description"] = chk.text(where, raw, "description", required=False)
    item["legal_days"] = chk.integer(where, raw, "legal_days", 0, 365)
    item["promised_days"] = chk.integer(where, raw, "promised_days", 0, 365)
    item["day_kind"] = chk.choice(where, raw, "day_kind", {k.value: k for k in DayKind}, "working")
    item["instant"] = chk.boolean(where, raw, "instant")
    item["min_assurance"] = chk.integer(where, raw, "min_assurance", 1, 2, default=1)
    item["fee"] = chk.money(where, raw.get("fee", 0), "fee")
    item["fee_note"] = chk.text(where, raw, "fee_note", required=False, max_len=200)
    item["visits"] = chk.integer(where, raw, "visits", 0, 2)
    item["visit_reason"] = chk.text(where, raw, "visit_reason", required=False, max_len=200)
    item["online_depth"] = chk.integer(where, raw, "online_depth", 1, 5)
    delivery = chk.str_list(where, raw, "delivery")
    bad = [d for d in delivery if d not in {x.value for x in Delivery}]
    if bad:
        chk.fail(where, "delivery", f"未知的送达方式 {'、'.join(bad)}")
    item["delivery"] = delivery
    item["result_name"] = chk.text(where, raw, "result_name", required=False, max_len=100)
    item["e_certificate"] = chk.boolean(where, raw, "e_certificate")
    item["proxy_allowed"] = chk.boolean(where, raw, "proxy_allowed")
    for key, max_len in (("counters", 300), ("hours", 200), ("phone", 40), ("complaint_phone", 40)):
        item[key] = chk.text(where, raw, key, required=False, max_len=max_len)
    item["popular"] = chk.boolean(where, raw, "popular")
    faq = raw.get("faq") or []
    if not isinstance(faq, list) or not all(isinstance(f, dict) and f.get("q") and f.get("a") for f in faq):
        chk.fail(where, "faq", "应为 q / a 列表")
        faq = []
    item["faq"] = [{"q": str(f["q"]), "a": str(f["a"])} for f in faq]
    item["foreigner_facing"] = chk.boolean(where, raw, "foreigner_facing")
    item["english"], en_problems = english.validate(raw.get("en"))
    for problem in en_problems:
        chk.fail(where, "en", problem)

    # Situations first: documents and fields refer to them.
    situations: list[dict[str, Any]] = []
    options_by_key: dict[str, set[str]] = {}
    for s_raw in raw.get("situations") or []:
        s_where = f"{where} 情形 {s_raw.get('key', '?') if isinstance(s_raw, dict) else '?'}"
        if not isinstance(s_raw, dict):
            chk.fail(where, "situations", "每个情形应为映射")
            continue
        key = chk.text(s_where, s_raw, "key", max_len=40)
        if key and not _KEY.match(key):
            chk.fail(s_where, "key", "只能由小写字母、数字和下划线组成")
        if key in options_by_key:
            chk.fail(s_where, "key", "情形键重复")
        opts = []
        for o in s_raw.get("options") or []:
            if not isinstance(o, dict) or not o.get("value") or not o.get("label"):
                chk.fail(s_where, "options", "每个选项需要 value 和 label")
                continue
            # the columns' lengths: a longer value would fail at INSERT (on PostgreSQL) instead of here
            if len(str(o["value"])) > 40:
                chk.fail(s_where, "options.value", "不能超过40个字符")
            if len(str(o["label"])) > 100:
                chk.fail(s_where, "options.label", "不能超过100个字符")
            fee = o.get("fee")
            opts.append(
                {
                    "value": str(o["value"]),
                    "label": str(o["label"]),
                    "fee": None if fee is None else chk.money(s_where, fee, "options.fee"),
                }
            )
        if len(opts) < 2:
            chk.fail(s_where, "options", "至少需要两个选项")
        if len({o["value"] for o in opts}) != len(opts):
            chk.fail(s_where, "options", "选项值重复")
        options_by_key[key] = {o["value"] for o in opts}
        situations.append(
            {"key": key, "question": chk.text(s_where, s_raw, "question", max_len=200), "options": opts}
        )
    item["situations"] = situations

    documents = []
    for n, d_raw in enumerate(raw.get("documents") or [], 1):
        d_where = f"{where} 材料{n}"
        if not isinstance(d_raw, dict):
            chk.fail(where, "documents", "每份材料应为映射")
            continue
        d_where = f"{where} 材料「{d_raw.get('name', n)}」"
        doc = {
            "name": chk.text(d_where, d_raw, "name", max_len=100),
            "form": chk.choice(d_where, d_raw, "form", {k.value: k for k in DocForm}),
            "copies": chk.integer(d_where, d_raw, "copies", 0, 20, 1),
            "requirement": chk.choice(
                d_where, d_raw, "requirement", {k.value: k for k in Requirement}, "required"
            ),
            "source": chk.choice(d_where, d_raw, "source", {k.value: k for k in DocSource}, "applicant"),
            "issuer": chk.text(d_where, d_raw, "issuer", required=False, max_len=100),
            "notes": chk.text(d_where, d_raw, "notes", required=False),
            "accept": chk.str_list(d_where, d_raw, "accept") or ["jpg", "png", "pdf"],
            "condition": _condition(chk, d_where, d_raw.get("when"), options_by_key),
            "blank_form": chk.text(d_where, d_raw, "blank_form", required=False, max_len=200) or None,
            "sample": chk.text(d_where, d_raw, "sample", required=False, max_len=200) or None,
        }
        bad = [a for a in doc["accept"] if a not in {"jpg", "png", "pdf"}]
        if bad:
            chk.fail(d_where, "accept", f"不支持的文件类型 {'、'.join(bad)}（仅 jpg / png / pdf）")
        if doc["source"] == DocSource.GOVERNMENT and not doc["issuer"]:
            chk.fail(d_where, "issuer", "由政府部门核发的材料须写明核发单位")
        documents.append(doc)
    if not documents:
        chk.fail(where, "documents", "至少需要一份申请材料")
    elif all(d["condition"] for d in documents):
        chk.fail(where, "documents", "至少需要一份不依赖情形的材料")
    item["documents"] = documents

    fields = []
    for n, f_raw in enumerate(raw.get("fields") or [], 1):
        if not isinstance(f_raw, dict):
            chk.fail(where, "fields", "每个表单字段应为映射")
            continue
        f_where = f"{where} 表单字段 {f_raw.get('key', n)}"
        ftype = chk.choice(f_where, f_raw, "type", {k.value: k for k in FieldType})
        fdef = {
            "key": chk.text(f_where, f_raw, "key", max_len=40),
            "label": chk.text(f_where, f_raw, "label", max_len=100),
            "type": ftype,
            "required": chk.boolean(f_where, f_raw, "required"),
            "options": chk.str_list(f_where, f_raw, "options"),
            "help": chk.text(f_where, f_raw, "help", required=False, max_len=300),
            "condition": _condition(chk, f_where, f_raw.get("when"), options_by_key),
        }
        if fdef["key"] and not _KEY.match(fdef["key"]):
            chk.fail(f_where, "key", "只能由小写字母、数字和下划线组成")
        if ftype == FieldType.SELECT and len(fdef["options"]) < 2:
            chk.fail(f_where, "options", "下拉字段至少需要两个选项")
        fields.append(fdef)
    if len({f["key"] for f in fields}) != len(fields):
        chk.fail(where, "fields", "表单字段键重复")
    item["fields"] = fields

    # Rules between fields (DESIGN §2).
    if item["promised_days"] > item["legal_days"]:
        chk.fail(where, "promised_days", "承诺时限不能长于法定时限")
    if item["instant"] and item["promised_days"] != 0:
        chk.fail(where, "promised_days", "即办件的承诺时限应为 0")
    if item["online_depth"] == 5 and item["visits"] > 0:
        chk.fail(where, "online_depth", "★5 全程网办的事项到现场次数应为 0")
    if item["visits"] > 0 and not item["visit_reason"]:
        chk.fail(where, "visit_reason", "需要到现场的事项须说明原因")
    if Delivery.ECERT.value in delivery and not item["e_certificate"]:
        chk.fail(where, "delivery", "结果不是电子证照，不能选择电子证照送达")
    if not delivery:
        chk.fail(where, "delivery", "至少需要一种结果送达方式")
    if item["proxy_allowed"]:
        if options_by_key.get("applicant") != {"self", "proxy"}:
            chk.fail(where, "situations", "允许亲友代办的事项须有 applicant 情形（self / proxy）")
        elif not any(d["condition"].get("applicant") == ["proxy"] for d in documents):
            chk.fail(where, "documents", "允许亲友代办的事项须列出代办所需材料（when: {applicant: proxy}）")
    return item


def _validate_bundle(chk: _Checker, fname: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        chk.problems.append(f"{fname}: 一件事条目应为映射")
        return {}
    where = f"{fname}: 一件事 {raw.get('code', '?')}"
    bundle = {
        "_where": where,
        "_hash": _canonical_hash(raw),
        "code": chk.text(where, raw, "code", max_len=40),
        "name": chk.text(where, raw, "name", max_len=100),
        "aliases": chk.str_list(where, raw, "aliases"),
        "description": chk.text(where, raw, "description", required=False),
        "items": chk.str_list(where, raw, "items"),
        "partners": chk.str_list(where, raw, "partners"),
        "flow": raw.get("flow"),
    }
    bundle["english"], en_problems = english.validate_bundle(raw.get("en"))
    for problem in en_problems:
        chk.fail(where, "en", problem)
    if not bundle["items"]:
        chk.fail(where, "items", "至少包含一个事项")
    return bundle


def _cross_checks(chk: _Checker, units: list[dict], items: list[dict], bundles: list[dict]) -> None:
    def dupes(records: list[dict], key: str, label: str) -> None:
        seen: dict[str, str] = {}
        for r in records:
            value = r.get(key)
            if value and value in seen:
                chk.problems.append(f"{r['_where']}: 字段 {key}: {label} {value} 与 {seen[value]} 重复")
            elif value:
                seen[value] = r["_where"]

    dupes(units, "code", "单位编码")
    dupes(items, "code", "事项编码")
    dupes(items, "name", "事项名称")
    dupes(bundles, "code", "一件事编码")
    unit_codes = {u.get("code") for u in units}
    for u in units:
        if u.get("parent") and u["parent"] not in unit_codes:
            existing = None
            if db.session:
                existing = db.session.scalar(select(Unit.id).where(Unit.code == u["parent"]))
            if existing is None:
                chk.problems.append(f"{u['_where']}: 字段 parent: 上级单位 {u['parent']} 不存在")
    names = {i.get("name"): i for i in items}
    alias_owner: dict[str, str] = {}
    for i in items:
        for a in i.get("aliases", []):
            if a in names and names[a] is not i:
                chk.problems.append(f"{i['_where']}: 字段 aliases: 别名「{a}」与另一事项的名称相同")
            if a in alias_owner and alias_owner[a] != i["code"]:
                chk.problems.append(f"{i['_where']}: 字段 aliases: 别名「{a}」已被事项 {alias_owner[a]} 使用")
            alias_owner.setdefault(a, i["code"])
    item_codes = {i.get("code") for i in items}
    for b in bundles:
        missing = [c for c in b.get("items", []) if c not in item_codes]
        if missing:
            existing = set(db.session.scalars(select(ServiceItem.code).where(ServiceItem.code.in_(missing))))
            missing = [c for c in missing if c not in existing]
        if missing:
            chk.problems.append(f"{b['_where']}: 字段 items: 事项 {'、'.join(missing)} 不存在")


# Applying ---------------------------------------------------------------------------------------


def load(path: str | Path, *, only_missing: bool = False) -> LoadResult:
    """Validate then upsert everything under ``path`` in the current transaction (caller commits).

    ``only_missing`` (the demo loader, run by every ``make run``): create what does not exist yet and
    leave every existing unit, item and bundle as it is — an admin's published edit is never reverted.
    """
    data = validate(read_files(path))
    return apply(data, only_missing=only_missing)


def ensure_categories() -> dict[str, Category]:
    existing = {c.code: c for c in db.session.scalars(select(Category))}
    for code, name, description, icon, position in CATEGORIES:
        cat = existing.get(code)
        if cat is None:
            cat = Category(code=code, name=name, description=description, icon=icon, position=position)
            db.session.add(cat)
            existing[code] = cat
        else:
            cat.name, cat.description, cat.icon, cat.position = name, description, icon, position
    db.session.flush()
    return existing


def apply(data: dict[str, list[dict[str, Any]]], *, only_missing: bool = False) -> LoadResult:
    result = LoadResult()
    categories = ensure_categories()
    _apply_departments(data.get("departments", []), only_missing)
    _apply_units(data["units"], result, only_missing)
    items_by_code = _apply_items(data["items"], categories, result, only_missing)
    _apply_bundles(data["bundles"], items_by_code, result, only_missing)
    if result.changed:
        bump_revision()
        audit.record(
            "catalog.load",
            object_type="catalog",
            details={
                "units": result.units,
                "items": result.items,
                "bundles": result.bundles,
            },
        )
    return result


def _apply_units(units: list[dict], result: LoadResult, only_missing: bool = False) -> None:
    existing = {u.code: u for u in db.session.scalars(select(Unit))}
    fields = ("name", "kind", "district", "address", "phone", "hours")
    for rec in units:
        unit = existing.get(rec["code"])
        if unit is None:
            unit = Unit(code=rec["code"], **{f: rec[f] for f in fields})
            db.session.add(unit)
            existing[rec["code"]] = unit
            result.units["created"] += 1
        elif only_missing:
            result.units["unchanged"] += 1
        elif any(getattr(unit, f) != rec[f] for f in fields):
            for f in fields:
                setattr(unit, f, rec[f])
            result.units["updated"] += 1
        else:
            result.units["unchanged"] += 1
    db.session.flush()
    for rec in units:
        parent_id = existing[rec["parent"]].id if rec["parent"] else None
        if only_missing and existing[rec["code"]].parent_id is not None:
            continue
        if existing[rec["code"]].parent_id != parent_id:
            existing[rec["code"]].parent_id = parent_id
    db.session.flush()


def _apply_items(
    items: list[dict], categories: dict[str, Category], result: LoadResult, only_missing: bool = False
) -> dict[str, ServiceItem]:
    by_code = {i.code: i for i in db.session.scalars(select(ServiceItem))}
    published = {
        v.item_id: v
        for v in db.session.scalars(select(ItemVersion).where(ItemVersion.state == VersionState.PUBLISHED))
    }
    latest: dict[int, int] = {}
    for item_id, number in db.session.execute(
        select(ItemVersion.item_id, db.func.max(ItemVersion.version)).group_by(ItemVersion.item_id)
    ):
        latest[item_id] = number
    now = utcnow()
    for rec in items:
        item = by_code.get(rec["code"])
        if item is None:
            item = ServiceItem(code=rec["code"], status=ItemStatus.PUBLISHED)
            db.session.add(item)
            db.session.flush()
            by_code[rec["code"]] = item
            result.items["created"] += 1
        else:
            current = published.get(item.id)
            if only_missing or (
                current is not None
                and current.source_hash == rec["_hash"]
                and item.status == ItemStatus.PUBLISHED
            ):
                result.items["unchanged"] += 1
                continue
            if current is not None:
                current.state = VersionState.SUPERSEDED
                db.session.flush()
            item.status = ItemStatus.PUBLISHED
            result.items["updated"] += 1
        version = build_version(rec, categories, number=latest.get(item.id, 0) + 1)
        version.item_id = item.id
        version.state = VersionState.PUBLISHED
        version.published_at = now
        db.session.add(version)
    db.session.flush()
    return by_code


def search_aliases(rec: dict[str, Any]) -> list[str]:
    """The Chinese aliases plus the English name and aliases: one index answers both languages."""
    en = rec.get("english") or {}
    return [*rec["aliases"], *([en["name"]] if en.get("name") else []), *(en.get("aliases") or [])]


def build_version(rec: dict[str, Any], categories: dict[str, Category], *, number: int) -> ItemVersion:
    """An unsaved :class:`ItemVersion` (with its children) from a validated record."""
    entry = build_entry(rec["code"], rec["name"], search_aliases(rec), rec["description"])
    version = ItemVersion(
        version=number,
        name=rec["name"],
        aliases=rec["aliases"],
        category_id=categories[rec["category"]].id,
        item_type=rec["item_type"],
        unit_kind=rec["unit_kind"],
        legal_basis=rec["legal_basis"],
        conditions=rec["conditions"],
        description=rec["description"],
        legal_days=rec["legal_days"],
        promised_days=rec["promised_days"],
        day_kind=rec["day_kind"],
        instant=rec["instant"],
        min_assurance=rec["min_assurance"],
        fee=rec["fee"],
        fee_note=rec["fee_note"],
        visits=rec["visits"],
        visit_reason=rec["visit_reason"],
        online_depth=rec["online_depth"],
        delivery=rec["delivery"],
        result_name=rec["result_name"],
        e_certificate=rec["e_certificate"],
        proxy_allowed=rec["proxy_allowed"],
        counters=rec["counters"],
        hours=rec["hours"],
        phone=rec["phone"],
        complaint_phone=rec["complaint_phone"],
        popular=rec["popular"],
        faq=rec["faq"],
        foreigner_facing=rec.get("foreigner_facing", False),
        english=rec.get("english") or {},
        search_text=search_text(entry),
        source_hash=rec["_hash"],
    )
    for pos, d in enumerate(rec["documents"]):
        version.documents.append(DocumentRequirement(position=pos, **d))
    for pos, s in enumerate(rec["situations"]):
        sit = Situation(position=pos, key=s["key"], question=s["question"])
        for opos, o in enumerate(s["options"]):
            sit.options.append(
                SituationOption(position=opos, value=o["value"], label=o["label"], fee=o["fee"])
            )
        version.situations.append(sit)
    for pos, f in enumerate(rec["fields"]):
        version.fields.append(FormField(position=pos, **f))
    return version


def _apply_bundles(
    bundles: list[dict], items_by_code: dict[str, ServiceItem], result: LoadResult, only_missing: bool = False
) -> None:
    existing = {b.code: b for b in db.session.scalars(select(Bundle))}
    for rec in bundles:
        bundle = existing.get(rec["code"])
        if bundle is not None and (only_missing or bundle.source_hash == rec["_hash"]):
            result.bundles["unchanged"] += 1
            continue
        if bundle is None:
            bundle = Bundle(code=rec["code"])
            db.session.add(bundle)
            result.bundles["created"] += 1
        else:
            result.bundles["updated"] += 1
        bundle.name = rec["name"]
        bundle.aliases = rec["aliases"]
        bundle.description = rec["description"]
        bundle.partners = rec["partners"]
        bundle.english = rec.get("english") or {}
        bundle.source_hash = rec["_hash"]
        bundle.items.clear()
        db.session.flush()
        for pos, code in enumerate(rec["items"]):
            bundle.items.append(BundleItem(item_id=items_by_code[code].id, position=pos))
        if rec.get("flow") is not None:
            publish_flow(bundle, rec["flow"], note="catalog load")
    db.session.flush()


def publish_flow(bundle: Bundle, definition: dict[str, Any], *, note: str = "") -> BundleVersion:
    """Publish ``definition`` as the bundle's next version (the published one, if any, is superseded),
    unless it equals the published one. The caller has validated it."""
    current = next((v for v in bundle.versions if v.state == VersionState.PUBLISHED), None)
    if current is not None and current.definition == definition:
        return current
    if current is not None:
        current.state = VersionState.SUPERSEDED
        db.session.flush()
    number = max((v.version for v in bundle.versions), default=0) + 1
    version = BundleVersion(
        version=number,
        state=VersionState.PUBLISHED,
        definition=definition,
        note=note,
        published_at=utcnow(),
    )
    bundle.versions.append(version)
    db.session.flush()
    return version


def _apply_departments(departments: list[dict], only_missing: bool = False) -> None:
    existing = {d.code: d for d in db.session.scalars(select(ExternalDepartment))}
    for rec in departments:
        dept = existing.get(rec["code"])
        if dept is None:
            db.session.add(
                ExternalDepartment(
                    code=rec["code"],
                    name=rec["name"],
                    contract=rec["contract"] or "",
                    english_name=rec["english_name"] or "",
                )
            )
        elif not only_missing:
            dept.name, dept.contract = rec["name"], rec["contract"] or dept.contract
            dept.english_name = rec["english_name"] or dept.english_name
    db.session.flush()


def bump_revision() -> int:
    """Advance the catalog revision so every worker rebuilds its in-memory catalog."""
    from catalog.models import CatalogState

    table = CatalogState.__table__
    updated = db.session.execute(
        table.update().where(table.c.id == 1).values(revision=table.c.revision + 1, updated_at=utcnow())
    ).rowcount
    if not updated:
        db.session.add(CatalogState(id=1, revision=1))
    db.session.flush()
    return db.session.scalar(select(table.c.revision).where(table.c.id == 1)) or 1
