"""Site-wide pages: home, health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from sqlalchemy import text

from core.db import db

bp = Blueprint("core", __name__)


@bp.route("/")
def index():
    return render_template("core/index.html")


@bp.route("/healthz")
def healthz():
    """``{"status":"ok","database":"ok"}``, or 503 with ``"database":"error"``."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means the database is unusable
        db.session.rollback()
        return jsonify({"status": "error", "database": "error"}), 503
    return jsonify({"status": "ok", "database": "ok"})
