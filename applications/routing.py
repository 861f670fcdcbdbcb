"""Which unit's queue an application goes to (pure Python).

Issue 4 needs a simple rule: the unit of the item's competent kind in the applicant's district,
else the city-wide unit of that kind, else the city bureau. The complete ordered rule table with
per-item fallbacks comes with the clerk queues.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class UnitRef:
    code: str
    kind: str
    district: str | None


@dataclass(frozen=True)
class Route:
    unit_code: str
    rule: str  # a readable description of the rule that chose the unit


def route(unit_kind: str, district: str | None, units: Iterable[UnitRef]) -> Route:
    """Pick the unit for an item of ``unit_kind`` filed by an applicant in ``district``."""
    units = sorted(units, key=lambda u: u.code)
    same_kind = [u for u in units if u.kind == unit_kind]
    local = [u for u in same_kind if district and u.district == district]
    if local:
        return Route(local[0].code, f"{unit_kind} × {district}")
    citywide = [u for u in same_kind if u.district is None]
    if citywide:
        return Route(citywide[0].code, f"{unit_kind} × 全市")
    if same_kind:
        return Route(same_kind[0].code, f"{unit_kind} × 任一")
    bureau = [u for u in units if u.kind == "bureau"]
    if bureau:
        return Route(bureau[0].code, "兜底：市公安局")
    raise LookupError("no unit to route to")
