"""Audit rows whose reference number was masked get an appended restoring row (never an edit)."""

from __future__ import annotations

from sqlalchemy import func, select

from applications.models import Application
from applications.submission.audit_repair import restore_masked_references
from core.audit import AuditLog
from core.db import db
from tests.clerk.helpers import insert_submitted, load_world


def test_masked_references_are_restored_by_appending_rows(app_ctx):
    load_world()
    (aid,) = insert_submitted(1)
    reference = db.session.get(Application, aid).reference
    masked = reference[:6] + "*******" + reference[-4:]
    damaged = AuditLog(
        action="application.submit",
        object_type="application",
        object_id=str(aid),
        details={"reference": masked},
    )
    db.session.add(damaged)
    db.session.commit()
    assert restore_masked_references() == 1
    db.session.commit()
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "audit.reference_restored"))
    assert row.details == {"row": damaged.id, "reference": reference}
    assert db.session.get(AuditLog, damaged.id).details == {"reference": masked}  # untouched
    assert restore_masked_references() == 0  # idempotent
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "audit.reference_restored")) == 1
