"""/admin/guide-fixes: the ranked list of items and one item's guide fixes (admins only)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, render_template, request

from applications.guide_fixes import queries as q
from auth.models import Role
from auth.policies import role_required
from catalog.admin import operations as catalog_ops
from catalog.queries import catalog
from core.db import utcnow

bp = Blueprint("guide_fixes", __name__, url_prefix="/admin/guide-fixes")
admin_only = role_required(Role.ADMIN)
PERIODS = (7, 30, 90, 365)
DEFAULT_DAYS = 90


def _days() -> int:
    """The period in days: one of PERIODS (anything else, typed or hand-made, is the default)."""
    value = request.args.get("days", type=int)
    return value if value in PERIODS else DEFAULT_DAYS


@bp.get("/")
@admin_only
def ranking():
    days = _days()
    until = utcnow()
    since = until - timedelta(days=days)
    names = {code: it.name for code, it in catalog().items.items()}
    rows = q.ranking(since, until, names)
    return render_template("guide_fixes/ranking.html", rows=rows, days=days, periods=PERIODS)


@bp.get("/<code>")
@admin_only
def item(code: str):
    service_item = catalog_ops.get_item(code)
    if service_item is None:
        abort(404)
    version = catalog_ops.working_version(service_item)
    days = _days()
    now = utcnow()
    since = now - timedelta(days=days)
    fixes = q.item_fixes(service_item, version.name if version else code, since, now, now)
    # where each document sits in the editor (the draft's order)
    doc_index = {d.name: i for i, d in enumerate(version.documents)} if version else {}
    return render_template(
        "guide_fixes/item.html", fixes=fixes, days=days, periods=PERIODS, doc_index=doc_index
    )
