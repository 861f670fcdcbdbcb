"""Order and completion of a submitted 一件事: a step starts when every step it depends on is done, and
the bundle is complete when every part is.

Everything here runs in the caller's transaction and is called where the change happens (never from
ORM events):

- :func:`start_ready` — at submit, and after any part finishes: police items whose prerequisites are
  done are submitted (their application was created and checked complete at the bundle's submit, as a
  held draft); hand-offs are pushed to their department (:func:`applications.bundles.handoffs.push`);
- :func:`application_closed` — the clerk's decision (准予 / 不予许可 / 不予受理) or the citizen's
  withdrawal of a police item that belongs to a bundle;
- :func:`part_received`, :func:`part_finished`, :func:`part_returned` — a department's callback, and
  the police items above.

A part that is returned (退回) or refused stops the steps that wait for it: they stay ``waiting`` and
the citizen sees which step holds them; the bundle is then not complete.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from applications.bundles.models import BundleApplication, BundlePart, BundleState, PartKind, PartStatus
from applications.models import Application
from applications.workflow.states import STATE_LABELS, State
from auth.models import User
from core import audit
from core.db import db, utcnow

#: A part in one of these states no longer changes.
FINAL = frozenset({PartStatus.DONE, PartStatus.RETURNED, PartStatus.CANCELLED})
#: An application state that finishes its part (approved or delivered: done; otherwise: returned).
_DONE_STATES = frozenset({State.APPROVED, State.DELIVERED})
_ENDED_STATES = frozenset({State.REFUSED, State.NOT_ACCEPTED, State.WITHDRAWN})


def results_of(bundle: BundleApplication) -> dict[str, dict[str, Any]]:
    """What each finished step produced, by step key (the ``result.<step>.<name>`` sources)."""
    return {p.step_key: dict(p.result or {}) for p in bundle.parts if p.status == PartStatus.DONE}


def ready_parts(bundle: BundleApplication) -> list[BundlePart]:
    """The waiting parts whose every prerequisite is done, in the bundle's order."""
    done = {p.step_key for p in bundle.parts if p.status == PartStatus.DONE}
    return [
        p for p in bundle.parts if p.status == PartStatus.WAITING and all(d in done for d in p.depends_on)
    ]


def _set_status(part: BundlePart, status: PartStatus, note: str = "") -> None:
    old = part.status
    part.status = status
    part.status_at = utcnow()
    if note:
        part.note = note[:300]
    audit.record(
        "bundle.part_status",
        object_type="bundle_application",
        object_id=part.bundle_application_id,
        details={"step": part.step_key, "from": old.value if old else None, "to": status.value},
    )


def start_ready(bundle: BundleApplication) -> list[BundlePart]:
    """Start every part that can start now; returns them. Repeats until nothing more is ready (a
    hand-off never finishes synchronously, so one pass is normally enough)."""
    from applications.bundles import handoffs
    from applications.submission.operations import submit

    if bundle.state != BundleState.SUBMITTED:
        return []
    started: list[BundlePart] = []
    applicant = db.session.get(User, bundle.applicant_id)
    for part in ready_parts(bundle):
        if part.kind == PartKind.ITEM:
            app = db.session.get(Application, part.application_id) if part.application_id else None
            if app is None or app.state != State.DRAFT:
                raise RuntimeError(f"bundle part {part.id} has no held draft to start")
            submit(app, applicant)
            part.started_at = utcnow()
            _set_status(part, PartStatus.STARTED)
        else:
            handoffs.push(bundle, part, results_of(bundle))
            part.started_at = utcnow()
            _set_status(part, PartStatus.PUSHED)
        started.append(part)
    return started


def maybe_complete(bundle: BundleApplication) -> bool:
    """Mark the bundle completed when every part is done (a returned part keeps it open)."""
    if bundle.state != BundleState.SUBMITTED:
        return False
    if not bundle.parts or any(p.status != PartStatus.DONE for p in bundle.parts):
        return False
    bundle.state = BundleState.COMPLETED
    bundle.completed_at = max((p.status_at for p in bundle.parts), default=utcnow())
    audit.record(
        "bundle.complete",
        object_type="bundle_application",
        object_id=bundle.id,
        details={"reference": bundle.reference},
    )
    from applications.notify.send import send_to

    send_to(bundle.applicant_id, "bundle_completed", reference=bundle.reference or "")
    return True


def part_received(part: BundlePart, *, external_ref: str | None = None, note: str = "") -> None:
    """The department acknowledged the hand-off (已接收)."""
    if part.status in FINAL or part.status == PartStatus.RECEIVED:
        return
    if external_ref:
        part.external_ref = external_ref[:64]
    _set_status(part, PartStatus.RECEIVED, note)


def part_finished(part: BundlePart, result: dict[str, Any] | None = None, note: str = "") -> list[BundlePart]:
    """The step is done (已办结): keep its result, start what waited for it, maybe complete the bundle.
    Returns the parts started. Finishing a finished part again changes nothing (a repeated callback)."""
    if part.status in FINAL:
        return []
    part.result = {**(part.result or {}), **(result or {})}
    _set_status(part, PartStatus.DONE, note)
    bundle = part.bundle_application
    started = start_ready(bundle)
    maybe_complete(bundle)
    return started


def part_returned(part: BundlePart, note: str = "") -> None:
    """The step came back undone (退回 by the department, or the police item ended without approval)."""
    if part.status in FINAL:
        return
    _set_status(part, PartStatus.RETURNED, note)
    from applications.notify.send import send_to

    bundle = part.bundle_application
    send_to(bundle.applicant_id, "bundle_part_returned", reference=bundle.reference or "", step=part.name)


def lock(bundle_id: int) -> BundleApplication | None:
    """Take the bundle's row lock (PostgreSQL: ``FOR UPDATE``; SQLite serialises writers anyway) and
    reload its parts, before deciding anything from their statuses. Two parts finishing at once (a
    clerk's approval and a department's callback) otherwise each see the other still open, and the
    step that waits for both never starts."""
    bundle = db.session.scalar(
        select(BundleApplication)
        .where(BundleApplication.id == bundle_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if bundle is not None:
        db.session.scalars(
            select(BundlePart)
            .where(BundlePart.bundle_application_id == bundle_id)
            .execution_options(populate_existing=True)
        ).all()
    return bundle


def part_of(app: Application) -> BundlePart | None:
    """The bundle part a police application belongs to (None for an application of its own)."""
    return db.session.scalar(select(BundlePart).where(BundlePart.application_id == app.id))


def application_closed(app: Application) -> list[BundlePart]:
    """Call after a police application's state changed: if it belongs to a bundle and is now approved
    or delivered, its part is done (result: its reference and result fields); refused, not accepted or
    withdrawn, its part is returned. Returns the parts this started."""
    part = part_of(app)
    if part is None:
        return []
    lock(part.bundle_application_id)
    state = State(app.state)
    if state in _DONE_STATES:
        result = {"reference": app.reference or "", **{k: v for k, v in (app.result or {}).items()}}
        return part_finished(part, result)
    if state in _ENDED_STATES:  # the citizen reads why: the decision and the clerk's (or their own) reason
        reason = app.events[-1].note if app.events and app.events[-1].to_state == state.value else ""
        label = STATE_LABELS[state]
        part_returned(part, note=f"{label}：{reason}" if reason else label)
    return []
