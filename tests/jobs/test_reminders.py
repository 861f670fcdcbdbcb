"""Reminder jobs (applications/jobs/reminders.py): the daily digest of applications about to fall due
for the clerk holding each one and the unit's leads (one message per person per day, also with two
workers at once), and the citizen's 补正 / 容缺 deadline reminders (once per application per deadline,
at the window's boundary), all through the message catalogue and the outbox."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from applications.jobs import reminders
from applications.jobs.models import ReminderSent
from applications.models import Application
from applications.workflow.states import State
from core.clock import travel
from core.db import db
from core.jobs import registered_jobs, run_job
from core.outbox import OutboxMessage
from tests.clerk.helpers import insert_submitted, login_staff, run_threads, user
from tests.jobs.helpers import add_event

# Monday 2 March 2026, 09:00 in Beijing (2 working days on: Wednesday 4 March)
MONDAY = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def messages(kind: str) -> list[OutboxMessage]:
    db.session.expire_all()
    rows = list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))
    )
    return rows


def _due(day: date, **columns) -> int:
    (app_id,) = insert_submitted(1, state=columns.pop("state", State.ACCEPTED), promised_due=day, **columns)
    return app_id


def _digest_world() -> dict[str, int]:
    clerk, other = user("clerk_ps_dc_01"), user("clerk_ps_xc_01")
    ids = {
        "today_held": _due(date(2026, 3, 2), claimed_by_id=clerk.id),
        "wednesday_free": _due(date(2026, 3, 4)),
        "thursday": _due(date(2026, 3, 5), claimed_by_id=clerk.id),  # 3 working days on: not yet
        "paused": _due(date(2026, 3, 3), state=State.CORRECTION_REQUESTED, claimed_by_id=clerk.id),
        "overdue": _due(date(2026, 2, 27), claimed_by_id=clerk.id),  # the 已超期 tab's, not a reminder
        "other_unit": _due(date(2026, 3, 3), unit_code="LJ-PS-XC-01", claimed_by_id=other.id),
    }
    db.session.commit()
    return ids


def _ref(app_id: int) -> str:
    return db.session.get(Application, app_id).reference


def test_the_digest_goes_to_the_holder_and_the_leads_once_a_day(world):
    with world.app_context():
        ids = _digest_world()
        with travel(MONDAY):
            result = run_job(registered_jobs()["due_soon_digest"])
        assert result.outcome == "ok"
        assert result.counts == {"people": 4, "applications": 3, "already_sent": 0}
        by_user = {m.user_id: m for m in messages("due_soon_digest")}
        clerk, lead = user("clerk_ps_dc_01"), user("lead_dc")
        assert set(by_user) == {clerk.id, lead.id, user("clerk_ps_xc_01").id, user("lead_xc").id}
        assert _ref(ids["today_held"]) in by_user[clerk.id].body
        assert _ref(ids["wednesday_free"]) not in by_user[clerk.id].body
        lead_body = by_user[lead.id].body
        assert _ref(ids["today_held"]) in lead_body and _ref(ids["wednesday_free"]) in lead_body
        assert "2 件" in lead_body and "2026-03-04" in lead_body
        for hidden in ("thursday", "paused", "overdue", "other_unit"):
            assert _ref(ids[hidden]) not in lead_body
        assert by_user[clerk.id].sms_text == ""  # in-site only

        # a manual run the same day sends nothing again; the next day's run does
        with travel(MONDAY + timedelta(hours=5)):
            again = run_job(registered_jobs()["due_soon_digest"], manual=True)
        assert again.counts["people"] == 0 and again.counts["already_sent"] == 4
        assert len(messages("due_soon_digest")) == 4
        with travel(MONDAY + DAY):
            run_job(registered_jobs()["due_soon_digest"])
        assert len(messages("due_soon_digest")) > 4


def test_the_clerk_reads_the_digest_in_their_inbox(world):
    with world.app_context():
        ids = _digest_world()
        with travel(MONDAY):
            run_job(registered_jobs()["due_soon_digest"])
        reference = _ref(ids["today_held"])
    client = world.test_client()
    login_staff(client, "clerk_ps_dc_01")
    assert 'href="/me/messages"' in client.get("/clerk/").text  # the 消息 link, for staff too
    page = client.get("/me/messages").text
    assert "即将到期办件提醒" in page and reference in page


def test_two_digest_runs_at_once_send_one_message_per_person(world):
    with world.app_context():
        _digest_world()
    barrier = threading.Barrier(2)

    def worker(i: int) -> None:
        with world.app_context(), travel(MONDAY):
            barrier.wait()
            run_job(registered_jobs()["due_soon_digest"], manual=True, worker=f"w{i}")
            db.session.remove()

    assert run_threads(2, worker) == []
    with world.app_context():
        users = [m.user_id for m in messages("due_soon_digest")]
        assert len(users) == len(set(users)) == 4


def test_a_dry_run_sends_nothing(world):
    with world.app_context():
        _digest_world()
        with travel(MONDAY):
            result = run_job(registered_jobs()["due_soon_digest"], dry_run=True)
        assert result.counts["people"] == 4
        assert messages("due_soon_digest") == []
        assert db.session.scalars(select(ReminderSent)).all() == []


def test_a_disabled_clerk_gets_no_digest_the_lead_still_does(world):
    with world.app_context():
        ids = _digest_world()
        user("clerk_ps_dc_01").active = False
        db.session.commit()
        with travel(MONDAY):
            run_job(registered_jobs()["due_soon_digest"])
        receivers = {m.user_id for m in messages("due_soon_digest")}
        assert user("clerk_ps_dc_01").id not in receivers
        lead_msg = next(m for m in messages("due_soon_digest") if m.user_id == user("lead_dc").id)
        assert _ref(ids["today_held"]) in lead_msg.body


# Citizens: 补正 and 容缺 deadlines ------------------------------------------------------------------


def _correction_requested(at: datetime) -> int:
    with travel(at - DAY):
        (app_id,) = insert_submitted(1, state=State.SUBMITTED, submitted_at=at - DAY)
    db.session.get(Application, app_id).state = State.CORRECTION_REQUESTED
    add_event(app_id, State.CORRECTION_REQUESTED, at, action="request_correction")
    db.session.commit()
    return app_id


def _citizen_run(moment: datetime) -> dict[str, int]:
    with travel(moment):
        result = run_job(registered_jobs()["citizen_deadlines"], manual=True)
    assert result.outcome == "ok", result.error
    return result.counts


def test_the_correction_reminder_comes_three_days_before_the_deadline_once(world):
    requested = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # deadline: 30 days on, 2026-04-01
    with world.app_context():
        app_id = _correction_requested(requested)
        assert _citizen_run(datetime(2026, 3, 28, 2, 0, tzinfo=UTC))["correction"] == 0  # 4 days before
        assert _citizen_run(datetime(2026, 3, 29, 2, 0, tzinfo=UTC))["correction"] == 1  # 3 days before
        (msg,) = messages("correction_deadline")
        assert msg.application_id == app_id and "2026-04-01" in msg.body and msg.sms_text
        assert _citizen_run(datetime(2026, 3, 31, 2, 0, tzinfo=UTC)) == {
            "correction": 0,
            "deferred": 0,
            "already_sent": 1,
        }
        assert _citizen_run(datetime(2026, 4, 2, 2, 0, tzinfo=UTC))["already_sent"] == 0  # past the deadline
        assert len(messages("correction_deadline")) == 1


def test_a_second_correction_request_has_its_own_deadline_and_reminder(world):
    first = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    with world.app_context():
        app_id = _correction_requested(first)
        _citizen_run(datetime(2026, 3, 30, 2, 0, tzinfo=UTC))
        add_event(app_id, State.RESUBMITTED, datetime(2026, 3, 31, 2, 0, tzinfo=UTC))
        add_event(app_id, State.CORRECTION_REQUESTED, datetime(2026, 4, 3, 2, 0, tzinfo=UTC))
        db.session.commit()
        _citizen_run(datetime(2026, 4, 30, 2, 0, tzinfo=UTC))  # second deadline 2026-05-03
        bodies = [m.body for m in messages("correction_deadline")]
        assert len(bodies) == 2 and "2026-05-03" in bodies[1]


def test_an_answered_correction_gets_no_reminder(world):
    with world.app_context():
        app_id = _correction_requested(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
        db.session.get(Application, app_id).state = State.RESUBMITTED
        db.session.commit()
        assert _citizen_run(datetime(2026, 3, 30, 2, 0, tzinfo=UTC))["correction"] == 0


def test_the_deferred_document_reminder_only_while_it_is_owed(world):
    """The 容缺 reminder reads the due date stored with each deferral at submission (the date the
    citizen was shown), three days before it, once; a document already given gets none."""
    from datetime import date

    from applications.models import DeferredDocument

    due = date(2026, 4, 1)
    with world.app_context():
        columns = {
            "item_code": "LJ-ZA-007",
            "unit_code": "LJ-ZA",
            "state": State.ACCEPTED,
            "answers": {"channel": "self_study"},
            "accepted_at": datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        }
        (owed,) = insert_submitted(1, **columns)
        (given,) = insert_submitted(1, **columns)
        for app_id in (owed, given):
            db.session.add(
                DeferredDocument(
                    application_id=app_id, requirement=2, requirement_name="初中以上学历证明", due_on=due
                )
            )
        db.session.flush()
        deferral = db.session.scalar(select(DeferredDocument).where(DeferredDocument.application_id == given))
        deferral.fulfilled_at = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
        db.session.commit()
        assert _citizen_run(datetime(2026, 3, 28, 2, 0, tzinfo=UTC))["deferred"] == 0
        assert _citizen_run(datetime(2026, 3, 29, 2, 0, tzinfo=UTC))["deferred"] == 1
        (msg,) = messages("deferred_deadline")
        assert msg.application_id == owed and "初中以上学历证明" in msg.body and "2026-04-01" in msg.body
        assert _citizen_run(datetime(2026, 3, 30, 2, 0, tzinfo=UTC))["already_sent"] == 1
        assert (
            _citizen_run(datetime(2026, 4, 2, 2, 0, tzinfo=UTC))["deferred"] == 0
        )  # past it: the clerk's call


def test_the_reminder_windows_are_settings(make_app):
    app = make_app(CORRECTION_ANSWER_DAYS=10, REMINDER_DAYS_BEFORE=1)
    from tests.clerk.helpers import load_world

    with app.app_context():
        load_world()
        _correction_requested(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # deadline 2026-03-12
        assert _citizen_run(datetime(2026, 3, 10, 2, 0, tzinfo=UTC))["correction"] == 0
        assert _citizen_run(datetime(2026, 3, 11, 2, 0, tzinfo=UTC))["correction"] == 1
    assert reminders.DUE_STATES == (State.SUBMITTED, State.ACCEPTED, State.RESUBMITTED)
