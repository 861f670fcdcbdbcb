"""电子证照 fixtures: the demo catalog and accounts, and certificates issued through the clerk's real
approve (completion with 电子证照 delivery)."""

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
