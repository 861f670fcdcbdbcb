"""`python -m bench --only instructions` (bench/instructions.py): the in-process browser it counts
asks as a logged-in browser does (cookie and User-Agent kept, no new cookie per request) and refuses to
count an answer that is not the page; callgrind's total is read from its exit line."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bench.instructions import collected, page_driver
from tests.auth.helpers import make_account
from tests.factories import DEFAULT_PASSWORD


def test_callgrinds_total_is_read_from_its_exit_line():
    assert collected("==123== Events    : Ir\n==123== Collected : 208765370\n") == 208765370
    assert collected("valgrind: command not found") is None


def test_the_driver_asks_as_the_logged_in_browser_page_after_page(app):
    account = make_account(app, "citizen")
    ask = page_driver(app, account.login, DEFAULT_PASSWORD, "/me/applications")
    first, second = ask(), ask()
    assert "我的办件".encode() in first and "我的办件".encode() in second


def test_the_driver_refuses_a_page_the_person_may_not_see(app):
    account = make_account(app, "citizen")
    ask = page_driver(app, account.login, DEFAULT_PASSWORD, "/clerk/")
    with pytest.raises(RuntimeError, match="answered"):
        ask()


def test_a_login_that_fails_stops_the_count(app):
    account = make_account(app, "citizen")
    with pytest.raises(RuntimeError, match="login"):
        page_driver(app, account.login, "not-the-password", "/me/applications")


def test_a_new_cookie_is_taken_as_a_browser_takes_it(app, monkeypatch):
    account = make_account(app, "clerk")
    ask = page_driver(app, account.login, DEFAULT_PASSWORD, "/clerk/")

    class AMinuteLater(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(minutes=1)

    monkeypatch.setattr("auth.views.datetime", AMinuteLater)  # the idle stamp is now due for renewal
    ask()  # renews it and sends the new cookie
    # sent with the new cookie: nothing to renew (with the old one each would renew again, and the
    # driver would stop the count with "sent a new session cookie on every request")
    assert "工作台".encode() in ask()
    assert "工作台".encode() in ask()


def test_a_page_that_signs_a_cookie_on_every_request_stops_the_count(app, monkeypatch):
    account = make_account(app, "clerk")
    ask = page_driver(app, account.login, DEFAULT_PASSWORD, "/clerk/")
    monkeypatch.setattr("auth.views.SEEN_REFRESH_SECONDS", 0)  # renewed on every request
    ask()
    with pytest.raises(RuntimeError, match="every request"):
        ask()
