"""``flask demo accounts`` is idempotent and prints the logins; ``flask users list``."""

from __future__ import annotations

from sqlalchemy import func, select

from auth.cli import DEMO_CITIZEN, DEMO_PASSWORD, DEMO_STAFF
from auth.models import User
from core.audit import AuditLog
from core.db import db
from tests.auth.helpers import login


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(AuditLog)),
        )


def test_demo_accounts_twice_creates_no_duplicates(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "accounts"])
    assert first.exit_code == 0, first.output
    after_first = _counts(app)
    assert after_first[0] == 1 + len(DEMO_STAFF) + first.output.count("clerk_")
    second = runner.invoke(args=["demo", "accounts"])
    assert second.exit_code == 0, second.output
    assert _counts(app) == after_first
    assert second.output == first.output
    # The logins are printed: the citizen's mobile, every staff username, the shared password.
    assert DEMO_CITIZEN["mobile"] in first.output
    assert DEMO_PASSWORD in first.output
    for username, *_rest in DEMO_STAFF:
        assert username in first.output
    with app.app_context():
        citizen = db.session.scalar(select(User).where(User.mobile_is(DEMO_CITIZEN["mobile"])))
        assert citizen.id_number == DEMO_CITIZEN["id_number"]
    client = app.test_client()
    assert login(client, DEMO_CITIZEN["mobile"], DEMO_PASSWORD).status_code == 302


def test_demo_staff_can_log_in(app):
    assert app.test_cli_runner().invoke(args=["demo", "accounts"]).exit_code == 0
    for username, *_rest in DEMO_STAFF:
        assert login(app.test_client(), username, DEMO_PASSWORD).status_code == 302, username


def test_demo_citizen_id_number_is_valid():
    from auth.identity import is_valid_id_number

    assert is_valid_id_number(DEMO_CITIZEN["id_number"])


def test_users_list_shows_staff_not_citizens(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["demo", "accounts"])
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    assert DEMO_CITIZEN["mobile"] not in result.output
    for username, *_rest in DEMO_STAFF:
        assert username in result.output
