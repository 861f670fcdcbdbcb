"""智能咨询 (issue 24): ask in plain words at ``/ask`` (and ``GET /api/v1/ask``), get the item, the
situation answers the question implies, the personal document list and the next step; questions the
assistant could not answer are kept (without personal data) for admins, who add them to an item as
an alias or FAQ through the catalog editor's draft."""

from __future__ import annotations

from flask import Flask


def init_ask(app: Flask) -> None:
    """Register the tables, the public page and API, and the admins' list of unanswered questions."""
    from flask_babel import lazy_gettext as _l

    from catalog.ask import models  # noqa: F401 - registers the table
    from catalog.ask.views import admin_bp, bp
    from core.nav import add_nav

    if "ask" in app.blueprints:
        return
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    add_nav(app, "ask.ask", _l("智能咨询"))
