"""The application's clock: due dates stored at 受理 and recomputed when a pause (补正) ends.

The arithmetic is in :mod:`applications.workflow.deadlines` (pure); this module reads the pauses and the
calendar overrides and stores the dates on the application.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import or_, select

from applications.models import Application, State
from applications.notify.send import notify
from applications.stats import rollup
from applications.submission.pinned import pinned_item
from applications.workflow.deadlines import Pause, due_dates
from auth.models import User
from core import audit
from core.db import db, utcnow
from core.workdays.models import CalendarYear, CalendarYearDay, load_calendar
from core.workdays.rules import Arrangement, ChineseCalendar, format_arrangement

#: Accepted and not yet decided: the applications whose due dates are stored and still matter.
ACCEPTED_OPEN = (State.ACCEPTED, State.CORRECTION_REQUESTED, State.RESUBMITTED)


def recompute_due_dates(app: Application, cal: ChineseCalendar | None = None) -> None:
    """Store the promised and legal due dates and the day 80 % of the promise is used ('due soon'),
    with ``cal`` (default: the calendar as stored now)."""
    if app.accepted_at is None:
        return
    item = pinned_item(app)
    cal = cal or load_calendar()
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
    rollup.changing(app)  # 承诺时限 and 办理时长 are in the statistics
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


# A year's 放假安排 ------------------------------------------------------------------------------------


def enter_arrangement(arrangement: Arrangement, actor: User | None, note: str = "") -> CalendarChange:
    """Store ``arrangement`` as its year's 放假安排 (replacing one entered before), then move every
    date it changes: the due dates of open accepted applications (each move audited, and the citizen
    told when the promised date moves) and the stored 办理时长 of completed ones (the stats roll-ups
    refresh before commit). Audited as ``calendar.arrangement_set``. Flushes, never commits.
    """
    before = load_calendar()
    row = db.session.get(CalendarYear, arrangement.year)
    previous = row.arrangement() if row is not None else None
    if row is None:
        row = CalendarYear(year=arrangement.year)
        db.session.add(row)
    row.days.clear()
    db.session.flush()
    row.note = note[:200]
    row.entered_by_id = actor.id if actor is not None else None
    row.entered_at = utcnow()
    row.days.extend(CalendarYearDay(day=d, working=False, name=n) for d, n in arrangement.holidays.items())
    row.days.extend(
        CalendarYearDay(day=d, working=True, name="调休上班") for d in sorted(arrangement.workdays)
    )
    db.session.flush()
    audit.record(
        "calendar.arrangement_set",
        object_type="calendar",
        object_id=str(arrangement.year),
        details={
            "before": format_arrangement(previous) if previous else before.source(arrangement.year),
            "after": format_arrangement(arrangement),
            "note": note,
        },
        actor=actor,
    )
    return apply_calendar_change(before, load_calendar(), arrangement.year)


@dataclass
class CalendarChange:
    """What entering an arrangement moved: the days whose status changed and the applications whose
    stored due dates moved (id → (old promised, new promised))."""

    days: list[date] = field(default_factory=list)
    moved: dict[int, tuple[date | None, date | None]] = field(default_factory=dict)


def apply_calendar_change(before: ChineseCalendar, after: ChineseCalendar, year: int) -> CalendarChange:
    """Recompute what depends on the days of ``year`` that ``before`` and ``after`` disagree on."""
    change = CalendarChange()
    d = date(year, 1, 1)
    while d.year == year:
        if before.is_working_day(d) != after.is_working_day(d):
            change.days.append(d)
        d += timedelta(days=1)
    if not change.days:
        return change
    first = change.days[0]
    for day in change.days:
        rollup.calendar_changed(db.session, day)
    candidates = db.session.scalars(
        select(Application).where(
            Application.state.in_(ACCEPTED_OPEN),
            Application.accepted_at.is_not(None),
            or_(Application.legal_due >= first, Application.state == State.CORRECTION_REQUESTED),
        )
    ).all()
    for app in candidates:
        old = (app.promised_due, app.legal_due)
        recompute_due_dates(app, cal=after)
        if (app.promised_due, app.legal_due) == old:
            continue
        change.moved[app.id] = (old[0], app.promised_due)
        audit.record(
            "application.due_dates_recomputed",
            object_type="application",
            object_id=app.id,
            details={
                "reason": f"{year} 年放假安排",
                "before": {"promised_due": _iso(old[0]), "legal_due": _iso(old[1])},
                "after": {"promised_due": _iso(app.promised_due), "legal_due": _iso(app.legal_due)},
            },
            actor=None,
        )
        if old[0] != app.promised_due and app.promised_due is not None:
            notify(
                app,
                "due_date_moved",
                year=year,
                reference=app.reference,
                old=_iso(old[0]),
                new=app.promised_due.isoformat(),
            )
    db.session.flush()
    return change


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None
