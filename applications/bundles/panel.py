"""The clerk's read-only view of the 一件事 an application belongs to: the bundle's other parts with
their step name, the unit or department handling them and their status — nothing of their content
(no answers, results or documents of other units' parts), so a clerk learns no more personal data than
their own application already shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from applications.bundles import progress
from applications.bundles.models import PART_STATUS_LABELS, BundleState, PartKind, PartStatus
from applications.models import Application
from auth.models import Unit
from catalog.models import Bundle, ExternalDepartment
from core.db import db
from core.i18n import N_

BUNDLE_STATE_LABELS: dict[BundleState, str] = {
    BundleState.DRAFT: N_("填写中"),
    BundleState.SUBMITTED: N_("联办中"),
    BundleState.COMPLETED: N_("已全部办结"),
    BundleState.WITHDRAWN: N_("已撤回"),
}


@dataclass(frozen=True)
class PanelRow:
    name: str
    handled_by: str
    status: PartStatus
    status_label: str
    status_at: datetime | None
    waits_for: tuple[str, ...]
    this: bool


@dataclass(frozen=True)
class BundlePanel:
    bundle_name: str
    reference: str
    state: BundleState
    state_label: str
    rows: tuple[PanelRow, ...]


def clerk_panel(app: Application) -> BundlePanel | None:
    """The panel for ``app`` (None when it is not part of a 一件事). The caller has already checked
    that the clerk may see ``app``."""
    mine = progress.part_of(app)
    if mine is None:
        return None
    bundle = mine.bundle_application
    names = {p.step_key: p.name for p in bundle.parts}
    app_ids = [p.application_id for p in bundle.parts if p.application_id]
    unit_of = dict(
        db.session.execute(
            select(Application.id, Unit.name)
            .join(Unit, Unit.id == Application.unit_id)
            .where(Application.id.in_(app_ids))
        ).all()
    )
    departments = dict(db.session.execute(select(ExternalDepartment.code, ExternalDepartment.name)).all())
    rows = []
    for part in bundle.parts:
        if part.kind == PartKind.ITEM:
            handled_by = unit_of.get(part.application_id) or "—"
        else:
            handled_by = departments.get(part.department_code or "", part.department_code or "—")
        rows.append(
            PanelRow(
                name=part.name,
                handled_by=handled_by,
                status=part.status,
                status_label=PART_STATUS_LABELS[part.status],
                status_at=part.status_at,
                waits_for=tuple(names.get(k, k) for k in part.depends_on or ()),
                this=part.id == mine.id,
            )
        )
    catalog_bundle = db.session.get(Bundle, bundle.bundle_id)
    return BundlePanel(
        bundle_name=catalog_bundle.name if catalog_bundle else "",
        reference=bundle.reference or "",
        state=bundle.state,
        state_label=BUNDLE_STATE_LABELS[bundle.state],
        rows=tuple(rows),
    )
