"""好差评: ratings after completion and the unit lead's follow-up of a bad rating."""

from __future__ import annotations

from flask import Flask


def init_ratings(app: Flask) -> None:
    """Register the rating pages, the follow-up list in the unit lead's menu, and the completion
    hook that invites the applicant to rate (importing ``operations`` installs it)."""
    from flask_babel import lazy_gettext as _l

    from applications.ratings import models as _models  # noqa: F401 - register tables
    from applications.ratings import views
    from core.nav import add_nav

    app.register_blueprint(views.bp)
    add_nav(app, "ratings.follow_ups", _l("差评跟进"), roles={"unit_lead"})
