"""Every metric equals an independent plain-SQL computation (``text()`` written here, not the
module's statements) on ~200 random applications, for every grouping, on SQLite and PostgreSQL.
The working-day durations, which need the holiday calendar, are recomputed here in Python straight
from chinese-calendar over rows read with plain SQL."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from sqlalchemy import text

from applications.models import Channel
from applications.stats import metrics
from applications.stats.metrics import Period
from applications.stats.models import MEASURES
from applications.workflow.states import State
from core.db import db
from core.transaction import commit
from tests.clerk.helpers import unit
from tests.stats.helpers import SHANGHAI, add_app, sh

PERIOD = Period(date(2025, 9, 1), date(2025, 10, 31))
ITEMS = ("LJ-HJ-021", "LJ-HJ-008", "LJ-CJ-006", "LJ-ZA-007")
UNITS = ("LJ-PS-DC-01", "LJ-PS-DC-02", "LJ-PS-XC-01")
STATES = (
    [State.APPROVED] * 5
    + [State.REFUSED] * 2
    + [State.DELIVERED] * 2
    + [
        State.WITHDRAWN,
        State.NOT_ACCEPTED,
        State.ACCEPTED,
        State.SUBMITTED,
    ]
)


def generate(seed: int = 20251001, n: int = 200) -> None:
    rng = random.Random(seed)
    for _ in range(n):
        state = rng.choice(STATES)
        submitted = sh(2025, 8, 20) + timedelta(minutes=rng.randrange(0, 60 * 24 * 85))
        accepted = completed = due = None
        pauses = []
        if state in (State.APPROVED, State.REFUSED, State.DELIVERED, State.ACCEPTED) and rng.random() < 0.85:
            accepted = submitted + timedelta(hours=rng.randrange(1, 72))
            due = (accepted.astimezone(SHANGHAI) + timedelta(days=rng.randrange(0, 12))).date()
        if state in (State.APPROVED, State.REFUSED, State.DELIVERED, State.NOT_ACCEPTED):
            completed = (accepted or submitted) + timedelta(hours=rng.randrange(1, 24 * 14))
        if accepted and completed and rng.random() < 0.3:
            start = accepted + (completed - accepted) * rng.random() * 0.5
            end = start + (completed - start) * rng.random()
            pauses.append((start, end))
        level = rng.choice([None, 1, 2, 3, 4, 5, 5, 4]) if completed and state != State.NOT_ACCEPTED else None
        add_app(
            item=rng.choice(ITEMS),
            unit_code=rng.choice(UNITS),
            state=state,
            channel=rng.choice([Channel.ONLINE, Channel.ONLINE, Channel.COUNTER]),
            submitted=submitted,
            accepted=accepted,
            completed=completed,
            due=due,
            corrections=rng.choice([0, 0, 0, 1, 1, 2]),
            visits=rng.choice([0, 0, 0, 1, 1, 2, 3]),
            rating=level,
            reasons=["办事指南不准确"] if level and level <= 2 else [],
            pauses=pauses,
        )
    commit()


@pytest.fixture
def generated(world):
    with world.app_context():
        generate()
    return world


def _sql_bits(postgres: bool, by: str, column: str) -> tuple[str, str]:
    """(group expression, joins) for ``by`` — written by hand for each dialect."""
    if by == "month":
        expr = (
            f"to_char(a.{column} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
            if postgres
            else f"strftime('%Y-%m', a.{column}, '+8 hours')"
        )
        return expr, ""
    if by == "item":
        return "si.code", "JOIN service_items si ON si.id = a.item_id"
    if by == "unit":
        return "u.code", "JOIN units u ON u.id = a.unit_id"
    if by == "category":
        return (
            "c.code",
            "JOIN item_versions iv ON iv.id = a.version_id JOIN categories c ON c.id = iv.category_id",
        )
    return "'all'", ""


def _group_by(expr: str) -> str:
    return "" if expr == "'all'" else f"GROUP BY {expr}"


def _bounds(postgres: bool) -> dict[str, str]:
    def fmt(d: date) -> str:
        moment = datetime(d.year, d.month, d.day, tzinfo=SHANGHAI).astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S") + ("+00" if postgres else "")

    return {"lo": fmt(PERIOD.start), "hi": fmt(PERIOD.end + timedelta(days=1))}


def _where_visible(units: list[int] | None) -> str:
    if units is None:
        return ""
    ids = ",".join(str(i) for i in units)
    return f" AND (a.unit_id IN ({ids}) OR a.approving_unit_id IN ({ids}))"


def plain_sql(postgres: bool, by: str, units: list[int] | None = None) -> dict[str, dict]:
    g, joins = _sql_bits(postgres, by, "completed_at")
    local_day = (
        "CAST(a.completed_at AT TIME ZONE 'Asia/Shanghai' AS DATE)"
        if postgres
        else "date(a.completed_at, '+8 hours')"
    )
    done = (
        "a.state IN ('approved', 'refused', 'delivered') AND a.completed_at >= :lo AND a.completed_at < :hi"
        + _where_visible(units)
    )
    out: dict[str, dict] = defaultdict(dict)
    sql = f"""
        SELECT {g} AS g, COUNT(*) AS completed,
          SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM visits v WHERE v.application_id = a.id) THEN 1 ELSE 0 END),
          SUM(CASE WHEN (SELECT COUNT(*) FROM visits v WHERE v.application_id = a.id) <= 1 THEN 1 ELSE 0 END),
          SUM((SELECT COUNT(*) FROM visits v WHERE v.application_id = a.id)),
          SUM(CASE WHEN a.promised_due IS NOT NULL THEN 1 ELSE 0 END),
          SUM(CASE WHEN a.promised_due IS NOT NULL AND {local_day} <= a.promised_due THEN 1 ELSE 0 END),
          SUM(CASE WHEN a.correction_count >= 1 THEN 1 ELSE 0 END),
          SUM(CASE WHEN a.correction_count = 1 THEN 1 ELSE 0 END)
        FROM applications a {joins} WHERE {done} {_group_by(g)}"""
    for row in db.session.execute(text(sql), _bounds(postgres)):
        names = (
            "completed",
            "zero_visit",
            "at_most_once",
            "visits_total",
            "with_due",
            "on_time",
            "corrected",
            "corrected_once",
        )
        out[row[0]].update(zip(names, (int(x) for x in row[1:]), strict=True))
    sql = f"""
        SELECT {g}, COUNT(r.id), SUM(CASE WHEN r.level >= 4 THEN 1 ELSE 0 END)
        FROM applications a JOIN ratings r ON r.application_id = a.id {joins} WHERE {done} {_group_by(g)}"""
    for row in db.session.execute(text(sql), _bounds(postgres)):
        out[row[0]].update(rated=int(row[1]), satisfied=int(row[2]))
    gs, joins_s = _sql_bits(postgres, by, "submitted_at")
    sql = f"""
        SELECT {gs}, COUNT(*), SUM(CASE WHEN a.channel = 'online' THEN 1 ELSE 0 END)
        FROM applications a {joins_s}
        WHERE a.submitted_at >= :lo AND a.submitted_at < :hi {_where_visible(units)} {_group_by(gs)}"""
    for row in db.session.execute(text(sql), _bounds(postgres)):
        out[row[0]].update(submitted=int(row[1]), online=int(row[2]))
    # durations: rows by plain SQL, working days straight from chinese-calendar
    sql = f"""SELECT {g}, a.id, a.accepted_at, a.completed_at FROM applications a {joins}
              WHERE {done} AND a.accepted_at IS NOT NULL"""
    apps = db.session.execute(text(sql), _bounds(postgres)).all()
    pauses = defaultdict(list)
    for app_id, start, end in db.session.execute(
        text("SELECT application_id, started_at, ended_at FROM clock_pauses")
    ):
        pauses[app_id].append((_local(start), _local(end)))
    for key, app_id, accepted, completed in apps:
        first, last = _local(accepted), _local(completed)
        paused = set()
        for ps, pe in pauses[app_id]:
            d = max(ps, first) + timedelta(days=1)
            while d <= pe:
                paused.add(d)
                d += timedelta(days=1)
        days = 0
        d = first + timedelta(days=1)
        while d <= last:
            if d not in paused and chinese_calendar.is_workday(d):
                days += 1
            d += timedelta(days=1)
        entry = out[key]
        entry["duration_count"] = entry.get("duration_count", 0) + 1
        entry["duration_sum"] = entry.get("duration_sum", 0) + days
    return out


def _local(value) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).date()


FIELDS = MEASURES  # every additive count


def _expected_rates(e: dict) -> dict:
    def r(n, d):
        return round(e.get(n, 0) / e[d], 4) if e.get(d) else None

    return {
        "zero_visit_rate": r("zero_visit", "completed"),
        "at_most_once_rate": r("at_most_once", "completed"),
        "online_rate": r("online", "submitted"),
        "on_time_rate": r("on_time", "with_due"),
        "one_time_rate": r("corrected_once", "corrected"),
        "satisfaction": r("satisfied", "rated"),
        "avg_working_days": round(e["duration_sum"] / e["duration_count"], 2)
        if e.get("duration_count")
        else None,
    }


def _check(stats: metrics.Stats, expected: dict[str, dict]) -> None:
    got = {r.key: r for r in stats.rows}
    assert set(got) == set(expected)
    for key, e in expected.items():
        row = got[key]
        for name in FIELDS:
            assert getattr(row, name) == e.get(name, 0), (key, name)
        for name, value in _expected_rates(e).items():
            assert getattr(row, name) == value, (key, name)


@pytest.mark.parametrize("by", ["item", "category", "unit", "month", "none"])
def test_every_metric_equals_plain_sql(generated, is_postgres, by):
    with generated.app_context():
        stats = metrics.compute(PERIOD, by)
        expected = plain_sql(is_postgres, by)
        _check(stats, expected)
        totals = plain_sql(is_postgres, "none")["all"]
        assert stats.totals.completed == totals["completed"] > 50
        assert stats.totals.avg_working_days == _expected_rates(totals)["avg_working_days"]


def test_restricted_to_units_equals_plain_sql(generated, is_postgres):
    with generated.app_context():
        mine = [unit("LJ-PS-DC-01").id, unit("LJ-PS-DC-02").id]
        _check(metrics.compute(PERIOD, "unit", frozenset(mine)), plain_sql(is_postgres, "unit", mine))
        _check(metrics.compute(PERIOD, "month", frozenset(mine)), plain_sql(is_postgres, "month", mine))
        drill = metrics.drill_down("zero_visit", "all", PERIOD, frozenset(mine))
        ids = {r.id for r in drill.rows}
        sql = f"""SELECT a.id FROM applications a WHERE a.state IN ('approved','refused','delivered')
                  AND a.completed_at >= :lo AND a.completed_at < :hi {_where_visible(mine)}
                  AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.application_id = a.id)"""
        assert ids == set(db.session.scalars(text(sql), _bounds(is_postgres)))


@pytest.mark.parametrize("by", ["none", "item", "unit", "month", "category"])
def test_every_drill_down_total_matches_the_applications_it_lists(generated, by):
    """Drill-down totals come from the roll-ups where they can; the listed applications come from the
    applications table: the two agree for every metric and every row of every grouping."""
    with generated.app_context():
        mine = frozenset({unit("LJ-PS-DC-01").id})
        for visibility in (None, mine):
            keys = [r.key for r in metrics.compute(PERIOD, by, visibility).rows] or ["all"]
            for key in keys:
                for metric in metrics.DRILL_METRICS:
                    drill = metrics.drill_down(metric, key, PERIOD, visibility, by=by, limit=100_000)
                    assert drill.total == len(drill.rows), (by, key, metric, visibility)
