"""Maintained daily and monthly roll-ups, so any statistic over any period reads a few thousand rows
instead of a million applications (issue 6's speed target).

**What is stored.** ``stats_daily`` holds, per local day × item × category × accepting unit ×
approving unit, the additive counts of :data:`applications.stats.models.MEASURES`: the completion
counts of the applications *completed* that day (state approved / refused / delivered) and the
submission counts of those *submitted* that day. ``stats_monthly`` is the same summed per month.
``stats_reasons`` counts, per day of completion × item × units, the 补正 targets named and the
reasons of bad ratings (the 改革清单's evidence). The working-day duration of a completed
application (办理时长, pauses excluded, with the calendar of
:func:`core.workdays.models.load_calendar`) is stored on the application itself
(``applications.working_days``) so that the roll-up is plain SQL.

**How it stays true.** Nothing increments a counter, and nothing listens behind the operations'
backs. An operation that changes what the statistics read — an application's state, dates, item,
units, channel, due dates or correction count, or a visit, rating, clock pause or status event of
it — says so with :func:`changing` (``transition()``, ``recompute_due_dates()``, recording a visit,
a rating, a transfer do); a calendar change says which days changed
(:func:`core.workdays.models.note_day_changed`). Before the transaction commits, the commit helper
(:func:`core.transaction.commit`) runs :func:`refresh_marked`, which recomputes those applications'
``working_days`` and rewrites the daily and reason rows of every touched (day, item) slice — the one
each application is in and the one it was in before — then the monthly rows of their (month, item),
*from the applications table*, in the same transaction. So the roll-ups equal the raw-table SQL
after any kind of change (a late visit, a transfer, a rating, a calendar override), which
``tests/stats/test_rollups.py`` checks change by change, and the scheduler's daily check compares
again. Marking too much only costs time; a change made with a bulk statement names its applications
with :func:`mark_applications`.

**Concurrency.** On PostgreSQL each slice is rewritten under a transaction-scoped advisory lock taken
in a fixed order; in READ COMMITTED the statements after the lock see every transaction that held it
before, so two clerks completing applications of the same item on the same day cannot lose each
other's counts. SQLite runs one writer at a time.

``flask stats rebuild`` recomputes everything from scratch (after a bulk load, or to check).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import has_app_context
from sqlalchemy import (
    Connection,
    Date,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    inspect,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session, attributes, object_session

from applications.models import Application, Channel, ClockPause, StatusEvent, Visit
from applications.ratings.models import BAD_UP_TO, SATISFIED_FROM, Rating
from applications.stats.models import MEASURES, StatsDaily, StatsMonthly, StatsReason
from applications.workflow.deadlines import Pause, WorkCalendar, elapsed_working_days, local_date
from applications.workflow.states import COMPLETED
from catalog.models import ItemVersion
from core.clock import SHANGHAI
from core.db import db
from core.workdays.models import load_calendar, take_changed_days

COMPLETED_VALUES = sorted(s.value for s in COMPLETED)
SATISFIED_LEVEL = int(SATISFIED_FROM)
BAD_LEVEL = int(BAD_UP_TO)
#: Rating reasons that say the guide (办事指南) misled the citizen.
GUIDE_REASONS = frozenset({"办事指南不准确", "办事指南不清楚", "guide", "guide_inaccurate"})
REASON_LENGTH = 100  # stats_reasons.reason
#: The application columns the statistics read (a change to any of them refreshes its slices).
WATCHED = (
    "state",
    "completed_at",
    "submitted_at",
    "accepted_at",
    "item_id",
    "version_id",
    "unit_id",
    "approving_unit_id",
    "channel",
    "promised_due",
    "correction_count",
)
#: A change to these moves the application to another (day, item) slice: the old one is refreshed too.
KEYED = ("completed_at", "submitted_at", "item_id")
_APPS = "stats.dirty_applications"
_SLICES = "stats.dirty_slices"
_LOCK_DAILY = 0x5D  # advisory lock namespaces (high bits of the 64-bit key)
_LOCK_MONTHLY = 0x5E

Slice = tuple[date, int]  # (local day or first of month, item id)


# Day helpers ----------------------------------------------------------------------------------------


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


# Marking --------------------------------------------------------------------------------------------


def mark_applications(session: Session, ids: Iterable[int | None]) -> None:
    """Refresh these applications' working days and current slices before ``session`` commits
    (for changes made by bulk statements, where there is no object to pass to :func:`changing`)."""
    session.info.setdefault(_APPS, set()).update(i for i in ids if i is not None)


def _mark_slices(session: Session, values: Iterable[tuple[datetime | None, int | None]]) -> None:
    slices = session.info.setdefault(_SLICES, set())
    for moment, item_id in values:
        if moment is not None and item_id is not None:
            slices.add((local_date(moment), item_id))


def _slices_before(app: Application) -> list[tuple[datetime | None, int | None]]:
    """The (moment, item) pairs ``app`` was filed under at its last flush (its unflushed changes
    undone), so a change that moves it to another slice rewrites the old one too."""
    state = inspect(app)
    old: dict[str, Any] = {}
    for name in KEYED:
        if name not in state.dict and not state.pending:
            old[name] = None  # not loaded: unchanged, so its current slice covers it
            continue
        hist = attributes.get_history(app, name)
        old[name] = hist.deleted[0] if hist.deleted else (hist.unchanged[0] if hist.unchanged else None)
    return [(old["completed_at"], old["item_id"]), (old["submitted_at"], old["item_id"])]


def changing(app: Application) -> None:
    """Say that ``app``'s statistics change in this transaction: its state, dates, item, units,
    channel, due dates, correction count, visits, ratings, pauses or events. Before the transaction
    commits, :func:`refresh_marked` (the commit step) recomputes its 办理时长 and rewrites the daily,
    monthly and reason rows of the slices it was and is in. Call it before or after the change, but
    before anything flushes the change (a flush forgets what the old values were)."""
    session = object_session(app) or (db.session if has_app_context() else None)
    if session is None:  # a bare object outside any app (a unit test of a pure rule): nothing stored
        return
    if app.id is None:
        session.flush()  # a new application needs its id
    session.info.setdefault(_APPS, set()).add(app.id)
    _mark_slices(session, _slices_before(app))


def refresh_marked(session: Session) -> None:
    """The commit step (see :func:`core.transaction.commit`): refresh what :func:`changing`,
    :func:`mark_applications` and the calendar's changed days named in this transaction; nothing
    when nothing was named."""
    days = take_changed_days(session)
    for day in sorted(days):
        calendar_changed(session, day)
    apps = session.info.pop(_APPS, set())
    slices = session.info.pop(_SLICES, set())
    if apps or slices:
        refresh(session.connection(), apps, slices)


# Refreshing -----------------------------------------------------------------------------------------


def refresh(
    conn: Connection,
    app_ids: Iterable[int] = (),
    slices: Iterable[Slice] = (),
    calendar: WorkCalendar | None = None,
) -> None:
    """Recompute ``working_days`` of ``app_ids`` and rewrite the daily and monthly rows of their
    current slices and of ``slices``."""
    ids = sorted(set(app_ids))
    todo = set(slices)
    if ids:
        update_working_days(conn, ids, calendar)
        todo |= current_slices(conn, ids)
    if not todo:
        return
    postgres = conn.dialect.name == "postgresql"
    for day, item_id in sorted(todo):
        if postgres:
            _lock(conn, _LOCK_DAILY, day, item_id)
        _rewrite_day(conn, day, item_id)
    for month, item_id in sorted({(first_of_month(d), i) for d, i in todo}):
        if postgres:
            _lock(conn, _LOCK_MONTHLY, month, item_id)
        _rewrite_month(conn, month, item_id)


def _lock(conn: Connection, namespace: int, day: date, item_id: int) -> None:
    key = (namespace << 56) | (day.toordinal() << 24) | (item_id & 0xFFFFFF)
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def current_slices(conn: Connection, ids: list[int]) -> set[Slice]:
    """The (day, item) slices the applications are in now (completion day and submission day)."""
    out: set[Slice] = set()
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(Application.item_id, Application.completed_at, Application.submitted_at).where(
                Application.id.in_(chunk)
            )
        )
        for item_id, completed_at, submitted_at in rows:
            for moment in (completed_at, submitted_at):
                if moment is not None:
                    out.add((local_date(moment), item_id))
    return out


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def working_days_of(
    cal: WorkCalendar, state: str, accepted: datetime | None, completed: datetime | None, pauses: list[Pause]
) -> int | None:
    """办理时长 of one application: working days from 受理 to 办结, pauses excluded; None unless it was
    completed (approved / refused / delivered) after being accepted."""
    if state not in COMPLETED_VALUES or accepted is None or completed is None or completed < accepted:
        return None
    return elapsed_working_days(cal, accepted, completed, pauses)


def update_working_days(conn: Connection, ids: list[int], calendar: WorkCalendar | None = None) -> int:
    """Store the working days of these applications where they changed; returns how many changed.
    ``updated_at`` is left alone: a recomputed figure is not a change of the application."""
    cal = calendar
    changed = []
    for chunk in _chunks(ids):
        pauses: dict[int, list[Pause]] = {}
        for app_id, started, ended, reason in conn.execute(
            select(
                ClockPause.application_id, ClockPause.started_at, ClockPause.ended_at, ClockPause.reason
            ).where(ClockPause.application_id.in_(chunk))
        ):
            pauses.setdefault(app_id, []).append(Pause(started, ended, reason))
        rows = conn.execute(
            select(
                Application.id,
                Application.state,
                Application.accepted_at,
                Application.completed_at,
                Application.working_days,
            ).where(Application.id.in_(chunk))
        ).all()
        for app_id, state, accepted, completed, stored in rows:
            state = getattr(state, "value", state)
            if cal is None and state in COMPLETED_VALUES and accepted is not None:
                cal = load_calendar(conn)
            value = working_days_of(cal, state, accepted, completed, pauses.get(app_id, []))  # type: ignore[arg-type]
            if value != stored:
                changed.append({"app_id": app_id, "days": value})
    if changed:
        table = Application.__table__
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("app_id"))
            .values(working_days=bindparam("days"), updated_at=table.c.updated_at),
            changed,
        )
    return len(changed)


class _Slice:
    """The bind parameters of a (day, item) slice: the statements below are built once with them
    (building SQLAlchemy statements per commit cost more than running them)."""

    day = bindparam("day", type_=Date)
    item_id = bindparam("item_id")
    lower = bindparam("lower", type_=Application.__table__.c.completed_at.type)
    upper = bindparam("upper", type_=Application.__table__.c.completed_at.type)
    month = bindparam("month", type_=Date)
    next_month = bindparam("next_month", type_=Date)

    @staticmethod
    def params(day: date, item_id: int) -> dict[str, Any]:
        return {
            "day": day,
            "item_id": item_id,
            "lower": _midnight(day),
            "upper": _midnight(day + timedelta(days=1)),
        }


def _counts_select(local_day: Callable[[Any], Any] | None = None) -> Any:
    """One row per application with its day, item, key columns and 0/1 contributions to every
    measure: a completion row on the day it was completed (approved / refused / delivered), a
    submission row on the day it was submitted. Without ``local_day``, restricted to the slice of
    the :class:`_Slice` parameters (the day is a parameter and the bounds are timestamp comparisons);
    with it, the whole table, the local day computed in SQL by ``local_day(column)``."""
    a = Application
    nv = select(func.count(Visit.id)).where(Visit.application_id == a.id).correlate(a).scalar_subquery()

    def flag(condition: Any) -> Any:
        return case((condition, 1), else_=0)

    def day_of(column: Any) -> Any:
        return _Slice.day if local_day is None else local_day(column)

    def where(column: Any) -> list[Any]:
        if local_day is not None:
            return [column.is_not(None)]
        return [a.item_id == _Slice.item_id, column >= _Slice.lower, column < _Slice.upper]

    def keys(column: Any) -> tuple[Any, ...]:
        return (
            day_of(column).label("day"),
            a.item_id.label("item_id"),
            ItemVersion.category_id.label("category_id"),
            func.coalesce(a.unit_id, 0).label("unit_id"),
            func.coalesce(a.approving_unit_id, 0).label("approving_unit_id"),
        )

    zero = literal(0)
    completion = (
        select(
            *keys(a.completed_at),
            literal(1).label("completed"),
            flag(nv == 0).label("zero_visit"),
            flag(nv <= 1).label("at_most_once"),
            nv.label("visits_total"),
            flag(a.promised_due.is_not(None)).label("with_due"),
            flag(and_(a.promised_due.is_not(None), a.promised_due >= day_of(a.completed_at))).label(
                "on_time"
            ),
            flag(a.correction_count >= 1).label("corrected"),
            flag(a.correction_count == 1).label("corrected_once"),
            flag(Rating.id.is_not(None)).label("rated"),
            flag(Rating.level >= SATISFIED_LEVEL).label("satisfied"),
            zero.label("submitted"),
            zero.label("online"),
            flag(a.working_days.is_not(None)).label("duration_count"),
            func.coalesce(a.working_days, 0).label("duration_sum"),
        )
        .join(ItemVersion, ItemVersion.id == a.version_id)
        .outerjoin(Rating, Rating.application_id == a.id)
        .where(a.state.in_(COMPLETED_VALUES), *where(a.completed_at))
    )
    submission = (
        select(
            *keys(a.submitted_at),
            *(zero.label(m) for m in MEASURES[: MEASURES.index("submitted")]),
            literal(1).label("submitted"),
            flag(a.channel == Channel.ONLINE.value).label("online"),
            zero.label("duration_count"),
            zero.label("duration_sum"),
        )
        .join(ItemVersion, ItemVersion.id == a.version_id)
        .where(*where(a.submitted_at))
    )
    return union_all(completion, submission).subquery()


_KEY_COLS = ("category_id", "unit_id", "approving_unit_id")


def _insert_daily(local_day: Callable[[Any], Any] | None = None) -> Any:
    rows = _counts_select(local_day)
    group = (rows.c.day, rows.c.item_id, *(rows.c[k] for k in _KEY_COLS))
    source = select(*group, *(func.sum(rows.c[m]).label(m) for m in MEASURES)).group_by(*group)
    return insert(StatsDaily.__table__).from_select(["day", "item_id", *_KEY_COLS, *MEASURES], source)


def _insert_monthly(month_of: Callable[[Any], Any] | None = None) -> Any:
    """Sum the daily rows per month: of the (month, item) of the :class:`_Slice` parameters, or of
    everything (``month_of(day column)`` gives the first of the month in SQL)."""
    d = StatsDaily.__table__
    month_col = _Slice.month if month_of is None else month_of(d.c.day)
    group = (month_col.label("month"), d.c.item_id, *(d.c[k] for k in _KEY_COLS))
    source = select(*group, *(func.sum(d.c[m]).label(m) for m in MEASURES)).group_by(
        *(group[1:] if month_of is None else (month_col, *group[1:]))
    )
    if month_of is None:
        source = source.where(
            d.c.item_id == _Slice.item_id, d.c.day >= _Slice.month, d.c.day < _Slice.next_month
        )
    return insert(StatsMonthly.__table__).from_select(["month", "item_id", *_KEY_COLS, *MEASURES], source)


def _reason_selects(local_day: Callable[[Any], Any] | None = None) -> tuple[Any, Any]:
    """The 补正 events and the bad ratings of the completed applications (of the slice, or all)."""
    a = Application
    if local_day is None:
        done_day = _Slice.day
        where = [
            a.state.in_(COMPLETED_VALUES),
            a.item_id == _Slice.item_id,
            a.completed_at >= _Slice.lower,
            a.completed_at < _Slice.upper,
        ]
    else:
        done_day = local_day(a.completed_at)
        where = [a.state.in_(COMPLETED_VALUES), a.completed_at.is_not(None)]
    keys = (done_day, a.item_id, func.coalesce(a.unit_id, 0), func.coalesce(a.approving_unit_id, 0))
    events = (
        select(*keys, StatusEvent.details)
        .join(StatusEvent, StatusEvent.application_id == a.id)
        .where(StatusEvent.action == "request_correction", *where)
    )
    ratings = (
        select(*keys, Rating.reasons)
        .join(Rating, Rating.application_id == a.id)
        .where(Rating.level <= BAD_LEVEL, *where)
    )
    return events, ratings


@functools.cache
def _slice_statements() -> dict[str, Any]:
    daily, monthly, reasons = StatsDaily.__table__, StatsMonthly.__table__, StatsReason.__table__
    events, ratings = _reason_selects()
    return {
        "delete_daily": delete(daily).where(daily.c.day == _Slice.day, daily.c.item_id == _Slice.item_id),
        "insert_daily": _insert_daily(),
        "delete_reasons": delete(reasons).where(
            reasons.c.day == _Slice.day, reasons.c.item_id == _Slice.item_id
        ),
        "events": events,
        "ratings": ratings,
        "delete_monthly": delete(monthly).where(
            monthly.c.month == _Slice.month, monthly.c.item_id == _Slice.item_id
        ),
        "insert_monthly": _insert_monthly(),
    }


def _rewrite_day(conn: Connection, day: date, item_id: int) -> None:
    st, params = _slice_statements(), _Slice.params(day, item_id)
    conn.execute(st["delete_daily"], params)
    conn.execute(st["insert_daily"], params)
    conn.execute(st["delete_reasons"], params)
    _write_reasons(conn, st["events"], st["ratings"], params)


def _rewrite_month(conn: Connection, month: date, item_id: int) -> None:
    st = _slice_statements()
    params = {"month": month, "next_month": next_month(month), "item_id": item_id}
    conn.execute(st["delete_monthly"], params)
    conn.execute(st["insert_monthly"], params)


def cites_guide(reasons: Iterable[str]) -> bool:
    """A bad rating blames the guide (办事指南) when one of its reasons says so."""
    return any(r in GUIDE_REASONS or "指南" in r for r in reasons)


def _write_reasons(conn: Connection, events: Any, ratings: Any, params: dict[str, Any] | None = None) -> None:
    """Count the 补正 targets named and the reasons of the bad ratings (the targets sit in the
    events' JSON, so the counting is Python) and insert them into ``stats_reasons``."""
    counts: dict[tuple, int] = {}

    def add(key: list[Any], kind: str, reason: str) -> None:
        k = (_as_date(key[0]), *key[1:], kind, reason[:REASON_LENGTH])
        counts[k] = counts.get(k, 0) + 1

    for *key, details in conn.execute(events, params or {}):
        for entry in (details or {}).get("items", []) or []:
            target = entry.get("target") if isinstance(entry, dict) else None
            if target:
                add(key, "correction", str(target))
    for *key, reasons in conn.execute(ratings, params or {}):
        named = [str(x) for x in (reasons or [])]
        add(key, "bad_rating", "")
        if cites_guide(named):
            add(key, "guide", "")
        for reason in named:
            add(key, "bad_reason", reason)
    if counts:
        names = ("day", "item_id", "unit_id", "approving_unit_id", "kind", "reason")
        conn.execute(
            insert(StatsReason.__table__),
            [dict(zip(names, k, strict=True)) | {"n": n} for k, n in counts.items()],
        )


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# Whole rebuild and calendar changes ----------------------------------------------------------------


def rebuild(conn: Connection, *, working_days: bool = True) -> dict[str, int]:
    """Recompute everything from the applications table: every working-day duration (unless
    ``working_days`` is False, e.g. after a bulk load that wrote them), then every daily row (one
    ``INSERT … SELECT … GROUP BY``) and every monthly row. Returns what it did, in numbers."""
    changed = 0
    if working_days:
        ids = list(
            conn.scalars(
                select(Application.id).where(
                    Application.state.in_(COMPLETED_VALUES) | Application.working_days.is_not(None)
                )
            )
        )
        changed = update_working_days(conn, ids)
    conn.execute(delete(StatsMonthly.__table__))
    conn.execute(delete(StatsDaily.__table__))
    conn.execute(delete(StatsReason.__table__))
    postgres = conn.dialect.name == "postgresql"
    local_day = functools.partial(local_day_sql, postgres)
    conn.execute(_insert_daily(local_day))
    conn.execute(_insert_monthly(functools.partial(_month_sql, postgres)))
    _write_reasons(conn, *_reason_selects(local_day))
    return {
        "working_days_changed": changed,
        "daily_rows": conn.scalar(select(func.count()).select_from(StatsDaily.__table__)) or 0,
        "monthly_rows": conn.scalar(select(func.count()).select_from(StatsMonthly.__table__)) or 0,
        "reason_rows": conn.scalar(select(func.count()).select_from(StatsReason.__table__)) or 0,
    }


def _month_sql(postgres: bool, column: Any) -> Any:
    """The first day of the month of a DATE column."""
    if postgres:
        return cast(func.date_trunc("month", column), Date)
    return func.date(column, "start of month")


def local_day_sql(postgres: bool, column: Any) -> Any:
    """The Asia/Shanghai date of a UTC timestamp column (China has no daylight saving)."""
    if postgres:
        return cast(func.timezone("Asia/Shanghai", column), Date)
    return func.date(column, "+8 hours")


def calendar_changed(session: Session, day: date) -> None:
    """An admin made ``day`` a working day or not (a calendar override was added, changed or
    removed): refresh every completed application whose 受理 … 办结 span counts that day."""
    lower = _midnight(day)
    ids = session.scalars(
        select(Application.id).where(
            Application.state.in_(COMPLETED_VALUES),
            Application.accepted_at < lower,
            Application.completed_at >= lower,
        )
    )
    mark_applications(session, ids)
