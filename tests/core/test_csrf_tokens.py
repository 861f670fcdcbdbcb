"""Flask-WTF's CSRF token is signed at most once a minute per session in a worker (core.csrf_tokens):
the kept token is the session's own and is accepted, another session never gets it, a session that logs
out gets a new one at once, and a token that no longer matches its session is not kept."""

from __future__ import annotations

from datetime import timedelta

import flask_wtf.csrf
import pytest
from flask import g, session
from flask_wtf.csrf import generate_csrf

from core import clock, csrf_tokens
from tests.auth.helpers import csrf_token, login, login_as, make_account

CSRF_MESSAGE = "页面已过期或表单校验失败，请刷新页面后重新提交。"


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.fixture
def signings(monkeypatch) -> list[int]:
    """How many tokens Flask-WTF signed."""
    made: list[int] = []

    class Counting(flask_wtf.csrf.URLSafeTimedSerializer):
        def dumps(self, *args, **kwargs):
            made.append(1)
            return super().dumps(*args, **kwargs)

    monkeypatch.setattr(flask_wtf.csrf, "URLSafeTimedSerializer", Counting)
    return made


def _logged_in(app):
    client = app.test_client()
    login_as(app, client, "citizen", csrf=True)
    return client


def test_within_the_minute_a_session_is_given_the_token_already_signed_and_it_works(csrf_app, signings):
    client = _logged_in(csrf_app)
    start = clock.now()
    with clock.travel(start):
        first = csrf_token(client.get("/profile").text)
        signed = len(signings)
        assert csrf_token(client.get("/profile").text) == first
        assert csrf_token(client.get("/").text) == first
        assert len(signings) == signed  # nothing signed again
    with clock.travel(start + timedelta(seconds=59)):
        assert csrf_token(client.get("/profile").text) == first
        assert client.post("/logout", data={"csrf_token": first}).status_code == 302  # Flask-WTF accepts it
    assert client.get("/profile").status_code == 302  # logged out


def test_after_the_minute_the_token_is_signed_again(csrf_app, signings):
    client = _logged_in(csrf_app)
    start = clock.now()
    with clock.travel(start):
        client.get("/profile")
        signed = len(signings)
    with clock.travel(start + timedelta(seconds=61)):
        token = csrf_token(client.get("/profile").text)
        assert len(signings) == signed + 1
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_another_session_never_gets_this_sessions_token(csrf_app):
    one, other = _logged_in(csrf_app), _logged_in(csrf_app)
    mine = csrf_token(one.get("/profile").text)
    theirs = csrf_token(other.get("/profile").text)
    assert mine != theirs
    refused = other.post("/logout", data={"csrf_token": mine})
    assert refused.status_code == 400 and CSRF_MESSAGE in refused.text
    assert other.get("/profile").status_code == 200  # still logged in


def test_a_session_that_logged_out_gets_a_new_token_at_once(csrf_app):
    client = _logged_in(csrf_app)
    old = csrf_token(client.get("/profile").text)
    assert client.post("/logout", data={"csrf_token": old}).status_code == 302
    new = csrf_token(client.get("/login").text)
    assert new != old
    account = make_account(csrf_app)
    stale = client.post(
        "/login", data={"identifier": account.login, "password": account.password, "csrf_token": old}
    )
    assert stale.status_code == 400 and CSRF_MESSAGE in stale.text
    assert login(client, account.login, csrf_token=new).status_code == 302


def test_a_token_that_no_longer_matches_its_session_is_not_kept(csrf_app):
    with csrf_app.test_request_context("/"):
        csrf_app.preprocess_request()
        token = generate_csrf()
        session["csrf_token"] = "a new raw token, set by the view after the page asked for one"
        csrf_tokens.keep_minted_token(csrf_app.response_class())
        assert token == g.csrf_token
    assert len(csrf_app.extensions["csrf_tokens"]) == 0


def test_with_a_time_limit_a_token_is_reused_for_a_tenth_of_it_at_most(make_app, signings):
    app = make_app(WTF_CSRF_ENABLED=True, WTF_CSRF_TIME_LIMIT=100)
    client = _logged_in(app)
    start = clock.now()
    with clock.travel(start):
        client.get("/profile")
        signed = len(signings)
    with clock.travel(start + timedelta(seconds=9)):
        client.get("/profile")
        assert len(signings) == signed
    with clock.travel(start + timedelta(seconds=11)):
        client.get("/profile")
        assert len(signings) == signed + 1
