"""Site-wide pages: home, health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from sqlalchemy import text

from core.db import db

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
