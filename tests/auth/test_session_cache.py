"""The per-worker memory of session checks (auth.sessioncache): a request within the bound loads no
account, a session revoked in another worker is refused once the bound is up, in the same worker at
once, and one person's account is never handed to another's cookie."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from auth.models import User
from core import clock
from core.db import db
from tests.auth.helpers import login, make_account, same_cookie_on
from tests.sql import sql_sent


def account_queries(app):
    """The SQL statements that read the users table while the block runs."""
    return sql_sent(app, where="FROM users")


def test_within_the_bound_a_request_loads_no_account(app, client):
    account = make_account(app, "citizen")
    assert login(client, account.login).status_code == 302
    start = clock.now()  # the clock stands still, so a slow host cannot run past the bound
    with clock.travel(start):
        assert client.get("/profile").status_code == 200  # checked and remembered
        with account_queries(app) as seen:
            assert client.get("/profile").status_code == 200
    assert seen == []
    with clock.travel(start + timedelta(seconds=3.5)), account_queries(app) as seen:  # the bound is up
        assert client.get("/profile").status_code == 200
    assert len(seen) == 1


def test_a_session_revoked_in_another_worker_is_refused_once_the_bound_is_up(make_app):
    worker_a, worker_b = make_app(SESSION_CHECK_SECONDS=3), make_app(SESSION_CHECK_SECONDS=3)
    account = make_account(worker_a, "citizen")
    browser = worker_a.test_client()
    assert login(browser, account.login).status_code == 302
    stolen = same_cookie_on(worker_b, browser)
    start = clock.now()  # the clock stands still, so a slow host cannot eat into the bound
    with clock.travel(start):
        assert stolen.get("/profile").status_code == 200  # worker B remembers the check
        assert browser.post("/logout").status_code == 302  # revoked through worker A
        assert browser.get("/profile").status_code == 302  # worker A refuses at once
    with clock.travel(start + timedelta(seconds=2.5)):  # still within the documented bound in worker B
        assert stolen.get("/profile").status_code == 200
    with clock.travel(start + timedelta(seconds=3.0)):
        response = stolen.get("/profile")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_an_account_disabled_through_this_worker_is_refused_at_once(app, client):
    account = make_account(app, "citizen")
    assert login(client, account.login).status_code == 302
    assert client.get("/profile").status_code == 200
    admin = make_account(app, "admin")
    admin_client = app.test_client()
    assert login(admin_client, admin.login).status_code == 302
    with app.app_context():  # what the staff page does, then any write request of this worker ends
        db.session.execute(update(User).where(User.id == account.id).values(active=False))
        db.session.commit()
    admin_client.post("/logout")  # a POST in this worker: its memory is emptied
    assert client.get("/profile").status_code == 302


def test_the_persons_own_write_is_seen_by_every_worker_on_the_next_request(make_app):
    worker_a, worker_b = make_app(SESSION_CHECK_SECONDS=3), make_app(SESSION_CHECK_SECONDS=3)
    account = make_account(worker_a, "citizen", real_name="王小明")
    browser = worker_a.test_client()
    assert login(browser, account.login).status_code == 302
    assert "王小明" in same_cookie_on(worker_b, browser).get("/profile").text
    with worker_a.app_context():  # the person's own change (here written directly) …
        db.session.get(User, account.id).real_name = "王小亮"
        db.session.commit()
    browser.post("/profile/password", data={})  # … made by a write request of theirs (refused: no matter)
    assert "王小亮" in same_cookie_on(worker_b, browser).get("/profile").text


def test_two_people_never_get_each_others_account(app):
    one, two = make_account(app, "citizen", real_name="赵一"), make_account(app, "citizen", real_name="钱二")
    first, second = app.test_client(), app.test_client()
    assert login(first, one.login).status_code == 302
    assert login(second, two.login).status_code == 302
    for _ in range(3):  # alternate, so each answer comes from the memory after the first
        page_one, page_two = first.get("/profile").text, second.get("/profile").text
        assert "赵一" in page_one and "钱二" not in page_one
        assert "钱二" in page_two and "赵一" not in page_two


def test_a_forged_token_for_a_remembered_account_is_refused(app, client):
    account = make_account(app, "citizen")
    assert login(client, account.login).status_code == 302
    assert client.get("/profile").status_code == 200  # the real token is remembered
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{account.id}:{'0' * 32}"
    assert client.get("/profile").status_code == 302


def test_zero_seconds_turns_the_memory_off(make_app):
    app = make_app(SESSION_CHECK_SECONDS=0)
    account = make_account(app, "citizen")
    client = app.test_client()
    assert login(client, account.login).status_code == 302
    client.get("/profile")
    with account_queries(app) as seen:
        assert client.get("/profile").status_code == 200
    assert len(seen) == 1
