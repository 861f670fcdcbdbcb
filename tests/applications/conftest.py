"""Application fixtures: the demo catalog in the test's database and logged-in citizens."""

from __future__ import annotations

import pytest

from core.db import db
from tests.auth.helpers import Account, login, make_account
from tests.catalog.helpers import load_demo


@pytest.fixture
def demo(app):
    """The demo catalog loaded and committed in ``app``'s database."""
    with app.app_context():
        result = load_demo()
        db.session.remove()
        return result


@pytest.fixture
def citizen(app, demo) -> Account:
    return make_account(app, "citizen")


@pytest.fixture
def citizen_client(app, citizen):
    """A test client logged in as :func:`citizen` (the demo catalog loaded)."""
    client = app.test_client()
    assert login(client, citizen.login).status_code == 302
    return client


@pytest.fixture
def other_client(app, demo):
    """A second citizen, B."""
    account = make_account(app, "citizen")
    client = app.test_client()
    assert login(client, account.login).status_code == 302
    client.account = account
    return client
