"""Reminder jobs: a daily digest to clerks and unit leads of the applications about to fall due, and
a citizen's reminder before a 补正 or 容缺 deadline. Every message comes from the one catalogue
(:mod:`core.messages`) through the outbox, and each is recorded in ``reminders_sent`` in the same
transaction (UNIQUE (kind, key)), so it goes out once however often the job runs.

Deadlines (settings, :mod:`core.config`):

- a staff member's digest lists the open applications (submitted, accepted, resubmitted — not those
  paused for 补正) whose promised date falls within ``REMINDER_DUE_WORKING_DAYS`` working days from
  today, today included: the clerk holding each one, and every unit lead of its unit. One message per
  person per day.
- a 补正 must be answered within ``CORRECTION_ANSWER_DAYS`` days of the request; a 容缺 document
  must follow by the due date stored with it at submission (``deferred_documents.due_on``, from
  :func:`applications.workflow.deadlines.deferral_due`). The citizen is reminded
  ``REMINDER_DAYS_BEFORE`` days before (or at the first run inside that window), once per
  application per deadline.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from applications.jobs.models import ReminderSent
from applications.models import OPEN_STATES, Application, DeferredDocument, StatusEvent
from applications.notify.send import send_to
from applications.workflow.deadlines import add_working_days
from applications.workflow.states import State
from auth.models import Role, User, user_units
from core.clock import SHANGHAI, local_date, local_today
from core.db import db
from core.workdays.models import load_calendar

DUE_STATES = (State.SUBMITTED, State.ACCEPTED, State.RESUBMITTED)
_LISTED = 10  # references named in one digest


def already_sent(kind: str, key: str) -> bool:
    """Whether the reminder of ``kind`` for ``key`` went out (for dry runs and pages)."""
    return (
        db.session.scalar(select(ReminderSent.id).where(ReminderSent.kind == kind, ReminderSent.key == key))
        is not None
    )


def send_once(kind: str, key: str, user_id: int, application_id: int | None, **params: object) -> bool:
    """Record the reminder and queue its message in one savepoint; False when it was sent before
    (found, or a concurrent run inserted it first)."""
    if already_sent(kind, key):
        return False
    try:
        with db.session.begin_nested():
            db.session.add(ReminderSent(kind=kind, key=key, user_id=user_id, application_id=application_id))
            db.session.flush()
            send_to(user_id, kind, application_id=application_id, **params)
            db.session.flush()
    except IntegrityError:
        return False
    return True


def due_soon_digest(dry_run: bool) -> dict[str, int]:
    """One message per clerk or unit lead per day listing their applications about to fall due."""
    today = local_today()
    days = current_app.config.get("REMINDER_DUE_WORKING_DAYS", 2)
    last = add_working_days(load_calendar(), today, days)
    rows = db.session.execute(
        select(
            Application.id,
            Application.reference,
            Application.promised_due,
            Application.unit_id,
            Application.claimed_by_id,
        )
        .where(
            Application.state.in_([s.value for s in DUE_STATES]),
            Application.promised_due.is_not(None),
            Application.promised_due >= today,
            Application.promised_due <= last,
        )
        .order_by(Application.promised_due, Application.id)
    ).all()
    units = {r.unit_id for r in rows if r.unit_id is not None}
    leads: dict[int, list[int]] = {}
    if units:
        for user_id, unit_id in db.session.execute(
            select(User.id, user_units.c.unit_id)
            .join(user_units, user_units.c.user_id == User.id)
            .where(user_units.c.unit_id.in_(units), User.role == Role.UNIT_LEAD, User.active.is_(True))
        ):
            leads.setdefault(unit_id, []).append(user_id)
    active_staff = (
        set(
            db.session.scalars(
                select(User.id).where(
                    User.id.in_({r.claimed_by_id for r in rows if r.claimed_by_id}),
                    User.active.is_(True),
                )
            )
        )
        if rows
        else set()
    )
    per_person: dict[int, list] = {}
    for r in rows:
        people = set(leads.get(r.unit_id, []))
        if r.claimed_by_id in active_staff:
            people.add(r.claimed_by_id)
        for person in people:
            per_person.setdefault(person, []).append(r)
    counts = {"people": 0, "applications": len(rows), "already_sent": 0}
    for person, apps in sorted(per_person.items()):
        key = f"{person}:{today.isoformat()}"
        if dry_run:
            counts["already_sent" if already_sent("due_soon_digest", key) else "people"] += 1
            continue
        refs = "、".join(a.reference or f"#{a.id}" for a in apps[:_LISTED])
        if len(apps) > _LISTED:
            refs += f" 等 {len(apps)} 件"
        sent = send_once(
            "due_soon_digest",
            key,
            person,
            None,
            count=len(apps),
            days=days,
            last=last.isoformat(),
            first=min(a.promised_due for a in apps).isoformat(),
            references=refs,
        )
        counts["people" if sent else "already_sent"] += 1
    return counts


def _in_window(deadline: date, today: date, before: int) -> bool:
    return deadline - timedelta(days=before) <= today <= deadline


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI)


def citizen_deadlines(dry_run: bool) -> dict[str, int]:
    """Remind citizens of a 补正 deadline (while the application waits for it) and of a 容缺 document
    deadline (accepted without it, still owed), once per application per deadline."""
    cfg = current_app.config
    today = local_today()
    before = cfg.get("REMINDER_DAYS_BEFORE", 3)
    counts = {"correction": 0, "deferred": 0, "already_sent": 0}

    answer_days = cfg.get("CORRECTION_ANSWER_DAYS", 30)
    requested = (
        select(StatusEvent.application_id, func.max(StatusEvent.at).label("at"))
        .where(StatusEvent.to_state == State.CORRECTION_REQUESTED.value)
        .group_by(StatusEvent.application_id)
        .subquery()
    )
    earliest = _midnight(today - timedelta(days=answer_days + 1))
    latest = _midnight(today - timedelta(days=answer_days - before - 1))
    for app_id, reference, applicant_id, at in db.session.execute(
        select(Application.id, Application.reference, Application.applicant_id, requested.c.at)
        .join(requested, requested.c.application_id == Application.id)
        .where(
            Application.state == State.CORRECTION_REQUESTED,
            requested.c.at >= earliest,
            requested.c.at < latest,
        )
        .order_by(Application.id)
    ):
        deadline = local_date(at) + timedelta(days=answer_days)
        if not _in_window(deadline, today, before):
            continue
        key = f"{app_id}:{deadline.isoformat()}"
        if dry_run:
            counts["already_sent" if already_sent("correction_deadline", key) else "correction"] += 1
        elif send_once(
            "correction_deadline",
            key,
            applicant_id,
            app_id,
            reference=reference,
            deadline=deadline.isoformat(),
        ):
            counts["correction"] += 1
        else:
            counts["already_sent"] += 1

    # 容缺: the due date each deferred document was given at submission (deadlines.deferral_due)
    rows = db.session.execute(
        select(Application.id, Application.reference, Application.applicant_id, DeferredDocument)
        .join(DeferredDocument, DeferredDocument.application_id == Application.id)
        .where(
            Application.state.in_([s.value for s in OPEN_STATES]),
            DeferredDocument.fulfilled_at.is_(None),
            DeferredDocument.due_on >= today,
            DeferredDocument.due_on <= today + timedelta(days=before),
        )
        .order_by(Application.id, DeferredDocument.due_on)
    ).all()
    owed: dict[tuple[int, date], list[str]] = {}
    who: dict[int, tuple[str, int]] = {}
    for app_id, reference, applicant_id, deferral in rows:
        owed.setdefault((app_id, deferral.due_on), []).append(deferral.requirement_name)
        who[app_id] = (reference, applicant_id)
    for (app_id, deadline), names in owed.items():
        reference, applicant_id = who[app_id]
        key = f"{app_id}:{deadline.isoformat()}"
        if dry_run:
            counts["already_sent" if already_sent("deferred_deadline", key) else "deferred"] += 1
        elif send_once(
            "deferred_deadline",
            key,
            applicant_id,
            app_id,
            reference=reference,
            deadline=deadline.isoformat(),
            documents="、".join(names),
        ):
            counts["deferred"] += 1
        else:
            counts["already_sent"] += 1
    return counts
