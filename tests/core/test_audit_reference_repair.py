"""Audit rows whose reference number was masked get an appended restoring row (never an edit)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from applications.models import Application
from applications.submission.audit_repair import restore_masked_references
from applications.submission.reference import make_reference
from core.audit import AuditLog
from core.db import db
from tests.clerk.helpers import insert_submitted, load_world


def test_masked_references_are_restored_by_appending_rows(app_ctx):
    load_world()
    (aid,) = insert_submitted(1)
    # the old masker took "LJ" + 15 digits for a legacy ID number: references whose check character is
    # a digit, shown as LJ2026*******5505
    reference = next(
        r for r in (make_reference(date(2026, 12, 6), n) for n in range(5505, 5600)) if r[-1].isdigit()
    )
    db.session.get(Application, aid).reference = reference
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
