"""The scheduler (core/jobs.py): periods, at most one run per period with two workers at once (SQLite
and PostgreSQL), a dead worker's run taken over after its lease, outcomes recorded and logged as one
JSON line, dry runs writing nothing, the worker loop running due jobs, and ``flask jobs``."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.clock import travel
from core.db import db
from core.jobs import (
    HOURLY,
    LEASE,
    Job,
    JobFailed,
    JobRun,
    daily,
    due_jobs,
    register_job,
    run_due,
    run_job,
)
from tests.clerk.helpers import run_threads

# 2026-03-02 09:30 in Beijing
T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def runs(name: str) -> list[JobRun]:
    db.session.expire_all()
    rows = list(db.session.scalars(select(JobRun).where(JobRun.job == name).order_by(JobRun.id)))
    db.session.expunge_all()
    db.session.rollback()
    return rows


class Counter:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self, dry_run: bool) -> dict[str, int]:
        with self._lock:
            self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        return {"done": 1}


def test_periods_are_beijing_hours_and_days_from_the_jobs_hour():
    assert HOURLY.period(T0) == "2026-03-02T09"
    # 01:59 Beijing on 3 March: the day's 02:00 job has not started, the period is still 2 March
    early = datetime(2026, 3, 2, 17, 59, tzinfo=UTC)
    assert daily(2).period(early) == "2026-03-02"
    assert daily(2).period(early + timedelta(minutes=1)) == "2026-03-03"
    with pytest.raises(ValueError):
        daily(24)


def test_a_job_name_is_registered_once(app):
    job = Job("t_once", "t", HOURLY, Counter())
    register_job(app, job)
    with pytest.raises(ValueError):
        register_job(app, job)


def test_two_workers_at_once_run_a_job_once_per_period(app):
    counter = Counter(delay=0.5)
    job = Job("t_race", "t", HOURLY, counter)
    register_job(app, job)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker(i: int) -> None:
        with app.app_context(), travel(T0):
            barrier.wait()
            outcomes.append(run_job(job, worker=f"w{i}").outcome)
            db.session.remove()

    assert run_threads(2, worker) == []
    assert sorted(outcomes) == ["ok", "skipped"]
    assert counter.calls == 1
    with app.app_context():
        (row,) = runs("t_race")
        assert (row.period, row.outcome, row.counts) == ("2026-03-02T09", "ok", {"done": 1})
        assert row.finished_at is not None


def test_two_worker_loops_run_every_due_job_once(app):
    counters = {name: Counter(delay=0.2) for name in ("t_a", "t_b", "t_c")}
    for name, counter in counters.items():
        register_job(app, Job(name, name, daily(0), counter))
    barrier = threading.Barrier(2)

    def worker(i: int) -> None:
        with app.app_context(), travel(T0):
            barrier.wait()
            run_due(worker=f"w{i}")
            db.session.remove()

    assert run_threads(2, worker) == []
    assert {name: c.calls for name, c in counters.items()} == dict.fromkeys(counters, 1)
    with app.app_context(), travel(T0):
        assert all(job.name not in counters for job, _ in due_jobs())
    # the next day they are due again
    with app.app_context(), travel(T0 + timedelta(days=1)):
        assert {job.name for job, _ in due_jobs()} >= set(counters)


def test_a_run_left_by_a_dead_worker_is_taken_over_after_its_lease(app_ctx):
    counter = Counter()
    job = Job("t_lease", "t", HOURLY, counter)
    register_job(app_ctx, job)
    with travel(T0):
        period = job.schedule.period(T0)
        db.session.add(
            JobRun(
                job="t_lease", period=period, worker="dead", started_at=T0, lease_until=T0 + LEASE, counts={}
            )
        )
        db.session.commit()
        assert run_job(job).outcome == "skipped"  # still within the lease: the worker may be alive
        assert [j.name for j, _ in due_jobs()].count("t_lease") == 0
    with travel(T0 + timedelta(minutes=59)):
        assert run_job(job, period=period).outcome == "skipped"
    with travel(T0 + LEASE + timedelta(seconds=1)):
        assert run_job(job, period=period, worker="new").outcome == "ok"
        assert run_job(job, period=period, worker="third").outcome == "skipped"  # done now
    (row,) = runs("t_lease")
    assert (row.worker, row.outcome) == ("new", "ok")
    assert counter.calls == 1


def test_an_error_is_recorded_masked_and_its_work_rolled_back(app_ctx, caplog):
    from auth.models import Unit, UnitKind

    def broken(dry_run: bool) -> dict[str, int]:
        db.session.add(Unit(code="T-ROLLBACK", name="回滚", kind=UnitKind.POLICE_STATION, district="东城区"))
        db.session.flush()
        raise RuntimeError("gateway refused 13912345678")

    job = Job("t_error", "t", HOURLY, broken)
    register_job(app_ctx, job)
    with caplog.at_level("INFO", logger="portal.jobs"):
        result = run_job(job)
    assert result.outcome == "error"
    (row,) = runs("t_error")
    assert row.outcome == "error" and row.finished_at is not None
    assert "RuntimeError" in row.error and "13912345678" not in row.error
    assert db.session.scalar(select(func.count()).select_from(Unit).where(Unit.code == "T-ROLLBACK")) == 0
    records = [r for r in caplog.records if r.name == "portal.jobs" and getattr(r, "job", None) == "t_error"]
    assert len(records) == 1 and records[0].levelname == "ERROR"
    line = records[0].__dict__
    assert {"job", "period", "started", "duration_ms", "outcome", "counts"} <= set(line)
    assert line["outcome"] == "error"


def test_a_failed_check_keeps_its_work_and_is_recorded_failed(app_ctx):
    from auth.models import Unit, UnitKind

    def check(dry_run: bool) -> dict[str, int]:
        db.session.add(Unit(code="T-REPAIR", name="修复", kind=UnitKind.POLICE_STATION, district="东城区"))
        raise JobFailed("2 slices differ", {"mismatched": 2})

    job = Job("t_failed", "t", HOURLY, check)
    register_job(app_ctx, job)
    assert run_job(job).outcome == "failed"
    (row,) = runs("t_failed")
    assert (row.outcome, row.counts, row.error) == ("failed", {"mismatched": 2}, "2 slices differ")
    assert db.session.scalar(select(func.count()).select_from(Unit).where(Unit.code == "T-REPAIR")) == 1


def test_a_dry_run_writes_no_run_and_rolls_back(app_ctx):
    from auth.models import Unit, UnitKind

    def job_fn(dry_run: bool) -> dict[str, int]:
        db.session.add(Unit(code="T-DRY", name="试运行", kind=UnitKind.POLICE_STATION, district="东城区"))
        db.session.flush()
        return {"would": 1}

    job = Job("t_dry", "t", HOURLY, job_fn)
    register_job(app_ctx, job)
    result = run_job(job, dry_run=True)
    assert (result.outcome, result.counts) == ("dry_run", {"would": 1})
    assert runs("t_dry") == []
    assert db.session.scalar(select(func.count()).select_from(Unit).where(Unit.code == "T-DRY")) == 0


def test_manual_runs_have_their_own_period_and_do_not_take_the_scheduled_one(app_ctx):
    counter = Counter()
    job = Job("t_manual", "t", HOURLY, counter)
    register_job(app_ctx, job)
    with travel(T0):
        assert run_job(job, manual=True).outcome == "ok"
        assert run_job(job, manual=True).outcome == "ok"
        assert "t_manual" in [j.name for j, _ in due_jobs()]
        assert run_job(job).outcome == "ok"
    rows = runs("t_manual")
    assert [r.manual for r in rows] == [True, True, False]
    assert counter.calls == 3


def test_the_worker_loop_runs_due_jobs_beside_the_outbox(app):
    from applications.notify.tasks import run_worker

    counter = Counter()
    register_job(app, Job("t_loop", "t", HOURLY, counter))
    stop = threading.Event()

    class Gateway:
        def send_sms(self, mobile, text, *, key=""):
            pass

    def loop() -> None:
        with app.app_context():
            run_worker(Gateway(), stop=stop, name="w1", interval=0.05, jobs=True, jobs_interval=0.05)

    thread = threading.Thread(target=loop)
    thread.start()
    deadline = time.monotonic() + 30
    while counter.calls == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # several more passes: the period is done, nothing runs twice
    stop.set()
    thread.join(30)
    assert counter.calls == 1
    with app.app_context():
        assert [r.worker for r in runs("t_loop")] == ["w1"]


def test_the_worker_without_jobs_runs_none(app):
    from applications.notify.tasks import run_worker

    counter = Counter()
    register_job(app, Job("t_nojobs", "t", HOURLY, counter))
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with app.app_context():
        run_worker(type("G", (), {"send_sms": lambda *a, **k: None})(), stop=stop, interval=0.05)
    assert counter.calls == 0


def test_flask_jobs_list_and_run(app):
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["jobs", "list"])
    assert listing.exit_code == 0, listing.output
    for name in (
        "sweep_uploads",
        "due_soon_digest",
        "citizen_deadlines",
        "stats_check",
        "retention",
        "purge_login_throttle",
    ):
        assert name in listing.output
    dry = runner.invoke(args=["jobs", "run", "stats_check", "--dry-run"])
    assert dry.exit_code == 0 and "stats_check dry_run" in dry.output
    with app.app_context():
        assert runs("stats_check") == []
    real = runner.invoke(args=["jobs", "run", "purge_login_throttle"])
    assert real.exit_code == 0 and "purge_login_throttle ok deleted=0" in real.output
    with app.app_context():
        (row,) = runs("purge_login_throttle")
        assert row.manual and row.outcome == "ok"
    # the operator's typing slip: a clear error naming the known jobs, no traceback, nothing recorded
    typo = runner.invoke(args=["jobs", "run", "retension"])
    assert typo.exit_code == 2 and "retention" in typo.output
    with app.app_context():
        assert runs("retension") == []


def test_a_failing_job_from_the_command_line_exits_non_zero(app):
    def broken(dry_run: bool) -> dict[str, int]:
        raise RuntimeError("boom")

    register_job(app, Job("t_cli_error", "t", HOURLY, broken))
    result = app.test_cli_runner().invoke(args=["jobs", "run", "t_cli_error"])
    assert result.exit_code == 1 and "t_cli_error error" in result.output


def test_the_run_line_is_json(app_ctx, capsys):
    from core.logging import configure_logging

    handler = configure_logging("INFO")
    try:
        register_job(app_ctx, Job("t_json", "t", HOURLY, Counter()))
        run_job(app_ctx.extensions["portal_jobs"]["t_json"])
    finally:
        configure_logging("WARNING")
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if '"t_json"' in x]
    assert len(lines) == 1, lines
    assert lines[0]["outcome"] == "ok" and lines[0]["counts"] == {"done": 1}
    assert isinstance(lines[0]["duration_ms"], int) and lines[0]["period"]
    del handler
