"""``flask audit verify``: walk the audit trail's hash chain (see :mod:`core.audit`)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from core.audit import verify_chain
from core.db import db

audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def verify() -> None:
    """Check every row's hash and its link to the row before; exit 1 at the first row that breaks."""
    with db.engine.connect() as conn:
        report = verify_chain(conn)
    if report.ok:
        click.echo(f"OK: {report.count} audit row(s), chain intact; head {report.head or '-'}")
        return
    click.echo(
        f"BROKEN at audit row id {report.broken_at}: {report.reason} "
        f"({report.count} row(s) before it are intact)",
        err=True,
    )
    raise SystemExit(1)


def register_cli(app: Flask) -> None:
    app.cli.add_command(audit_cli)
