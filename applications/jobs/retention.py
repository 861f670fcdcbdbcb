"""Retention rules of applications (the policy: :mod:`core.retention`): untouched drafts, the uploads
of closed applications, rejected files. Files go after the deletion commits, and only when no other
row (a wallet document, another application) still points at them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import aliased

from applications.bundles.models import BundleApplication, BundleDocument, BundlePart, BundleState
from applications.models import Application, ApplicationDocument, StatusEvent, WalletDocument
from applications.workflow.states import CLOSED, State
from core import audit
from core.clock import local_date
from core.db import db
from core.retention import EXAMPLES, RuleResult
from core.storage import get_storage

log = logging.getLogger(__name__)

CLOSED_VALUES = sorted(s.value for s in CLOSED)


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


class _Tolerant:
    """Deletes after the commit, logging a file the store refuses instead of raising out of the commit:
    the rows are gone and audited, and the orphan sweeper takes the file at its next run."""

    def __init__(self, storage) -> None:
        self.storage = storage

    def delete(self, key: str) -> None:
        try:
            self.storage.delete(key)
        except OSError as exc:
            log.warning("retention: file %s not deleted (%s); the orphan sweeper will retry", key, exc)


def _delete_files_after_commit(keys: set[str]) -> int:
    """Schedule the files no row references any more for deletion after the commit (the listener in
    :mod:`applications.submission.operations` deletes them; a rollback keeps them). How many."""
    db.session.flush()
    storage = _Tolerant(get_storage())
    pending = db.session().info.setdefault("delete_after_commit", [])
    n = 0
    for key in sorted(keys):
        used = db.session.scalar(
            select(ApplicationDocument.id).where(ApplicationDocument.storage_key == key).limit(1)
        ) or db.session.scalar(select(WalletDocument.id).where(WalletDocument.storage_key == key).limit(1))
        used = used or db.session.scalar(
            select(BundleDocument.id).where(BundleDocument.storage_key == key).limit(1)
        )
        if not used:
            pending.append((storage, key))
            n += 1
    return n


def _closed_at():
    """(application_id, closed_at): when each application last entered a closed state."""
    return (
        select(StatusEvent.application_id, func.max(StatusEvent.at).label("closed_at"))
        .where(StatusEvent.to_state.in_(CLOSED_VALUES))
        .group_by(StatusEvent.application_id)
        .subquery()
    )


def purge_drafts(at: datetime, dry_run: bool) -> RuleResult:
    """Drafts not changed for RETENTION_DRAFT_DAYS days (neither the form nor an upload), with their
    uploads."""
    cutoff = at - timedelta(days=current_app.config.get("RETENTION_DRAFT_DAYS", 90))
    recent_upload = (
        select(ApplicationDocument.id)
        .where(ApplicationDocument.application_id == Application.id, ApplicationDocument.created_at >= cutoff)
        .exists()
    )
    # a 一件事's police item waiting for an earlier step is a draft the citizen cannot touch: it stays
    held = select(BundlePart.id).where(BundlePart.application_id == Application.id).exists()
    rows = db.session.execute(
        select(Application.id, Application.updated_at)
        .where(Application.state == State.DRAFT, Application.updated_at < cutoff, ~recent_upload, ~held)
        .order_by(Application.id)
    ).all()
    recent_bundle_upload = (
        select(BundleDocument.id)
        .where(
            BundleDocument.bundle_application_id == BundleApplication.id, BundleDocument.created_at >= cutoff
        )
        .exists()
    )
    bundle_rows = db.session.execute(
        select(BundleApplication.id, BundleApplication.updated_at)
        .where(
            BundleApplication.state == BundleState.DRAFT,
            BundleApplication.updated_at < cutoff,
            ~recent_bundle_upload,
        )
        .order_by(BundleApplication.id)
    ).all()
    result = RuleResult(
        count=len(rows) + len(bundle_rows),
        examples=[
            *(f"draft #{r.id}, untouched since {local_date(r.updated_at)}" for r in rows),
            *(f"一件事 draft #{r.id}, untouched since {local_date(r.updated_at)}" for r in bundle_rows),
        ][:EXAMPLES],
    )
    if dry_run or not (rows or bundle_rows):
        return result
    keys: set[str] = set()
    for row in rows:
        app = db.session.get(Application, row.id)
        files = {d.storage_key for d in app.documents}
        keys |= files
        db.session.delete(app)
        audit.record(
            "retention.draft_deleted",
            object_type="application",
            object_id=row.id,
            details={"untouched_since": local_date(row.updated_at).isoformat(), "documents": len(files)},
        )
    for row in bundle_rows:
        bundle = db.session.get(BundleApplication, row.id)
        files = {d.storage_key for d in bundle.documents}
        keys |= files
        db.session.delete(bundle)
        audit.record(
            "retention.draft_deleted",
            object_type="bundle_application",
            object_id=row.id,
            details={"untouched_since": local_date(row.updated_at).isoformat(), "documents": len(files)},
        )
    result.files = _delete_files_after_commit(keys)
    return result


def _delete_documents(
    docs: list, action: str, closed: dict[int, datetime], result: RuleResult, dry_run: bool
) -> RuleResult:
    by_app: dict[int, list] = {}
    for d in docs:
        by_app.setdefault(d.application_id, []).append(d)
    result.count = len(docs)
    result.examples = [
        f"application #{app_id} closed {local_date(closed[app_id])}: {len(ds)} file(s)"
        for app_id, ds in list(by_app.items())[:EXAMPLES]
    ]
    if dry_run or not docs:
        return result
    db.session.execute(
        delete(ApplicationDocument)
        .where(ApplicationDocument.id.in_([d.id for d in docs]))
        .execution_options(synchronize_session=False)
    )
    for app_id, ds in by_app.items():
        audit.record(
            action,
            object_type="application",
            object_id=app_id,
            details={
                "closed_at": closed[app_id].isoformat(timespec="seconds"),
                "documents": sorted({d.requirement_name for d in ds}),
                "count": len(ds),
            },
        )
    result.files = _delete_files_after_commit({d.storage_key for d in docs})
    return result


def _closed_documents(closed_before: Callable[[Any], Any], *where: Any) -> list[Any]:
    """The documents of closed applications whose closing time passes ``closed_before`` (and
    ``where``), with the closing time, in application order."""
    closed = _closed_at()
    return db.session.execute(
        select(
            ApplicationDocument.id,
            ApplicationDocument.application_id,
            ApplicationDocument.storage_key,
            ApplicationDocument.requirement_name,
            closed.c.closed_at,
        )
        .join(Application, Application.id == ApplicationDocument.application_id)
        .join(closed, closed.c.application_id == Application.id)
        .where(Application.state.in_(CLOSED_VALUES), closed_before(closed.c.closed_at), *where)
        .order_by(ApplicationDocument.application_id, ApplicationDocument.id)
    ).all()


def purge_closed_uploads(at: datetime, dry_run: bool) -> RuleResult:
    """Every upload of an application closed more than RETENTION_CLOSED_UPLOAD_YEARS years ago."""
    cutoff = _years_before(at, current_app.config.get("RETENTION_CLOSED_UPLOAD_YEARS", 3))
    docs = _closed_documents(lambda closed_at: closed_at < cutoff)
    # a 一件事's shared uploads go on the same terms once the bundle is complete or withdrawn
    finished = func.coalesce(BundleApplication.completed_at, BundleApplication.updated_at)
    bundle_docs = db.session.execute(
        select(BundleDocument.id, BundleDocument.bundle_application_id, BundleDocument.storage_key)
        .join(BundleApplication, BundleApplication.id == BundleDocument.bundle_application_id)
        .where(BundleApplication.state.in_([BundleState.COMPLETED, BundleState.WITHDRAWN]), finished < cutoff)
        .order_by(BundleDocument.id)
    ).all()
    if bundle_docs and not dry_run:
        db.session.execute(
            delete(BundleDocument)
            .where(BundleDocument.id.in_([d.id for d in bundle_docs]))
            .execution_options(synchronize_session=False)
        )
        for bundle_id in sorted({d.bundle_application_id for d in bundle_docs}):
            audit.record(
                "retention.uploads_deleted",
                object_type="bundle_application",
                object_id=bundle_id,
                details={"count": sum(d.bundle_application_id == bundle_id for d in bundle_docs)},
            )
    result = _delete_documents(
        docs,
        "retention.uploads_deleted",
        {d.application_id: d.closed_at for d in docs},
        RuleResult(),
        dry_run,
    )
    result.count += len(bundle_docs)
    if bundle_docs and not dry_run:
        result.files += _delete_files_after_commit({d.storage_key for d in bundle_docs})
    return result


def purge_rejected_files(at: datetime, dry_run: bool) -> RuleResult:
    """On a closed application, a document replaced later for the same requirement (a 补正 sent it back
    and the applicant gave a new one): deleted RETENTION_REJECTED_FILE_DAYS days after closing."""
    cutoff = at - timedelta(days=current_app.config.get("RETENTION_REJECTED_FILE_DAYS", 0))
    newer = aliased(ApplicationDocument)
    replaced = (
        select(newer.id)
        .where(
            newer.application_id == ApplicationDocument.application_id,
            newer.requirement == ApplicationDocument.requirement,
            newer.id > ApplicationDocument.id,
        )
        .exists()
    )
    docs = _closed_documents(lambda closed_at: closed_at <= cutoff, replaced)
    return _delete_documents(
        docs,
        "retention.rejected_files_deleted",
        {d.application_id: d.closed_at for d in docs},
        RuleResult(),
        dry_run,
    )
