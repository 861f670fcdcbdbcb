"""Read side of 预约: which units serve an item, free slots, a unit's day, a citizen's bookings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import ColumnElement, and_, false, or_, select

from applications.appointments.models import (
    Appointment,
    AppointmentStatus,
    ExceptionDay,
    ItemGroup,
    ItemGroupMember,
    OpeningHours,
    Slot,
)
from applications.models import RoutingRule
from auth.models import Unit
from catalog.models import Category
from catalog.queries import ItemView, catalog
from core.clock import SHANGHAI, local_date, now
from core.db import db

#: No booking, cancelling or moving for a slot that starts within this many minutes.
CUTOFF_MINUTES = 60
#: Slots can be booked up to this many days ahead (today counts as day 0).
WINDOW_DAYS = 14
#: The public API answers at most this many days at once.
API_MAX_DAYS = 31


def cutoff_minutes() -> int:
    if has_app_context():
        return int(current_app.config.get("APPOINTMENT_CUTOFF_MINUTES", CUTOFF_MINUTES))
    return CUTOFF_MINUTES


def window_days() -> int:
    if has_app_context():
        return int(current_app.config.get("APPOINTMENT_WINDOW_DAYS", WINDOW_DAYS))
    return WINDOW_DAYS


def earliest_start(at: datetime | None = None) -> datetime:
    """The earliest slot start a citizen may book, cancel or move now (the cut-off)."""
    return (at or now()) + timedelta(minutes=cutoff_minutes())


def last_day(at: datetime | None = None) -> date:
    return local_date(at or now()) + timedelta(days=window_days())


def bookable_item(code: str) -> ItemView | None:
    """The published item of ``code`` when it needs a visit (到场次数 ≥ 1), else None."""
    item = catalog().items.get(code)
    if item is None or item.visits < 1:
        return None
    return item


def serving_units(item: ItemView) -> list[Unit]:
    """The units an applicant may visit for ``item``: the units of the item's competent kind (what the
    routing default chooses among) and every unit an active routing rule sends the item or its
    category to; by code."""
    rule_units = select(RoutingRule.unit_id).where(
        RoutingRule.active.is_(True),
        or_(
            RoutingRule.item_id == item.id,
            RoutingRule.category_id.in_(select(Category.id).where(Category.code == item.category.code)),
        ),
    )
    return list(
        db.session.scalars(
            select(Unit).where(or_(Unit.kind == item.unit_kind, Unit.id.in_(rule_units))).order_by(Unit.code)
        )
    )


def items_served(unit: Unit) -> list[ItemView]:
    """The published items needing a visit whose :func:`serving_units` include ``unit`` (what a group
    of the unit may hold), by code."""
    rules = db.session.execute(
        select(RoutingRule.item_id, Category.code)
        .outerjoin(Category, Category.id == RoutingRule.category_id)
        .where(RoutingRule.active.is_(True), RoutingRule.unit_id == unit.id)
    ).all()
    item_ids = {item_id for item_id, _ in rules if item_id is not None}
    categories = {code for _, code in rules if code is not None}
    return sorted(
        (
            i
            for i in catalog().items.values()
            if i.visits >= 1
            and (i.unit_kind == unit.kind or i.id in item_ids or i.category.code in categories)
        ),
        key=lambda i: i.code,
    )


def groups_of(unit_id: int) -> list[ItemGroup]:
    return list(
        db.session.scalars(select(ItemGroup).where(ItemGroup.unit_id == unit_id).order_by(ItemGroup.name))
    )


def group_named(unit_id: int, name: str) -> ItemGroup | None:
    return db.session.scalar(select(ItemGroup).where(ItemGroup.unit_id == unit_id, ItemGroup.name == name))


def item_groups(item_id: int) -> dict[int, int]:
    """{unit id: group id} of the groups that hold ``item_id`` (at most one per unit)."""
    return dict(
        db.session.execute(
            select(ItemGroupMember.unit_id, ItemGroupMember.group_id).where(
                ItemGroupMember.item_id == item_id
            )
        ).all()
    )


def group_for(unit_id: int, item_id: int) -> int | None:
    """The group whose slots ``item_id`` books at ``unit_id`` (None: the unit's ungrouped slots)."""
    return item_groups(item_id).get(unit_id)


def item_scope(unit_ids: Sequence[int], item_id: int | None) -> ColumnElement[bool]:
    """The slots of these units ``item_id`` may book: at a unit where a group holds the item, that
    group's slots; elsewhere the ungrouped ones. No item: every slot of the units (admin, benchmark)."""
    unit_ids = list(unit_ids)
    if item_id is None:
        return Slot.unit_id.in_(unit_ids)
    groups = {u: g for u, g in item_groups(item_id).items() if u in unit_ids}
    plain = [u for u in unit_ids if u not in groups]
    return or_(
        Slot.group_id.in_(list(groups.values())) if groups else false(),
        and_(Slot.unit_id.in_(plain), Slot.group_id.is_(None)) if plain else false(),
    )


def _open_after_cutoff(
    unit_ids: Sequence[int], first: date, last: date, at: datetime | None, item_id: int | None = None
) -> list:
    return [
        Slot.unit_id.in_(list(unit_ids)),
        item_scope(unit_ids, item_id),
        Slot.day >= first,
        Slot.day <= last,
        Slot.open.is_(True),
        Slot.starts_at >= earliest_start(at),
    ]


def free_days(
    unit_ids: Sequence[int],
    first: date,
    last: date,
    *,
    exclude: int | None = None,
    at: datetime | None = None,
    item_id: int | None = None,
) -> list[date]:
    """The days of ``first``..``last`` with a place left in an open slot of these units after the
    cut-off (``exclude``: a slot not to count, the one being moved from; ``item_id``: only the slots
    that item may book, :func:`item_scope`) — one DISTINCT query on the (unit, day) index instead of
    loading every slot of the booking window."""
    if not unit_ids:
        return []
    where = [*_open_after_cutoff(unit_ids, first, last, at, item_id), Slot.booked < Slot.capacity]
    if exclude is not None:
        where.append(Slot.id != exclude)
    return list(db.session.scalars(select(Slot.day).where(*where).distinct().order_by(Slot.day)))


def slot_rows(
    unit_ids: Sequence[int],
    first: date,
    last: date,
    *,
    at: datetime | None = None,
    item_id: int | None = None,
) -> list:
    """The public listing's columns (unit id, start, end, capacity, booked) of the open slots after
    the cut-off (of ``item_id``'s group, :func:`item_scope`), full ones included, by time then unit:
    plain rows, no ORM objects to build."""
    if not unit_ids:
        return []
    return list(
        db.session.execute(
            select(Slot.unit_id, Slot.starts_at, Slot.ends_at, Slot.capacity, Slot.booked)
            .where(*_open_after_cutoff(unit_ids, first, last, at, item_id))
            .order_by(Slot.starts_at, Slot.unit_id)
        )
    )


def free_slots(
    unit_ids: Sequence[int],
    first: date,
    last: date,
    *,
    at: datetime | None = None,
    include_full: bool = False,
    item_id: int | None = None,
) -> list[Slot]:
    """Open slots of these units on ``first``..``last`` that start after the cut-off (with a place
    left unless ``include_full``; of ``item_id``'s group, :func:`item_scope`), by time then unit."""
    if not unit_ids:
        return []
    query = (
        select(Slot)
        .where(*_open_after_cutoff(unit_ids, first, last, at, item_id))
        .order_by(Slot.starts_at, Slot.unit_id)
    )
    if not include_full:
        query = query.where(Slot.booked < Slot.capacity)
    return list(db.session.scalars(query))


def active_booking(user_id: int, item_id: int) -> Appointment | None:
    return db.session.scalar(
        select(Appointment).where(
            Appointment.user_id == user_id,
            Appointment.item_id == item_id,
            Appointment.status == AppointmentStatus.BOOKED,
        )
    )


def my_appointments(user_id: int) -> list[Appointment]:
    return list(
        db.session.scalars(
            select(Appointment)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(Appointment.user_id == user_id)
            .order_by(Appointment.status != AppointmentStatus.BOOKED, Slot.starts_at.desc())
        )
    )


def own_appointment(user_id: int, appointment_id: int) -> Appointment | None:
    return db.session.scalar(
        select(Appointment).where(Appointment.id == appointment_id, Appointment.user_id == user_id)
    )


def day_list(unit_ids: Sequence[int], day: date) -> list[Appointment]:
    """A unit's bookings of ``day`` (not the cancelled ones), by time."""
    return list(
        db.session.scalars(
            select(Appointment)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(
                Appointment.unit_id.in_(list(unit_ids)),
                Slot.day == day,
                Appointment.status != AppointmentStatus.CANCELLED,
            )
            .order_by(Slot.starts_at, Appointment.id)
        )
    )


def waiting(unit_ids: Sequence[int], day: date) -> list[Appointment]:
    """The checked-in bookings of ``day`` not yet called to the counter, in check-in order (the
    first is the next to call)."""
    return list(
        db.session.scalars(
            select(Appointment)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(
                Appointment.unit_id.in_(list(unit_ids)),
                Slot.day == day,
                Appointment.status == AppointmentStatus.CHECKED_IN,
                Appointment.served_at.is_(None),
            )
            .order_by(Appointment.checked_in_at, Appointment.id)
        )
    )


def hours_of(unit_id: int) -> list[OpeningHours]:
    return list(
        db.session.scalars(
            select(OpeningHours)
            .where(OpeningHours.unit_id == unit_id)
            .order_by(OpeningHours.weekday, OpeningHours.start)
        )
    )


def exceptions_of(unit_id: int, since: date) -> list[ExceptionDay]:
    return list(
        db.session.scalars(
            select(ExceptionDay)
            .where(ExceptionDay.unit_id == unit_id, ExceptionDay.day >= since)
            .order_by(ExceptionDay.day, ExceptionDay.start)
        )
    )


@dataclass(frozen=True)
class SlotView:
    """A slot as the API and the pages show it (local times)."""

    id: int
    unit: str
    start: datetime
    end: datetime
    capacity: int
    remaining: int


def slot_view(slot: Slot, unit_code: str) -> SlotView:
    return SlotView(
        slot.id,
        unit_code,
        slot.starts_at.astimezone(SHANGHAI),
        slot.ends_at.astimezone(SHANGHAI),
        slot.capacity,
        slot.remaining,
    )


def masked_name(name: str | None) -> str:
    """张三丰 → 张**: the family name only, as the counter's list shows it."""
    name = (name or "").strip()
    if not name:
        return "—"
    return name[0] + "*" * max(1, len(name) - 1)


# Repeated no-shows -------------------------------------------------------------------------------


def no_show_rule() -> tuple[int, int, int]:
    """(limit, within days, block days): ``limit`` 未到 within ``within`` days block new bookings for
    ``block`` days from the day of the no-show that reached the limit. A limit of 0 switches it off."""
    cfg = current_app.config if has_app_context() else {}
    return (
        int(cfg.get("APPOINTMENT_NO_SHOW_LIMIT", 3)),
        int(cfg.get("APPOINTMENT_NO_SHOW_DAYS", 90)),
        int(cfg.get("APPOINTMENT_BLOCK_DAYS", 30)),
    )


def blocked_until(user_id: int, at: datetime | None = None) -> date | None:
    """The first day the citizen may book again after repeated no-shows, or None (not blocked).

    Blocked while some no-show day ``d`` has ``d + block > today`` and at least ``limit`` no-shows
    fall within the ``within`` days ending on ``d`` (``d`` included)."""
    limit, within, block = no_show_rule()
    if limit <= 0 or block <= 0:
        return None
    today = local_date(at or now())
    days = sorted(
        db.session.scalars(
            select(Slot.day)
            .join(Appointment, Appointment.slot_id == Slot.id)
            .where(
                Appointment.user_id == user_id,
                Appointment.status == AppointmentStatus.NO_SHOW,
                Slot.day > today - timedelta(days=block + within),
                Slot.day <= today,
            )
        )
    )
    until: date | None = None
    for d in days:
        if d + timedelta(days=block) <= today:
            continue
        if sum(1 for e in days if d - timedelta(days=within) < e <= d) >= limit:
            until = d + timedelta(days=block)
    return until


#: The message kind (and ``reminders_sent`` kind) of a booking cancelled by a closed day.
CLOSED_KIND = "appointment_closed"


def closure_key(appointment_id: int, day: date) -> str:
    return f"{appointment_id}:closed:{day.isoformat()}"


def cancelled_by_closure(appt: Appointment) -> bool:
    """Whether a closed day cancelled this booking (its citizen was told: ``reminders_sent``)."""
    from applications.jobs.reminders import already_sent

    return appt.status == AppointmentStatus.CANCELLED and already_sent(
        CLOSED_KIND, closure_key(appt.id, appt.slot.day)
    )


def closure_cancelled(user_id: int, item_id: int) -> list[Appointment]:
    """The citizen's bookings of this item that a closed day cancelled and that were still ahead, to
    offer a new time on the booking page (newest first)."""
    rows = db.session.scalars(
        select(Appointment)
        .join(Slot, Slot.id == Appointment.slot_id)
        .where(
            Appointment.user_id == user_id,
            Appointment.item_id == item_id,
            Appointment.status == AppointmentStatus.CANCELLED,
            Slot.day >= local_date(now()),
        )
        .order_by(Slot.starts_at.desc())
    )
    return [a for a in rows if cancelled_by_closure(a)]
