"""Scoreboard speed at scale: every grouping over any period on a generated PostgreSQL database.

    python -m bench --only stats --rows 1000000        # generate, then measure
    python -m bench.stats_load --database-url URL      # measure a database bench.generate filled

Times applications.stats.metrics.compute in-process for by = none, month, category, unit, item over
fixed periods (the last 30 days, year and two years) and random ones (any start, any length, so most
begin and end mid-month), for everybody and for one unit lead's units, and the JSON endpoint
``GET /api/v1/stats`` through the Flask test client; prints p50/p95 (target: any grouping over any
period p95 ≤ 200 ms), and the 改革清单 and drill-downs over the same periods. Then it checks the
figures against the raw table: the two-year totals of the roll-ups (completed, zero-visit, duration,
rated and satisfied) must equal a plain-SQL count over the applications and their ratings.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import date, timedelta

GROUPINGS = ("none", "month", "category", "unit", "item")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def run(database_url: str, *, random_periods: int = 12, log=print, seed: int = 1) -> dict:
    os.environ["DATABASE_URL"] = database_url
    from bench.generate import use_bench_master_key

    use_bench_master_key()
    from sqlalchemy import select, text

    from applications.stats import metrics
    from auth.models import Unit
    from core.db import db
    from portal import create_app

    app = create_app({"LOG_LEVEL": "WARNING", "RATELIMIT_ENABLED": False})
    rng = random.Random(seed)
    today = date.today()
    periods = {
        "30 days": metrics.Period(today - timedelta(days=30), today),
        "1 year": metrics.Period(today - timedelta(days=365), today),
        "2 years": metrics.Period(today - timedelta(days=730), today),
    }
    for i in range(random_periods):
        start = today - timedelta(days=rng.randrange(0, 730))
        end = min(today, start + timedelta(days=rng.randrange(0, 400)))
        periods[f"random {i + 1}"] = metrics.Period(start, end)
    timings: dict[str, list[float]] = {}
    with app.app_context():
        unit_ids = frozenset(db.session.scalars(select(Unit.id).order_by(Unit.id).limit(2)))
        for period in periods.values():
            for visibility, who in ((None, "all"), (unit_ids, "lead")):
                for by in GROUPINGS:
                    t = time.perf_counter()
                    metrics.compute(period, by, visibility)
                    timings.setdefault(f"{by} × {who}", []).append((time.perf_counter() - t) * 1000)
                    db.session.rollback()
        for name, runs in timings.items():
            log(
                f"  {name:16}: p50 {statistics.median(runs):6.1f} ms, max {max(runs):6.1f} ms "
                f"({len(runs)} periods)"
            )
        every = [t for runs in timings.values() for t in runs]

        # the 改革清单 and drill-downs (the lists behind a number) over the same periods
        reform: list[float] = []
        drill: list[float] = []
        for period in periods.values():
            t = time.perf_counter()
            metrics.reform_list(period)
            reform.append((time.perf_counter() - t) * 1000)
            for metric in ("zero_visit", "late", "online", "bad_rating"):
                t = time.perf_counter()
                metrics.drill_down(metric, "all", period)
                drill.append((time.perf_counter() - t) * 1000)
            db.session.rollback()

        # the JSON endpoint, public groupings, each period once (a fresh period each time: no cache)
        client = app.test_client()
        api: list[float] = []
        for period in periods.values():
            for by in ("category", "month"):
                t = time.perf_counter()
                response = client.get(
                    f"/api/v1/stats?from={period.start}&to={period.end}&by={by}",
                    headers={"Accept": "application/json"},
                )
                api.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, response.status_code

        # true to the raw table: two years of totals
        two = periods["2 years"]
        totals = metrics.compute(two).totals
        raw = db.session.execute(
            text(
                """SELECT COUNT(*), SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM visits v
                                         WHERE v.application_id = a.id) THEN 1 ELSE 0 END),
                          SUM(COALESCE(a.working_days, 0)),
                          COUNT(r.id), COUNT(r.id) FILTER (WHERE r.level >= 4)
                   FROM applications a LEFT JOIN ratings r ON r.application_id = a.id
                   WHERE a.state IN ('approved', 'refused', 'delivered')
                   AND a.completed_at >= :lo AND a.completed_at < :hi"""
            ),
            {"lo": two.lower, "hi": two.upper},
        ).one()
        ours = (totals.completed, totals.zero_visit, totals.duration_sum, totals.rated, totals.satisfied)
        same = ours == tuple(int(x or 0) for x in raw)
    log(
        f"stats: compute p50 {statistics.median(every):.1f} ms, p95 {_p95(every):.1f} ms, max "
        f"{max(every):.1f} ms over {len(every)} computations ({len(periods)} periods × 5 groupings × "
        f"everybody/unit lead); GET /api/v1/stats p50 {statistics.median(api):.1f} ms, p95 {_p95(api):.1f} "
        f"ms (target p95 ≤ 200 ms)"
    )
    log(
        f"stats: 改革清单 p50 {statistics.median(reform):.1f} ms, p95 {_p95(reform):.1f} ms; drill-downs "
        f"(500 rows + total) p50 {statistics.median(drill):.1f} ms, p95 {_p95(drill):.1f} ms"
    )
    log(
        f"stats: two-year totals {totals.completed:,} completed, {totals.zero_visit:,} zero-visit, "
        f"{totals.rated:,} rated ({totals.satisfied:,} satisfied) — "
        + ("equal to the raw-table SQL" if same else f"DIFFERENT from the raw-table SQL {tuple(raw)}")
    )
    if not same:
        raise SystemExit("the roll-ups disagree with the applications table")
    return {
        "p50_ms": statistics.median(every),
        "p95_ms": _p95(every),
        "api_p95_ms": _p95(api),
        "reform_p95_ms": _p95(reform),
        "drill_p95_ms": _p95(drill),
        "timings": timings,
        "completed": totals.completed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--random-periods", type=int, default=12)
    args = parser.parse_args()
    run(args.database_url, random_periods=args.random_periods)


if __name__ == "__main__":
    main()
