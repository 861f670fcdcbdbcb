"""Which unit's queue an application goes to (pure Python, no Flask, no I/O).

Ordered rules — item or category × applicant district → accepting unit (and, when different, the
approving unit) — are tried by position; the first active match wins. A rule naming an item but no
district is that item's fallback. When no rule matches, the default is the unit of the item's
competent kind in the applicant's district, else the city-wide unit of that kind, else the bureau.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class UnitRef:
    code: str
    kind: str
    district: str | None


@dataclass(frozen=True)
class RuleRef:
    id: int
    position: int
    item_code: str | None
    category: str | None
    district: str | None
    unit_code: str
    approving_unit_code: str | None = None


@dataclass(frozen=True)
class Route:
    unit_code: str
    rule: str  # a readable description of the rule that chose the unit
    approving_unit_code: str | None = None
    rule_id: int | None = None


def _matches(rule: RuleRef, item_code: str, category: str, district: str | None) -> bool:
    if rule.item_code is not None and rule.item_code != item_code:
        return False
    if rule.category is not None and rule.category != category:
        return False
    return rule.district is None or rule.district == district


def _specificity(rule: RuleRef) -> tuple[int, int, int]:
    return (rule.position, 0 if rule.item_code else 1, 0 if rule.district else 1)


def route(
    unit_kind: str,
    district: str | None,
    units: Iterable[UnitRef],
    *,
    item_code: str = "",
    category: str = "",
    rules: Sequence[RuleRef] = (),
) -> Route:
    """Pick the accepting (and approving) unit for an item filed by an applicant in ``district``."""
    for rule in sorted(rules, key=_specificity):
        if _matches(rule, item_code, category, district):
            scope = rule.item_code or rule.category or "全部事项"
            return Route(
                rule.unit_code,
                f"规则#{rule.id}：{scope} × {rule.district or '全市'}",
                rule.approving_unit_code,
                rule.id,
            )
    units = sorted(units, key=lambda u: u.code)
    same_kind = [u for u in units if u.kind == unit_kind]
    local = [u for u in same_kind if district and u.district == district]
    if local:
        return Route(local[0].code, f"默认：{unit_kind} × {district}")
    citywide = [u for u in same_kind if u.district is None]
    if citywide:
        return Route(citywide[0].code, f"默认：{unit_kind} × 全市")
    if same_kind:
        return Route(same_kind[0].code, f"默认：{unit_kind} × 任一")
    bureau = [u for u in units if u.kind == "bureau"]
    if bureau:
        return Route(bureau[0].code, "兜底：市公安局")
    raise LookupError("no unit to route to")
