"""The composition root: the one place that knows every package and wires them, in layer order
(core ← auth ← catalog ← applications ← demo; the auditor's viewer beside catalog). ``wsgi.py``,
the tests and the benchmarks build the app here."""

from __future__ import annotations

from typing import Any

from flask import Flask

from core.factory import create_base_app


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the whole portal from the environment plus ``overrides``. Opens no database connection."""
    app = create_base_app(overrides)

    import applications
    import catalog
    import demo
    from audit_viewer.views import init_audit_viewer
    from auth import init_app as init_auth

    init_audit_viewer(app)
    init_auth(app)
    catalog.init_app(app)
    applications.init_app(app)
    demo.init_app(app)
    return app
