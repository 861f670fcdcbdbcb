"""Simulation fixtures: the demo catalog and accounts in the test's database."""

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
