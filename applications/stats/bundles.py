"""一件事 on the scoreboard (DESIGN §6): bundles completed, their zero-visit rate and their end-to-end
duration (first submit → last part done), per bundle or per month of completion, and the bundles
behind each figure (drill-down).

Read from the bundle tables only: the completed bundles of the period through
``ix_bundle_applications_state_completed`` (state, completed_at), and for each the visits of its police
applications through ``bundle_parts.bundle_application_id`` → ``visits.application_id`` (both indexed)
— never a scan of applications. A bundle is zero-visit when none of its police applications has a
:class:`~applications.models.Visit` row. As plain SQL::

    SELECT b.id, b.submitted_at, b.completed_at,
           EXISTS (SELECT 1 FROM bundle_parts p JOIN visits v ON v.application_id = p.application_id
                   WHERE p.bundle_application_id = b.id) AS visited
    FROM bundle_applications b
    WHERE b.state = 'completed' AND b.completed_at >= :lower AND b.completed_at < :upper
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select

from applications.bundles.models import BundleApplication, BundlePart, BundleState
from applications.models import Application, Visit
from applications.stats.metrics import ALL_KEY, Period, Visibility, local_month, rate
from catalog.models import Bundle
from core.clock import SHANGHAI
from core.db import db

BY = ("bundle", "month")
DRILL_METRICS = ("completed", "zero_visit", "visited")
DRILL_LIMIT = 500


@dataclass(frozen=True)
class _Done:
    id: int
    reference: str
    bundle_code: str
    bundle_name: str
    submitted_at: datetime
    completed_at: datetime
    visited: bool

    @property
    def days(self) -> float:
        return (self.completed_at - self.submitted_at).total_seconds() / 86400

    @property
    def month(self) -> str:
        return self.completed_at.astimezone(SHANGHAI).strftime("%Y-%m")


@dataclass(frozen=True)
class BundleRow:
    key: str
    label: str
    completed: int
    zero_visit: int
    median_days: float | None
    avg_days: float | None

    @property
    def zero_visit_rate(self) -> float | None:
        return rate(self.zero_visit, self.completed)

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "completed": self.completed,
            "zero_visit": self.zero_visit,
            "zero_visit_rate": self.zero_visit_rate,
            "median_days": self.median_days,
            "avg_days": self.avg_days,
        }


@dataclass(frozen=True)
class BundleStats:
    by: str
    rows: list[BundleRow]
    totals: BundleRow


def _visible(visibility: Visibility):
    """A unit lead sees the bundles one of whose police items went to their units."""
    if visibility is None:
        return None
    return exists(
        select(BundlePart.id)
        .join(Application, Application.id == BundlePart.application_id)
        .where(
            BundlePart.bundle_application_id == BundleApplication.id,
            Application.unit_id.in_(sorted(visibility) or [-1]),
        )
    )


def _visited() -> Any:
    """Whether any police application of the bundle has a visit (through two indexed columns)."""
    return exists(
        select(Visit.id)
        .join(BundlePart, BundlePart.application_id == Visit.application_id)
        .where(BundlePart.bundle_application_id == BundleApplication.id)
    )


def _completed(period: Period, visibility: Visibility = None, bundle: str = ALL_KEY) -> list[_Done]:
    visited = _visited()
    stmt = (
        select(
            BundleApplication.id,
            BundleApplication.reference,
            Bundle.code,
            Bundle.name,
            BundleApplication.submitted_at,
            BundleApplication.completed_at,
            visited.label("visited"),
        )
        .join(Bundle, Bundle.id == BundleApplication.bundle_id)
        .where(
            BundleApplication.state == BundleState.COMPLETED,
            BundleApplication.completed_at >= period.lower,
            BundleApplication.completed_at < period.upper,
        )
        .order_by(BundleApplication.completed_at, BundleApplication.id)
    )
    if bundle != ALL_KEY:
        stmt = stmt.where(Bundle.code == bundle)
    seen = _visible(visibility)
    if seen is not None:
        stmt = stmt.where(seen)
    return [
        _Done(
            r.id,
            r.reference or "",
            r.code,
            r.name,
            r.submitted_at or r.completed_at,
            r.completed_at,
            r.visited,
        )
        for r in db.session.execute(stmt)
    ]


def _days_sql() -> Any:
    """Days from submit to completion, computed by the database (no datetime per row in Python)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return (
            func.extract("epoch", BundleApplication.completed_at - BundleApplication.submitted_at) / 86400.0
        )
    return func.julianday(BundleApplication.completed_at) - func.julianday(BundleApplication.submitted_at)


def _summary(key: str, label: str, days: list[float], visited: int) -> BundleRow:
    return BundleRow(
        key=key,
        label=label,
        completed=len(days),
        zero_visit=len(days) - visited,
        median_days=round(statistics.median(days), 1) if days else None,
        avg_days=round(statistics.fmean(days), 1) if days else None,
    )


def compute(period: Period, by: str = "bundle", visibility: Visibility = None) -> BundleStats:
    """The bundle figures of ``period`` (by completion date) grouped ``by`` bundle or month, with the
    totals row (key ``all``). One query: the group key, the duration and whether it had a visit."""
    if by not in BY:
        raise ValueError(by)
    group = BundleApplication.bundle_id if by == "bundle" else local_month(BundleApplication.completed_at)
    stmt = select(group, _days_sql(), _visited()).where(
        BundleApplication.state == BundleState.COMPLETED,
        BundleApplication.completed_at >= period.lower,
        BundleApplication.completed_at < period.upper,
        BundleApplication.submitted_at.is_not(None),
    )
    seen = _visible(visibility)
    if seen is not None:
        stmt = stmt.where(seen)
    days: dict[Any, list[float]] = defaultdict(list)
    visits: dict[Any, int] = defaultdict(int)
    for key, d, visited in db.session.execute(stmt):
        days[key].append(max(float(d or 0), 0.0))
        visits[key] += 1 if visited else 0
    if by == "bundle":
        found = {
            i: (code, name)
            for i, code, name in db.session.execute(
                select(Bundle.id, Bundle.code, Bundle.name).where(Bundle.id.in_(list(days)))
            )
        }
        rows = sorted(
            (_summary(found[i][0], found[i][1], days[i], visits[i]) for i in days), key=lambda r: r.key
        )
    else:
        rows = [_summary(k, k, days[k], visits[k]) for k in sorted(days)]
    every = [x for k in days for x in days[k]]
    return BundleStats(by, rows, _summary(ALL_KEY, "合计", every, sum(visits.values())))


@dataclass(frozen=True)
class DrillRow:
    reference: str
    bundle: str
    submitted_at: datetime
    completed_at: datetime
    days: float
    zero_visit: bool


def drill(
    metric: str, period: Period, visibility: Visibility = None, bundle: str = ALL_KEY, month: str = ALL_KEY
) -> tuple[list[DrillRow], int]:
    """The completed bundles behind one figure (``completed``, ``zero_visit`` or ``visited``) of one
    bundle and/or month: up to :data:`DRILL_LIMIT` rows, and how many there are in all."""
    if metric not in DRILL_METRICS:
        raise ValueError(metric)
    done = [d for d in _completed(period, visibility, bundle) if month in (ALL_KEY, d.month)]
    if metric == "zero_visit":
        done = [d for d in done if not d.visited]
    elif metric == "visited":
        done = [d for d in done if d.visited]
    rows = [
        DrillRow(d.reference, d.bundle_name, d.submitted_at, d.completed_at, round(d.days, 1), not d.visited)
        for d in done[:DRILL_LIMIT]
    ]
    return rows, len(done)
