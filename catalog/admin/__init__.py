"""The admins' catalog editor: drafts, preview, publish checks, versions and diff, retire,
import/export (YAML, .xlsx), bundles and their 一件事 flows, the external departments register and the
working-day calendar, under /admin."""

from __future__ import annotations

from flask import Flask


def init_catalog_admin(app: Flask) -> None:
    """Register the /admin catalog blueprint and the 管理 nav link (admins only)."""
    from flask_babel import lazy_gettext as _l

    from catalog.admin.views import bp
    from core.nav import add_nav

    if "catalog_admin" in app.blueprints:
        return
    app.register_blueprint(bp)
    from catalog.admin.units import bp as units_bp

    app.register_blueprint(units_bp)
    from catalog.admin.flow_views import bp as flows_bp

    app.register_blueprint(flows_bp)
    add_nav(app, "catalog_admin.items", _l("管理"), roles={"admin"})
