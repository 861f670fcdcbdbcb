"""Login by mobile, ID number or staff username; one answer for unknown accounts and wrong
passwords; lockout after 5 failures for 15 minutes, shared through the database by every worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from auth.models import LoginThrottle, User
from core.db import db, utcnow
from tests.auth.helpers import form_alert, input_value, login, make_account

LOGIN_FAILED = "账号或密码不正确"
LOCKED = "登录失败次数过多，账号已锁定15分钟，请稍后再试"


def _logged_in(client) -> bool:
    return client.get("/profile").status_code == 200


@pytest.mark.parametrize("how", ["mobile", "id_number", "id_number_lower", "mobile_spaced"])
def test_citizen_logs_in_by_mobile_or_id_number(app, client, how):
    account = make_account(app, id_number="11010519491231002X")
    identifier = {
        "mobile": account.mobile,
        "id_number": account.id_number,
        "id_number_lower": account.id_number.lower(),
        "mobile_spaced": f"{account.mobile[:3]} {account.mobile[3:7]} {account.mobile[7:]}",
    }[how]
    response = login(client, identifier)
    assert response.status_code == 302
    assert _logged_in(client)
    with app.app_context():
        assert db.session.get(User, account.id).last_login_at is not None


def test_staff_logs_in_by_username(app, client):
    account = make_account(app, "clerk")
    assert login(client, account.login).status_code == 302
    assert _logged_in(client)


def test_next_parameter_is_followed_on_site(app, client):
    account = make_account(app)
    data = {"identifier": account.login, "password": account.password}
    response = client.post("/login?next=/profile%3Ftab%3D1", data=data)
    assert response.headers["Location"] == "/profile?tab=1"
    assert client.get("/login?next=/profile").headers["Location"] == "/profile"


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/%5Cevil.example",
        "/%09/evil.example",  # browsers drop the tab: //evil.example
        "/%0A/evil.example",  # a newline in a header
        "/%0D%0ASet-Cookie:x=1",
        "%20//evil.example",
        "javascript:alert(1)",
    ],
)
def test_next_parameter_never_leaves_the_site(app, client, evil):
    account = make_account(app)
    data = {"identifier": account.login, "password": account.password}
    response = client.post(f"/login?next={evil}", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    # Already logged in: the login page sends people on with the same rule.
    response = client.get(f"/login?next={evil}")
    assert response.headers["Location"] == "/"


def test_wrong_password_and_unknown_account_get_the_same_answer(app, client):
    account = make_account(app)
    wrong = login(client, account.login, "Wrong-pass-1")
    unknown = login(client, "13000000000", "Wrong-pass-1")
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert form_alert(response.text) == LOGIN_FAILED
        assert not input_value(response.text, "password")
    assert not _logged_in(client)


def test_disabled_account_cannot_log_in_and_gets_the_same_answer(app, client):
    from auth import operations as ops

    account = make_account(app)
    with app.app_context():
        ops.set_active(db.session.get(User, account.id), False)
        db.session.commit()
    response = login(client, account.login)
    assert response.status_code == 422
    assert form_alert(response.text) == LOGIN_FAILED


def test_missing_fields_get_chinese_errors(client):
    from tests.auth.helpers import field_error

    response = client.post("/login", data={"identifier": "", "password": ""})
    assert response.status_code == 422
    assert field_error(response.text, "identifier") == "请输入手机号码、身份证号码或工作账号"
    assert field_error(response.text, "password") == "请输入密码"


def test_lockout_across_two_app_instances(make_app):
    """Two 'workers' on one database: 3 failures on A and 2 on B lock the account on both."""
    worker_a, worker_b = make_app(), make_app()
    account = make_account(worker_a)
    a, b = worker_a.test_client(), worker_b.test_client()
    for _ in range(3):
        assert form_alert(login(a, account.login, "Wrong-pass-1").text) == LOGIN_FAILED
    assert form_alert(login(b, account.login, "Wrong-pass-1").text) == LOGIN_FAILED
    assert form_alert(login(b, account.login, "Wrong-pass-1").text) == LOCKED
    for client in (a, b):
        response = login(client, account.login)  # the right password
        assert response.status_code == 422
        assert form_alert(response.text) == LOCKED
        assert not _logged_in(client)
    # The lock is on the account, whichever identifier names it.
    assert form_alert(login(a, account.id_number).text) == LOCKED
    with worker_a.app_context():
        row = db.session.get(LoginThrottle, f"user:{account.id}")
        remaining = row.locked_until - utcnow()
        assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)


def test_lock_expires_after_fifteen_minutes(app, client):
    account = make_account(app)
    for _ in range(5):
        login(client, account.login, "Wrong-pass-1")
    assert form_alert(login(client, account.login).text) == LOCKED
    with app.app_context():
        db.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == f"user:{account.id}")
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert login(client, account.login).status_code == 302
    assert _logged_in(client)
    with app.app_context():  # success clears the counter
        assert db.session.get(LoginThrottle, f"user:{account.id}") is None


def test_after_the_lock_expires_counting_starts_again(app, client):
    account = make_account(app)
    for _ in range(5):
        login(client, account.login, "Wrong-pass-1")
    with app.app_context():
        db.session.execute(update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert form_alert(login(client, account.login, "Wrong-pass-1").text) == LOGIN_FAILED
    assert login(client, account.login).status_code == 302


def test_unknown_identifier_locks_the_same_way(make_app):
    worker_a, worker_b = make_app(), make_app()
    a, b = worker_a.test_client(), worker_b.test_client()
    ghost = "13000000000"
    answers = [form_alert(login(a, ghost, "Wrong-pass-1").text) for _ in range(3)]
    answers += [form_alert(login(b, ghost, "Wrong-pass-1").text) for _ in range(3)]
    assert answers == [LOGIN_FAILED] * 4 + [LOCKED, LOCKED]
    # Registering that mobile later is not blocked, and the new account starts unlocked.
    account = make_account(worker_a, mobile=ghost)
    assert login(a, account.login).status_code == 302


def test_failures_on_other_accounts_do_not_lock_mine(app, client):
    mine, other = make_account(app), make_account(app)
    for _ in range(5):
        login(client, other.login, "Wrong-pass-1")
    assert login(client, mine.login).status_code == 302


def test_lock_state_is_in_the_database(app, client):
    account = make_account(app)
    for _ in range(2):
        login(client, account.login, "Wrong-pass-1")
    with app.app_context():
        row = db.session.scalar(select(LoginThrottle).where(LoginThrottle.key == f"user:{account.id}"))
        assert row.failures == 2 and row.locked_until is None
