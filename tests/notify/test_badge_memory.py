"""The 消息 badge is asked once per SESSION_CHECK_SECONDS in a worker (auth.sessioncache.per_session):
messages the person reads stop counting at once in every worker; one that someone else's action
queued shows within the bound."""

from __future__ import annotations

from datetime import timedelta

from core import clock
from core.db import db
from core.outbox import OutboxMessage
from tests.auth.helpers import login, make_account, same_cookie_on

BADGE = 'data-testid="nav-badge">'


def _queue_message(app, user_id: int) -> None:
    with app.app_context():
        db.session.add(OutboxMessage(user_id=user_id, kind="test", title="通知", body="您有一条新消息"))
        db.session.commit()


def test_read_messages_stop_counting_at_once_and_new_ones_show_within_the_bound(make_app):
    worker_a, worker_b = make_app(SESSION_CHECK_SECONDS=3), make_app(SESSION_CHECK_SECONDS=3)
    account = make_account(worker_a, "citizen")
    browser = worker_a.test_client()
    assert login(browser, account.login).status_code == 302
    _queue_message(worker_a, account.id)
    assert f"{BADGE}1<" in same_cookie_on(worker_b, browser).get("/profile").text  # B remembers 1 unread

    assert "您有一条新消息" in browser.get("/me/messages").text  # read through worker A …
    assert BADGE not in same_cookie_on(worker_b, browser).get("/profile").text  # … B counts 0 at once
    assert BADGE not in browser.get("/me/messages").text  # the messages page shows none as unread

    later = same_cookie_on(worker_b, browser)
    start = clock.now()  # the clock stands still, so a slow host cannot run past the bound
    with clock.travel(start):
        assert BADGE not in later.get("/profile").text
        _queue_message(worker_a, account.id)  # a clerk's action elsewhere queues a message
        assert BADGE not in later.get("/profile").text  # within the bound: not yet …
    with clock.travel(start + timedelta(seconds=3.5)):
        assert f"{BADGE}1<" in later.get("/profile").text  # … then it shows
