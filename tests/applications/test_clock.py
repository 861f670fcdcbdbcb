"""The one clock (issue 15, item 5): business dates are Beijing dates whatever the server's zone.

At 23:30 UTC it is already 07:30 the next morning in Beijing: an application submitted then carries
the Beijing date in its reference number."""

from __future__ import annotations

from datetime import UTC, date, datetime

import core.clock
from applications.models import Application
from core.clock import local_date, local_today
from core.db import db
from tests.applications.helpers import submitted

LATE_UTC = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # 2026-12-07 07:30 in Beijing


def test_local_today_is_the_beijing_date():
    assert local_today(LATE_UTC) == date(2026, 12, 7)
    assert local_date(datetime(2026, 12, 6, 15, 59, tzinfo=UTC)) == date(2026, 12, 6)
    assert local_date(datetime(2026, 12, 6, 16, 0, tzinfo=UTC)) == date(2026, 12, 7)


def test_a_reference_submitted_at_0730_beijing_carries_the_beijing_date(app, citizen_client, monkeypatch):
    monkeypatch.setattr(core.clock, "now", lambda: LATE_UTC)
    aid = submitted(citizen_client)
    with app.app_context():
        reference = db.session.get(Application, aid).reference
    assert reference.startswith("LJ20261207"), reference
