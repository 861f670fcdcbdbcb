"""The reform's numbers (DESIGN §4), computed in one place for pages, exports and the API.

Populations (every date is an Asia/Shanghai local date; a period ``[start, end]`` includes both days):

- **Completed** (办结) = state ``approved``, ``refused`` or ``delivered`` with ``completed_at`` in the
  period. Withdrawn and not_accepted are never completed. All the completion-based figures below
  (跑零次率, 最多跑一次率, 按时办结率, 平均办理时长, 一次性告知率, 满意度, declared vs measured) count
  the applications *completed in the period*, grouped by their item / the category of the item
  version they were filed under / their accepting unit / the month of completion.
- **网办率** counts applications by *submission date*: every application with ``submitted_at`` in the
  period (whatever happened to it since, withdrawn included), online ÷ (online + counter/walk-in).
  Grouped by month it uses the month of submission.

Definitions:

- zero_visit: completed with no ``visits`` row; at_most_once: completed with ≤ 1 visit row.
- on_time_rate = completed on or before ``promised_due`` (local completion date ≤ promised_due) ÷
  completed *that had a promised_due*. An application completed without ever being accepted (e.g.
  submitted → correction → resubmitted → refused) has no promise to keep: it is left out of both sides
  (``with_due`` says how many were counted; drill-down ``no_due`` lists the others).
- avg_working_days = mean of ``applications.working_days`` over the completed applications that were
  accepted: :func:`applications.workflow.deadlines.elapsed_working_days` from ``accepted_at`` to
  ``completed_at`` with the :func:`core.workdays.models.load_calendar` calendar
  (chinese-calendar holidays, 调休 and admin overrides) and the application's clock pauses excluded,
  stored and kept current by :mod:`applications.stats.rollup`. Always working days, also for the few
  自然日 items, so the figure is comparable across items.
- one_time_rate (一次性告知率) = completed with ``correction_count`` = 1 ÷ completed with
  ``correction_count`` ≥ 1 (``None`` when no completed application needed a correction).
- satisfaction = ratings of level 4–5 ÷ ratings, over the ratings of the applications completed in the
  period (grouped with their application).
- declared vs measured: for the item grouping, ``mean_visits`` = visit rows ÷ completed and
  ``declared_visits`` = 到现场次数 of the item's *current published* version; ``exceeds_declared``
  when the mean is higher.

A rate whose denominator is zero is ``None`` (shown as "—"), never 0. The grouped figures are sums
over the daily and monthly roll-up tables that :mod:`applications.stats.rollup` keeps equal to the
applications table (so any grouping over any period reads at most a few thousand rows); the
drill-downs and the 改革清单's evidence read the applications themselves. The statements are the same
on SQLite and PostgreSQL; the only dialect difference, the local day/month of a timestamp, is in
:func:`local_month` / :func:`local_day`. The 预约 figures (bookings, no-show rate, wait at the
counter; :func:`appointment_figures`) are read straight from the appointments tables, no roll-up:
see the section's notes. ``visibility`` is ``None``
(everything) or a set of unit ids: only applications whose accepting or approving unit is one of them
(the staff's rule, :func:`applications.models.of_units`).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import and_, case, exists, false, func, literal_column, or_, select, true
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import ColumnElement, Select

from applications.appointments.models import Appointment, AppointmentStatus, Slot
from applications.appointments.queries import masked_name
from applications.models import Application, Channel, Visit, of_units
from applications.ratings.models import Rating
from applications.stats import rollup
from applications.stats.models import MEASURES, StatsDaily, StatsMonthly, StatsReason
from applications.stats.rollup import next_month
from applications.workflow.deadlines import local_date
from applications.workflow.states import COMPLETED, State
from auth.models import Unit
from catalog.models import Category, ItemVersion, ServiceItem
from core.clock import SHANGHAI, now
from core.db import db

By = Literal["item", "category", "unit", "month", "none"]
BY_CHOICES: tuple[str, ...] = ("item", "category", "unit", "month", "none")
PUBLIC_BY = frozenset({"category", "month"})
Visibility = frozenset[int] | None
COMPLETED_VALUES = sorted(s.value for s in COMPLETED)
#: 满意 and 非常满意.
SATISFIED_LEVEL = rollup.SATISFIED_LEVEL
#: 不满意 and 非常不满意: a bad rating.
BAD_LEVEL = rollup.BAD_LEVEL
ALL_KEY = "all"
NO_UNIT_KEY = "none"


# Period and SQL helpers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local dates ``start`` … ``end`` (both included)."""

    start: date
    end: date

    @property
    def lower(self) -> datetime:
        return _local_midnight(self.start)

    @property
    def upper(self) -> datetime:
        return _local_midnight(self.end + timedelta(days=1))

    def args(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def local_month(column: Any) -> ColumnElement[str]:
    """``'YYYY-MM'`` of a UTC timestamp column in Asia/Shanghai (China has no daylight saving)."""
    if _is_postgres():
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+8 hours")


def local_day(column: Any) -> ColumnElement[Any]:
    """The Asia/Shanghai date of a UTC timestamp column (comparable with a ``Date`` column)."""
    return rollup.local_day_sql(_is_postgres(), column)


def visible(visibility: Visibility, unit: Any = None, approving: Any = None) -> ColumnElement[bool]:
    """Applications (or roll-up rows, given their ``unit`` and ``approving`` unit columns) the viewer
    may see: all (``None``) or those whose accepting or approving unit is one of the given units."""
    if visibility is None:
        return true()
    if not visibility:
        return false()
    return of_units(sorted(visibility), unit, approving)


def completed_in(period: Period) -> ColumnElement[bool]:
    return and_(
        Application.state.in_(COMPLETED_VALUES),
        Application.completed_at >= period.lower,
        Application.completed_at < period.upper,
    )


def submitted_in(period: Period) -> ColumnElement[bool]:
    return and_(Application.submitted_at >= period.lower, Application.submitted_at < period.upper)


def visit_count() -> Any:
    """Correlated count of an application's visit rows (uses the visits.application_id index)."""
    return (
        select(func.count(Visit.id))
        .where(Visit.application_id == Application.id)
        .correlate(Application)
        .scalar_subquery()
    )


def _grouped(stmt: Select, by: str, group: Any) -> Select:
    """GROUP BY ``group``, except for the single "none" row (a constant needs no grouping)."""
    return stmt if by == "none" else stmt.group_by(group)


# Labels -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemInfo:
    id: int
    code: str
    name: str
    declared_visits: int | None  # of the current published version (None: not published)


def item_infos() -> dict[int, ItemInfo]:
    """Every item by id: code, current name and declared visits (from the catalog snapshot when
    published, else the item's newest version)."""
    from catalog.queries import catalog

    infos = {i.id: ItemInfo(i.id, i.code, i.name, i.visits) for i in catalog().items.values()}
    newest = (
        select(ItemVersion.item_id, func.max(ItemVersion.version).label("v"))
        .group_by(ItemVersion.item_id)
        .subquery()
    )
    rows = db.session.execute(
        select(ServiceItem.id, ServiceItem.code, ItemVersion.name)
        .join(newest, newest.c.item_id == ServiceItem.id)
        .join(ItemVersion, and_(ItemVersion.item_id == ServiceItem.id, ItemVersion.version == newest.c.v))
    ).all()
    for item_id, code, name in rows:
        infos.setdefault(item_id, ItemInfo(item_id, code, name, None))
    return infos


def _labels(by: str, raw_keys: Iterable[Any]) -> dict[Any, tuple[str, str]]:
    """raw group value → (key, label)."""
    raw = set(raw_keys)
    if by == "item":
        infos = item_infos()
        return {r: (infos[r].code, infos[r].name) if r in infos else (str(r), str(r)) for r in raw}
    if by == "category":
        cats = {c.id: (c.code, c.name) for c in db.session.scalars(select(Category))}
        return {r: cats.get(r, (str(r), str(r))) for r in raw}
    if by == "unit":
        units = {u.id: (u.code, u.name) for u in db.session.scalars(select(Unit))}
        return {
            r: units.get(r, (NO_UNIT_KEY, "未分派")) if r is not None else (NO_UNIT_KEY, "未分派")
            for r in raw
        }
    if by == "none":
        return {r: (ALL_KEY, "合计") for r in raw}
    return {r: (str(r), str(r)) for r in raw}


def key_clause(by: str, key: str, time_column: Any) -> ColumnElement[bool]:
    """The applications behind row ``key`` of grouping ``by`` (an unknown key matches nothing)."""
    if by == "none":
        return true() if key in ("", ALL_KEY) else false()
    if by == "month":
        return local_month(time_column) == key
    if by == "item":
        item_id = db.session.scalar(select(ServiceItem.id).where(ServiceItem.code == key))
        return Application.item_id == item_id if item_id is not None else false()
    if by == "category":
        cat_id = db.session.scalar(select(Category.id).where(Category.code == key))
        if cat_id is None:
            return false()
        return Application.version_id.in_(select(ItemVersion.id).where(ItemVersion.category_id == cat_id))
    if by == "unit":
        if key == NO_UNIT_KEY:
            return Application.unit_id.is_(None)
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == key))
        return Application.unit_id == unit_id if unit_id is not None else false()
    raise ValueError(f"unknown grouping {by!r}")


# Rows ---------------------------------------------------------------------------------------------


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


@dataclass
class StatRow:
    key: str
    label: str
    completed: int = 0
    zero_visit: int = 0
    at_most_once: int = 0
    visits_total: int = 0
    with_due: int = 0
    on_time: int = 0
    corrected: int = 0
    corrected_once: int = 0
    rated: int = 0
    satisfied: int = 0
    submitted: int = 0
    online: int = 0
    duration_count: int = 0
    duration_sum: int = 0
    declared_visits: int | None = None

    @property
    def zero_visit_rate(self) -> float | None:
        return rate(self.zero_visit, self.completed)

    @property
    def at_most_once_rate(self) -> float | None:
        return rate(self.at_most_once, self.completed)

    @property
    def online_rate(self) -> float | None:
        return rate(self.online, self.submitted)

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.on_time, self.with_due)

    @property
    def late(self) -> int:
        return self.with_due - self.on_time

    @property
    def avg_working_days(self) -> float | None:
        return round(self.duration_sum / self.duration_count, 2) if self.duration_count else None

    @property
    def one_time_rate(self) -> float | None:
        return rate(self.corrected_once, self.corrected)

    @property
    def satisfaction(self) -> float | None:
        return rate(self.satisfied, self.rated)

    @property
    def mean_visits(self) -> float | None:
        return round(self.visits_total / self.completed, 4) if self.completed else None

    @property
    def exceeds_declared(self) -> bool:
        return (
            self.declared_visits is not None
            and self.completed > 0
            and self.visits_total > self.declared_visits * self.completed
        )

    API_FIELDS = (
        "key",
        "label",
        "completed",
        "zero_visit",
        "zero_visit_rate",
        "at_most_once_rate",
        "online_rate",
        "on_time_rate",
        "avg_working_days",
        "satisfaction",
    )
    EXTRA_FIELDS = (
        "at_most_once",
        "submitted",
        "online",
        "with_due",
        "on_time",
        "one_time_rate",
        "corrected",
        "rated",
        "mean_visits",
        "declared_visits",
        "exceeds_declared",
    )

    def as_dict(self, extra: bool = True) -> dict[str, Any]:
        names = self.API_FIELDS + (self.EXTRA_FIELDS if extra else ())
        return {n: getattr(self, n) for n in names}


@dataclass
class Stats:
    by: str
    period: Period
    rows: list[StatRow]
    totals: StatRow

    def as_dict(self, extra: bool = True) -> dict[str, Any]:
        return {"rows": [r.as_dict(extra) for r in self.rows], "totals": self.totals.as_dict(extra)}


def _spans(period: Period) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """Split ``period`` into the whole months inside it (read from ``stats_monthly``) and the days
    before and after them (read from ``stats_daily``): at most two day ranges and one month range."""
    days: list[tuple[date, date]] = []
    first_month = last_month = None
    d = period.start
    while d <= period.end:
        month_end = next_month(d) - timedelta(days=1)
        if d.day == 1 and month_end <= period.end:
            first_month = first_month or d
            last_month = d
        else:
            days.append((d, min(month_end, period.end)))
        d = month_end + timedelta(days=1)
    return days, (first_month, last_month) if first_month and last_month else None


def _rollup_group(by: str, table: Any, time_column: Any) -> Any:
    if by == "item":
        return table.c.item_id
    if by == "category":
        return table.c.category_id
    if by == "unit":
        return table.c.unit_id
    if by == "month":
        if _is_postgres():
            return func.to_char(time_column, "YYYY-MM")
        return func.strftime("%Y-%m", time_column)
    if by == "none":
        return literal_column(f"'{ALL_KEY}'")
    raise ValueError(f"unknown grouping {by!r}")


def _sums(period: Period, by: str, visibility: Visibility) -> dict[Any, dict[str, int]]:
    """raw group value → every additive count, summed from the roll-ups (see
    :mod:`applications.stats.rollup`): whole months from ``stats_monthly``, the edges from
    ``stats_daily``. A unit of 0 (none) comes back as ``None``."""
    day_ranges, months = _spans(period)
    daily, monthly = StatsDaily.__table__, StatsMonthly.__table__
    parts = []
    if day_ranges:
        parts.append((daily, daily.c.day, or_(*(daily.c.day.between(a, b) for a, b in day_ranges))))
    if months:
        parts.append((monthly, monthly.c.month, monthly.c.month.between(*months)))
    out: dict[Any, dict[str, int]] = {}
    for table, time_column, where in parts:
        group = _rollup_group(by, table, time_column)
        stmt = select(group.label("gid"), *(func.sum(table.c[m]).label(m) for m in MEASURES)).where(
            where, visible(visibility, table.c.unit_id, table.c.approving_unit_id)
        )
        stmt = _grouped(stmt, by, group)
        for row in db.session.execute(stmt):
            gid = None if by == "unit" and row.gid == 0 else row.gid
            acc = out.setdefault(gid, dict.fromkeys(MEASURES, 0))
            for m in MEASURES:
                acc[m] += int(getattr(row, m) or 0)
    return {gid: acc for gid, acc in out.items() if any(acc.values())}


def _rows(period: Period, by: str, visibility: Visibility) -> list[StatRow]:
    sums = _sums(period, by, visibility)
    labels = _labels(by, sums)
    declared = {i.id: i.declared_visits for i in item_infos().values()} if by == "item" else {}
    rows = []
    for raw, counts in sums.items():
        key, label = labels[raw]
        rows.append(StatRow(key=key, label=label, declared_visits=declared.get(raw), **counts))
    if by == "month":
        rows.sort(key=lambda r: r.key)
    else:
        rows.sort(key=lambda r: (-r.completed, -r.submitted, r.key))
    return rows


def compute(period: Period, by: str = "none", visibility: Visibility = None) -> Stats:
    """Every metric for ``period`` grouped ``by`` item / category / unit / month / none, plus totals,
    over the applications ``visibility`` allows (see the module docstring for the definitions)."""
    if by not in BY_CHOICES:
        raise ValueError(f"unknown grouping {by!r}")
    rows = _rows(period, by, visibility)
    if by == "none":
        totals = rows[0] if rows else StatRow(ALL_KEY, "合计")
    else:
        # every application falls in exactly one group of each count, so the totals are the sums
        # (no second pass over the period)
        totals = StatRow(ALL_KEY, "合计")
        for name in ADDITIVE_FIELDS:
            setattr(totals, name, sum(getattr(r, name) for r in rows))
    return Stats(by=by, period=period, rows=rows, totals=totals)


ADDITIVE_FIELDS = MEASURES


def declared_vs_measured(period: Period, visibility: Visibility = None) -> list[StatRow]:
    """Items whose measured mean visits per completed application exceed their declared 到现场次数,
    the largest excess (completed × (mean − declared), i.e. visits beyond the declared ones) first."""
    rows = [r for r in compute(period, "item", visibility).rows if r.exceeds_declared]
    return sorted(rows, key=lambda r: (-excess_visits(r), r.key))


def excess_visits(row: StatRow) -> int:
    return row.visits_total - (row.declared_visits or 0) * row.completed


# Drill-down ---------------------------------------------------------------------------------------

COMPLETION_METRICS = (
    "completed",
    "zero_visit",
    "at_most_once",
    "over_once",
    "over_declared",
    "on_time",
    "late",
    "no_due",
    "accepted",
    "corrected",
    "corrected_once",
    "rated",
    "satisfied",
    "unsatisfied",
    "bad_rating",
)
SUBMISSION_METRICS = ("submitted", "online", "counter")
DRILL_METRICS = COMPLETION_METRICS + SUBMISSION_METRICS
DRILL_LIMIT = 500


@dataclass(frozen=True)
class DrillRow:
    id: int
    reference: str
    item: str
    unit: str
    state: str
    channel: str
    submitted_at: datetime | None
    accepted_at: datetime | None
    completed_at: datetime | None
    promised_due: date | None
    visits: int
    correction_count: int
    rating: int | None


@dataclass
class Drill:
    metric: str
    by: str
    key: str
    total: int
    rows: list[DrillRow] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def _metric_clause(metric: str, nv: Any, by: str, key: str) -> ColumnElement[bool]:
    done_day = local_day(Application.completed_at)
    rating_level = select(Rating.level).where(Rating.application_id == Application.id).scalar_subquery()
    has_rating = exists().where(Rating.application_id == Application.id)
    clauses: dict[str, Any] = {
        "completed": true(),
        # an anti-join the planner can estimate: "count = 0" looked rare, so it sorted every completion
        # of the period instead of reading the newest until 500 matched (0.2–0.7 s for 30 days at 1M)
        "zero_visit": ~exists().where(Visit.application_id == Application.id),
        "at_most_once": nv <= 1,
        "over_once": nv > 1,
        "on_time": and_(Application.promised_due.is_not(None), done_day <= Application.promised_due),
        "late": and_(Application.promised_due.is_not(None), done_day > Application.promised_due),
        "no_due": Application.promised_due.is_(None),
        "accepted": Application.accepted_at.is_not(None),
        "corrected": Application.correction_count >= 1,
        "corrected_once": Application.correction_count == 1,
        "rated": has_rating,
        "satisfied": rating_level >= SATISFIED_LEVEL,
        "unsatisfied": rating_level < SATISFIED_LEVEL,
        # a semi-join, not a per-row look-up: counting two years of 差评 row by row took 3 s at 1M rows
        "bad_rating": Application.id.in_(select(Rating.application_id).where(Rating.level <= BAD_LEVEL)),
        "submitted": true(),
        "online": Application.channel == Channel.ONLINE.value,
        "counter": Application.channel == Channel.COUNTER.value,
    }
    if metric == "over_declared":
        info = next((i for i in item_infos().values() if i.code == key), None) if by == "item" else None
        if info is None or info.declared_visits is None:
            return false()
        return nv > info.declared_visits
    return clauses[metric]


#: Drill-down metrics whose count the roll-ups know: (counted, subtracted) measure names.
ROLLED_UP_COUNTS: dict[str, tuple[str, str | None]] = {
    "completed": ("completed", None),
    "zero_visit": ("zero_visit", None),
    "at_most_once": ("at_most_once", None),
    "over_once": ("completed", "at_most_once"),
    "on_time": ("on_time", None),
    "late": ("with_due", "on_time"),
    "no_due": ("completed", "with_due"),
    "corrected": ("corrected", None),
    "corrected_once": ("corrected_once", None),
    "rated": ("rated", None),
    "satisfied": ("satisfied", None),
    "unsatisfied": ("rated", "satisfied"),
    "submitted": ("submitted", None),
    "online": ("online", None),
    "counter": ("submitted", "online"),
}


def _rolled_up_total(metric: str, key: str, period: Period, visibility: Visibility, by: str) -> int | None:
    """How many applications a drill-down lists, from the roll-ups (``None``: not a rolled-up count,
    count the applications). Counting a two-year drill-down row by row took seconds at a million rows."""
    if metric == "bad_rating":
        return _bad_rating_total(key, period, visibility, by)
    if metric not in ROLLED_UP_COUNTS:
        return None
    stats = compute(period, by, visibility)
    row = stats.totals if by == "none" else next((r for r in stats.rows if r.key == key), None)
    if row is None or (by == "none" and key not in ("", ALL_KEY)):
        return 0
    plus, minus = ROLLED_UP_COUNTS[metric]
    return getattr(row, plus) - (getattr(row, minus) if minus else 0)


def _bad_rating_total(key: str, period: Period, visibility: Visibility, by: str) -> int | None:
    """How many 差评 a drill-down lists, from ``stats_reasons`` (kind ``bad_rating``: per day of
    completion × item × units). ``None`` for the category grouping: the roll-up does not know the
    category of the version an application was made on, so those are counted."""
    if by == "category":
        return None
    if by == "none" and key not in ("", ALL_KEY):
        return 0
    r = StatsReason.__table__
    where = [
        r.c.kind == "bad_rating",
        r.c.day >= period.start,
        r.c.day <= period.end,
        visible(visibility, r.c.unit_id, r.c.approving_unit_id),
    ]
    if by == "month":
        where.append(_rollup_group("month", r, r.c.day) == key)
    elif by == "item":
        where.append(r.c.item_id == select(ServiceItem.id).where(ServiceItem.code == key).scalar_subquery())
    elif by == "unit":
        unit_id = (
            literal_column("0")
            if key == NO_UNIT_KEY
            else select(Unit.id).where(Unit.code == key).scalar_subquery()
        )
        where.append(r.c.unit_id == unit_id)
    return int(db.session.scalar(select(func.coalesce(func.sum(r.c.n), 0)).where(*where)) or 0)


def drill_down(
    metric: str,
    key: str,
    period: Period,
    visibility: Visibility = None,
    by: str = "none",
    limit: int = DRILL_LIMIT,
) -> Drill:
    """The applications behind one number: row ``key`` of grouping ``by``, ``metric`` (one of
    :data:`DRILL_METRICS`), only those ``visibility`` allows, newest first (at most ``limit``; the
    total says how many match). Raises ValueError for an unknown metric or grouping."""
    if metric not in DRILL_METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    if by not in BY_CHOICES:
        raise ValueError(f"unknown grouping {by!r}")
    submission = metric in SUBMISSION_METRICS
    time_column = Application.submitted_at if submission else Application.completed_at
    nv = visit_count()
    where = [
        submitted_in(period) if submission else completed_in(period),
        visible(visibility),
        key_clause(by, key, time_column),
        _metric_clause(metric, nv, by, key),
    ]
    total = _rolled_up_total(metric, key, period, visibility, by)
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(Application).where(*where)) or 0
    if total == 0:
        return Drill(metric=metric, by=by, key=key, total=0)
    rating_level = select(Rating.level).where(Rating.application_id == Application.id).scalar_subquery()
    rows = db.session.execute(
        select(
            Application.id,
            Application.reference,
            Application.item_id,
            Unit.name.label("unit_name"),
            Application.state,
            Application.channel,
            Application.submitted_at,
            Application.accepted_at,
            Application.completed_at,
            Application.promised_due,
            nv.label("nv"),
            Application.correction_count,
            rating_level.label("rating"),
        )
        .outerjoin(Unit, Unit.id == Application.unit_id)
        .where(*where)
        .order_by(time_column.desc(), Application.id.desc())
        .limit(limit)
    ).all()
    infos = item_infos() if rows else {}
    out = [
        DrillRow(
            id=r.id,
            reference=r.reference or "",
            item=infos[r.item_id].name if r.item_id in infos else str(r.item_id),
            unit=r.unit_name or "未分派",
            state=State(r.state).value,
            channel=Channel(r.channel).value,
            submitted_at=r.submitted_at,
            accepted_at=r.accepted_at,
            completed_at=r.completed_at,
            promised_due=r.promised_due,
            visits=int(r.nv or 0),
            correction_count=r.correction_count or 0,
            rating=r.rating,
        )
        for r in rows
    ]
    return Drill(metric=metric, by=by, key=key, total=total, rows=out)


# 改革清单 --------------------------------------------------------------------------------------------


@dataclass
class GuideRow:
    """An item whose corrections and bad ratings point at an unclear guide."""

    row: StatRow
    guide_complaints: int
    bad_ratings: int
    top_targets: list[tuple[str, int]]
    top_reasons: list[tuple[str, int]]

    @property
    def score(self) -> int:
        """volume × gap: completed × (share needing a correction + share complaining about the guide)."""
        return self.row.corrected + self.guide_complaints


@dataclass
class Reform:
    visits: list[StatRow]
    guide: list[GuideRow]
    on_time: list[StatRow]


def _reason_counts(period: Period, visibility: Visibility) -> dict[tuple[int, str], Counter[str]]:
    """(item id, kind) → reason → count over the applications completed in the period, from the
    ``stats_reasons`` roll-up (kinds: ``correction`` targets, ``bad_reason``, ``bad_rating`` and
    ``guide`` under the reason "")."""
    r = StatsReason.__table__
    where = [
        r.c.day >= period.start,
        r.c.day <= period.end,
        visible(visibility, r.c.unit_id, r.c.approving_unit_id),
    ]
    out: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    rows = db.session.execute(
        select(r.c.item_id, r.c.kind, r.c.reason, func.sum(r.c.n))
        .where(*where)
        .group_by(r.c.item_id, r.c.kind, r.c.reason)
    )
    for item_id, kind, reason, n in rows:
        out[(item_id, kind)][reason] += int(n)
    return out


def reform_list(period: Period, visibility: Visibility = None, limit: int = 10) -> Reform:
    """The three reform lists, each ranked by volume × gap (largest first):

    - measured visits above the declared 到现场次数: completed × (mean − declared) = visits beyond
      those declared;
    - unclear guide: completed × (share corrected + share of bad ratings citing the guide) = corrected
      applications + guide complaints, with the most named 补正 targets and bad-rating reasons;
    - worst on time: with_due × (1 − on-time rate) = late completions.
    """
    rows = compute(period, "item", visibility).rows
    by_code = {r.key: r for r in rows}
    infos = {i.code: i for i in item_infos().values()}
    visits = sorted((r for r in rows if r.exceeds_declared), key=lambda r: (-excess_visits(r), r.key))
    reasons = _reason_counts(period, visibility)
    guide = []
    for code, row in by_code.items():
        info = infos.get(code)
        item_id = info.id if info else None
        bad_n = reasons[(item_id, "bad_rating")][""] if item_id else 0
        guide_n = reasons[(item_id, "guide")][""] if item_id else 0
        if row.corrected == 0 and guide_n == 0:
            continue
        guide.append(
            GuideRow(
                row=row,
                guide_complaints=guide_n,
                bad_ratings=bad_n,
                top_targets=reasons[(item_id, "correction")].most_common(3) if item_id else [],
                top_reasons=reasons[(item_id, "bad_reason")].most_common(3) if item_id else [],
            )
        )
    guide.sort(key=lambda g: (-g.score, g.row.key))
    on_time = sorted((r for r in rows if r.late > 0), key=lambda r: (-r.late, r.on_time_rate or 0, r.key))
    return Reform(visits=visits[:limit], guide=guide[:limit], on_time=on_time[:limit])


# 办件公示 ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicCase:
    reference: str
    item: str
    completed_on: date
    approved: bool


def recent_completed(limit: int = 20) -> list[PublicCase]:
    """The most recently completed applications for the public list: reference, item, local
    completion date, 准予 (approved/delivered) or 不予许可 (refused). No names, no ID numbers."""
    rows = db.session.execute(
        select(Application.reference, Application.item_id, Application.completed_at, Application.state)
        .where(Application.state.in_(COMPLETED_VALUES), Application.completed_at.is_not(None))
        .order_by(Application.completed_at.desc(), Application.id.desc())
        .limit(limit)
    ).all()
    infos = item_infos() if rows else {}
    return [
        PublicCase(
            reference=r.reference or "",
            item=infos[r.item_id].name if r.item_id in infos else "",
            completed_on=local_date(r.completed_at),
            approved=State(r.state) != State.REFUSED,
        )
        for r in rows
    ]


def last_twelve_months(today: date) -> Period:
    """From the first day of the month eleven months before ``today``'s to ``today``."""
    month = today.month - 11
    year = today.year
    while month < 1:
        month += 12
        year -= 1
    return Period(date(year, month, 1), today)


# 预约 -----------------------------------------------------------------------------------------------
#
# Bookings, no-shows and the wait at the counter, per unit and per month of the slot. Read straight
# from ``appointments`` × ``appointment_slots`` (no roll-up: these tables hold one row per booking,
# far fewer than applications, and the queries use the slot's unit/day index). The counts are one
# GROUP BY; the median and mean wait are taken in Python over the (check-in, call) pairs of the
# period, the one portable way to a median on both SQLite and PostgreSQL.
#
# - bookings: bookings not cancelled whose slot's (local) day is in the period;
# - ended: those of them whose slot has ended (``ends_at`` ≤ now);
# - no_shows: those marked 未到; no_show_rate = no_shows ÷ ended (``None`` when nothing has ended);
# - waits: minutes from ``checked_in_at`` to ``served_at`` (叫号/开始办理) of the bookings called;
#   median_wait and mean_wait over them (``None`` when none was called).
#
# ``visibility`` as for the applications' figures: ``None`` everything, else the booking's unit must
# be one of the given units.

APPOINTMENT_DRILL_METRICS = ("bookings", "no_shows")


@dataclass(frozen=True)
class AppointmentRow:
    """The 预约 figures of one unit × month (``unit_key`` / ``month`` :data:`ALL_KEY` for the totals)."""

    unit_key: str
    unit: str
    month: str
    bookings: int
    ended: int
    no_shows: int
    waits: tuple[float, ...] = ()

    @property
    def no_show_rate(self) -> float | None:
        return rate(self.no_shows, self.ended)

    @property
    def served(self) -> int:
        return len(self.waits)

    @property
    def median_wait(self) -> float | None:
        return round(statistics.median(self.waits), 1) if self.waits else None

    @property
    def mean_wait(self) -> float | None:
        return round(statistics.fmean(self.waits), 1) if self.waits else None


@dataclass
class AppointmentStats:
    rows: list[AppointmentRow]
    totals: AppointmentRow


def _slot_month() -> Any:
    return _rollup_group("month", None, Slot.day)


def _appointment_where(period: Period, visibility: Visibility) -> list[ColumnElement[bool]]:
    where = [
        Slot.day >= period.start,
        Slot.day <= period.end,
        Appointment.status != AppointmentStatus.CANCELLED,
    ]
    if visibility is not None:
        where.append(Appointment.unit_id.in_(sorted(visibility)) if visibility else false())
    return where


def appointment_figures(
    period: Period, visibility: Visibility = None, at: datetime | None = None
) -> AppointmentStats:
    """Bookings, no-show rate and the wait at the counter per unit × month of ``period`` (see above),
    ordered by unit code then month, and the totals over everything ``visibility`` shows."""
    at = at or now()
    month = _slot_month().label("month")
    where = _appointment_where(period, visibility)
    base = (
        select(Unit.code, Unit.name, month)
        .select_from(Appointment)
        .join(Slot, Slot.id == Appointment.slot_id)
        .join(Unit, Unit.id == Appointment.unit_id)
        .where(*where)
    )
    counts = db.session.execute(
        base.add_columns(
            func.count(Appointment.id).label("bookings"),
            func.coalesce(func.sum(case((Slot.ends_at <= at, 1), else_=0)), 0).label("ended"),
            func.coalesce(
                func.sum(case((Appointment.status == AppointmentStatus.NO_SHOW, 1), else_=0)), 0
            ).label("no_shows"),
        ).group_by(Unit.code, Unit.name, month)
    ).all()
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in db.session.execute(
        base.add_columns(Appointment.checked_in_at, Appointment.served_at).where(
            Appointment.served_at.is_not(None), Appointment.checked_in_at.is_not(None)
        )
    ):
        waits[(r.code, r.month)].append(max(0.0, (r.served_at - r.checked_in_at).total_seconds() / 60))
    rows = sorted(
        (
            AppointmentRow(
                unit_key=r.code,
                unit=r.name,
                month=r.month,
                bookings=int(r.bookings),
                ended=int(r.ended),
                no_shows=int(r.no_shows),
                waits=tuple(waits.get((r.code, r.month), ())),
            )
            for r in counts
        ),
        key=lambda row: (row.unit_key, row.month),
    )
    totals = AppointmentRow(
        unit_key=ALL_KEY,
        unit="",
        month=ALL_KEY,
        bookings=sum(r.bookings for r in rows),
        ended=sum(r.ended for r in rows),
        no_shows=sum(r.no_shows for r in rows),
        waits=tuple(w for r in rows for w in r.waits),
    )
    return AppointmentStats(rows=rows, totals=totals)


@dataclass(frozen=True)
class AppointmentDrillRow:
    code: str
    starts_at: datetime
    name: str
    item: str
    unit: str
    status: str
    reference: str
    checked_in_at: datetime | None
    served_at: datetime | None


@dataclass
class AppointmentDrill:
    metric: str
    unit_key: str
    month: str
    total: int
    rows: list[AppointmentDrillRow] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def appointment_drill(
    metric: str,
    period: Period,
    visibility: Visibility = None,
    unit_key: str = ALL_KEY,
    month: str = ALL_KEY,
    limit: int = DRILL_LIMIT,
) -> AppointmentDrill:
    """The bookings behind one 预约 number of :func:`appointment_figures`: ``metric`` ``bookings`` or
    ``no_shows`` of unit ``unit_key`` (a unit code) and ``month`` (``YYYY-MM``), either
    :data:`ALL_KEY` for all; latest slot first, at most ``limit`` (the total says how many match).
    Names are masked (family name only). Raises ValueError for an unknown metric."""
    if metric not in APPOINTMENT_DRILL_METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    where = _appointment_where(period, visibility)
    if metric == "no_shows":
        where.append(Appointment.status == AppointmentStatus.NO_SHOW)
    if unit_key != ALL_KEY:
        where.append(Unit.code == unit_key)
    if month != ALL_KEY:
        where.append(_slot_month() == month)
    stmt = (
        select(Appointment, Slot.starts_at, Unit.name.label("unit_name"))
        .join(Slot, Slot.id == Appointment.slot_id)
        .join(Unit, Unit.id == Appointment.unit_id)
        .where(*where)
    )
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if total == 0:
        return AppointmentDrill(metric=metric, unit_key=unit_key, month=month, total=0)
    found = db.session.execute(
        stmt.options(selectinload(Appointment.user), selectinload(Appointment.application))
        .order_by(Slot.starts_at.desc(), Appointment.id.desc())
        .limit(limit)
    ).all()
    infos = item_infos()
    rows = [
        AppointmentDrillRow(
            code=a.code,
            starts_at=starts_at,
            name=masked_name(a.user.real_name if a.user else ""),
            item=infos[a.item_id].name if a.item_id in infos else str(a.item_id),
            unit=unit_name,
            status=AppointmentStatus(a.status).value,
            reference=(a.application.reference or "") if a.application is not None else "",
            checked_in_at=a.checked_in_at,
            served_at=a.served_at,
        )
        for a, starts_at, unit_name in found
    ]
    return AppointmentDrill(metric=metric, unit_key=unit_key, month=month, total=total, rows=rows)
