"""Restoring reference numbers that an over-eager masker hid in the audit trail (issue 18, item 3).

Until the masker learnt to tell an ID number from a reference number, about a third of the audit rows
about submissions stored ``LJ2026*******5505`` instead of ``LJ202612060005505``. The trail is
append-only (database triggers refuse UPDATE and DELETE), so nothing is edited: for each such row an
``audit.reference_restored`` row is appended that names the damaged row and the application's real
reference, taken from the applications table. Running it again adds nothing.
"""

from __future__ import annotations

import json
import re

import click
from flask import Flask
from sqlalchemy import select

from applications.models import Application
from core import audit
from core.audit import AuditLog
from core.db import db
from core.transaction import commit

MASKED = re.compile(r"LJ\d{4}\*{7}\d{4}")


def restore_masked_references() -> int:
    """Append one ``audit.reference_restored`` row per damaged row not restored yet; returns how many.
    Flushes; the caller commits."""
    done = {
        row.details.get("row")
        for row in db.session.scalars(select(AuditLog).where(AuditLog.action == "audit.reference_restored"))
    }
    added = 0
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.object_type == "application").order_by(AuditLog.id)
    )
    for row in rows:
        if row.id in done or not MASKED.search(json.dumps(row.details, ensure_ascii=False)):
            continue
        app = db.session.get(Application, int(row.object_id)) if (row.object_id or "").isdigit() else None
        if app is None or not app.reference:
            continue
        audit.record(
            "audit.reference_restored",
            object_type="application",
            object_id=app.id,
            details={"row": row.id, "reference": app.reference},
            actor=None,
        )
        added += 1
    db.session.flush()
    return added


def register_cli(app: Flask) -> None:
    @app.cli.command("audit-restore-references")
    def restore() -> None:
        """Append the real reference for every audit row whose reference number was masked."""
        count = restore_masked_references()
        commit()
        click.echo(f"restored {count} reference number(s)")
