"""Statistics fixtures: an app with the stats blueprints (wired in the factory or not) and the demo
catalog and accounts."""

from __future__ import annotations

import pytest

from applications.stats import init_stats
from core.db import db
from tests.clerk.helpers import load_world


@pytest.fixture
def app(make_app):
    app = make_app()
    if "stats" not in app.blueprints:
        init_stats(app)
    return app


@pytest.fixture
def world(app):
    with app.app_context():
        load_world()
        db.session.remove()
    return app
