"""Retention: how long the portal keeps what, enforced every night by the ``retention`` job.

The policy (every period is a setting in :mod:`core.config`; the defaults are in brackets):

- **Drafts** an applicant has not touched for ``RETENTION_DRAFT_DAYS`` [90] days are deleted with their
  uploads. A draft was never submitted: no clerk saw it and no statistic counts it.
- **Uploads of closed applications** (办结, 不予受理, 撤回) are deleted ``RETENTION_CLOSED_UPLOAD_YEARS``
  [3] years after the case closed. Three years is this portal's default setting, not a figure from a
  statute: set it to what the bureau's 执法档案 rules require. The application, its timeline, visits
  and ratings stay (statistics survive deletion); a copy the citizen keeps in 我的材料 is theirs and
  stays until they delete it.
- **Rejected files** — a document a clerk's 补正 request sent back and the applicant replaced — are
  deleted once the case closes (``RETENTION_REJECTED_FILE_DAYS`` [0] days after closing).
- **Login-throttle rows** (failed-login counters and locks) are deleted
  ``RETENTION_THROTTLE_HOURS`` [24] hours after their last change, once no lock is running (also
  hourly, by the ``purge_login_throttle`` job).
- **SMS verification codes** are deleted ``RETENTION_CODE_HOURS`` [24] hours after they expired.
- **The audit trail is never edited or deleted by retention**: it is append-only (database triggers
  refuse ``UPDATE``/``DELETE``) and kept at least six months, the minimum of 《网络安全法》第二十一条
  for network logs; no rule here touches it. Every deletion a rule makes writes an audit row.

A package registers its rules with :func:`register_rule` at app creation (accounts' tables in
``auth``, applications' in ``applications``); :func:`run_rules` runs them in one transaction.
``flask retention --dry-run`` lists what would go (counts and examples that name no person: ids and
dates only) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from core.clock import now

if TYPE_CHECKING:
    from flask import Flask

#: How many examples a rule reports.
EXAMPLES = 5


@dataclass
class RuleResult:
    """What a rule removed (or, in a dry run, would remove): how many, and a few examples
    (ids and dates, never a name or a number of a person)."""

    count: int = 0
    examples: list[str] = field(default_factory=list)
    files: int = 0


@dataclass(frozen=True)
class Rule:
    """``apply(now, dry_run)`` finds what is due and, unless ``dry_run``, deletes it (flushes; audited)."""

    name: str
    description: object  # lazy gettext
    apply: Callable[[datetime, bool], RuleResult]


def register_rule(app: Flask, rule: Rule) -> None:
    rules = app.extensions.setdefault("portal_retention", {})
    if rule.name in rules:
        raise ValueError(f"retention rule {rule.name!r} registered twice")
    rules[rule.name] = rule


def registered_rules(app: Flask | None = None) -> dict[str, Rule]:
    if app is None:
        from flask import current_app

        app = current_app
    return dict(app.extensions.get("portal_retention", {}))


def run_rules(
    *, dry_run: bool, at: datetime | None = None, only: set[str] | None = None
) -> dict[str, RuleResult]:
    """Apply every registered rule (or those named in ``only``); flushes, the caller commits."""
    at = at or now()
    return {
        name: rule.apply(at, dry_run)
        for name, rule in sorted(registered_rules().items())
        if only is None or name in only
    }


def retention_job(dry_run: bool) -> dict[str, int]:
    """The ``retention`` job: every rule; counts per rule (and files removed)."""
    results = run_rules(dry_run=dry_run)
    counts = {name: r.count for name, r in results.items()}
    counts["files"] = sum(r.files for r in results.values())
    return counts


def init_retention(app: Flask) -> None:
    """Register the ``retention`` job and ``flask retention [--dry-run]``."""
    import click

    from core.db import db
    from core.jobs import Job, daily, register_job, registered_jobs, run_job

    register_job(
        app,
        Job(
            "retention",
            _l("保存期限清理"),
            daily(2),
            retention_job,
            _l(
                "按保存期限删除过期草稿、已结案件的上传文件、被退回的材料、登录限流记录和过期验证码；审计记录不删除。"
            ),
        ),
    )

    @app.cli.command("retention")
    @click.option("--dry-run", is_flag=True, help="只列出将被删除的内容（数量和示例），不做任何更改")
    def retention(dry_run: bool) -> None:
        """Apply the retention policy now (see core/retention.py); recorded as a run of the job."""
        if not dry_run:
            result = run_job(registered_jobs()["retention"], manual=True, worker="cli")
            click.echo(
                f"retention {result.outcome} " + " ".join(f"{k}={v}" for k, v in result.counts.items())
            )
            if result.error:
                click.echo(result.error, err=True)
                raise SystemExit(1)
            return
        try:
            results = run_rules(dry_run=True)
        finally:
            db.session.rollback()
        verb = "would delete"
        for name, result in results.items():
            files = f" ({result.files} file(s))" if result.files else ""
            click.echo(f"{name}: {verb} {result.count}{files}")
            for example in result.examples:
                click.echo(f"  - {example}")
