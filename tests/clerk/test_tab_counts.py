"""The queue page's tab counts are remembered per clerk for SESSION_CHECK_SECONDS in a worker (like the
消息 badge): new submissions and other clerks' work show within the bound, the clerk's own claim at
once in every worker, and the tab on screen always counts exactly the rows it lists."""

from __future__ import annotations

import re
from datetime import timedelta

from core import clock
from core.db import db
from tests.auth.helpers import same_cookie_on
from tests.clerk.helpers import insert_submitted, load_world, login_staff


def _counts(client, tab: str = "pending") -> dict[str, int]:
    page = client.get(f"/clerk/?tab={tab}")
    assert page.status_code == 200
    return {k: int(v) for k, v in re.findall(r'data-testid="count-([a-z_]+)">(\d+)<', page.text)}


def _submit(app, n: int = 1, **columns) -> list[int]:
    """New submissions in the clerk's unit, written by someone else (not through this clerk's session)."""
    with app.app_context():
        ids = insert_submitted(n, **columns)
        db.session.commit()
    return ids


def test_new_work_shows_within_the_bound_and_the_tab_on_screen_counts_its_rows(world, make_app):
    worker_b = make_app(SESSION_CHECK_SECONDS=3)
    clerk = world.test_client()
    login_staff(clerk, "clerk_ps_dc_01")
    on_b = same_cookie_on(worker_b, clerk)
    start = clock.now()  # the clock stands still, so a slow host cannot run past the bound
    with clock.travel(start):
        assert _counts(on_b, "mine")["pending"] == 0  # remembered by worker B
        _submit(world, 2)
        assert _counts(on_b, "mine")["pending"] == 0  # another tab: within the bound, not yet …
        assert _counts(on_b, "pending")["pending"] == 2  # … but the tab on screen counts its rows
    with clock.travel(start + timedelta(seconds=3.5)):
        assert _counts(on_b, "mine")["pending"] == 2  # … and once the bound is up, every tab


def test_the_clerks_own_claim_shows_at_once_in_every_worker(world, make_app):
    worker_b = make_app(SESSION_CHECK_SECONDS=3)
    _submit(world, 2)
    clerk = world.test_client()
    login_staff(clerk, "clerk_ps_dc_01")
    on_b = same_cookie_on(worker_b, clerk)
    start = clock.now()
    with clock.travel(start):
        before = _counts(on_b, "pending")
        assert (before["pending"], before["mine"]) == (2, 0)
        assert clerk.post("/clerk/claim-next").status_code == 302  # through worker A
        after = _counts(same_cookie_on(worker_b, clerk), "pending")  # the cookie the claim renewed
        assert (after["pending"], after["mine"]) == (1, 1)


def test_zero_seconds_counts_afresh_on_every_view(make_app):
    app = make_app(SESSION_CHECK_SECONDS=0)
    with app.app_context():
        load_world()
    clerk = app.test_client()
    login_staff(clerk, "clerk_ps_dc_01")
    assert _counts(clerk, "mine")["pending"] == 0
    _submit(app, 3)
    assert _counts(clerk, "mine")["pending"] == 3
