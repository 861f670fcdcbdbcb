"""Scheduled-job fixtures: the demo catalog and accounts (for the reminder and retention tests) and a
job made for the test."""

from __future__ import annotations

import pytest

from core.db import db
from tests.clerk.helpers import load_world


@pytest.fixture
def world(app):
    """The demo catalog and accounts committed in ``app``'s database."""
    with app.app_context():
        load_world()
        db.session.remove()
    return app
