"""预约 rules: template → slots (holidays and 调休 of 2027), cut-off and window, one active booking per
item, cancel and move, the counter's check-in recording the visit, no-shows, the SMS."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from applications.appointments import operations as ops
from applications.appointments.models import Appointment, AppointmentStatus, Slot
from applications.models import Application, Visit
from core.clock import travel
from core.db import db
from core.errors import DomainError, FieldError
from core.outbox import OutboxMessage
from core.transaction import commit
from core.workdays.models import CalendarYear, CalendarYearDay
from tests.appointments.helpers import ITEM, MONDAY, MORNING, UNIT, at, item, open_weekdays, slot_at, slots_on
from tests.clerk.helpers import citizen, insert_submitted, unit, user
from tests.factories import CitizenFactory

# Template → slots -------------------------------------------------------------------------------


def test_slots_follow_the_weekly_template_and_skip_new_year_and_weekends(world):
    with world.app_context():
        created = open_weekdays(today=date(2026, 12, 28), days=14)  # Mon 28 Dec 2026 … Sun 10 Jan 2027
        commit()
        days = sorted(set(db.session.scalars(select(Slot.day))))
        # 1 January 2027 (元旦, a Friday) and the weekends have none
        assert date(2027, 1, 1) not in days
        assert date(2027, 1, 2) not in days and date(2027, 1, 3) not in days
        assert days == [date(2026, 12, d) for d in (28, 29, 30, 31)] + [
            date(2027, 1, d) for d in (4, 5, 6, 7, 8)
        ]
        assert created == 9 * 4  # 09:00–11:00 in 30 minutes
        first = slots_on(MONDAY)[0]
        assert first.capacity == 3 and first.booked == 0
        assert first.starts_at == at(MONDAY, 9) and first.ends_at == at(MONDAY, 9, 30)
        # idempotent: a second run creates nothing
        assert ops.open_slots(14, today=date(2026, 12, 28)) == 0


def test_no_slots_during_the_statutory_spring_festival_before_2027_is_entered(world):
    with world.app_context():
        open_weekdays(today=date(2027, 2, 1), days=14)
        days = set(db.session.scalars(select(Slot.day)))
        # 除夕 2027 is Friday 5 February: 5–8 February are statutory holidays, with 补假 on 9 and 10
        # for the two that fall on the weekend
        assert date(2027, 2, 4) in days
        assert not any(date(2027, 2, d) in days for d in range(5, 11))
        assert date(2027, 2, 11) in days


def test_entered_arrangement_closes_the_whole_holiday_and_a_make_up_sunday_opens_like_monday(world):
    with world.app_context():
        year = CalendarYear(year=2027, note="测试")
        year.days = [
            CalendarYearDay(year=2027, day=date(2027, 2, 5) + timedelta(days=i), working=False, name="春节")
            for i in range(7)
        ] + [CalendarYearDay(year=2027, day=date(2027, 2, 14), working=True, name="")]
        db.session.add(year)
        db.session.flush()
        open_weekdays(today=date(2027, 2, 1), days=16, monday_start=time(10, 0))  # Monday opens at 10:00
        days = set(db.session.scalars(select(Slot.day)))
        assert not any(date(2027, 2, 5) + timedelta(days=i) in days for i in range(7))
        # Sunday 14 February is a 调休 working day: it opens with Monday's hours (10:00–11:00)
        sunday = slots_on(date(2027, 2, 14))
        assert [s.starts_at for s in sunday] == [at(date(2027, 2, 14), 10), at(date(2027, 2, 14), 10, 30)]
        assert date(2027, 2, 13) not in days  # an ordinary Saturday stays closed
        assert len(slots_on(date(2027, 2, 12))) == 4  # the Friday after the holiday: its own hours


def test_exception_day_closes_its_slots_and_extra_hours_open_more(world):
    with world.app_context(), travel(MORNING):
        open_weekdays()
        ee = unit(UNIT)
        ops.add_exception(ee, day=date(2027, 1, 5), closed=True, note="设备检修")
        assert all(not s.open for s in slots_on(date(2027, 1, 5)))
        ops.add_exception(
            ee,
            day=date(2027, 1, 9),
            closed=False,
            start=time(9, 0),
            end=time(10, 0),
            slot_minutes=30,
            windows=2,
        )  # a Saturday: extra hours
        assert ops.open_slots(14, today=MONDAY) == 2
        assert [s.capacity for s in slots_on(date(2027, 1, 9))] == [2, 2]
        with pytest.raises(FieldError, match="法定节假日"):
            ops.add_exception(
                ee,
                day=date(2027, 2, 5),
                closed=False,
                start=time(9, 0),
                end=time(10, 0),
                slot_minutes=30,
                windows=2,
            )
        with pytest.raises(FieldError, match="结束时间须晚于开始时间"):
            ops.add_hours(ee, weekday=5, start=time(10, 0), end=time(9, 0), slot_minutes=30, windows=1)
        with pytest.raises(FieldError, match="重叠"):
            ops.add_hours(ee, weekday=0, start=time(10, 0), end=time(12, 0), slot_minutes=30, windows=1)


# Booking ----------------------------------------------------------------------------------------


def test_booking_takes_a_place_sends_the_sms_and_is_audited(world):
    with world.app_context(), travel(MORNING):
        open_weekdays()
        me = citizen()
        slot = slot_at(at(MONDAY, 10))
        appt = ops.book(me, item(), slot.id)
        commit()
        assert appt.status == AppointmentStatus.BOOKED and len(appt.code) == 8
        assert db.session.get(Slot, slot.id).booked == 1
        sms = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "appointment_booked"))
        assert appt.code in sms.sms_text and "2027-01-04 10:00-10:30" in sms.sms_text


def test_cut_off_and_window(world):
    with world.app_context(), travel(at(MONDAY, 9, 10)):
        open_weekdays(days=20)
        me = citizen()
        with pytest.raises(FieldError, match="不足60分钟"):
            ops.book(me, item(), slot_at(at(MONDAY, 10)).id)  # 50 minutes away
        with pytest.raises(FieldError, match="只能预约14天内"):
            ops.book(me, item(), slot_at(at(date(2027, 1, 19), 9)).id)  # 15 days ahead
        with pytest.raises(FieldError, match="请选择预约时段"):
            ops.book(me, item(), 999999)
        assert ops.book(me, item(), slot_at(at(MONDAY, 10, 30)).id).id


def test_cut_off_is_configurable(world):
    world.config["APPOINTMENT_CUTOFF_MINUTES"] = 10
    with world.app_context(), travel(at(MONDAY, 9, 10)):
        open_weekdays()
        assert ops.book(citizen(), item(), slot_at(at(MONDAY, 9, 30)).id).id


def test_one_active_booking_per_citizen_and_item(world):
    with world.app_context(), travel(MORNING):
        open_weekdays()
        me = citizen()
        first = ops.book(me, item(), slot_at(at(MONDAY, 10)).id)
        commit()
        with pytest.raises(ops.AlreadyBooked, match="只能有一个有效预约"):
            ops.book(me, item(), slot_at(at(MONDAY, 10, 30)).id)
        db.session.rollback()
        assert slot_at(at(MONDAY, 10, 30)).booked == 0
        # another item needing a visit is a separate booking
        other = __import__("catalog.queries", fromlist=["catalog"]).catalog().items["LJ-CR-002"]
        assert ops.book(me, other, slot_at(at(MONDAY, 10, 30)).id).id
        # after cancelling the first, the citizen may book the item again
        ops.cancel(first, me)
        assert ops.book(me, item(), slot_at(at(MONDAY, 10)).id).id
        commit()


def test_partial_unique_index_refuses_a_second_active_booking_written_past_the_check(world):
    """The rule holds in the database too: two concurrent requests that both passed the check."""
    with world.app_context(), travel(MORNING):
        open_weekdays()
        me = citizen()
        ops.book(me, item(), slot_at(at(MONDAY, 10)).id)
        commit()
        from applications.appointments import queries

        original = queries.active_booking
        queries.active_booking = lambda *a: None
        try:
            with pytest.raises(ops.AlreadyBooked):
                ops.book(me, item(), slot_at(at(MONDAY, 10, 30)).id)
        finally:
            queries.active_booking = original
        commit()
        assert slot_at(at(MONDAY, 10, 30)).booked == 0, "the refused booking gave its place back"


def test_a_full_slot_refuses_clearly(world):
    with world.app_context(), travel(MORNING):
        open_weekdays(windows=1)
        slot = slot_at(at(MONDAY, 10))
        ops.book(citizen(), item(), slot.id)
        other = CitizenFactory()
        with pytest.raises(ops.SlotFull, match="已约满"):
            ops.book(other, item(), slot.id)


def test_cancel_gives_the_place_back_and_is_refused_within_the_cut_off(world):
    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            me = citizen()
            appt = ops.book(me, item(), slot_at(at(MONDAY, 10)).id)
            commit()
        with travel(at(MONDAY, 9, 30)):
            with pytest.raises(DomainError, match="不足60分钟"):
                ops.cancel(appt, me)
            db.session.rollback()
        with travel(MORNING):
            with pytest.raises(DomainError):
                ops.cancel(appt, CitizenFactory())  # someone else's: not found
            ops.cancel(appt, me)
            commit()
            assert appt.status == AppointmentStatus.CANCELLED
            assert slot_at(at(MONDAY, 10)).booked == 0
            assert db.session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.kind == "appointment_cancelled")
            )
            with pytest.raises(DomainError, match="已不是有效状态"):
                ops.cancel(appt, me)


def test_move_takes_the_new_place_and_frees_the_old_and_keeps_the_code(world):
    with world.app_context(), travel(MORNING):
        open_weekdays(windows=1)
        me = citizen()
        appt = ops.book(me, item(), slot_at(at(MONDAY, 10)).id)
        code = appt.code
        full = slot_at(at(MONDAY, 10, 30))
        ops.book(CitizenFactory(), item(), full.id)
        commit()
        with pytest.raises(ops.SlotFull):
            ops.move(appt, me, full.id)
        db.session.rollback()
        appt = db.session.get(Appointment, appt.id)
        assert appt.slot.starts_at == at(MONDAY, 10)
        assert slot_at(at(MONDAY, 10)).booked == 1 and slot_at(at(MONDAY, 10, 30)).booked == 1
        with pytest.raises(FieldError, match="不同的时段"):
            ops.move(appt, me, appt.slot_id)
        target = slot_at(at(date(2027, 1, 5), 9))
        ops.move(appt, me, target.id)
        commit()
        assert appt.code == code and appt.slot_id == target.id
        assert slot_at(at(MONDAY, 10)).booked == 0 and db.session.get(Slot, target.id).booked == 1
        assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.kind == "appointment_moved"))


def test_item_without_a_visit_cannot_be_booked(world):
    from catalog.queries import catalog

    with world.app_context(), travel(MORNING):
        open_weekdays()
        zero = next(i for i in catalog().items.values() if i.visits == 0)
        with pytest.raises(DomainError, match="无需到场"):
            ops.book(citizen(), zero, slot_at(at(MONDAY, 10)).id)


def test_a_slot_of_a_unit_that_does_not_serve_the_item_is_refused(world):
    from catalog.queries import catalog

    with world.app_context(), travel(MORNING):
        open_weekdays()
        id_card = catalog().items["LJ-HJ-002"]  # police stations, not 出入境
        with pytest.raises(FieldError, match="不办理此事项"):
            ops.book(citizen(), id_card, slot_at(at(MONDAY, 10)).id)


# At the counter ---------------------------------------------------------------------------------


def _application_of(me) -> Application:
    (app_id,) = insert_submitted(1, unit_code=UNIT, item_code=ITEM, applicant=me)
    return db.session.get(Application, app_id)


def test_check_in_by_code_records_the_visit_on_the_linked_application(world):
    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            me = citizen()
            application = _application_of(me)
            appt = ops.book(me, item(), slot_at(at(MONDAY, 10)).id, application=application)
            commit()
        with travel(at(MONDAY, 9, 55)):
            clerk = user("clerk_ee")
            with pytest.raises(FieldError, match="未找到该预约码"):
                ops.check_in(user("clerk_ps_dc_01"), appt.code)  # another unit's clerk
            with pytest.raises(FieldError, match="请输入预约码"):
                ops.check_in(clerk, "  ")
            done = ops.check_in(clerk, appt.code.lower())  # typed in lower case: still found
            commit()
            assert done.status == AppointmentStatus.CHECKED_IN and done.checked_in_by_id == clerk.id
            visits = list(db.session.scalars(select(Visit).where(Visit.application_id == application.id)))
            assert len(visits) == 1 and visits[0].place and appt.code in visits[0].note
            with pytest.raises(FieldError, match="已签到"):
                ops.check_in(clerk, appt.code)


def test_check_in_without_an_application_marks_the_booking_only(world):
    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            appt = ops.book(citizen(), item(), slot_at(at(MONDAY, 10)).id)
            commit()
        with travel(at(MONDAY, 10, 5)):
            ops.check_in(user("clerk_ee"), appt.code)
            commit()
            assert appt.status == AppointmentStatus.CHECKED_IN
            assert db.session.scalar(select(func.count(Visit.id))) == 0


def test_check_in_on_another_day_or_of_a_cancelled_booking_is_refused(world):
    with world.app_context(), travel(MORNING):
        open_weekdays()
        me = citizen()
        appt = ops.book(me, item(), slot_at(at(date(2027, 1, 5), 10)).id)
        commit()
        with pytest.raises(FieldError, match="不是今天"):
            ops.check_in(user("clerk_ee"), appt.code)
        ops.cancel(appt, me)
        commit()
        with pytest.raises(FieldError, match="已取消"):
            ops.check_in(user("clerk_ee"), appt.code)


def test_no_shows_are_marked_after_the_slot_ended(world):
    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            missed = ops.book(citizen(), item(), slot_at(at(MONDAY, 9)).id)
            came = ops.book(CitizenFactory(), item(), slot_at(at(MONDAY, 9)).id)
            later = ops.book(CitizenFactory(), item(), slot_at(at(MONDAY, 10, 30)).id)
            commit()
        with travel(at(MONDAY, 9, 10)):
            ops.check_in(user("clerk_ee"), came.code)
            commit()
        with travel(at(MONDAY, 9, 30)):
            assert ops.mark_no_shows() == 1
            commit()
            assert ops.mark_no_shows() == 0  # idempotent
        assert missed.status == AppointmentStatus.NO_SHOW
        assert came.status == AppointmentStatus.CHECKED_IN
        assert later.status == AppointmentStatus.BOOKED


def test_cli_opens_slots_and_marks_no_shows_idempotently(world):
    with world.app_context():
        open_weekdays(days=1, today=date(2026, 1, 1))  # hours only (a holiday: no slot)
        commit()
    runner = world.test_cli_runner()
    with travel(MORNING):
        first = runner.invoke(args=["appointments", "open", "--days", "7"])
        again = runner.invoke(args=["appointments", "open", "--days", "7"])
    assert first.exit_code == 0 and "新增预约时段 20 个" in first.output  # Mon 4 – Fri 8 January
    assert again.exit_code == 0 and "新增预约时段 0 个" in again.output
    with world.app_context(), travel(MORNING):
        ops.book(citizen(), item(), slot_at(at(MONDAY, 9)).id)
        commit()
    with travel(at(MONDAY, 12)):
        result = runner.invoke(args=["appointments", "no-shows"])
    assert result.exit_code == 0 and "标记未到 1 个预约" in result.output
    bad = runner.invoke(args=["appointments", "open", "--days", "0"])
    assert bad.exit_code != 0


def test_the_scheduler_opens_slots_daily_and_marks_no_shows_and_a_dry_run_keeps_nothing(world):
    """The worker's scheduler runs both appointment jobs; a dry run reports what it would do and
    leaves the tables as they were."""
    from sqlalchemy import func, select

    from applications.appointments.models import Slot
    from core.db import db
    from core.jobs import registered_jobs, run_job

    jobs = registered_jobs(world)
    with world.app_context():
        open_weekdays(days=1, today=date(2026, 1, 1))  # hours only (a holiday: no slot)
        commit()
        with travel(MORNING):
            dry = run_job(jobs["appointments_open"], dry_run=True)
            assert dry.counts["slots_opened"] > 0
            assert db.session.scalar(select(func.count()).select_from(Slot)) == 0
            real = run_job(jobs["appointments_open"], manual=True)
            assert real.outcome == "ok" and real.counts == dry.counts
            ops.book(citizen(), item(), slot_at(at(MONDAY, 9)).id)
            commit()
        with travel(at(MONDAY, 12)):
            assert run_job(jobs["appointment_no_shows"], dry_run=True).counts == {"no_shows": 1}
            assert run_job(jobs["appointment_no_shows"], manual=True).counts == {"no_shows": 1}
            assert run_job(jobs["appointment_no_shows"], manual=True).counts == {"no_shows": 0}


def test_the_picker_lists_only_days_with_a_place_and_not_the_slot_being_moved_from(world):
    """The day list is one DISTINCT query: a full day is not offered, and when moving, a day whose
    only free place is the booking's own slot is not offered either."""
    from applications.appointments import queries

    with world.app_context(), travel(MORNING):
        open_weekdays()
        ee = unit(UNIT).id
        tuesday = MONDAY + timedelta(days=1)
        for slot in slots_on(tuesday):
            slot.booked = slot.capacity  # Tuesday is full
        keep = slots_on(MONDAY)[0]
        for slot in slots_on(MONDAY)[1:]:
            slot.booked = slot.capacity  # Monday has one place left: in ``keep``
        commit()
        days = queries.free_days([ee], MONDAY, MONDAY + timedelta(days=4))
        assert MONDAY in days and tuesday not in days and MONDAY + timedelta(days=2) in days
        assert MONDAY not in queries.free_days([ee], MONDAY, MONDAY + timedelta(days=4), exclude=keep.id)
        rows = queries.slot_rows([ee], MONDAY, MONDAY)
        assert [(r.capacity - r.booked) for r in rows] == [s.remaining for s in slots_on(MONDAY)]
