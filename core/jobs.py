"""Scheduled jobs: a registry the packages fill at app creation, and a runner that runs each job at
most once per period however many worker processes there are.

**Registry.** A package registers a :class:`Job` (a name, a schedule, a function) with
:func:`register_job` from its ``init_app``; core knows no job. The one background process,
``flask notify worker`` (:mod:`applications.notify.tasks`), calls :func:`run_due` on every pass beside
the outbox delivery; ``flask jobs list|run NAME [--dry-run]`` and the admin page 定时任务 run them by
hand.

**Periods.** An hourly job's period is the Beijing hour (``2026-12-06T14``); a daily job's is the
Beijing date, starting at its hour (a job ``at_hour=2`` runs for 2026-12-06 at the first pass after
02:00 that day; a worker that was down then catches up at its next pass). A manual run has a period of
its own (``manual:<instant>``), so pressing 立即运行 never takes the scheduled run's place.

**At most once per period.** Before running, a worker inserts the ``job_runs`` row (job, period) —
the pair is UNIQUE — and commits. A second worker's insert fails (on PostgreSQL it waits for the first
insert's commit, then fails; SQLite takes one writer at a time) and it skips the job. A row left
``running`` by a worker that died is taken over once its lease (:data:`LEASE`) has run out, by a
conditional ``UPDATE … WHERE outcome = 'running' AND lease_until < now`` with a rowcount check, so two
workers cannot both take it over. Each job is also idempotent on its own (what it sends is recorded,
what it deletes is gone), so a run after a crash in the middle does no harm.

**Outcomes.** ``ok``; ``failed`` — the job ran and found something wrong (:class:`JobFailed`; what it
did is kept); ``error`` — an exception (its work is rolled back). Each run logs ONE JSON line
(``job``, ``period``, ``started``, ``duration_ms``, ``outcome``, ``counts``), at ERROR unless ``ok``,
and records started/finished/outcome/counts/error on its row. A dry run writes no row and rolls its
work back.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, UniqueConstraint, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import SHANGHAI, now
from core.db import UTCDateTime, db
from core.masking import mask_text
from core.transaction import commit

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("portal.jobs")

#: How long a running job's claim holds before another worker may take the period over.
LEASE = timedelta(hours=1)
_ERROR_LENGTH = 500


class JobRun(db.Model):
    """One run of one job for one period (the UNIQUE pair is the claim)."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(64))
    worker: Mapped[str] = mapped_column(String(64), default="")
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The admin who pressed 立即运行 (None: the schedule or the command line).
    triggered_by: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: ``running`` → ``ok`` | ``failed`` | ``error``
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(String(_ERROR_LENGTH))

    __table_args__ = (
        UniqueConstraint("job", "period", name="uq_job_runs_job_period"),
        Index("ix_job_runs_job_started", "job", "started_at"),
    )


@dataclass(frozen=True)
class Schedule:
    """``every`` is ``"hour"`` or ``"day"``; a daily job starts at ``at_hour`` (Beijing time)."""

    every: str
    at_hour: int = 0

    def __post_init__(self) -> None:
        if self.every not in {"hour", "day"} or not 0 <= self.at_hour <= 23:
            raise ValueError(f"bad schedule {self.every!r} at {self.at_hour}")

    def period(self, moment: datetime) -> str:
        """The period ``moment`` falls in (see the module docstring)."""
        local = moment.astimezone(SHANGHAI)
        if self.every == "hour":
            return local.strftime("%Y-%m-%dT%H")
        return (local - timedelta(hours=self.at_hour)).date().isoformat()

    @property
    def label(self) -> str:
        from flask_babel import gettext as _

        if self.every == "hour":
            return _("每小时")
        return _("每天 %(hour)02d:00", hour=self.at_hour)


HOURLY = Schedule("hour")


def daily(at_hour: int) -> Schedule:
    return Schedule("day", at_hour)


@dataclass(frozen=True)
class Job:
    """``run(dry_run)`` does the work in the session (flush, never commit) and returns its counts."""

    name: str
    title: object  # a lazy gettext string
    schedule: Schedule
    run: Callable[[bool], dict[str, int]]
    description: object = ""


class JobFailed(Exception):
    """Raised by a job that ran and found something wrong (a check that did not hold): its work is
    committed and the run recorded ``failed`` with ``counts``."""

    def __init__(self, message: str, counts: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.counts = counts or {}


@dataclass
class RunResult:
    job: str
    period: str
    outcome: str  # ok | failed | error | dry_run | skipped
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    duration_ms: int = 0


def register_job(app: Flask, job: Job) -> None:
    """Add ``job`` to ``app``'s registry (a package's ``init_app`` calls this). Names are unique."""
    jobs = app.extensions.setdefault("portal_jobs", {})
    if job.name in jobs:
        raise ValueError(f"job {job.name!r} registered twice")
    jobs[job.name] = job


def registered_jobs(app: Flask | None = None) -> dict[str, Job]:
    if app is None:
        from flask import current_app

        app = current_app
    return dict(app.extensions.get("portal_jobs", {}))


# Claiming a period --------------------------------------------------------------------------------


def _claim(job: Job, period: str, worker: str, *, manual: bool, triggered_by: int | None) -> int | None:
    """Insert the (job, period) row, or take over one whose lease ran out; commit. The row id, or None
    when another worker has the period (running, or done)."""
    at = now()
    row = JobRun(
        job=job.name,
        period=period,
        worker=worker[:64],
        manual=manual,
        triggered_by=triggered_by,
        started_at=at,
        lease_until=at + LEASE,
        outcome="running",
        counts={},
    )
    try:
        db.session.add(row)
        commit()
        return row.id
    except IntegrityError:
        db.session.rollback()
    try:
        result = db.session.execute(
            update(JobRun)
            .where(
                JobRun.job == job.name,
                JobRun.period == period,
                JobRun.outcome == "running",
                JobRun.lease_until < at,
            )
            .values(worker=worker[:64], started_at=at, lease_until=at + LEASE)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            db.session.rollback()
            return None
        run_id = db.session.scalar(select(JobRun.id).where(JobRun.job == job.name, JobRun.period == period))
        commit()
    except Exception:
        db.session.rollback()
        raise
    log.warning("job %s period %s: took over a run whose lease ran out", job.name, period)
    return run_id


def _finish(run_id: int, outcome: str, counts: dict[str, int], error: str | None) -> None:
    try:
        db.session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(finished_at=now(), outcome=outcome, counts=counts, error=error)
            .execution_options(synchronize_session=False)
        )
        commit()
    except Exception:
        db.session.rollback()
        raise


# Running ------------------------------------------------------------------------------------------


def run_job(
    job: Job,
    *,
    period: str | None = None,
    manual: bool = False,
    dry_run: bool = False,
    worker: str = "",
    triggered_by: int | None = None,
) -> RunResult:
    """Run ``job`` once for ``period`` (the current one by default; a manual run gets its own). Commits
    its own work; never raises for the job's failure (it is recorded). ``skipped`` when another worker
    has the period."""
    started = now()
    if manual and period is None:
        period = f"manual:{started.isoformat(timespec='microseconds')}:{secrets.token_hex(2)}"
    period = period or job.schedule.period(started)
    clock = time.perf_counter()
    if dry_run:
        return _dry_run(job, period, started, clock)
    run_id = _claim(job, period, worker, manual=manual, triggered_by=triggered_by)
    if run_id is None:
        return RunResult(job.name, period, "skipped")
    counts: dict[str, int] = {}
    error = None
    try:
        counts = dict(job.run(False) or {})
        commit()
        outcome = "ok"
    except JobFailed as exc:
        commit()  # the check's own work (a repair) stands
        counts, outcome, error = dict(exc.counts), "failed", mask_text(str(exc))[:_ERROR_LENGTH]
    except Exception as exc:
        db.session.rollback()
        outcome, error = "error", mask_text(f"{type(exc).__name__}: {exc}")[:_ERROR_LENGTH]
        log.debug("job %s failed", job.name, exc_info=True)
    _finish(run_id, outcome, counts, error)
    result = RunResult(job.name, period, outcome, counts, error, _ms(clock))
    _log(result, started)
    return result


def _dry_run(job: Job, period: str, started: datetime, clock: float) -> RunResult:
    try:
        counts = dict(job.run(True) or {})
        outcome, error = "dry_run", None
    except JobFailed as exc:
        counts, outcome, error = dict(exc.counts), "failed", str(exc)
    finally:
        db.session.rollback()
    result = RunResult(job.name, period, outcome, counts, error, _ms(clock))
    _log(result, started)
    return result


def _ms(clock: float) -> int:
    return round((time.perf_counter() - clock) * 1000)


def _log(result: RunResult, started: datetime) -> None:
    extra = {
        "job": result.job,
        "period": result.period,
        "started": started.isoformat(timespec="seconds"),
        "duration_ms": result.duration_ms,
        "outcome": result.outcome,
        "counts": result.counts,
    }
    if result.error:
        extra["error"] = result.error
    level = logging.INFO if result.outcome in {"ok", "dry_run"} else logging.ERROR
    log.log(level, "job %s %s", result.job, result.outcome, extra=extra)


def due_jobs(app: Flask | None = None, at: datetime | None = None) -> list[tuple[Job, str]]:
    """The registered jobs whose current period has no run yet (or a run whose lease ran out)."""
    at = at or now()
    jobs = registered_jobs(app)
    periods = {name: job.schedule.period(at) for name, job in jobs.items()}
    if not jobs:
        return []
    taken = {
        (row.job, row.period)
        for row in db.session.execute(
            select(JobRun.job, JobRun.period, JobRun.outcome, JobRun.lease_until).where(
                JobRun.job.in_(list(jobs)), JobRun.period.in_(set(periods.values()))
            )
        )
        if row.outcome != "running" or row.lease_until >= at
    }
    db.session.rollback()  # end the read: a SQLite transaction outside a request is a writer's
    return [(job, periods[name]) for name, job in sorted(jobs.items()) if (name, periods[name]) not in taken]


def run_due(
    app: Flask | None = None, *, worker: str = "", should_stop: Callable[[], bool] | None = None
) -> list[RunResult]:
    """Run every due job once (the worker's pass). A job's error is recorded, never raised."""
    results = []
    for job, period in due_jobs(app):
        if should_stop is not None and should_stop():
            break
        results.append(run_job(job, period=period, worker=worker))
    return results


@dataclass(frozen=True)
class JobStatus:
    job: Job
    last: JobRun | None
    last_success: JobRun | None


def job_statuses(app: Flask | None = None) -> list[JobStatus]:
    """Each registered job with its latest run and its latest successful run (for the admin page)."""
    out = []
    for name, job in sorted(registered_jobs(app).items()):
        last = db.session.scalar(
            select(JobRun)
            .where(JobRun.job == name)
            .order_by(JobRun.started_at.desc(), JobRun.id.desc())
            .limit(1)
        )
        success = db.session.scalar(
            select(JobRun)
            .where(JobRun.job == name, JobRun.outcome == "ok")
            .order_by(JobRun.started_at.desc(), JobRun.id.desc())
            .limit(1)
        )
        out.append(JobStatus(job, last, success))
    return out


def last_success_seconds() -> dict[tuple[str], float]:
    """Per job, the Unix time its latest successful run finished (the ``/metrics`` gauge; a job
    that never succeeded is absent, which an alert on ``absent()`` or on age catches)."""
    rows = db.session.execute(
        select(JobRun.job, func.max(JobRun.finished_at)).where(JobRun.outcome == "ok").group_by(JobRun.job)
    )
    return {(job,): finished.timestamp() for job, finished in rows if finished is not None}


def register_gauges() -> None:
    """``portal_job_last_success_timestamp_seconds{job}`` at every scrape of ``/metrics``."""
    from core.metrics import register_gauge

    register_gauge(
        "portal_job_last_success_timestamp_seconds",
        "Unix time the latest successful run of each scheduled job finished",
        last_success_seconds,
        labels=("job",),
    )


# Command line -------------------------------------------------------------------------------------


def register_cli(app: Flask) -> None:
    """``flask jobs list`` and ``flask jobs run NAME [--dry-run]``."""
    import socket

    import click
    from flask.cli import AppGroup

    group = AppGroup("jobs", help="定时任务（由 flask notify worker 按计划运行）")

    @group.command("list")
    def list_jobs() -> None:
        """Every job with its schedule and its last run."""
        for status in job_statuses():
            last = status.last
            when = last.started_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if last else "-"
            outcome = last.outcome if last else "never"
            click.echo(f"{status.job.name:24} {status.job.schedule.label:14} {when:17} {outcome}")
        db.session.rollback()

    @group.command("run")
    @click.argument("name")
    @click.option("--dry-run", is_flag=True, help="只统计将要做什么，不做任何更改")
    def run(name: str, dry_run: bool) -> None:
        """Run one job now (a manual run: recorded beside the scheduled ones)."""
        jobs = registered_jobs()
        if name not in jobs:
            raise click.BadParameter(f"unknown job; known: {', '.join(sorted(jobs))}", param_hint="NAME")
        result = run_job(jobs[name], manual=True, dry_run=dry_run, worker=f"cli@{socket.gethostname()}")
        counts = " ".join(f"{k}={v}" for k, v in result.counts.items())
        click.echo(f"{result.job} {result.outcome} {counts}".rstrip())
        if result.error:
            click.echo(result.error, err=True)
        if result.outcome in {"failed", "error"}:
            raise SystemExit(1)

    app.cli.add_command(group)
