"""Side-by-side differences between two version records (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FIELD_LABELS = {
    "name": "事项名称",
    "aliases": "别名",
    "category": "类别",
    "item_type": "事项类型",
    "unit_kind": "实施单位类型",
    "legal_basis": "设定依据",
    "conditions": "受理条件",
    "description": "简介",
    "legal_days": "法定时限",
    "promised_days": "承诺时限",
    "day_kind": "计时方式",
    "instant": "即办件",
    "min_assurance": "申请人账号要求",
    "fee": "收费标准",
    "fee_note": "收费说明",
    "visits": "到现场次数",
    "visit_reason": "到现场原因",
    "online_depth": "网办深度",
    "delivery": "送达方式",
    "result_name": "办理结果",
    "e_certificate": "电子证照",
    "proxy_allowed": "可代办",
    "counters": "办理窗口",
    "hours": "办公时间",
    "phone": "咨询电话",
    "complaint_phone": "投诉电话",
    "popular": "常办事项",
    "faq": "常见问题",
}
SECTIONS = (("documents", "name", "申请材料"), ("situations", "key", "情形"), ("fields", "key", "表单字段"))


@dataclass(frozen=True)
class DiffRow:
    section: str
    label: str
    left: str
    right: str
    change: str  # changed | added | removed


def _show(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "；".join(_show(v) for v in value)
    if isinstance(value, dict):
        return "，".join(f"{k}: {_show(v)}" for k, v in value.items())
    return str(value)


def diff_records(a: dict[str, Any], b: dict[str, Any]) -> list[DiffRow]:
    """Every difference between version records ``a`` (left) and ``b`` (right): item fields, then
    documents (matched by name), situations and form fields (matched by key)."""
    rows = []
    for key, label in FIELD_LABELS.items():
        if a.get(key) != b.get(key):
            rows.append(DiffRow("事项信息", label, _show(a.get(key)), _show(b.get(key)), "changed"))
    for section, ident, title in SECTIONS:
        left = {x[ident]: x for x in a.get(section, [])}
        right = {x[ident]: x for x in b.get(section, [])}
        for name in [*left, *(n for n in right if n not in left)]:
            la, rb = left.get(name), right.get(name)
            if la == rb:
                continue
            change = "added" if la is None else "removed" if rb is None else "changed"
            rows.append(DiffRow(title, str(name), _show(la) if la else "—", _show(rb) if rb else "—", change))
        order_a = [n for n in left if n in right]
        order_b = [n for n in right if n in left]
        if order_a != order_b:
            rows.append(DiffRow(title, "顺序", "、".join(order_a), "、".join(order_b), "changed"))
    return rows
