"""Demo opening hours: every unit that serves an item needing a visit opens Monday–Friday
09:00–12:00 and 13:30–17:00 in 30-minute slots with 3 windows (idempotent), then the next 30 days of
slots are opened."""

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


def ensure_demo_hours(days: int = 30) -> tuple[int, int]:
    """(opening-hour lines added, slots created)."""
    units = {}
    for item in catalog().items.values():
        if item.visits >= 1:
            for unit in queries.serving_units(item):
                units[unit.id] = unit
    have = set(db.session.scalars(select(OpeningHours.unit_id).distinct()))
    added = 0
    for unit_id, _unit in sorted(units.items()):
        if unit_id in have:
            continue  # never touch what an admin set
        for weekday in range(5):
            for start, end in DEMO_LINES:
                db.session.add(
                    OpeningHours(
                        unit_id=unit_id,
                        weekday=weekday,
                        start=start,
                        end=end,
                        slot_minutes=DEMO_SLOT_MINUTES,
                        windows=DEMO_WINDOWS,
                    )
                )
                added += 1
    db.session.flush()
    return added, ops.open_slots(days)
