"""Site-wide pages: home, health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for

from core.clock import local_today
from core.preflight import problems
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
    """Liveness: ``{"status":"ok"}`` whenever this process answers. It asks nothing of the database, so
    a database outage (which restarting the web processes cannot fix) leaves it 200; ``/readyz`` is
    the probe that says the portal cannot serve."""
    return jsonify({"status": "ok"})


@bp.route("/readyz")
def readyz():
    """Readiness: 200 when the portal can serve, 503 naming each part that cannot (the database, the
    upload store, the SMS sink, a shared secret). ``warnings`` lists what needs an operator soon
    without stopping service (next year's 放假安排 missing from 1 November)."""
    failed = problems(current_app._get_current_object())
    warnings: list[str] = []
    if not any(line.startswith("DATABASE_URL") for line in failed):
        year = missing_arrangement_year(local_today(), entered_years())
        if year is not None:
            warnings.append(f"calendar: no holiday arrangement for {year} (statutory holidays assumed)")
    body = {"status": "error" if failed else "ok", "problems": failed, "warnings": warnings}
    return jsonify(body), 503 if failed else 200
