"""The queue page's tab counts are remembered per clerk for SESSION_CHECK_SECONDS in a worker (like the
消息 badge): new submissions and other clerks' work show within the bound, the clerk's own claim at
once in every worker, and the tab on screen always counts exactly the rows it lists."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from applications.clerk import queues
from auth.models import Role, User
from auth.operations import create_staff
from core import clock
from core.db import db
from tests.auth.helpers import same_cookie_on
from tests.clerk.helpers import DEMO_PASSWORD, insert_submitted, load_world, login_staff
from tests.sql import sql_sent


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
    # the clock stands still, so a slow host cannot run past the bound; and it stands clearly after the
    # login, whose write is stamped rounded up to the millisecond (counts worked out within that same
    # millisecond count as older than the write and are worked out afresh)
    start = clock.now() + timedelta(seconds=0.5)
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


def unit_count_statements(app):
    """The unit counts statements (the four open tabs and 已办结, ``count(*) FILTER``) run meanwhile."""
    return sql_sent(app, where="FILTER (WHERE")


def _second_clerk(app, username: str = "clerk_ps_dc_01_b") -> str:
    with app.app_context():
        create_staff(
            username=username,
            real_name="赵一",
            role=Role.CLERK,
            password=DEMO_PASSWORD,
            unit_codes=["LJ-PS-DC-01"],
        )
        db.session.commit()
    return username


def test_the_clerks_of_one_unit_share_its_counts_and_another_unit_keeps_its_own(world, make_app):
    worker = make_app(SESSION_CHECK_SECONDS=3)
    _submit(world, 2)
    first, second, other = worker.test_client(), worker.test_client(), worker.test_client()
    login_staff(first, "clerk_ps_dc_01")
    login_staff(second, _second_clerk(world))
    login_staff(other, "clerk_vo")  # 车管所: none of the police station's work
    with clock.travel(clock.now()), unit_count_statements(worker) as counted:
        assert _counts(first, "mine")["pending"] == 2
        assert len(counted) == 1
        assert _counts(second, "mine")["pending"] == 2  # the unit's counts, worked out once for both
        assert len(counted) == 1
        assert _counts(other, "mine")["pending"] == 0  # never the police station's figures
        assert len(counted) == 2


def test_another_clerks_claim_shows_within_the_bound_and_the_claimers_own_view_at_once(world, make_app):
    worker_b = make_app(SESSION_CHECK_SECONDS=3)
    _submit(world, 2)
    claimer, colleague = world.test_client(), world.test_client()
    login_staff(claimer, "clerk_ps_dc_01")
    login_staff(colleague, _second_clerk(world))
    colleague_on_b = same_cookie_on(worker_b, colleague)
    start = clock.now() + timedelta(seconds=0.5)  # clearly after the logins (a write records its time)
    with clock.travel(start):
        assert _counts(colleague_on_b, "mine")["pending"] == 2  # worker B remembers the unit's counts
        assert claimer.post("/clerk/claim-next").status_code == 302  # through worker A
        mine = _counts(same_cookie_on(worker_b, claimer), "mine")  # the claimer's renewed cookie
        assert (mine["pending"], mine["mine"]) == (1, 1)  # their own claim, at once, in worker B too
    with clock.travel(start + timedelta(seconds=1)):
        theirs = _counts(colleague_on_b, "mine")
        assert (theirs["pending"], theirs["mine"]) == (1, 0)  # worker B worked it out again for the claimer


def test_a_colleagues_claim_in_the_same_worker_shows_once_the_bound_is_up(world, make_app):
    worker = make_app(SESSION_CHECK_SECONDS=3)
    _submit(world, 2)
    claimer, colleague = worker.test_client(), worker.test_client()
    login_staff(claimer, "clerk_ps_dc_01")
    login_staff(colleague, _second_clerk(worker))
    start = clock.now() + timedelta(seconds=0.5)  # clearly after the logins (a write records its time)
    with clock.travel(start):
        assert _counts(colleague, "mine")["pending"] == 2
        assert claimer.post("/clerk/claim-next").status_code == 302
        assert _counts(colleague, "mine")["pending"] == 2  # another clerk's claim: within the bound …
    with clock.travel(start + timedelta(seconds=3.5)):
        assert _counts(colleague, "mine")["pending"] == 1  # … and then it shows


def test_the_count_of_mine_reads_the_index_of_held_open_applications(world):
    """The 我的 count's statement matches ix_applications_claimed_open's predicate (SQLite and
    PostgreSQL), so it reads the clerk's own few entries, not every application they ever held."""
    with world.app_context():
        clerk = db.session.scalar(select(User).where(User.username == "clerk_ps_dc_01"))
        insert_submitted(2, claimed_by_id=clerk.id)
        db.session.commit()
        with sql_sent() as captured:
            assert queues.mine_count(clerk) == 2
        statement, parameters = captured[-1]
        conn = db.session.connection()
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a test table is small enough to scan
            # The statistics earlier tests left behind (the suite empties tables with DELETE) can make the
            # planner prefer the plain claimed_by_id index for a table this small; without it (dropped in
            # this transaction, rolled back below) the partial index is the only way in short of a scan,
            # so it appears in the plan exactly when the statement matches its predicate.
            conn.exec_driver_sql("DROP INDEX ix_applications_claimed_by_id")
            plan = " | ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
        else:
            plan = " | ".join(
                row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            )
        db.session.rollback()
        assert "ix_applications_claimed_open" in plan, plan
