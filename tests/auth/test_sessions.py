"""Revocable sessions: a cookie copied before logout, password change or disabling is refused
afterwards; staff sessions end after 30 idle minutes."""

from __future__ import annotations

import time

import pytest

from auth import operations as ops
from auth.models import User
from core.db import db
from tests.auth.helpers import STRONG_PASSWORD, csrf_token, login, login_as

COOKIE = "portal_session"


def _copy_session(app, source):
    """A second browser holding a copy of ``source``'s session cookie."""
    cookie = source.get_cookie(COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value, domain=cookie.domain)
    return thief


def _reaches_profile(client) -> bool:
    response = client.get("/profile")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    return False


def test_copied_cookie_works_while_the_session_lives(app, client):
    login_as(app, client, "citizen")
    thief = _copy_session(app, client)
    assert _reaches_profile(thief)


def test_copied_cookie_refused_after_logout(app, client):
    login_as(app, client, "citizen")
    thief = _copy_session(app, client)
    assert client.post("/logout").status_code == 302
    assert not _reaches_profile(client)
    assert not _reaches_profile(thief)


def test_logout_ends_sessions_on_other_devices_too(app, client):
    account = login_as(app, client, "citizen")
    phone = app.test_client()
    assert login(phone, account.login).status_code == 302
    phone.post("/logout")
    assert not _reaches_profile(client)


def test_password_change_ends_other_sessions_but_keeps_this_one(app, client):
    account = login_as(app, client, "citizen")
    thief = _copy_session(app, client)
    other_device = app.test_client()
    login(other_device, account.login)
    response = client.post(
        "/profile/password",
        data={
            "pw-current_password": account.password,
            "pw-new_password": STRONG_PASSWORD,
            "pw-new_password_confirm": STRONG_PASSWORD,
        },
    )
    assert response.status_code == 302, response.text
    assert _reaches_profile(client)
    assert not _reaches_profile(thief)
    assert not _reaches_profile(other_device)
    # The new password works, the old one does not.
    client.post("/logout")
    assert login(client, account.login, account.password).status_code == 422
    assert login(client, account.login, STRONG_PASSWORD).status_code == 302


def test_failed_password_change_keeps_every_session(app, client):
    account = login_as(app, client, "citizen")
    thief = _copy_session(app, client)
    response = client.post(
        "/profile/password",
        data={
            "pw-current_password": "Not-my-password-1",
            "pw-new_password": STRONG_PASSWORD,
            "pw-new_password_confirm": STRONG_PASSWORD,
        },
    )
    assert response.status_code == 422
    assert "当前密码不正确" in response.text
    assert _reaches_profile(thief)
    assert login(app.test_client(), account.login, account.password).status_code == 302


def test_disabling_an_account_ends_its_sessions(app, client):
    account = login_as(app, client, "clerk")
    thief = _copy_session(app, client)
    with app.app_context():
        ops.set_active(db.session.get(User, account.id), False)
        db.session.commit()
    assert not _reaches_profile(client)
    assert not _reaches_profile(thief)


def test_flask_users_disable_ends_sessions(app, client):
    account = login_as(app, client, "clerk")
    thief = _copy_session(app, client)
    result = app.test_cli_runner().invoke(args=["users", "disable", account.login])
    assert result.exit_code == 0, result.output
    assert not _reaches_profile(thief)
    assert not _reaches_profile(client)
    # Re-enabling does not resurrect the old cookie.
    with app.app_context():
        ops.set_active(db.session.get(User, account.id), True)
        db.session.commit()
    assert not _reaches_profile(thief)


def test_disable_unknown_username_fails(app):
    result = app.test_cli_runner().invoke(args=["users", "disable", "nobody"])
    assert result.exit_code != 0
    assert "nobody" in result.output


def test_tampered_session_token_is_refused(app, client):
    account = login_as(app, client, "citizen")
    with client.session_transaction() as sess:
        user_id, _sep, token = sess["_user_id"].partition(":")
        assert user_id == str(account.id) and token
        sess["_user_id"] = f"{account.id}:{'0' * len(token)}"
    assert not _reaches_profile(client)
    with client.session_transaction() as sess:
        sess["_user_id"] = str(account.id)  # no token at all
    assert not _reaches_profile(client)


def test_logout_needs_csrf_token_when_csrf_is_on(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login_as(app, client, "citizen", csrf=True)
    thief = _copy_session(app, client)
    assert client.post("/logout").status_code == 400  # no token: nothing happens
    assert _reaches_profile(thief)
    token = csrf_token(client.get("/profile").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not _reaches_profile(thief)


# Staff idle timeout ------------------------------------------------------------------------------


def _idle(client, minutes: float) -> None:
    with client.session_transaction() as sess:
        assert "seen" in sess
        sess["seen"] = time.time() - minutes * 60


@pytest.mark.parametrize("role", ["clerk", "unit_lead", "admin", "auditor"])
def test_staff_session_ends_after_30_idle_minutes(app, client, role):
    login_as(app, client, role)
    _idle(client, 31)
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    page = client.get(response.headers["Location"])
    assert "超过30分钟未操作" in page.text
    assert not _reaches_profile(client)


def test_staff_session_survives_29_idle_minutes_and_activity_resets_the_clock(app, client):
    login_as(app, client, "clerk")
    _idle(client, 29)
    assert _reaches_profile(client)
    with client.session_transaction() as sess:
        assert time.time() - sess["seen"] < 60
    _idle(client, 29)
    assert _reaches_profile(client)


def test_citizen_sessions_have_no_idle_timeout(app, client):
    login_as(app, client, "citizen")
    with client.session_transaction() as sess:
        sess["seen"] = time.time() - 3 * 3600
    assert _reaches_profile(client)


def test_the_idle_stamp_is_renewed_at_most_every_30_seconds_and_the_cookie_only_then(app, client):
    login_as(app, client, "clerk")
    with client.session_transaction() as sess:
        sess["seen"] = stamp = time.time() - 20
    response = client.get("/profile")
    assert response.status_code == 200
    assert not any(c.startswith("portal_session=") for c in response.headers.getlist("Set-Cookie"))
    with client.session_transaction() as sess:
        assert sess["seen"] == stamp
    _idle(client, 0.7)  # 42 seconds
    response = client.get("/profile")
    assert any(c.startswith("portal_session=") for c in response.headers.getlist("Set-Cookie"))
    with client.session_transaction() as sess:
        assert time.time() - sess["seen"] < 5
