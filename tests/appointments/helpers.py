"""Shared by the 预约 tests: a fixed Monday morning, LJ-EE's hours, slots and bookings."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select

from applications.appointments import operations as ops
from applications.appointments.models import Slot
from catalog.queries import catalog
from core.clock import SHANGHAI
from tests.clerk.helpers import unit

#: 普通护照签发: exit-entry, one visit (采集人像和指纹).
ITEM = "LJ-CR-001"
UNIT = "LJ-EE"
#: Monday 4 January 2027, 08:00 Beijing time: the first working day after 元旦.
MONDAY = date(2027, 1, 4)
MORNING = datetime(2027, 1, 4, 8, 0, tzinfo=SHANGHAI)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def item():
    return catalog().items[ITEM]


def open_weekdays(*, windows: int = 3, monday_start: time = time(9, 0), days: int = 14, today: date = MONDAY):
    """LJ-EE: 09:00–11:00 Monday–Friday in 30-minute slots (Monday may start otherwise); slots opened."""
    ee = unit(UNIT)
    for weekday in range(5):
        ops.add_hours(
            ee,
            weekday=weekday,
            start=monday_start if weekday == 0 else time(9, 0),
            end=time(11, 0),
            slot_minutes=30,
            windows=windows,
        )
    return ops.open_slots(days, today=today, unit_ids=[ee.id])


def slot_at(moment: datetime) -> Slot:
    from core.db import db

    return db.session.scalar(select(Slot).where(Slot.unit_id == unit(UNIT).id, Slot.starts_at == moment))


def slots_on(day: date) -> list[Slot]:
    from core.db import db

    return list(
        db.session.scalars(
            select(Slot).where(Slot.unit_id == unit(UNIT).id, Slot.day == day).order_by(Slot.starts_at)
        )
    )


def book_now(bookings: list[tuple[str, str | None]]) -> None:
    """A slot of :data:`UNIT` starting now (real time: a live server runs in a thread), full with one
    booking of :data:`ITEM` per ``(code, citizen's real name or None)``; committed."""
    from datetime import timedelta

    from applications.appointments.models import Appointment
    from core.clock import local_today, now
    from core.db import db
    from core.transaction import commit
    from tests.clerk.helpers import load_world
    from tests.factories import CitizenFactory

    load_world()
    start = now().replace(second=0, microsecond=0)
    slot = Slot(
        unit_id=unit(UNIT).id,
        day=local_today(),
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        capacity=len(bookings),
        booked=len(bookings),
        open=True,
    )
    db.session.add(slot)
    db.session.flush()
    for code, name in bookings:
        citizen = CitizenFactory(real_name=name) if name else CitizenFactory()
        db.session.add(
            Appointment(
                code=code,
                user_id=citizen.id,
                item_id=catalog().items[ITEM].id,
                slot_id=slot.id,
                unit_id=slot.unit_id,
            )
        )
    commit()
