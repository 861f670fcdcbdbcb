"""The session cookie (core.session_cookie): Flask's format and rules, with a kept serializer — a cookie
from Flask's own interface opens and the other way round, a forged or expired one does not, and a
changed secret takes effect at once (rotation through SECRET_KEY_FALLBACKS keeps old cookies)."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous.timed import TimestampSigner

from core.memo import TimedMemory
from core.session_cookie import PortalSessionInterface
from tests.auth.helpers import login_as

COOKIE = "portal_session"


def _cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def _with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie(COOKIE, value, domain="localhost")
    return other


def _profile_status(app, value: str) -> int:
    return _with_cookie(app, value).get("/profile").status_code


def test_the_portal_uses_the_kept_interface(app):
    assert isinstance(app.session_interface, PortalSessionInterface)


def test_a_cookie_from_flasks_own_interface_opens_and_ours_opens_with_flasks(app, client):
    login_as(app, client, "citizen")
    ours = _cookie(client)
    stock = SecureCookieSessionInterface()
    with app.test_request_context(headers={"Cookie": f"{COOKIE}={ours}"}):
        opened = stock.open_session(app, request)
        assert opened.get("_user_id")  # Flask's interface reads our cookie
        signed = stock.get_signing_serializer(app).dumps(dict(opened))
    assert _profile_status(app, signed) == 200  # and ours reads Flask's


def test_a_forged_cookie_is_a_logged_out_visitor(app, client):
    login_as(app, client, "citizen")
    value = _cookie(client)
    payload, _, signature = value.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert _profile_status(app, forged) == 302
    assert _profile_status(app, value) == 200


def test_a_changed_secret_refuses_old_cookies_at_once_unless_kept_as_a_fallback(app, client):
    login_as(app, client, "citizen")
    value = _cookie(client)
    assert _profile_status(app, value) == 200  # the serializer is built and kept
    old = app.secret_key
    app.extensions["session_cache"] = TimedMemory(0)  # every request checks the account again
    app.secret_key = "a-new-secret-" + "x" * 40
    assert _profile_status(app, value) == 302  # not signed by the new secret
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert _profile_status(app, value) == 200  # rotation: the old secret still verifies
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert _profile_status(app, value) == 302  # retired: refused again


def test_an_expired_cookie_is_refused(make_app, monkeypatch):
    app = make_app(PERMANENT_SESSION_LIFETIME=timedelta(hours=1), SESSION_CHECK_SECONDS=0)
    client = app.test_client()
    login_as(app, client, "citizen")
    value = _cookie(client)
    assert _profile_status(app, value) == 200
    now = int(time.time())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now + 2 * 3600)  # two hours on
    assert _profile_status(app, value) == 302


def test_a_logged_in_browser_is_sent_no_new_cookie_page_after_page(app, client):
    """Signing and sending the cookie is work for every request that changes the session; a browser
    reading pages changes nothing after its first page (bench/loggedin.py fails on such a cookie)."""
    login_as(app, client, "citizen")
    client.get("/me/applications")  # the first page may add to the session (its CSRF token)
    for path in ("/me/applications", "/profile", "/me/applications"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, path


def test_a_cookie_sent_by_another_client_is_marked_not_fresh_and_signed_again(app, client):
    """Flask-Login's session protection: why the benchmark's client keeps its login's User-Agent."""
    login_as(app, client, "citizen")
    client.get("/me/applications")
    response = client.get("/me/applications", headers={"User-Agent": "another browser"})
    assert response.status_code == 200 and "Set-Cookie" in response.headers
    with client.session_transaction() as sess:
        assert sess["_fresh"] is False
