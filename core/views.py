"""Site-wide pages: home, health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from sqlalchemy import text

from core.clock import local_today
from core.db import db
from core.workdays.models import entered_years
from core.workdays.rules import missing_arrangement_year

bp = Blueprint("core", __name__)


@bp.route("/")
def index():
    """The home page; a feature package may provide it (the catalog does) via ``extensions['home_view']``."""
    view = current_app.extensions.get("home_view")
    if view is not None:
        return view()
    return render_template("core/index.html")


@bp.route("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.route("/healthz")
def healthz():
    """``{"status":"ok","database":"ok"}``, or 503 with ``"database":"error"``."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means the database is unusable
        db.session.rollback()
        return jsonify({"status": "error", "database": "error"}), 503
    return jsonify({"status": "ok", "database": "ok"})


@bp.route("/readyz")
def readyz():
    """Readiness: 200 when the portal can serve, 503 naming the part that failed. ``warnings`` lists
    what needs an operator soon without stopping service (next year's 放假安排 missing from 1 November).
    """
    checks: dict[str, str] = {}
    warnings: list[str] = []
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means the database is unusable
        db.session.rollback()
        checks["database"] = "error"
    if checks["database"] == "ok":
        year = missing_arrangement_year(local_today(), entered_years())
        if year is not None:
            warnings.append(f"calendar: no holiday arrangement for {year} (statutory holidays assumed)")
    ok = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ok else "error", "checks": checks, "warnings": warnings}
    return jsonify(body), 200 if ok else 503
