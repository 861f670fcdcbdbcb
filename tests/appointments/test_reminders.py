"""预约 reminders: the evening before and about an hour before, each once per booking (and slot
time), through the catalogue and the outbox; cancelled bookings are not reminded, moved ones are
reminded of the new time; the hourly windows give every booking exactly one hour-before reminder;
dry runs count and send nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from applications.appointments import operations as ops
from applications.appointments import reminders
from applications.jobs.models import ReminderSent
from core.clock import travel
from core.db import db
from core.jobs import registered_jobs, run_job
from core.outbox import OutboxMessage
from core.transaction import commit
from tests.appointments.helpers import MONDAY, MORNING, at, item, open_weekdays, slot_at
from tests.clerk.helpers import citizen
from tests.factories import CitizenFactory

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)


def _messages(kind: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))
    )


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_evening_before_each_booking_of_tomorrow_is_reminded_once_with_an_sms(world):
    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            me = citizen()
            mine = ops.book(me, item(), slot_at(at(TUESDAY, 10)).id)
            other = ops.book(CitizenFactory(), item(), slot_at(at(TUESDAY, 9)).id)
            later = ops.book(CitizenFactory(), item(), slot_at(at(WEDNESDAY, 9)).id)
            gone = ops.book(CitizenFactory(), item(), slot_at(at(TUESDAY, 9, 30)).id)
            ops.cancel(gone, gone.user)
            commit()
        with travel(at(MONDAY, 18, 2)):
            assert reminders.day_before(False) == {"sent": 2, "already_sent": 0}
            commit()
            assert reminders.day_before(False) == {"sent": 0, "already_sent": 2}  # idempotent
            commit()
        sent = _messages("appointment_day_before")
        assert sorted(m.user_id for m in sent) == sorted([me.id, other.user_id])
        msg = next(m for m in sent if m.user_id == me.id)
        assert "2027-01-05 10:00-10:30" in msg.body and mine.code in msg.body
        assert msg.sms_text.startswith("【临江公安】") and mine.code in msg.sms_text
        assert later.user_id not in {m.user_id for m in sent}  # the day after tomorrow: not yet
        assert gone.user_id not in {m.user_id for m in sent}  # cancelled: nothing
        # Tuesday evening: Wednesday's booking
        with travel(at(TUESDAY, 18, 1)):
            assert reminders.day_before(False) == {"sent": 1, "already_sent": 0}
            commit()
        assert _messages("appointment_day_before")[-1].user_id == later.user_id


def test_a_moved_booking_is_reminded_of_its_new_time(world):
    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            me = citizen()
            appt = ops.book(me, item(), slot_at(at(TUESDAY, 10)).id)
            commit()
        with travel(at(MONDAY, 18, 2)):
            assert reminders.day_before(False)["sent"] == 1
            commit()
        with travel(at(MONDAY, 19)):
            ops.move(appt, me, slot_at(at(TUESDAY, 10, 30)).id)
            commit()
            assert reminders.day_before(False) == {"sent": 1, "already_sent": 0}  # the new time
            commit()
        bodies = [m.body for m in _messages("appointment_day_before")]
        assert "10:00-10:30" in bodies[0] and "10:30-11:00" in bodies[1]
        assert len(bodies) == 2


def test_hourly_runs_give_every_booking_exactly_one_hour_before_reminder(world):
    """The worker runs the hourly job a few minutes into each hour; every booking is reminded by the
    run 60–120 minutes before it starts, once, including one booked after that run."""
    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            booked = {
                minute: ops.book(
                    CitizenFactory(), item(), slot_at(at(TUESDAY, 9 + minute // 60, minute % 60)).id
                )
                for minute in (0, 30, 60, 90)
            }
            commit()
        when_sent: dict[int, tuple[int, int]] = {}
        late = None
        # a pass a few minutes into each hour and a second one later in it (a manual run, a second worker)
        for hour, minute in [(h, m) for h in range(6, 12) for m in (5, 40)]:
            if (hour, minute) == (8, 40):
                # booked at 08:20 for 09:30, after the 08:05 run that covered 09:30
                with travel(at(TUESDAY, 8, 20)):
                    late = ops.book(CitizenFactory(), item(), slot_at(at(TUESDAY, 9, 30)).id)
                    commit()
            with travel(at(TUESDAY, hour, minute)):
                reminders.hour_before(False)
                commit()
            for m in _messages("appointment_hour_before"):
                when_sent.setdefault(m.id, (hour, minute))
        sent = _messages("appointment_hour_before")
        per_user: dict[int, list[OutboxMessage]] = {}
        for m in sent:
            per_user.setdefault(m.user_id, []).append(m)
        everyone = [a.user_id for a in booked.values()] + [late.user_id]
        assert sorted(per_user) == sorted(everyone)
        assert all(len(v) == 1 for v in per_user.values())  # exactly once each
        # 09:00 and 09:30 by the 08:05 run; 10:00 and 10:30 by the 09:05 run; the late one at 08:40
        assert when_sent[per_user[booked[0].user_id][0].id] == (8, 5)
        assert when_sent[per_user[booked[30].user_id][0].id] == (8, 5)
        assert when_sent[per_user[booked[60].user_id][0].id] == (9, 5)
        assert when_sent[per_user[booked[90].user_id][0].id] == (9, 5)
        assert when_sent[per_user[late.user_id][0].id] == (8, 40)
        msg = per_user[booked[60].user_id][0]
        assert "2027-01-05 10:00-10:30" in msg.body and booked[60].code in msg.sms_text


def test_hour_before_skips_cancelled_and_started_bookings(world):
    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            gone = ops.book(CitizenFactory(), item(), slot_at(at(TUESDAY, 9, 30)).id)
            ops.cancel(gone, gone.user)
            started = ops.book(CitizenFactory(), item(), slot_at(at(TUESDAY, 9)).id)
            commit()
        with travel(at(TUESDAY, 9, 1)):  # the worker was down until after 09:00
            assert reminders.hour_before(False) == {"sent": 0, "already_sent": 0}
        assert _messages("appointment_hour_before") == []
        assert started.status.value == "booked"


def test_scheduler_runs_the_reminders_and_a_dry_run_counts_without_sending(world):
    jobs = registered_jobs(world)
    assert jobs["appointment_day_before"].schedule.at_hour == 18
    assert jobs["appointment_hour_before"].schedule.every == "hour"
    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            ops.book(citizen(), item(), slot_at(at(TUESDAY, 9)).id)
            ops.book(CitizenFactory(), item(), slot_at(at(TUESDAY, 9, 30)).id)
            commit()
        outbox, recorded = _count(OutboxMessage), _count(ReminderSent)
        with travel(at(MONDAY, 18, 5)):
            dry = run_job(jobs["appointment_day_before"], dry_run=True)
            assert dry.counts == {"sent": 2, "already_sent": 0}
            assert (_count(OutboxMessage), _count(ReminderSent)) == (outbox, recorded)
            real = run_job(jobs["appointment_day_before"], manual=True)
            assert real.outcome == "ok" and real.counts == {"sent": 2, "already_sent": 0}
            assert run_job(jobs["appointment_day_before"], dry_run=True).counts == {
                "sent": 0,
                "already_sent": 2,
            }
        with travel(at(TUESDAY, 8, 3)):
            assert run_job(jobs["appointment_hour_before"], dry_run=True).counts == {
                "sent": 2,
                "already_sent": 0,
            }
            assert _count(ReminderSent) == recorded + 2
            assert run_job(jobs["appointment_hour_before"], manual=True).counts["sent"] == 2
        assert _count(OutboxMessage) == outbox + 4
