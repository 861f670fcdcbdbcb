"""Two deliveries of the same ``done`` callback at once (a department retrying on its side), on two
app instances: the step after it is pushed once, and both callers get a 200."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from applications.bundles import callbacks, gateway
from applications.models import Application
from core.audit import AuditLog
from core.db import db
from core.outbox import OutboxMessage
from tests.bundles.exchange_helpers import (
    BIRTH,
    approve_item,
    department,
    part,
    signed,
    statuses,
    submitted_bundle,
)
from tests.clerk.helpers import load_world, run_threads


def test_a_done_callback_delivered_twice_at_once_starts_the_next_step_once(make_app, monkeypatch):
    first = make_app()
    with first.app_context():
        load_world()
        bundle = submitted_bundle(BIRTH)
        bundle_id = bundle.id
        approve_item(db.session.get(Application, part(bundle_id, "hukou").application_id))
        db.session.commit()
        insurance_id = part(bundle_id, "insurance").id
        secret = gateway.department_secret(department("ybj"))
        db.session.rollback()
    body = {
        "message_id": f"handoff:{insurance_id}",
        "status": "done",
        "result": {"insurance_number": "YB-0000-0001"},
    }
    apps = [first, make_app()]
    real_check = callbacks.check_result

    def slow_check(*args, **kwargs):  # widen the window between reading the part and changing it
        time.sleep(0.5)
        return real_check(*args, **kwargs)

    monkeypatch.setattr(callbacks, "check_result", slow_check)
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def post(i: int) -> None:
        raw, headers = signed(secret, body)
        client = apps[i].test_client()
        barrier.wait(30)
        response = client.post("/api/v1/exchange/ybj/callback", data=raw, headers=headers)
        answers.append((response.status_code, response.get_json().get("changed")))

    assert run_threads(2, post) == []
    assert sorted(answers) == [(200, False), (200, True)]  # one of them did it, the other saw it done
    with first.app_context():
        assert statuses(bundle_id)["sscard"] == "pushed"
        pushed = db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.destination == "rsj")
        )
        assert pushed == 1
        finished = db.session.scalars(
            select(AuditLog.details).where(AuditLog.action == "bundle.part_status").order_by(AuditLog.id)
        ).all()
        assert [d["to"] for d in finished if d["step"] == "insurance"] == ["pushed", "done"]
        db.session.rollback()
