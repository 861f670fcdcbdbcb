"""Rating fixtures: the demo catalog and accounts, and the rating pages registered on the app
(``init_ratings`` is idempotent here so the tests pass before and after it is wired in)."""

from __future__ import annotations

import pytest

from core.db import db
from tests.clerk.helpers import load_world


@pytest.fixture
def app(make_app):
    from applications.ratings import init_ratings

    app = make_app()
    if "ratings" not in app.blueprints:
        init_ratings(app)
    return app


@pytest.fixture
def world(app):
    with app.app_context():
        load_world()
        db.session.remove()
    return app
