"""Outbox fixtures: a citizen made with the factory, outbox rows written directly, test gateways."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.db import db
from core.outbox import OutboxMessage
from tests.factories import CitizenFactory

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
NOTHING = {"sent": 0, "failed": 0, "skipped": 0}


@dataclass(frozen=True)
class Person:
    id: int
    mobile: str


@pytest.fixture
def citizen(app) -> Person:
    with app.app_context():
        user = CitizenFactory()
        db.session.commit()
        return Person(user.id, user.mobile)


def add_messages(user_id: int, n: int, *, sms: str = "【临江公安】测试短信{i}") -> list[int]:
    """Write ``n`` outbox rows for ``user_id`` and commit (needs an app context)."""
    rows = [
        OutboxMessage(
            user_id=user_id, kind="test", title=f"测试消息{i}", body=f"正文{i}", sms_text=sms.format(i=i)
        )
        for i in range(n)
    ]
    db.session.add_all(rows)
    db.session.flush()
    ids = [row.id for row in rows]
    db.session.commit()  # and touch nothing afterwards: a lazy refresh would reopen a transaction
    return ids


def outbox_rows() -> list[OutboxMessage]:
    """Every outbox row, detached, with the transaction ended: outside a request every SQLite
    transaction is BEGIN IMMEDIATE (core.db), so a read left open would lock the workers out."""
    db.session.expire_all()
    rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    db.session.expunge_all()
    db.session.rollback()
    return rows


class RecordingGateway:
    """Accepts every SMS and remembers it (thread-safe); ``delay`` widens race windows."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, str]] = []
        self.delay = delay
        self._lock = threading.Lock()

    def send_sms(self, mobile: str, text: str, *, key: str = "") -> None:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.calls.append((mobile, text))


class FailingGateway:
    """Refuses every SMS, counting the calls."""

    def __init__(self, error: str = "gateway down") -> None:
        self.calls = 0
        self.error = error
        self._lock = threading.Lock()

    def send_sms(self, mobile: str, text: str, *, key: str = "") -> None:
        with self._lock:
            self.calls += 1
        raise ConnectionError(self.error)


class FirstCallFailsGateway(RecordingGateway):
    """Refuses the first SMS with each text and accepts later ones; ``calls`` holds the accepted ones."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.refused: list[str] = []

    def send_sms(self, mobile: str, text: str, *, key: str = "") -> None:
        with self._lock:
            first = text not in self.refused
            if first:
                self.refused.append(text)
        if first:
            raise TimeoutError("gateway timed out")
        super().send_sms(mobile, text)
