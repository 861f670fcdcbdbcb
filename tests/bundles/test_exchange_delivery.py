"""Hand-offs leave through the one outbox: the development receiver records them (masked), a real HTTP
endpoint gets them signed with an idempotency key, a failing department is retried with backoff and
given up on (kept, requeued), and a worker killed after the send resends the same key."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from applications.bundles import gateway
from applications.bundles.models import PartStatus
from core import outbox
from core.db import db, utcnow
from core.outbox import (
    DEFAULT_MAX_ATTEMPTS,
    OutboxMessage,
    deliver_pending,
    get_exchange_gateway,
    reclaim_leases,
    requeue_failed,
    retry_delay,
)
from tests.bundles.exchange_helpers import BIRTH, CAR, department, part, submitted_bundle
from tests.clerk.helpers import load_world
from tests.notify.conftest import RecordingGateway


@pytest.fixture
def world(app):
    with app.app_context():
        load_world()
        db.session.remove()
    return app


class Department(ThreadingHTTPServer):
    """A department's receiving end on 127.0.0.1: checks the signature and takes each idempotency key
    once (as the contract asks); ``fail`` makes it answer 500."""

    def __init__(self, secret: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret = secret
        self.fail = False
        self.requests: list[dict] = []  # every POST that arrived (with a good signature or not)
        self.accepted: dict[str, dict] = {}  # key → body, once per key

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/handoffs"


class _Handler(BaseHTTPRequestHandler):
    server: Department

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        stamp = self.headers.get("X-Timestamp", "")
        expected = hmac.new(self.server.secret, stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(expected, self.headers.get("X-Signature", ""))
        key = self.headers.get("Idempotency-Key", "")
        self.server.requests.append({"key": key, "good": good, "body": json.loads(raw)})
        if not good:
            self.send_response(401)
        elif self.server.fail:
            self.send_response(500)
        else:
            self.server.accepted.setdefault(key, json.loads(raw))
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def serve():
    servers = []

    def start(secret: bytes) -> Department:
        server = Department(secret)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _handoff_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    rows = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.destination.is_not(None))))
    db.session.rollback()
    return rows


def test_the_development_receiver_records_a_masked_line_once_per_key(world):
    with world.app_context():
        bundle = submitted_bundle(BIRTH)
        vaccination = part(bundle.id, "vaccination")
        assert vaccination.status == PartStatus.PUSHED and vaccination.outbox_id
        outbox_id = vaccination.outbox_id
        db.session.commit()
        sms = RecordingGateway()
        # an SMS-only pass (an old worker) leaves the exchange message due, it never marks it delivered
        deliver_pending(sms)
        assert [r.sent_at for r in _handoff_rows()] == [None]
        counts = deliver_pending(sms, exchange=get_exchange_gateway(world))
        assert counts["sent"] >= 1
        path = Path(world.config["INSTANCE_DIR"]) / "exchange" / "wsjk.jsonl"
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert len(lines) == 1
        line = lines[0]
        assert line["key"] == f"outbox:{outbox_id}"
        assert line["body"]["message_id"] == f"handoff:{vaccination.id}"
        assert line["body"]["contract"] == "birth-vaccination-v1"
        assert line["body"]["data"]["baby_name"] == "张小宝"
        assert "13912345678" not in json.dumps(line, ensure_ascii=False)  # the mobile is masked
        assert _handoff_rows()[0].sent_at is not None
        # the same key again (a resend after a crash) is recognised: still one line
        get_exchange_gateway(world).post("wsjk", {"message_id": "handoff:0"}, key=f"outbox:{outbox_id}")
        assert len(path.read_text(encoding="utf-8").splitlines()) == 1
        assert not any(call[1].startswith("{") for call in sms.calls)  # no hand-off went out as an SMS


def test_a_real_endpoint_gets_the_body_signed_with_the_departments_secret_and_the_key(world, serve):
    with world.app_context():
        tax = department("tax")
        server = serve(gateway.department_secret(tax))
        tax.endpoint_url = server.url
        bundle = submitted_bundle(CAR)
        handoff = part(bundle.id, "tax")
        outbox_id = handoff.outbox_id
        db.session.commit()
        deliver_pending(RecordingGateway(), exchange=get_exchange_gateway(world))
        assert [r["good"] for r in server.requests] == [True]
        body = server.accepted[f"outbox:{outbox_id}"]
        assert body["message_id"] == f"handoff:{handoff.id}" and body["department"] == "tax"
        assert body["data"] == {"vin": "LSVAU2180N2123456", "price": "158000", "mobile": "13912345678"}
        assert _handoff_rows()[0].sent_at is not None
        # a department that checks with a secret of another generation refuses: a rotation takes effect
        tax = department("tax")
        tax.secret_generation += 1
        db.session.commit()
        assert gateway.department_secret(tax) != server.secret


def test_a_failing_department_is_retried_with_backoff_given_up_on_and_requeued(world, serve):
    with world.app_context():
        tax = department("tax")
        server = serve(gateway.department_secret(tax))
        server.fail = True
        tax.endpoint_url = server.url
        submitted_bundle(CAR)
        db.session.commit()
        exchange = get_exchange_gateway(world)
        now = utcnow()
        for attempt in range(1, DEFAULT_MAX_ATTEMPTS + 1):
            deliver_pending(RecordingGateway(), exchange=exchange, now=now)
            row = _handoff_rows()[0]
            assert row.sent_at is None and row.attempts == attempt
            assert "HTTP 500" in row.last_error
            if attempt < DEFAULT_MAX_ATTEMPTS:
                assert row.next_attempt_at == now + retry_delay(attempt)
                # not due before its retry time
                deliver_pending(
                    RecordingGateway(), exchange=exchange, now=row.next_attempt_at - timedelta(seconds=1)
                )
                assert len(server.requests) == attempt
                now = row.next_attempt_at
        assert len(server.requests) == DEFAULT_MAX_ATTEMPTS
        row = _handoff_rows()[0]
        assert row.next_attempt_at is None  # gave up, kept
        deliver_pending(RecordingGateway(), exchange=exchange, now=now + timedelta(days=1))
        assert len(server.requests) == DEFAULT_MAX_ATTEMPTS  # no longer picked
        server.fail = False
        assert requeue_failed() == 1
        db.session.commit()
        deliver_pending(RecordingGateway(), exchange=exchange, now=now + timedelta(days=1))
        assert _handoff_rows()[0].sent_at is not None and len(server.accepted) == 1


def test_an_unreachable_endpoint_and_an_unknown_department_are_failures_not_crashes(world):
    with world.app_context():
        tax = department("tax")
        tax.endpoint_url = "http://127.0.0.1:9/nothing-listens-here"
        submitted_bundle(CAR)
        db.session.commit()
        counts = deliver_pending(RecordingGateway(), exchange=get_exchange_gateway(world))
        assert counts["failed"] == 1
        assert "tax" in _handoff_rows()[0].last_error
        tax = department("tax")
        tax.active = False  # deactivated meanwhile: refused by the directory, retried later
        db.session.commit()
        later = utcnow() + timedelta(hours=2)
        deliver_pending(RecordingGateway(), exchange=get_exchange_gateway(world), now=later)
        assert "unknown or inactive" in _handoff_rows()[0].last_error


def test_a_worker_killed_after_the_send_resends_the_same_key_and_the_department_sees_one(
    world, serve, monkeypatch
):
    with world.app_context():
        tax = department("tax")
        server = serve(gateway.department_secret(tax))
        tax.endpoint_url = server.url
        submitted_bundle(CAR)
        db.session.commit()
        exchange = get_exchange_gateway(world)

        def killed(*_args, **_kwargs):
            raise SystemExit("worker killed before recording the send")

        monkeypatch.setattr(outbox, "_mark_sent", killed)
        with pytest.raises(SystemExit):
            deliver_pending(RecordingGateway(), exchange=exchange, worker="w1")
        db.session.rollback()
        assert len(server.requests) == 1 and _handoff_rows()[0].sent_at is None
        monkeypatch.undo()
        assert reclaim_leases("w1") == 1  # restarted under its name: its lease is due again at once
        deliver_pending(RecordingGateway(), exchange=exchange, worker="w1")
        keys = [r["key"] for r in server.requests]
        assert len(keys) == 2 and keys[0] == keys[1]  # the resend carries the same idempotency key
        assert len(server.accepted) == 1  # and the department took it once
        assert _handoff_rows()[0].sent_at is not None
