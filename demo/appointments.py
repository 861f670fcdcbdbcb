"""Demo opening hours: every unit that serves an item needing a visit opens Monday–Friday
09:00–12:00 and 13:30–17:00 in 30-minute slots with 3 windows (idempotent), then the next 30 days of
slots are opened. The 出入境 hall (LJ-EE) shows item groups: 护照 and 港澳台通行证 have their own
counters (2 windows each), its other items the hall's ungrouped window (1)."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select

from applications.appointments import operations as ops
from applications.appointments import queries
from applications.appointments.models import OpeningHours
from catalog.queries import catalog
from core.db import db

DEMO_LINES = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 0)))
DEMO_SLOT_MINUTES = 30
DEMO_WINDOWS = 3
#: LJ-EE's demo groups: (name, item codes, windows); its other items get 1 ungrouped window.
DEMO_GROUPS = {
    "LJ-EE": (
        ("护照", ("LJ-CR-001", "LJ-CR-002", "LJ-CR-003", "LJ-CR-004"), 2),
        ("港澳台通行证", ("LJ-CR-005", "LJ-CR-006", "LJ-CR-008"), 2),
    )
}
DEMO_UNGROUPED_WINDOWS = 1


def _lines(unit_id: int, windows: int, group_id: int | None = None) -> int:
    for weekday in range(5):
        for start, end in DEMO_LINES:
            db.session.add(
                OpeningHours(
                    unit_id=unit_id,
                    weekday=weekday,
                    start=start,
                    end=end,
                    slot_minutes=DEMO_SLOT_MINUTES,
                    windows=windows,
                    group_id=group_id,
                )
            )
    return 5 * len(DEMO_LINES)


def ensure_demo_hours(days: int = 30) -> tuple[int, int]:
    """(opening-hour lines added, slots created)."""
    units = {}
    for item in catalog().items.values():
        if item.visits >= 1:
            for unit in queries.serving_units(item):
                units[unit.id] = unit
    have = set(db.session.scalars(select(OpeningHours.unit_id).distinct()))
    added = 0
    for unit_id, unit in sorted(units.items()):
        if unit_id in have:
            continue  # never touch what an admin set
        groups = DEMO_GROUPS.get(unit.code, ())
        served = {i.code for i in queries.items_served(unit)}
        for name, codes, windows in groups:
            group = queries.group_named(unit_id, name) or ops.add_group(
                unit, name=name, item_codes=[c for c in codes if c in served]
            )
            added += _lines(unit_id, windows, group.id)
        added += _lines(unit_id, DEMO_UNGROUPED_WINDOWS if groups else DEMO_WINDOWS)
    db.session.flush()
    return added, ops.open_slots(days)
