"""统计分析: the reform's numbers (DESIGN §4) — dashboard, drill-down, 改革清单, exports, the public page
and ``GET /api/v1/stats``. One module (:mod:`applications.stats.metrics`) computes every figure."""

from __future__ import annotations

from flask import Flask


def init_stats(app: Flask) -> None:
    """Register the statistics pages, the JSON endpoint and their navigation links
    (公开数据 for everybody; 统计分析 for unit leads, admins and auditors)."""
    from applications.stats import views
    from core.nav import add_nav

    app.register_blueprint(views.bp)
    app.register_blueprint(views.api_bp)
    add_nav(app, "stats.public", views.NAV_PUBLIC)
    add_nav(app, "stats.dashboard", views.NAV_STAFF, roles=set(views.STAFF_ROLES))
