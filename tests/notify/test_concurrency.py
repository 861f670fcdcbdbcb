"""Several workers delivering at once send each message exactly once (threads, each with its own app,
engine and session; SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

from core.db import db
from core.outbox import deliver_pending

from .conftest import T0, FirstCallFailsGateway, RecordingGateway, add_messages, outbox_rows

WORKERS = 4
MESSAGES = 120


def _race(apps, call) -> list:
    """Run ``call()`` once per app, each in its own thread and app context, released together."""
    barrier = threading.Barrier(len(apps))
    results: list = [None] * len(apps)

    def run(i: int) -> None:
        with apps[i].app_context():
            barrier.wait()
            try:
                results[i] = call()
            except Exception as exc:  # noqa: BLE001 - reported by the assertions
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(apps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    for r in results:
        assert not isinstance(r, Exception), repr(r)
    return results


def _texts(n: int) -> list[str]:
    return [f"【临江公安】测试短信{i}" for i in range(n)]


def test_concurrent_workers_send_each_message_exactly_once(make_app, app, citizen):
    with app.app_context():
        add_messages(citizen.id, MESSAGES)
    gateway = RecordingGateway(delay=0.002)
    workers = [make_app() for _ in range(WORKERS)]
    results = _race(workers, lambda: deliver_pending(gateway, now=T0, batch=MESSAGES))
    assert sum(r["sent"] for r in results) == MESSAGES
    assert sum(r["failed"] for r in results) == 0
    assert sorted(text for _, text in gateway.calls) == sorted(_texts(MESSAGES))
    with app.app_context():
        assert all(r.sent_at == T0 and r.attempts == 1 for r in outbox_rows())


def test_concurrent_workers_retry_failures_exactly_once(make_app, app, citizen):
    n = MESSAGES // 2
    with app.app_context():
        add_messages(citizen.id, n)
    gateway = FirstCallFailsGateway(delay=0.001)
    workers = [make_app() for _ in range(WORKERS)]
    first = _race(workers, lambda: deliver_pending(gateway, now=T0, batch=n))
    assert sum(r["failed"] for r in first) == n and sum(r["sent"] for r in first) == 0
    assert sorted(gateway.refused) == sorted(_texts(n))  # each refused once, none tried twice
    later = T0 + timedelta(seconds=30)
    second = _race(workers, lambda: deliver_pending(gateway, now=later, batch=n))
    assert sum(r["sent"] for r in second) == n and sum(r["failed"] for r in second) == 0
    assert sorted(text for _, text in gateway.calls) == sorted(_texts(n))
    with app.app_context():
        assert all(r.sent_at == later and r.attempts == 2 for r in outbox_rows())
