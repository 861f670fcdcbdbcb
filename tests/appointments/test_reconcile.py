"""Deleting or shrinking opening hours: the future slots the template no longer gives go when nobody
ever booked them; slots with bookings stay (closed to new bookings), their bookings are never
cancelled silently and the admin is told how many sit outside the hours. Past slots, closed days
and the other days are untouched."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select

from applications.appointments import operations as ops
from applications.appointments.models import Appointment, AppointmentStatus, OpeningHours
from core.audit import AuditLog
from core.clock import travel
from core.db import db
from core.errors import NotFound
from core.transaction import commit
from tests.appointments.helpers import MONDAY, MORNING, UNIT, at, item, open_weekdays, slot_at, slots_on
from tests.clerk.helpers import login_staff, unit
from tests.factories import CitizenFactory

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
NEXT_TUESDAY = TUESDAY + timedelta(days=7)


def _line(weekday: int) -> OpeningHours:
    return db.session.scalar(
        select(OpeningHours).where(OpeningHours.unit_id == unit(UNIT).id, OpeningHours.weekday == weekday)
    )


def _starts(day) -> list[str]:
    return [f"{s.starts_at.astimezone(at(day, 0).tzinfo):%H:%M}" for s in slots_on(day)]


def test_removing_a_line_removes_its_empty_slots_and_keeps_the_booked_ones(world):
    with world.app_context(), travel(MORNING):
        open_weekdays()
        booked = ops.book(CitizenFactory(), item(), slot_at(at(TUESDAY, 10)).id)
        gone = ops.book(CitizenFactory(), item(), slot_at(at(TUESDAY, 9, 30)).id)
        ops.cancel(gone, gone.user)  # only a cancelled booking: the slot cannot be deleted (history)
        commit()

        result = ops.remove_hours(unit(UNIT), _line(1).id)
        commit()

        assert result.bookings_outside == 1 and result.closed == 2
        assert result.removed == 2 * 4 - 2  # two Tuesdays × four slots, less the two with bookings
        assert _starts(TUESDAY) == ["09:30", "10:00"] and _starts(NEXT_TUESDAY) == []
        assert all(not s.open for s in slots_on(TUESDAY))  # no new booking outside the hours
        assert booked.status == AppointmentStatus.BOOKED  # never silently cancelled
        assert slot_at(at(TUESDAY, 10)).booked == 1
        assert len(slots_on(WEDNESDAY)) == 4 and all(s.open for s in slots_on(WEDNESDAY))
        with_cancelled = slot_at(at(TUESDAY, 9, 30))
        assert db.session.scalar(select(Appointment.id).where(Appointment.slot_id == with_cancelled.id))
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "appointment.hours_removed"))
        assert audit.details["slots_removed"] == 6 and audit.details["bookings_outside"] == 1
        assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "appointment.slots_reconciled"))

        # the citizen can still move the booking to a time within the hours
        ops.move(booked, booked.user, slot_at(at(WEDNESDAY, 10)).id)
        assert slot_at(at(TUESDAY, 10)).booked == 0


def test_shrinking_a_line_keeps_what_still_matches(world):
    with world.app_context(), travel(MORNING):
        open_weekdays()
        ops.book(CitizenFactory(), item(), slot_at(at(WEDNESDAY, 9)).id)
        commit()
        ee = unit(UNIT)
        ops.remove_hours(ee, _line(2).id)
        ops.add_hours(ee, weekday=2, start=time(9), end=time(10), slot_minutes=30, windows=3)
        ops.open_slots(14, today=MONDAY, unit_ids=[ee.id])
        result = ops.reconcile_slots(ee)
        commit()
        assert result.bookings_outside == 0
        assert _starts(WEDNESDAY) == ["09:00", "09:30"]
        assert slot_at(at(WEDNESDAY, 9)).booked == 1 and slot_at(at(WEDNESDAY, 9)).open


def test_fewer_windows_apply_to_matching_slots_but_never_below_their_bookings(world):
    with world.app_context(), travel(MORNING):
        open_weekdays(windows=3)
        first = slot_at(at(WEDNESDAY, 9))
        for _ in range(2):
            ops.book(CitizenFactory(), item(), first.id)
        commit()
        ee = unit(UNIT)
        ops.remove_hours(ee, _line(2).id)
        ops.add_hours(ee, weekday=2, start=time(9), end=time(11), slot_minutes=30, windows=1)
        ops.open_slots(14, today=MONDAY, unit_ids=[ee.id])
        ops.reconcile_slots(ee)
        commit()
        caps = {
            f"{s.starts_at.astimezone(at(WEDNESDAY, 0).tzinfo):%H:%M}": s.capacity
            for s in slots_on(WEDNESDAY)
        }
        assert caps == {"09:00": 3, "09:30": 1, "10:00": 1, "10:30": 1}
        with_place = slot_at(at(WEDNESDAY, 9))
        assert with_place.booked == 2


def test_past_slots_and_closed_days_are_left_alone(world):
    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            ops.add_exception(unit(UNIT), day=TUESDAY, closed=True, note="检修")
            commit()
        with travel(at(MONDAY, 10, 15)):
            ee = unit(UNIT)
            ops.remove_hours(ee, _line(0).id)
            ops.remove_hours(ee, _line(1).id)
            commit()
            # Monday: the slots that started stay (the counter's), the later one goes
            assert _starts(MONDAY) == ["09:00", "09:30", "10:00"]
            assert len(slots_on(TUESDAY)) == 4  # the closure's day: untouched
            assert _starts(NEXT_TUESDAY) == []


def test_removing_extra_hours_removes_their_slots(world):
    with world.app_context(), travel(MORNING):
        open_weekdays()
        ee = unit(UNIT)
        row, cancelled = ops.add_exception(
            ee, day=TUESDAY, closed=False, start=time(14), end=time(15), slot_minutes=30, windows=1
        )
        assert cancelled == 0
        ops.open_slots(14, today=MONDAY, unit_ids=[ee.id])
        assert len(slots_on(TUESDAY)) == 6
        result = ops.remove_exception(ee, row.id)
        commit()
        assert result.removed == 2 and len(slots_on(TUESDAY)) == 4


def test_another_units_line_is_not_found(world):
    with world.app_context(), travel(MORNING):
        open_weekdays()
        line = _line(0).id
        try:
            ops.remove_hours(unit("LJ-VO"), line)
        except NotFound:
            pass
        else:
            raise AssertionError("another unit's line must be NotFound")
        assert db.session.get(OpeningHours, line) is not None


def test_the_admin_is_told_how_many_bookings_sit_outside_the_new_hours(world):
    with world.app_context(), travel(MORNING):
        open_weekdays()
        booked = ops.book(CitizenFactory(), item(), slot_at(at(TUESDAY, 10)).id)
        commit()
        line, booked_id = _line(1).id, booked.id
    admin = world.test_client()
    login_staff(admin, "admin")
    with travel(MORNING):
        page = admin.post(f"/admin/appointments/{UNIT}/hours/{line}/delete", follow_redirects=True).text
        assert "已删除该开放时间" in page
        assert "已移除 7 个不在开放时间内、尚无预约的时段" in page
        assert "有 1 个预约已不在新的开放时间内" in page and "未取消" in page
        # a double click: the line is gone, 404, nothing else changes
        assert admin.post(f"/admin/appointments/{UNIT}/hours/{line}/delete").status_code == 404
    with world.app_context():
        assert db.session.get(Appointment, booked_id).status == AppointmentStatus.BOOKED
