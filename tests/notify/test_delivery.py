"""Delivering the outbox: retries with back-off, giving up without losing anything, claims and leases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.db import db
from core.outbox import CLAIM_LEASE, OutboxMessage, deliver_pending, requeue_failed, retry_delay
from tests.auth.helpers import login
from tests.factories import StaffFactory

from .conftest import NOTHING, T0, FailingGateway, RecordingGateway, add_messages, outbox_rows


def test_failing_then_working_gateway_delivers_each_message_exactly_once(app_ctx, citizen):
    add_messages(citizen.id, 3)
    failing = FailingGateway()
    assert deliver_pending(failing, now=T0) == {"sent": 0, "failed": 3, "skipped": 0}
    assert failing.calls == 3
    for row in outbox_rows():
        assert row.sent_at is None and row.attempts == 1
        assert row.next_attempt_at == T0 + timedelta(seconds=30)
        assert row.last_error == "ConnectionError: gateway down"

    working = RecordingGateway()
    assert deliver_pending(working, now=T0 + timedelta(seconds=29)) == NOTHING  # not due yet
    assert working.calls == []
    assert deliver_pending(working, now=T0 + timedelta(seconds=30)) == {"sent": 3, "failed": 0, "skipped": 0}
    assert sorted(working.calls) == sorted((citizen.mobile, f"【临江公安】测试短信{i}") for i in range(3))
    for row in outbox_rows():
        assert row.sent_at == T0 + timedelta(seconds=30) and row.attempts == 2 and row.next_attempt_at is None

    assert deliver_pending(working, now=T0 + timedelta(days=1)) == NOTHING
    assert deliver_pending(failing, now=T0 + timedelta(days=1)) == NOTHING
    assert len(working.calls) == 3 and failing.calls == 3


def test_retry_delay_doubles_from_30_seconds_up_to_an_hour():
    assert [retry_delay(n).total_seconds() for n in range(1, 11)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600,
    ]  # fmt: skip
    assert retry_delay(10_000) == timedelta(hours=1)


def test_next_attempt_moves_further_away_after_each_failure(app_ctx, citizen):
    (message_id,) = add_messages(citizen.id, 1)
    failing = FailingGateway()
    at, delays = T0, []
    for attempt in range(1, 10):
        assert deliver_pending(failing, now=at, max_attempts=10)["failed"] == 1
        row = db.session.get(OutboxMessage, message_id, populate_existing=True)
        assert row.attempts == attempt
        delays.append((row.next_attempt_at - at).total_seconds())
        # A moment before the retry is due nothing happens.
        assert (
            deliver_pending(failing, now=row.next_attempt_at - timedelta(seconds=1), max_attempts=10)
            == NOTHING
        )
        at = row.next_attempt_at
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert failing.calls == 9


def test_after_max_attempts_the_message_stays_in_the_inbox_and_can_be_requeued(app, citizen):
    client = app.test_client()
    assert login(client, citizen.mobile).status_code == 302
    failing, working = FailingGateway("rejected"), RecordingGateway()
    with app.app_context():
        (message_id,) = add_messages(citizen.id, 1)
        at = T0
        for _ in range(3):
            assert deliver_pending(failing, now=at, max_attempts=3)["failed"] == 1
            row = db.session.get(OutboxMessage, message_id, populate_existing=True)
            at = row.next_attempt_at or at
        assert failing.calls == 3
        assert row.attempts == 3 and row.sent_at is None and row.next_attempt_at is None
        assert row.last_error == "ConnectionError: rejected"
        # No more retries, however late it gets; nothing deleted.
        assert deliver_pending(working, now=T0 + timedelta(days=30), max_attempts=3) == NOTHING
        assert working.calls == []
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1

    assert "测试消息0" in client.get("/me/messages").text  # the in-site message is still there

    with app.app_context():
        assert requeue_failed(max_attempts=3) == 1
        db.session.commit()
        assert deliver_pending(working, now=T0 + timedelta(days=30), max_attempts=3)["sent"] == 1
        assert working.calls == [(citizen.mobile, "【临江公安】测试短信0")]
        assert requeue_failed(max_attempts=3) == 0


def test_requeue_leaves_messages_in_flight_or_waiting_alone(app_ctx, citizen):
    in_flight, waiting, gave_up = add_messages(citizen.id, 3)
    for message_id, next_at in (
        (in_flight, T0 + CLAIM_LEASE),
        (waiting, T0 + timedelta(hours=1)),
        (gave_up, None),
    ):
        row = db.session.get(OutboxMessage, message_id)
        row.attempts, row.next_attempt_at = 8, next_at
    db.session.commit()
    assert requeue_failed([in_flight, waiting]) == 0
    assert requeue_failed([in_flight, waiting, gave_up]) == 1
    db.session.commit()
    assert [(r.attempts, r.next_attempt_at) for r in outbox_rows()] == [
        (8, T0 + CLAIM_LEASE),
        (8, T0 + timedelta(hours=1)),
        (0, None),
    ]


def test_the_recorded_error_is_masked_and_truncated(app_ctx, citizen):
    add_messages(citizen.id, 1)
    failing = FailingGateway("号码 13912345678 证件 330102199003071234 被拒" + "。" * 400)
    deliver_pending(failing, now=T0)
    (row,) = outbox_rows()
    assert "139****5678" in row.last_error and "13912345678" not in row.last_error
    assert "3301**********1234" in row.last_error and "330102199003071234" not in row.last_error
    assert len(row.last_error) == 300


def test_no_sms_without_text_or_mobile_but_marked_delivered(app_ctx, citizen):
    staff = StaffFactory()  # staff accounts have no mobile number
    db.session.commit()
    add_messages(citizen.id, 1, sms="   ")
    add_messages(staff.id, 1)
    gateway = RecordingGateway()
    assert deliver_pending(gateway, now=T0) == {"sent": 0, "failed": 0, "skipped": 2}
    assert gateway.calls == []
    assert [(r.sent_at, r.attempts) for r in outbox_rows()] == [(T0, 0), (T0, 0)]


def test_batch_limits_one_pass(app_ctx, citizen):
    add_messages(citizen.id, 5)
    gateway = RecordingGateway()
    assert deliver_pending(gateway, now=T0, batch=2)["sent"] == 2
    assert deliver_pending(gateway, now=T0, batch=10)["sent"] == 3
    assert len({text for _, text in gateway.calls}) == 5


def test_a_message_being_sent_is_invisible_to_another_worker(make_app, app, citizen):
    other = make_app()
    inner = RecordingGateway()
    seen: list[dict] = []

    class PeekingGateway(RecordingGateway):
        def send_sms(self, mobile: str, text: str, *, key: str = "") -> None:
            with other.app_context():  # a second worker: its own engine and session
                seen.append(deliver_pending(inner, now=T0))
            super().send_sms(mobile, text)

    with app.app_context():
        add_messages(citizen.id, 2)
        outer = PeekingGateway()
        assert deliver_pending(outer, now=T0)["sent"] == 1
        assert all(row.sent_at == T0 for row in outbox_rows())
    # While message 0 was in flight the other worker skipped it and sent message 1.
    assert seen == [{"sent": 1, "failed": 0, "skipped": 0}]
    assert [text for _, text in outer.calls] == ["【临江公安】测试短信0"]
    assert [text for _, text in inner.calls] == ["【临江公安】测试短信1"]


class Crash(BaseException):
    """A worker killed in the middle of a send."""


def test_a_crashed_send_is_retried_once_its_lease_runs_out(app_ctx, citizen):
    add_messages(citizen.id, 1)

    class CrashingGateway:
        def send_sms(self, mobile: str, text: str, *, key: str = "") -> None:
            raise Crash

    with pytest.raises(Crash):
        deliver_pending(CrashingGateway(), now=T0)
    (row,) = outbox_rows()
    assert row.attempts == 1 and row.next_attempt_at == T0 + CLAIM_LEASE and row.sent_at is None
    gateway = RecordingGateway()
    assert deliver_pending(gateway, now=T0 + CLAIM_LEASE - timedelta(seconds=1)) == NOTHING
    assert deliver_pending(gateway, now=T0 + CLAIM_LEASE)["sent"] == 1
    assert len(gateway.calls) == 1
