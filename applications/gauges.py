"""Scrape-time gauges of the applications (:func:`core.metrics.register_gauge`): how many wait in
each open state, and how many nobody has claimed yet — one COUNT each, on the open-queue indexes."""

from __future__ import annotations

from sqlalchemy import func, select

from applications.models import OPEN_STATES, Application
from applications.workflow.states import State
from core.db import db
from core.metrics import register_gauge


def open_by_state() -> dict[tuple[str], int]:
    """Open applications per state (every open state present, 0 when none)."""
    rows = db.session.execute(
        select(Application.state, func.count())
        .where(Application.state.in_(OPEN_STATES))
        .group_by(Application.state)
    )
    counts = {(state.value,): 0 for state in OPEN_STATES}
    for state, count in rows:
        counts[(State(state).value,)] = count
    return counts


def unclaimed() -> int:
    """Submitted or resubmitted applications no clerk has claimed (the 待受理 queues together)."""
    return db.session.execute(
        select(func.count()).where(
            Application.state.in_((State.SUBMITTED, State.RESUBMITTED)), Application.claimed_by_id.is_(None)
        )
    ).scalar_one()


def register() -> None:
    register_gauge(
        "portal_applications_open",
        "Applications waiting in each open state (submitted, accepted, correction_requested, resubmitted)",
        open_by_state,
        labels=("state",),
    )
    register_gauge(
        "portal_applications_unclaimed",
        "Submitted or resubmitted applications no clerk has claimed yet",
        unclaimed,
    )
