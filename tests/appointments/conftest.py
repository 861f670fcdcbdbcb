"""预约 fixtures: the demo catalog and accounts, and LJ-EE (出入境) opening Monday–Friday."""

from __future__ import annotations

import pytest

from core.db import db
from tests.clerk.helpers import load_world


@pytest.fixture
def world(app):
    with app.app_context():
        load_world()
        db.session.remove()
    return app
