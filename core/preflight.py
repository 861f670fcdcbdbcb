"""What the portal needs before it serves, checked at start-up and by the readiness probe.

A portal that starts with a broken part looks healthy and fails every citizen one by one (an unwritable
upload folder: every upload a 500). :func:`problems` lists each missing part as one line naming the
setting to fix; gunicorn refuses to start on any (``gunicorn.conf.py``), and ``/readyz`` answers 503
naming the part while one is missing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import Flask
from sqlalchemy import text

from core.db import db


def problems(app: Flask) -> list[str]:
    """Every part that stops the portal from serving, as ``setting: what is wrong`` lines."""
    out: list[str] = []
    with app.app_context():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means the database is unusable
            out.append(f"DATABASE_URL: the database does not answer ({type(exc).__name__})")
        else:
            from core.filecrypt import key_problems

            found = _key_problems(app)
            out.extend(found or key_problems(db.session.connection(), app.extensions["keyring"]))
        finally:
            db.session.remove()
    upload = Path(app.config["UPLOAD_DIR"])
    if not _writable_dir(upload):
        out.append(f"UPLOAD_DIR: {upload} is not a writable folder (uploads would fail)")
    if (app.config.get("SMS_GATEWAY") or "log") == "log":
        sms = Path(app.config.get("SMS_LOG_PATH") or Path(app.config["INSTANCE_DIR"]) / "sms.log")
        if not _writable_dir(sms.parent) or (sms.exists() and not os.access(sms, os.W_OK)):
            out.append(f"SMS_LOG_PATH: {sms} cannot be written (no SMS would be delivered)")
    shared = str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql")
    if shared and app.config.get("SECRET_KEY_GENERATED"):
        out.append(
            "SECRET_KEY: must be set when the database is shared (PostgreSQL): machines that each made "
            "their own key break each other's sessions and forms"
        )
    return out


def _key_problems(app: Flask) -> list[str]:
    """Encrypted data but no master key, or the wrong one: refuse rather than decrypt to garbage."""
    from core.crypto.keyring import KeyringError

    keyring = app.extensions["keyring"]
    conn = db.session.connection()
    try:
        if keyring.has_keys(conn):
            keyring.refresh(conn)
    except KeyringError as exc:
        return [f"MASTER_KEY: {exc}"]
    return []


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError:
        return False
    return True
