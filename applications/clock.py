"""The application's clock: due dates stored at 受理 and recomputed when a pause (补正) ends.

The arithmetic is in :mod:`applications.deadlines` (pure); this module reads the pauses and the
calendar overrides and stores the dates on the application.
"""

from __future__ import annotations

import math

from applications.models import Application
from core.db import utcnow


def recompute_due_dates(app: Application) -> None:
    """Store the promised and legal due dates and the day 80 % of the promise is used ('due soon')."""
    from applications.calendar_models import load_calendar
    from applications.deadlines import Pause, due_dates
    from applications.operations import pinned_item

    if app.accepted_at is None:
        return
    item = pinned_item(app)
    cal = load_calendar()
    pauses = [Pause(p.started_at, p.ended_at, p.reason) for p in app.pauses]
    promised, legal = due_dates(
        cal,
        app.accepted_at,
        promised_days=item.promised_days,
        legal_days=item.legal_days,
        day_kind=item.day_kind,
        instant=item.instant,
        pauses=pauses,
    )
    app.promised_due, app.legal_due = promised, legal
    soon = math.ceil(item.promised_days * 0.8)
    if item.instant or soon == 0:
        app.due_soon_on = promised
    else:
        app.due_soon_on = due_dates(
            cal,
            app.accepted_at,
            promised_days=soon,
            legal_days=max(soon, item.legal_days),
            day_kind=item.day_kind,
            instant=False,
            pauses=pauses,
        )[0]


def close_pauses(app: Application) -> None:
    """Restart the clock (on resubmission) and recompute the due dates."""
    open_pauses = [p for p in app.pauses if p.ended_at is None]
    for p in open_pauses:
        p.ended_at = utcnow()
    if open_pauses:
        recompute_due_dates(app)
