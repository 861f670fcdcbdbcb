"""The daily statistics check (applications/jobs/stats_check.py): clean roll-ups pass; a change made
by a statement that does not name its applications (``rollup.mark_applications``) is found, logged
at ERROR, recorded ``failed`` and repaired — or left for an operator with STATS_CHECK_REPAIR off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from applications.stats import rollup
from applications.stats.models import StatsDaily
from applications.workflow.states import State
from core.clock import travel
from core.db import db
from core.jobs import JobRun, registered_jobs, run_job
from core.transaction import commit
from tests.clerk.helpers import insert_submitted

T = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _history() -> list[int]:
    ids = []
    for day in range(3):
        with travel(T + timedelta(days=day)):
            ids += insert_submitted(2, state=State.APPROVED, completed_at=T + timedelta(days=day, hours=3))
            ids += insert_submitted(1)
    rollup.mark_applications(db.session, ids)  # a bulk insert names what it wrote
    commit()
    return ids


def _check():
    with travel(T + timedelta(days=5)):
        return run_job(registered_jobs()["stats_check"], manual=True)


def test_roll_ups_kept_by_the_app_pass(world):
    with world.app_context():
        _history()
        result = _check()
        assert result.outcome == "ok", result.error
        assert result.counts["mismatched_days"] == 0 and result.counts["slices"] >= 3


def test_a_change_behind_the_orms_back_is_found_logged_and_repaired(world, caplog):
    with world.app_context():
        _history()
        db.session.execute(text("UPDATE applications SET channel = 'counter'"))  # a hand-made fix
        db.session.commit()
        with caplog.at_level("ERROR"):
            result = _check()
        assert result.outcome == "failed"
        assert result.counts["mismatched_days"] >= 3 and result.counts["repaired"] == 1
        assert any("roll-ups differ" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
        run = db.session.scalar(select(JobRun).where(JobRun.job == "stats_check"))
        assert run.outcome == "failed" and "differ" in run.error
        assert sum(db.session.scalars(select(StatsDaily.online))) == 0  # rebuilt from the raw table
        assert _check().outcome == "ok"


def test_without_repair_the_difference_stays_for_the_operator(make_app):
    from tests.clerk.helpers import load_world

    app = make_app(STATS_CHECK_REPAIR=False)
    with app.app_context():
        load_world()
        _history()
        db.session.execute(text("UPDATE stats_daily SET completed = completed + 1"))
        db.session.commit()
        first = _check()
        assert first.outcome == "failed" and first.counts["repaired"] == 0
        assert first.counts["mismatched_months"] >= 1  # the monthly rows no longer sum the daily ones
        assert _check().outcome == "failed"
        assert app.test_cli_runner().invoke(args=["stats", "rebuild"]).exit_code == 0
        assert _check().outcome == "ok"
