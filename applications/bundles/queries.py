"""What the citizen sees of their 一件事 (read only): the card in 我的办件 with one progress line per
part, the bundle's detail page (parts, dependencies, one merged timeline) and the items waiting for a
correction. Pages and tests share these; nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, select

from applications.bundles.models import (
    PART_STATUS_LABELS,
    BundleApplication,
    BundlePart,
    BundleState,
    PartKind,
    PartStatus,
)
from applications.models import Application, StatusEvent
from applications.workflow.states import STATE_LABELS, State
from auth.models import Unit, User
from catalog.models import Bundle, ExternalDepartment
from core.audit import AuditLog
from core.db import db
from core.errors import NotFound
from core.i18n import N_

#: The bundle's overall status as the citizen reads it.
OVERALL_LABELS = {
    "in_progress": N_("办理中"),
    "completed": N_("已全部办结"),
    "returned": N_("有事项被退回"),
    "withdrawn": N_("已撤回"),
    "draft": N_("草稿"),
}
#: A part's status (a police item shows its application's state instead once it is started).
#: Bundle states shown in 我的办件 (a draft is the apply pages' business).
LISTED = (BundleState.SUBMITTED, BundleState.COMPLETED, BundleState.WITHDRAWN)


@dataclass
class PartLine:
    """One progress line: a police item (its application, state and unit) or a department's step."""

    part: BundlePart
    status_key: str  # css / test hook: the part status, or the application's state
    status_label: str  # untranslated label (N_), translated by the template
    where: str  # the unit (police item) or the department (hand-off)
    waits_for: list[str] = field(default_factory=list)  # names of the unfinished prerequisites
    application: Application | None = None

    @property
    def is_item(self) -> bool:
        return self.part.kind == PartKind.ITEM

    @property
    def returned(self) -> bool:
        return self.part.status == PartStatus.RETURNED


@dataclass
class BundleView:
    bundle: BundleApplication
    name: str
    overall: str  # a key of OVERALL_LABELS
    lines: list[PartLine]

    @property
    def overall_label(self) -> str:
        return OVERALL_LABELS[self.overall]

    @property
    def application_ids(self) -> set[int]:
        return {p.application_id for p in self.bundle.parts if p.application_id}

    @property
    def in_correction(self) -> list[PartLine]:
        return [
            line
            for line in self.lines
            if line.application is not None and line.application.state == State.CORRECTION_REQUESTED
        ]

    @property
    def duration_days(self) -> float | None:
        """End to end (first submit → last part done), in days, once complete."""
        b = self.bundle
        if b.completed_at is None or b.submitted_at is None:
            return None
        return round((b.completed_at - b.submitted_at).total_seconds() / 86400, 1)


def overall_status(bundle: BundleApplication) -> str:
    """办理中 / 已全部办结 / 有事项被退回 / 已撤回 (a key of :data:`OVERALL_LABELS`)."""
    if bundle.state == BundleState.WITHDRAWN:
        return "withdrawn"
    if bundle.state == BundleState.COMPLETED:
        return "completed"
    if bundle.state == BundleState.DRAFT:
        return "draft"
    if any(p.status == PartStatus.RETURNED for p in bundle.parts):
        return "returned"
    return "in_progress"


def get_own_bundle(user: User, bundle_id: int) -> BundleApplication:
    """The user's own submitted bundle application, or :class:`NotFound` (someone else's id, a
    draft — the apply pages show those — or no such id: 404 alike)."""
    bundle = db.session.scalar(
        select(BundleApplication).where(
            BundleApplication.id == bundle_id,
            BundleApplication.applicant_id == user.id,
            BundleApplication.state.in_(LISTED),
        )
    )
    if bundle is None:
        raise NotFound()
    return bundle


def _names(bundles: list[BundleApplication]) -> dict[int, str]:
    ids = {b.bundle_id for b in bundles}
    if not ids:
        return {}
    return dict(db.session.execute(select(Bundle.id, Bundle.name).where(Bundle.id.in_(ids))).all())


def _views(bundles: list[BundleApplication]) -> list[BundleView]:
    if not bundles:
        return []
    parts = [p for b in bundles for p in b.parts]
    app_ids = [p.application_id for p in parts if p.application_id]
    apps = (
        {a.id: a for a in db.session.scalars(select(Application).where(Application.id.in_(app_ids)))}
        if app_ids
        else {}
    )
    unit_ids = {a.unit_id for a in apps.values() if a.unit_id}
    units = (
        dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).all())
        if unit_ids
        else {}
    )
    departments = dict(db.session.execute(select(ExternalDepartment.code, ExternalDepartment.name)).all())
    names = _names(bundles)
    views = []
    for b in bundles:
        step_names = {p.step_key: p.name for p in b.parts}
        done = {p.step_key for p in b.parts if p.status == PartStatus.DONE}
        lines = []
        for p in b.parts:
            app = apps.get(p.application_id) if p.application_id else None
            waits = [step_names.get(d, d) for d in p.depends_on if d not in done]
            if p.kind == PartKind.ITEM:
                started = app is not None and app.state != State.DRAFT
                key = app.state.value if started else p.status.value
                label = STATE_LABELS[app.state] if started else PART_STATUS_LABELS[p.status]
                where = units.get(app.unit_id, "") if started and app.unit_id else ""
            else:
                key, label = p.status.value, PART_STATUS_LABELS[p.status]
                where = departments.get(p.department_code or "", p.department_code or "")
            lines.append(
                PartLine(
                    part=p,
                    status_key=key,
                    status_label=label,
                    where=where,
                    waits_for=waits if p.status == PartStatus.WAITING else [],
                    application=app,
                )
            )
        views.append(BundleView(b, names.get(b.bundle_id, ""), overall_status(b), lines))
    return views


def bundle_view(bundle: BundleApplication) -> BundleView:
    return _views([bundle])[0]


@cache
def _cards_statement(limit: int):
    """Built once per limit (the statement and its cache key are reused by every 我的办件 view)."""
    return (
        select(BundleApplication)
        .where(BundleApplication.applicant_id == bindparam("applicant_id"))
        .where(BundleApplication.state.in_(LISTED))
        .order_by(BundleApplication.submitted_at.desc(), BundleApplication.id.desc())
        .limit(limit)
    )


#: "Has this applicant (``:applicant_id``) any 一件事 card?" as a column another list's statement can
#: carry: 我的办件 reads it from its own rows and skips the cards query for the many citizens who never
#: started a bundle (one round trip fewer on every view of the page).
HAS_CARDS = (
    exists()
    .where(BundleApplication.applicant_id == bindparam("applicant_id"))
    .where(BundleApplication.state.in_(LISTED))
    .label("has_cards")
)


def cards_for(user: User, limit: int = 50) -> list[BundleView]:
    """The user's submitted (and finished) bundles, newest first, each with its progress lines."""
    bundles = list(db.session.scalars(_cards_statement(limit), {"applicant_id": user.id}))
    return _views(bundles)


# The merged timeline -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    what: str  # untranslated label (N_)
    step: str = ""  # the part's name, when the entry is a part's
    note: str = ""


_EVENT_LABELS = {
    "submit": N_("提交，已分送办理单位"),
    "accept": N_("已受理"),
    "request_correction": N_("办理单位要求补正"),
    "resubmit": N_("已补正，重新提交"),
    "approve": N_("办结（准予）"),
    "refuse": N_("办结（不予许可）"),
    "deliver": N_("已送达"),
    "not_accept": N_("不予受理"),
    "withdraw": N_("已撤回"),
}
_STATUS_LABELS = {
    PartStatus.STARTED.value: N_("已开始办理"),
    PartStatus.PUSHED.value: N_("已推送至部门"),
    PartStatus.RECEIVED.value: N_("部门已接收"),
    PartStatus.DONE.value: N_("部门已办结"),
    PartStatus.RETURNED.value: N_("被退回"),
    PartStatus.CANCELLED.value: N_("已取消"),
}


def timeline(view: BundleView) -> list[TimelineEntry]:
    """One timeline for the bundle, oldest first: its submission, every status event of its police
    applications, every status change of its department steps (from the audit trail, which records
    each one with its moment) and its completion."""
    b = view.bundle
    entries: list[TimelineEntry] = []
    if b.submitted_at:
        entries.append(TimelineEntry(b.submitted_at, N_("提交一件事申请")))
    by_app = {line.application.id: line.part.name for line in view.lines if line.application is not None}
    if by_app:
        for ev in db.session.scalars(
            select(StatusEvent).where(StatusEvent.application_id.in_(by_app)).order_by(StatusEvent.id)
        ):
            label = _EVENT_LABELS.get(ev.action) or STATE_LABELS.get(State(ev.to_state), ev.to_state)
            entries.append(TimelineEntry(ev.at, label, by_app[ev.application_id], _public_note(ev)))
    handoffs = {p.step_key: p.name for p in b.parts if p.kind == PartKind.HANDOFF}
    rows = db.session.scalars(
        select(AuditLog)
        .where(
            AuditLog.object_type == "bundle_application",
            AuditLog.object_id == str(b.id),
            AuditLog.action.in_(("bundle.part_status", "bundle.complete")),
        )
        .order_by(AuditLog.id)
    )
    for row in rows:
        details: dict[str, Any] = row.details or {}
        if row.action == "bundle.complete":
            entries.append(TimelineEntry(row.at, N_("全部事项办结")))
        elif details.get("step") in handoffs and details.get("to") in _STATUS_LABELS:
            entries.append(TimelineEntry(row.at, _STATUS_LABELS[details["to"]], handoffs[details["step"]]))
    if b.completed_at and not any(e.what == N_("全部事项办结") for e in entries):
        entries.append(TimelineEntry(b.completed_at, N_("全部事项办结")))
    entries.sort(key=lambda e: e.at)
    return entries


def _public_note(ev: StatusEvent) -> str:
    """What the citizen may read of an event: the reason of a refusal or a correction request."""
    if ev.action in ("refuse", "not_accept", "request_correction"):
        return ev.note or ""
    return ""
