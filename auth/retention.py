"""Retention of the accounts' short-lived rows (the policy: :mod:`core.retention`): login-throttle
counters a day after their last change, SMS verification codes a day after they expired. Also the
hourly ``purge_login_throttle`` job."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select

from auth.models import LoginThrottle, VerificationCode
from core import audit
from core.clock import now
from core.db import db
from core.jobs import HOURLY, Job, register_job
from core.retention import EXAMPLES, Rule, RuleResult, register_rule

if TYPE_CHECKING:
    from flask import Flask


def _purge(table, where: list, at: datetime, dry_run: bool, *, action: str, cutoff: datetime) -> RuleResult:
    count = db.session.scalar(select(func.count()).select_from(table).where(*where)) or 0
    result = RuleResult(count=count)
    if count:
        result.examples = [f"{count} row(s) last changed before {cutoff.isoformat(timespec='minutes')}"][
            :EXAMPLES
        ]
    if count and not dry_run:
        db.session.execute(delete(table).where(*where).execution_options(synchronize_session=False))
        audit.record(
            action, object_type=table.__tablename__, details={"count": count, "before": cutoff.isoformat()}
        )
    return result


def purge_throttle(at: datetime, dry_run: bool) -> RuleResult:
    """Failed-login rows untouched for RETENTION_THROTTLE_HOURS whose lock (if any) has ended."""
    cutoff = at - timedelta(hours=current_app.config.get("RETENTION_THROTTLE_HOURS", 24))
    where = [
        LoginThrottle.updated_at < cutoff,
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < at),
    ]
    return _purge(LoginThrottle, where, at, dry_run, action="retention.login_throttle_purged", cutoff=cutoff)


def purge_codes(at: datetime, dry_run: bool) -> RuleResult:
    """SMS codes that expired more than RETENTION_CODE_HOURS ago."""
    cutoff = at - timedelta(hours=current_app.config.get("RETENTION_CODE_HOURS", 24))
    where = [VerificationCode.expires_at < cutoff]
    return _purge(
        VerificationCode, where, at, dry_run, action="retention.verification_codes_purged", cutoff=cutoff
    )


def _throttle_job(dry_run: bool) -> dict[str, int]:
    return {"deleted": purge_throttle(now(), dry_run).count}


def init_retention(app: Flask) -> None:
    register_rule(app, Rule("login_throttle", _l("登录限流记录：最后变化一天后删除"), purge_throttle))
    register_rule(app, Rule("verification_codes", _l("短信验证码：过期一天后删除"), purge_codes))
    register_job(
        app,
        Job(
            "purge_login_throttle",
            _l("清理登录限流记录"),
            HOURLY,
            _throttle_job,
            _l("删除一天前的登录失败计数（仍在锁定中的保留）。"),
        ),
    )
