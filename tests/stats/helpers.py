"""Shared by the statistics tests: applications inserted straight into the tables with known
timestamps, visits, pauses, corrections and ratings (local Asia/Shanghai times)."""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from applications.models import Application, Channel, ClockPause, StatusEvent, Visit
from applications.ratings.models import Rating
from applications.stats import rollup
from applications.submission.reference import make_reference
from applications.workflow.states import State
from catalog.queries import catalog
from core.db import db
from tests.clerk.helpers import citizen, unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
_seq = itertools.count(1)


def sh(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    """A local Asia/Shanghai time, as an aware UTC datetime (what the database holds)."""
    return datetime(y, m, d, h, minute, tzinfo=SHANGHAI).astimezone(UTC)


def add_app(
    *,
    item: str = "LJ-HJ-021",
    unit_code: str = "LJ-PS-DC-01",
    state: State = State.APPROVED,
    channel: Channel = Channel.ONLINE,
    submitted: datetime,
    accepted: datetime | None = None,
    completed: datetime | None = None,
    due: date | None = None,
    corrections: int = 0,
    visits: int = 0,
    rating: int | None = None,
    reasons: list[str] | None = None,
    pauses: list[tuple[datetime, datetime | None]] = (),
    correction_targets: list[str] = (),
) -> Application:
    """One application in any state, flushed and marked for the statistics (commit with
    :func:`core.transaction.commit`, which refreshes the roll-ups)."""
    view = catalog().items[item]
    who = citizen()
    k = next(_seq)
    app = Application(
        start_token=secrets.token_urlsafe(16),
        applicant_id=who.id,
        item_id=view.id,
        version_id=view.version_id,
        state=state,
        channel=channel,
        district="东城区",
        unit_id=unit(unit_code).id,
        reference=make_reference(date(2025, 1, 1) + timedelta(days=k % 300), 700000 + k),
        submitted_at=submitted,
        accepted_at=accepted,
        completed_at=completed,
        promised_due=due,
        correction_count=corrections,
    )
    db.session.add(app)
    db.session.flush()
    for i in range(visits):
        db.session.add(
            Visit(
                application_id=app.id, at=submitted + timedelta(hours=i + 1), place="窗口", purpose="核验原件"
            )
        )
    for start, end in pauses:
        db.session.add(ClockPause(application_id=app.id, started_at=start, ended_at=end, reason="补正"))
    if correction_targets:
        db.session.add(
            StatusEvent(
                application_id=app.id,
                from_state="accepted",
                to_state="correction_requested",
                action="request_correction",
                details={"items": [{"target": t, "note": "请补充"} for t in correction_targets]},
                at=submitted + timedelta(hours=2),
            )
        )
    if rating is not None:
        db.session.add(
            Rating(
                application_id=app.id,
                user_id=who.id,
                unit_id=app.unit_id,
                item_id=app.item_id,
                level=rating,
                reasons=reasons or [],
            )
        )
    db.session.flush()
    rollup.changing(app)
    return app
