"""The daily check that the statistics roll-ups equal the raw tables.

The scoreboard reads ``stats_daily``/``stats_monthly``, which every commit keeps equal to the
applications table (:mod:`applications.stats.rollup`). A change made outside the ORM (a hand-written
``UPDATE``, a bulk load) can leave them behind, and nothing would show it. This job recomputes, with
its own plain SQL over the raw tables, the main counts per (local day, item) — completed, zero-visit,
visits, working days, submitted, submitted on line — and compares them with ``stats_daily``; and the
monthly rows with the daily rows summed. A difference is logged at ERROR (the first few keys) and the
run recorded ``failed``; with ``STATS_CHECK_REPAIR`` (default on) the roll-ups are then rebuilt
(``flask stats rebuild``), in the same run, and the next run is clean.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import Date, case, cast, func, literal, select, union_all

from applications.models import Application, Channel, Visit
from applications.stats.models import MEASURES, StatsDaily, StatsMonthly
from applications.stats.rollup import COMPLETED_VALUES, local_day_sql, rebuild
from core.db import db
from core.jobs import JobFailed

log = logging.getLogger(__name__)

CHECKED = ("completed", "zero_visit", "visits_total", "duration_sum", "submitted", "online")
_SHOWN = 5


def _raw_daily(postgres: bool) -> dict[tuple, tuple]:
    a = Application
    visits = (
        select(Visit.application_id, func.count(Visit.id).label("n"))
        .group_by(Visit.application_id)
        .subquery()
    )
    n = func.coalesce(visits.c.n, 0)
    done = (
        select(
            local_day_sql(postgres, a.completed_at).label("day"),
            a.item_id.label("item_id"),
            literal(1).label("completed"),
            case((n == 0, 1), else_=0).label("zero_visit"),
            n.label("visits_total"),
            func.coalesce(a.working_days, 0).label("duration_sum"),
            literal(0).label("submitted"),
            literal(0).label("online"),
        )
        .outerjoin(visits, visits.c.application_id == a.id)
        .where(a.state.in_(COMPLETED_VALUES), a.completed_at.is_not(None))
    )
    submitted = select(
        local_day_sql(postgres, a.submitted_at).label("day"),
        a.item_id.label("item_id"),
        *(literal(0).label(m) for m in CHECKED[:4]),
        literal(1).label("submitted"),
        case((a.channel == Channel.ONLINE.value, 1), else_=0).label("online"),
    ).where(a.submitted_at.is_not(None))
    rows = union_all(done, submitted).subquery()
    stmt = select(rows.c.day, rows.c.item_id, *(func.sum(rows.c[m]) for m in CHECKED)).group_by(
        rows.c.day, rows.c.item_id
    )
    return {(_day(r[0]), r[1]): tuple(int(x or 0) for x in r[2:]) for r in db.session.execute(stmt)}


def _day(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]


def _rolled_daily() -> dict[tuple, tuple]:
    d = StatsDaily
    stmt = select(d.day, d.item_id, *(func.sum(getattr(d, m)) for m in CHECKED)).group_by(d.day, d.item_id)
    return {
        (_day(r[0]), r[1]): tuple(int(x or 0) for x in r[2:]) for r in db.session.execute(stmt) if any(r[2:])
    }


def _monthly_mismatches(postgres: bool) -> list[tuple]:
    d, m = StatsDaily.__table__, StatsMonthly.__table__
    month = (
        cast(func.date_trunc("month", d.c.day), Date) if postgres else func.date(d.c.day, "start of month")
    )
    daily = {
        (_day(r[0]), r[1]): tuple(int(x or 0) for x in r[2:])
        for r in db.session.execute(
            select(month, d.c.item_id, *(func.sum(d.c[x]) for x in MEASURES)).group_by(month, d.c.item_id)
        )
    }
    monthly = {
        (_day(r[0]), r[1]): tuple(int(x or 0) for x in r[2:])
        for r in db.session.execute(
            select(m.c.month, m.c.item_id, *(func.sum(m.c[x]) for x in MEASURES)).group_by(
                m.c.month, m.c.item_id
            )
        )
    }
    return sorted(k for k in daily.keys() | monthly.keys() if daily.get(k) != monthly.get(k))


def check_rollups(dry_run: bool) -> dict[str, int]:
    postgres = db.session.get_bind().dialect.name == "postgresql"
    raw, rolled = _raw_daily(postgres), _rolled_daily()
    days = sorted(k for k in raw.keys() | rolled.keys() if raw.get(k) != rolled.get(k))
    months = _monthly_mismatches(postgres)
    counts = {
        "slices": len(raw),
        "mismatched_days": len(days),
        "mismatched_months": len(months),
        "repaired": 0,
    }
    if not days and not months:
        return counts
    log.error(
        "statistics roll-ups differ from the raw tables: %d (day, item) and %d (month, item) slice(s), "
        "e.g. %s",
        len(days),
        len(months),
        ", ".join(f"{day}/item {item}" for day, item in (days + months)[:_SHOWN]),
        extra={"days": [list(k) for k in days[:_SHOWN]], "months": [list(k) for k in months[:_SHOWN]]},
    )
    if current_app.config.get("STATS_CHECK_REPAIR", True) and not dry_run:
        rebuild(db.session.connection())
        counts["repaired"] = 1
    raise JobFailed(f"roll-ups differ: {len(days)} day slice(s), {len(months)} month slice(s)", counts)
