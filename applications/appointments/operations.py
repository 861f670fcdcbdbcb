"""预约 use cases. Plain arguments in, models out, domain errors raised; ``flush()``, never ``commit()``.

**Opening slots** (:func:`open_slots`, called by ``flask appointments open`` and the demo): for every
unit with opening hours, each day ahead gets the slots its template gives — a working weekday its own
weekday's lines, a 调休 make-up working day (a weekend the calendar makes a working day) Monday's
lines, any other day none — never on a public holiday of the working-day calendar; an exception day
closes the day (its open slots are closed, bookings stay) or adds hours. Idempotent: a slot that
exists (unit × group × start) is left as it is.

**Item groups**: a hall may group its items (护照 counters vs 港澳通行证 counters); a template line,
extra hours and so the slots belong to a group or to no group. An item books the slots of the group
of that unit that holds it, or the unit's ungrouped slots when none does (:func:`queries.item_scope`).

**Deleting or shrinking hours** (:func:`reconcile_slots`): future slots no line gives any more are
deleted when nobody ever booked them, else closed to new bookings; their bookings stay and are
counted for the admin, never silently cancelled.

**Never overbooked**: a booking is ONE conditional ``UPDATE … SET booked = booked + 1 WHERE id = :slot
AND open AND booked < capacity AND starts_at >= :cut_off``; when it changes no row the slot is full
(or closed, or too soon) and :class:`SlotFull` is raised. The update and the booking's insert run in
one savepoint of the caller's transaction, so a refused insert (the partial unique index: one
*booked* appointment per citizen and item) gives the place back.

**Cut-off**: no booking, cancel or move for a slot that starts within ``APPOINTMENT_CUTOFF_MINUTES``
(60); bookings up to ``APPOINTMENT_WINDOW_DAYS`` (14) ahead.

**At the counter**: :func:`check_in` by the code records the visit on the linked application through
the clerk's :func:`~applications.clerk.operations.record_visit` (which marks the statistics);
:func:`mark_no_shows` turns bookings of slots that ended into 未到; :func:`serve` (叫号/开始办理) records
when a checked-in citizen was called, the end of the wait the statistics measure.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from applications.appointments import queries
from applications.appointments.models import (
    Appointment,
    AppointmentStatus,
    ExceptionDay,
    ItemGroup,
    ItemGroupMember,
    OpeningHours,
    Slot,
)
from applications.clerk.operations import record_visit
from applications.models import Application
from applications.notify.send import send_to
from auth.models import Unit, User
from catalog.queries import ItemView, catalog
from core import audit
from core.clock import SHANGHAI, local_date, now
from core.db import db
from core.errors import DomainError, FieldError, NotFound
from core.i18n import N_
from core.workdays.models import load_calendar
from core.workdays.rules import ChineseCalendar, statutory_holidays

WEEKDAYS = (N_("星期一"), N_("星期二"), N_("星期三"), N_("星期四"), N_("星期五"), N_("星期六"), N_("星期日"))
#: The weekday whose template a 调休 make-up working day follows (Monday).
MAKE_UP_WEEKDAY = 0
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
VISIT_PURPOSE = "窗口受理"


class SlotFull(FieldError):
    """The slot has no place left (or closed, or is now within the cut-off); shown at the slot field."""

    def __init__(self) -> None:
        super().__init__("slot", N_("该时段已约满，请选择其他时段。"))


class AlreadyBooked(DomainError):
    def __init__(self) -> None:
        super().__init__(N_("您已预约该事项，每个事项只能有一个有效预约；如需调整，请改约或取消原预约。"))


class NoShowBlocked(DomainError):
    """Repeated no-shows: no new booking until ``until`` (:func:`queries.blocked_until`)."""

    def __init__(self, until: date) -> None:
        super().__init__(
            N_("您近期多次预约后未到场，%(until)s 前暂不能在网上预约，可直接到窗口办理。")
            % {"until": until.isoformat()}
        )
        self.until = until


# Opening hours (admin) ---------------------------------------------------------------------------


def _check_hours(start: time, end: time, slot_minutes: int, windows: int) -> None:
    if not start or not end or start >= end:
        raise FieldError("end", N_("结束时间须晚于开始时间"))
    if not 5 <= slot_minutes <= 240:
        raise FieldError("slot_minutes", N_("每个时段5至240分钟"))
    if not 1 <= windows <= 100:
        raise FieldError("windows", N_("窗口数为1至100"))
    span = (datetime.combine(date.min, end) - datetime.combine(date.min, start)).seconds // 60
    if span < slot_minutes:
        raise FieldError("slot_minutes", N_("时段长度不能超过开放时长"))


def _overlaps(rows: Sequence, start: time, end: time) -> bool:
    return any(r.start < end and start < r.end for r in rows)


# Item groups (admin) ------------------------------------------------------------------------------


def _own_group(unit: Unit, group_id: int | None, field: str = "group") -> ItemGroup | None:
    """The unit's group ``group_id`` (None for none); another unit's or a missing one is a field error."""
    if not group_id:
        return None
    group = db.session.get(ItemGroup, group_id)
    if group is None or group.unit_id != unit.id:
        raise FieldError(field, N_("请选择本单位的事项分组"))
    return group


def _group_members(unit: Unit, name: str, item_codes: Sequence[str], *, group_id: int | None = None):
    """(clean name, {code: item}) for a group of ``unit``, or :class:`FieldError`: a name, unique in the
    unit; at least one item, each served by the unit, needing a visit, in no other group of the unit."""
    name = (name or "").strip()
    if not name:
        raise FieldError("name", N_("请填写分组名称"))
    if len(name) > 40:
        raise FieldError("name", N_("分组名称最多40字"))
    clash = db.session.scalar(
        select(ItemGroup.id).where(ItemGroup.unit_id == unit.id, ItemGroup.name == name)
    )
    if clash is not None and clash != group_id:
        raise FieldError("name", N_("本单位已有同名分组"))
    served = {i.code: i for i in queries.items_served(unit)}
    codes = list(dict.fromkeys(c.strip() for c in item_codes if c and c.strip()))
    if not codes:
        raise FieldError("items", N_("请至少选择一个事项"))
    unknown = [c for c in codes if c not in served]
    if unknown:
        raise FieldError("items", N_("本单位不办理这些事项：%(codes)s") % {"codes": "、".join(unknown)})
    taken_query = select(ItemGroupMember.item_id).where(
        ItemGroupMember.unit_id == unit.id, ItemGroupMember.item_id.in_([served[c].id for c in codes])
    )
    if group_id is not None:
        taken_query = taken_query.where(ItemGroupMember.group_id != group_id)
    taken = set(db.session.scalars(taken_query))
    if taken:
        names = "、".join(served[c].name for c in codes if served[c].id in taken)
        raise FieldError("items", N_("这些事项已在其他分组中：%(names)s") % {"names": names})
    return name, {c: served[c] for c in codes}


def add_group(unit: Unit, *, name: str, item_codes: Sequence[str]) -> ItemGroup:
    """A group of items of the hall with its own opening hours and windows (audited). Every item must be
    one the unit serves and needs a visit; an item already in another group of the unit is refused (an
    item books one group's places)."""
    name, items = _group_members(unit, name, item_codes)
    group = ItemGroup(unit_id=unit.id, name=name)
    group.members = [ItemGroupMember(unit_id=unit.id, item_id=i.id) for i in items.values()]
    db.session.add(group)
    db.session.flush()
    audit.record(
        "appointment.group_added",
        object_type="unit",
        object_id=unit.code,
        details={"group": name, "items": list(items)},
    )
    return group


def update_group(unit: Unit, group_id: int, *, name: str, item_codes: Sequence[str]) -> ItemGroup:
    """Rename a group of the unit and set its items (audited; same rules as :func:`add_group`); another
    unit's or a missing group is :class:`NotFound`. An item taken out books the ungrouped slots from
    now on; bookings already made keep their slots."""
    group = db.session.get(ItemGroup, group_id)
    if group is None or group.unit_id != unit.id:
        raise NotFound()
    name, items = _group_members(unit, name, item_codes, group_id=group.id)
    before = sorted(m.item_id for m in group.members)
    keep = {i.id for i in items.values()}
    group.members = [m for m in group.members if m.item_id in keep]
    have = {m.item_id for m in group.members}
    db.session.flush()  # the removed members go before the new ones take the (unit, item) key
    group.members += [ItemGroupMember(unit_id=unit.id, item_id=i) for i in sorted(keep - have)]
    old_name, group.name = group.name, name
    db.session.flush()
    audit.record(
        "appointment.group_changed",
        object_type="unit",
        object_id=unit.code,
        details={"group": old_name, "name": name, "items": list(items), "item_ids_before": before},
    )
    return group


def remove_group(unit: Unit, group_id: int) -> None:
    """Delete a group of the unit (audited) once no opening hours, extra hours or slot use it; another
    unit's or a missing group is :class:`NotFound`. Its items then book the ungrouped slots."""
    group = db.session.get(ItemGroup, group_id)
    if group is None or group.unit_id != unit.id:
        raise NotFound()
    for model in (OpeningHours, ExceptionDay, Slot):
        if db.session.scalar(select(model.id).where(model.group_id == group.id).limit(1)) is not None:
            raise DomainError(N_("该分组仍有开放时间或已生成的时段，不能删除；请先删除其开放时间。"))
    name = group.name
    db.session.delete(group)
    db.session.flush()
    audit.record(
        "appointment.group_removed", object_type="unit", object_id=unit.code, details={"group": name}
    )


def add_hours(
    unit: Unit,
    *,
    weekday: int,
    start: time,
    end: time,
    slot_minutes: int,
    windows: int,
    group_id: int | None = None,
) -> OpeningHours:
    """Add a line to the unit's weekly template, for one item group of the unit or for its ungrouped
    items (audited). Overlapping lines of one weekday and group are refused; a group's lines may overlap
    another group's (separate counters)."""
    if not 0 <= weekday <= 6:
        raise FieldError("weekday", N_("请选择星期"))
    group = _own_group(unit, group_id)
    _check_hours(start, end, slot_minutes, windows)
    gid = group.id if group is not None else None
    same_day = [h for h in queries.hours_of(unit.id) if h.weekday == weekday and h.group_id == gid]
    if _overlaps(same_day, start, end):
        raise FieldError("start", N_("与该日已有的开放时间重叠"))
    row = OpeningHours(
        unit_id=unit.id,
        weekday=weekday,
        start=start,
        end=end,
        slot_minutes=slot_minutes,
        windows=windows,
        group_id=gid,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "appointment.hours_added",
        object_type="unit",
        object_id=unit.code,
        details={
            "weekday": weekday,
            "start": str(start),
            "end": str(end),
            "slot_minutes": slot_minutes,
            "windows": windows,
            "group": group.name if group is not None else None,
        },
    )
    return row


def remove_hours(unit: Unit, hours_id: int) -> Reconciled:
    """Delete a template line (audited) and reconcile the unit's future slots with what is left
    (:func:`reconcile_slots`): what was removed and how many bookings now sit outside the hours."""
    row = db.session.get(OpeningHours, hours_id)
    if row is None or row.unit_id != unit.id:
        raise NotFound()
    details = {
        "weekday": row.weekday,
        "start": str(row.start),
        "end": str(row.end),
        "group": row.group.name if row.group is not None else None,
    }
    db.session.delete(row)
    db.session.flush()
    result = reconcile_slots(unit)
    audit.record(
        "appointment.hours_removed",
        object_type="unit",
        object_id=unit.code,
        details={**details, "slots_removed": result.removed, "bookings_outside": result.bookings_outside},
    )
    return result


def _cancel_for_closure(unit: Unit, day: date, note: str) -> int:
    """Cancel every booking of ``unit`` on the closed ``day`` not yet started and tell each citizen
    once (the message links to booking the item again); the places are not given back — the slots are
    closed. How many."""
    from applications.jobs.reminders import send_once

    at = now()
    rows = list(
        db.session.scalars(
            select(Appointment)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(
                Appointment.unit_id == unit.id,
                Slot.day == day,
                Slot.starts_at >= at,  # closing today: the ones that started are the counter's
                Appointment.status == AppointmentStatus.BOOKED,
            )
            .order_by(Slot.starts_at, Appointment.id)
        )
    )
    cancelled = 0
    for appt in rows:
        result = db.session.execute(
            update(Appointment)
            .where(Appointment.id == appt.id, Appointment.status == AppointmentStatus.BOOKED)
            .values(status=AppointmentStatus.CANCELLED, changed_at=at)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # cancelled or checked in meanwhile
            continue
        db.session.refresh(appt)
        cancelled += 1
        code = _item_code(appt)
        send_once(
            queries.CLOSED_KIND,
            queries.closure_key(appt.id, day),
            appt.user_id,
            appt.application_id,
            unit=unit.name,
            day=day.isoformat(),
            when=_when(appt.slot),
            item=_item_name(appt),
            code=appt.code,
            link=f"/items/{code}/book" if code else "/me/appointments",
        )
        audit.record(
            "appointment.closed_cancelled",
            object_type="appointment",
            object_id=appt.code,
            details={"unit": unit.code, "day": day.isoformat(), "note": note},
        )
    db.session.flush()
    return cancelled


def add_exception(
    unit: Unit,
    *,
    day: date,
    closed: bool,
    start: time | None = None,
    end: time | None = None,
    slot_minutes: int | None = None,
    windows: int | None = None,
    note: str = "",
    group_id: int | None = None,
) -> tuple[ExceptionDay, int]:
    """Close a day, or add hours to it (for one item group of the unit, or its ungrouped items)
    (audited); (the row, how many bookings the closure cancelled). Closing closes the day's slots of
    every group at once and cancels the day's bookings, each citizen told once and offered a new time
    (:func:`_cancel_for_closure`); extra hours open at the next :func:`open_slots`."""
    if day < local_date(now()):
        raise FieldError("day", N_("不能设置已过去的日期"))
    group = None if closed else _own_group(unit, group_id)
    gid = group.id if group is not None else None
    if not closed:
        if start is None or end is None or slot_minutes is None or windows is None:
            raise FieldError("start", N_("增开时请填写开始、结束时间、时段长度和窗口数"))
        _check_hours(start, end, slot_minutes, windows)
        if is_holiday(load_calendar(), day):
            raise FieldError("day", N_("法定节假日不开放预约"))
        same = list(
            db.session.scalars(
                select(ExceptionDay).where(
                    ExceptionDay.unit_id == unit.id,
                    ExceptionDay.day == day,
                    ExceptionDay.closed.is_(False),
                    ExceptionDay.group_id.is_(None) if gid is None else ExceptionDay.group_id == gid,
                )
            )
        )
        if _overlaps(same, start, end):
            raise FieldError("start", N_("与该日已增开的时间重叠"))
    row = ExceptionDay(
        unit_id=unit.id,
        day=day,
        closed=closed,
        start=None if closed else start,
        end=None if closed else end,
        slot_minutes=None if closed else slot_minutes,
        windows=None if closed else windows,
        note=(note or "").strip()[:100],
        group_id=gid,
    )
    db.session.add(row)
    cancelled = 0
    if closed:
        db.session.execute(update(Slot).where(Slot.unit_id == unit.id, Slot.day == day).values(open=False))
        db.session.flush()
        cancelled = _cancel_for_closure(unit, day, row.note)
    db.session.flush()
    audit.record(
        "appointment.exception_added",
        object_type="unit",
        object_id=unit.code,
        details={
            "day": day.isoformat(),
            "closed": closed,
            "start": str(start or ""),
            "end": str(end or ""),
            "cancelled": cancelled,
            "group": group.name if group is not None else None,
        },
    )
    return row, cancelled


def remove_exception(unit: Unit, exception_id: int) -> Reconciled:
    """Remove an exception day; a day that was closed opens again (its slots at once, missing ones at
    the next :func:`open_slots`); removed extra hours take their slots with them
    (:func:`reconcile_slots`, which also keeps slots outside the hours closed)."""
    row = db.session.get(ExceptionDay, exception_id)
    if row is None or row.unit_id != unit.id:
        raise NotFound()
    db.session.delete(row)
    db.session.flush()
    still_closed = db.session.scalar(
        select(ExceptionDay.id).where(
            ExceptionDay.unit_id == unit.id, ExceptionDay.day == row.day, ExceptionDay.closed.is_(True)
        )
    )
    if row.closed and still_closed is None:
        db.session.execute(update(Slot).where(Slot.unit_id == unit.id, Slot.day == row.day).values(open=True))
    db.session.flush()
    audit.record(
        "appointment.exception_removed",
        object_type="unit",
        object_id=unit.code,
        details={"day": row.day.isoformat(), "closed": row.closed},
    )
    return reconcile_slots(unit)


# Slots -------------------------------------------------------------------------------------------


def is_holiday(cal: ChineseCalendar, day: date) -> bool:
    """A public holiday: a day off that is not an ordinary weekend (a weekday off, or a weekend day
    named among the year's holidays)."""
    if cal.is_working_day(day):
        return False
    if day.weekday() < 5:
        return True
    arrangement = cal.arrangements.get(day.year)
    if arrangement is not None:
        return day in arrangement.holidays
    return day in statutory_holidays(day.year)


#: A line a unit opens on a day: (start, end, slot minutes, windows, group id or None).
Line = tuple[time, time, int, int, int | None]


def day_hours(
    cal: ChineseCalendar, day: date, template: Sequence[OpeningHours], exceptions: Sequence[ExceptionDay]
) -> list[Line]:
    """(start, end, slot minutes, windows, group) lines a unit opens on ``day``."""
    if any(e.closed for e in exceptions) or is_holiday(cal, day):
        return []
    lines: list[Line] = []
    if cal.is_working_day(day):
        weekday = day.weekday() if day.weekday() < 5 else MAKE_UP_WEEKDAY
        lines += [
            (h.start, h.end, h.slot_minutes, h.windows, h.group_id) for h in template if h.weekday == weekday
        ]
    lines += [
        (e.start, e.end, e.slot_minutes, e.windows, e.group_id)
        for e in exceptions
        if not e.closed and e.start
    ]
    return lines


def _line_slots(day: date, line: Line):
    """(group, start, end, windows) of every slot a line gives on ``day``."""
    start, end, minutes, windows, group_id = line
    at = datetime.combine(day, start, tzinfo=SHANGHAI)
    stop = datetime.combine(day, end, tzinfo=SHANGHAI)
    while at + timedelta(minutes=minutes) <= stop:
        yield group_id, at, at + timedelta(minutes=minutes), windows
        at += timedelta(minutes=minutes)


def _exceptions(unit_id: int, first: date, last: date) -> list[ExceptionDay]:
    return list(
        db.session.scalars(
            select(ExceptionDay).where(
                ExceptionDay.unit_id == unit_id, ExceptionDay.day >= first, ExceptionDay.day <= last
            )
        )
    )


def open_slots(days: int = 30, *, today: date | None = None, unit_ids: Sequence[int] | None = None) -> int:
    """Materialise the slots of the next ``days`` days (today included) for every unit with opening
    hours (or of ``unit_ids``), each line's slots in its item group (or ungrouped); the number of
    slots created. Idempotent."""
    today = today or local_date(now())
    last = today + timedelta(days=max(0, days - 1))
    cal = load_calendar()
    query = select(OpeningHours.unit_id).distinct()
    units = set(db.session.scalars(query)) | set(
        db.session.scalars(select(ExceptionDay.unit_id).where(ExceptionDay.closed.is_(False)).distinct())
    )
    if unit_ids is not None:
        units &= set(unit_ids)
    created = 0
    for unit_id in sorted(units):
        template = queries.hours_of(unit_id)
        exceptions = _exceptions(unit_id, today, last)
        existing = set(
            db.session.execute(
                select(Slot.group_id, Slot.starts_at).where(
                    Slot.unit_id == unit_id, Slot.day >= today, Slot.day <= last
                )
            ).tuples()
        )
        day = today
        while day <= last:
            for line in day_hours(cal, day, template, [e for e in exceptions if e.day == day]):
                for group_id, at, ends, windows in _line_slots(day, line):
                    if (group_id, at) in existing:
                        continue
                    db.session.add(
                        Slot(
                            unit_id=unit_id,
                            group_id=group_id,
                            day=day,
                            starts_at=at,
                            ends_at=ends,
                            capacity=windows,
                            booked=0,
                            open=True,
                        )
                    )
                    existing.add((group_id, at))
                    created += 1
            day += timedelta(days=1)
    db.session.flush()
    if created:
        audit.record("appointment.slots_opened", details={"created": created, "days": days}, actor=None)
    return created


@dataclass(frozen=True)
class Reconciled:
    """What :func:`reconcile_slots` did: slots deleted (no booking ever), slots outside the hours kept
    closed (for their bookings, cancelled or active), and the active bookings now outside the hours."""

    removed: int = 0
    closed: int = 0
    bookings_outside: int = 0


def _chunks(ids: Sequence[int], size: int = 500):
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def reconcile_slots(unit: Unit, *, at: datetime | None = None) -> Reconciled:
    """Bring the unit's future slots (starting after ``at``) in line with its template and extra hours
    after a line was deleted or shrunk: a slot no line gives any more is deleted when no booking ever
    pointed at it, else closed to new bookings — its active bookings stay (never silently cancelled)
    and are counted so the admin can call those citizens. Days closed by an exception are left alone
    (the closure handled them). Matching slots take the line's windows when that does not drop below
    their bookings, and open again if an earlier reconcile closed them (a line deleted, then re-added
    shorter).

    Concurrency by statement: the slots to go are first closed (a booking's conditional UPDATE then
    refuses them, or — on PostgreSQL — the close waits for a booking in flight), then deleted only
    ``WHERE NOT EXISTS`` a booking; a new capacity is set only ``WHERE booked <= capacity``."""
    at = at or now()
    rows = db.session.execute(
        select(Slot.id, Slot.day, Slot.group_id, Slot.starts_at, Slot.ends_at, Slot.capacity, Slot.open)
        .where(Slot.unit_id == unit.id, Slot.starts_at > at)
        .order_by(Slot.starts_at)
    ).all()
    if not rows:
        return Reconciled()
    cal = load_calendar()
    template = queries.hours_of(unit.id)
    exceptions = _exceptions(unit.id, rows[0].day, rows[-1].day)
    wanted: dict[date, dict[tuple[int | None, datetime, datetime], int] | None] = {}
    outside_ids: list[int] = []
    reopen: list[int] = []
    resize: dict[int, list[int]] = {}
    for slot in rows:
        if slot.day not in wanted:
            todays = [e for e in exceptions if e.day == slot.day]
            if any(e.closed for e in todays):
                wanted[slot.day] = None
            else:
                wanted[slot.day] = {
                    (g, s, e): w
                    for line in day_hours(cal, slot.day, template, todays)
                    for g, s, e, w in _line_slots(slot.day, line)
                }
        lines = wanted[slot.day]
        if lines is None:
            continue
        windows = lines.get((slot.group_id, slot.starts_at, slot.ends_at))
        if windows is None:
            outside_ids.append(slot.id)
            continue
        if slot.capacity != windows:
            resize.setdefault(windows, []).append(slot.id)
        if not slot.open:  # closed by an earlier reconcile, within the hours again
            reopen.append(slot.id)
    quiet = {"synchronize_session": False}
    for windows, ids in resize.items():
        for chunk in _chunks(ids):
            db.session.execute(
                update(Slot).where(Slot.id.in_(chunk), Slot.booked <= windows).values(capacity=windows),
                execution_options=quiet,
            )
    for chunk in _chunks(reopen):
        db.session.execute(update(Slot).where(Slot.id.in_(chunk)).values(open=True), execution_options=quiet)
    removed = closed = outside = 0
    for chunk in _chunks(outside_ids):
        db.session.execute(
            update(Slot).where(Slot.id.in_(chunk), Slot.open.is_(True)).values(open=False),
            execution_options=quiet,
        )
        booked_here = select(Appointment.id).where(Appointment.slot_id == Slot.id).exists()
        gone = db.session.execute(
            delete(Slot).where(Slot.id.in_(chunk), ~booked_here), execution_options=quiet
        ).rowcount
        removed += gone
        closed += len(chunk) - gone
        outside += db.session.scalar(
            select(func.count(Appointment.id)).where(
                Appointment.slot_id.in_(chunk), Appointment.status == AppointmentStatus.BOOKED
            )
        )
    db.session.expire_all()  # the statements bypassed the session: reload what the caller reads next
    if removed or closed:
        audit.record(
            "appointment.slots_reconciled",
            object_type="unit",
            object_id=unit.code,
            details={"removed": removed, "closed": closed, "bookings_outside": outside},
        )
    return Reconciled(removed, closed, outside)


# Booking -----------------------------------------------------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _slot_for(item: ItemView, slot_id: int | None, at: datetime) -> Slot:
    slot = db.session.get(Slot, slot_id) if slot_id else None
    if slot is None:
        raise FieldError("slot", N_("请选择预约时段"))
    if slot.unit_id not in {u.id for u in queries.serving_units(item)}:
        raise FieldError("slot", N_("该窗口不办理此事项，请重新选择"))
    if slot.group_id != queries.group_for(slot.unit_id, item.id):
        raise FieldError("slot", N_("该时段属于其他业务的窗口，不办理此事项，请重新选择"))
    if slot.starts_at < queries.earliest_start(at):
        raise FieldError(
            "slot",
            N_("距开始不足%(minutes)d分钟的时段不能预约，请选择其他时段。")
            % {"minutes": queries.cutoff_minutes()},
        )
    if slot.day > queries.last_day(at):
        raise FieldError("slot", N_("只能预约%(days)d天内的时段。") % {"days": queries.window_days()})
    return slot


def _take_place(slot: Slot, at: datetime) -> None:
    """The one conditional UPDATE that takes a place, or :class:`SlotFull`."""
    result = db.session.execute(
        update(Slot)
        .where(
            Slot.id == slot.id,
            Slot.open.is_(True),
            Slot.booked < Slot.capacity,
            Slot.starts_at >= queries.earliest_start(at),
        )
        .values(booked=Slot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise SlotFull()


def _give_back(slot_id: int) -> None:
    db.session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False)
    )


def _when(slot: Slot) -> str:
    start = slot.starts_at.astimezone(SHANGHAI)
    end = slot.ends_at.astimezone(SHANGHAI)
    return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}"


def book(
    user: User, item: ItemView, slot_id: int | None, *, application: Application | None = None
) -> Appointment:
    """Book one place of ``slot_id`` for ``item`` (and the citizen's ``application`` of it), send the
    confirmation SMS; :class:`FieldError` for a slot that cannot be chosen, :class:`AlreadyBooked`,
    :class:`SlotFull`."""
    at = now()
    if item.visits < 1:
        raise DomainError(N_("该事项无需到场，不需要预约。"))
    if application is not None and (application.applicant_id != user.id or application.item_id != item.id):
        raise NotFound()
    if queries.active_booking(user.id, item.id) is not None:
        raise AlreadyBooked()
    blocked = queries.blocked_until(user.id, at)
    if blocked is not None:
        raise NoShowBlocked(blocked)
    slot = _slot_for(item, slot_id, at)
    try:
        with db.session.begin_nested():
            _take_place(slot, at)
            appt = Appointment(
                code=_new_code(),
                user_id=user.id,
                item_id=item.id,
                slot_id=slot.id,
                unit_id=slot.unit_id,
                application_id=application.id if application is not None else None,
                status=AppointmentStatus.BOOKED,
                created_at=at,
            )
            db.session.add(appt)
            db.session.flush()
    except IntegrityError:
        raise AlreadyBooked() from None
    db.session.refresh(slot)
    unit = db.session.get(Unit, slot.unit_id)
    send_to(
        user.id,
        "appointment_booked",
        application_id=appt.application_id,
        item=item.name,
        unit=unit.name,
        when=_when(slot),
        code=appt.code,
    )
    audit.record(
        "appointment.booked",
        object_type="appointment",
        object_id=appt.code,
        details={"item": item.code, "unit": unit.code, "slot": _when(slot)},
    )
    return appt


def _claim(appt: Appointment, **values) -> None:
    """Change the booking only while it is still booked in the slot this request read: one
    conditional UPDATE, so two tabs cancelling (or moving) at once give a place back only once."""
    result = db.session.execute(
        update(Appointment)
        .where(
            Appointment.id == appt.id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.slot_id == appt.slot_id,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError(N_("该预约刚刚已被更改，请刷新页面后查看。"))


def _changeable(appt: Appointment, user: User, at: datetime) -> None:
    if appt.user_id != user.id:
        raise NotFound()
    if appt.status != AppointmentStatus.BOOKED:
        raise DomainError(N_("该预约已不是有效状态，无法更改。"))
    if appt.slot.starts_at < queries.earliest_start(at):
        raise DomainError(
            N_("距预约开始已不足%(minutes)d分钟，无法在网上取消或改约，请直接到窗口办理。")
            % {"minutes": queries.cutoff_minutes()}
        )


def cancel(appt: Appointment, user: User) -> None:
    """The citizen cancels before the cut-off: the place is given back."""
    at = now()
    _changeable(appt, user, at)
    _claim(appt, status=AppointmentStatus.CANCELLED, changed_at=at)
    _give_back(appt.slot_id)
    db.session.refresh(appt)
    db.session.refresh(appt.slot)
    send_to(
        user.id,
        "appointment_cancelled",
        application_id=appt.application_id,
        item=_item_name(appt),
        when=_when(appt.slot),
        code=appt.code,
    )
    audit.record("appointment.cancelled", object_type="appointment", object_id=appt.code)


def move(appt: Appointment, user: User, slot_id: int | None) -> Appointment:
    """Move the booking to another slot of a serving unit: take the new place first (one conditional
    UPDATE), then give the old one back, in one transaction. The code stays."""
    at = now()
    _changeable(appt, user, at)
    item = _item_view(appt)
    if slot_id == appt.slot_id:
        raise FieldError("slot", N_("请选择与原预约不同的时段"))
    slot = _slot_for(item, slot_id, at)
    old = _when(appt.slot)
    old_slot_id = appt.slot_id
    _take_place(slot, at)
    _claim(appt, slot_id=slot.id, unit_id=slot.unit_id, changed_at=at)
    _give_back(old_slot_id)
    db.session.refresh(appt)
    db.session.refresh(slot)
    unit = db.session.get(Unit, slot.unit_id)
    send_to(
        user.id,
        "appointment_moved",
        application_id=appt.application_id,
        item=item.name,
        unit=unit.name,
        when=_when(slot),
        code=appt.code,
    )
    audit.record(
        "appointment.moved",
        object_type="appointment",
        object_id=appt.code,
        details={"from": old, "to": _when(slot), "unit": unit.code},
    )
    return appt


def _item_view(appt: Appointment) -> ItemView:
    for item in catalog().items.values():
        if item.id == appt.item_id:
            return item
    raise NotFound()


def _item_code(appt: Appointment) -> str:
    try:
        return _item_view(appt).code
    except NotFound:
        return ""


def _item_name(appt: Appointment) -> str:
    try:
        return _item_view(appt).name
    except NotFound:
        return ""


# At the counter ----------------------------------------------------------------------------------


def check_in(clerk: User, code: str) -> Appointment:
    """The citizen shows the code at the counter: the booking of the clerk's unit for today is marked
    checked in, and the visit is recorded on its application (if one is linked)."""
    code = (code or "").strip().upper().replace(" ", "")
    if not code:
        raise FieldError("code", N_("请输入预约码"))
    appt = db.session.scalar(select(Appointment).where(Appointment.code == code))
    unit_ids = {u.id for u in clerk.units}
    if appt is None or appt.unit_id not in unit_ids:
        raise FieldError("code", N_("未找到该预约码，请核对后重新输入（只能核验本单位的预约）。"))
    if appt.status == AppointmentStatus.CHECKED_IN:
        raise FieldError("code", N_("该预约已签到。"))
    if appt.status == AppointmentStatus.CANCELLED:
        raise FieldError("code", N_("该预约已取消。"))
    today = local_date(now())
    if appt.slot.day != today:
        raise FieldError(
            "code", N_("该预约的日期是 %(day)s，不是今天。") % {"day": appt.slot.day.isoformat()}
        )
    appt.status = AppointmentStatus.CHECKED_IN
    appt.checked_in_by_id = clerk.id
    appt.changed_at = appt.checked_in_at = now()
    if appt.application_id is not None:
        application = db.session.get(Application, appt.application_id)
        unit = db.session.get(Unit, appt.unit_id)
        record_visit(
            application, clerk, at=None, place=unit.name, purpose=VISIT_PURPOSE, note=f"预约 {appt.code}"
        )
    db.session.flush()
    audit.record(
        "appointment.checked_in",
        object_type="appointment",
        object_id=appt.code,
        details={"application_id": appt.application_id},
    )
    return appt


def serve(clerk: User, appointment_id: int) -> tuple[Appointment, bool]:
    """叫号/开始办理: the clerk calls a checked-in citizen of their unit to the counter; ``served_at``
    ends the wait the statistics measure. Another unit's (or a missing) booking is :class:`NotFound`;
    a booking already called is left as it was (a double click changes nothing: ``(appt, False)``).
    One conditional UPDATE, so two clerks calling the same person at once record one call."""
    appt = db.session.get(Appointment, appointment_id)
    if appt is None or appt.unit_id not in {u.id for u in clerk.units}:
        raise NotFound()
    if appt.served_at is not None:
        return appt, False
    if appt.status != AppointmentStatus.CHECKED_IN:
        raise DomainError(N_("该预约尚未签到，不能叫号。"))
    at = now()
    result = db.session.execute(
        update(Appointment)
        .where(
            Appointment.id == appt.id,
            Appointment.status == AppointmentStatus.CHECKED_IN,
            Appointment.served_at.is_(None),
        )
        .values(served_at=at, served_by_id=clerk.id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(appt)
    if result.rowcount != 1:
        return appt, False
    waited = None
    if appt.checked_in_at is not None:
        waited = round((at - appt.checked_in_at).total_seconds() / 60, 1)
    audit.record(
        "appointment.served",
        object_type="appointment",
        object_id=appt.code,
        details={"application_id": appt.application_id, "waited_minutes": waited},
    )
    return appt, True


def mark_no_shows(
    *, unit_ids: Sequence[int] | None = None, at: datetime | None = None, actor: User | None = None
) -> int:
    """Bookings of slots that ended without a check-in become 未到; how many. Idempotent."""
    at = at or now()
    query = (
        select(Appointment)
        .join(Slot, Slot.id == Appointment.slot_id)
        .where(Appointment.status == AppointmentStatus.BOOKED, Slot.ends_at <= at)
    )
    if unit_ids is not None:
        query = query.where(Appointment.unit_id.in_(list(unit_ids)))
    rows = list(db.session.scalars(query.with_for_update(skip_locked=True, of=Appointment)))
    for appt in rows:
        appt.status = AppointmentStatus.NO_SHOW
        appt.changed_at = at
        audit.record("appointment.no_show", object_type="appointment", object_id=appt.code, actor=actor)
    db.session.flush()
    return len(rows)
