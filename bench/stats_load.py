"""Scoreboard speed at scale: every grouping over several periods on a generated PostgreSQL database.

``python -m bench --only stats --rows 1000000`` generates the rows (bench/generate.py), then times
applications.stats.metrics.compute in-process for by = month, category, unit, item over the last
30 days, the last year and the last two years, several runs each, and prints p50/p95 (target: any
grouping over any period p95 ≤ 200 ms).
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import date, timedelta


def run(database_url: str, *, repeats: int = 3, log=print) -> dict:
    os.environ["DATABASE_URL"] = database_url
    from applications.stats import metrics
    from core.factory import create_app

    app = create_app({"LOG_LEVEL": "WARNING"})
    today = date.today()
    periods = {
        "30 days": metrics.Period(today - timedelta(days=30), today),
        "1 year": metrics.Period(today - timedelta(days=365), today),
        "2 years": metrics.Period(today - timedelta(days=730), today),
    }
    timings: dict[str, list[float]] = {}
    with app.app_context():
        for label, period in periods.items():
            for by in ("month", "category", "unit", "item"):
                runs = []
                for _ in range(repeats):
                    t = time.perf_counter()
                    stats = metrics.compute(period, by)
                    runs.append((time.perf_counter() - t) * 1000)
                timings[f"{by} × {label}"] = runs
                log(
                    f"  {by:9} × {label:8}: {statistics.median(runs):8.0f} ms median of {repeats} "
                    f"({stats.totals.completed:,} completed)"
                )
    every = sorted(t for runs in timings.values() for t in runs)
    p95 = every[min(len(every) - 1, int(len(every) * 0.95))]
    log(
        f"stats: p50 {statistics.median(every):.0f} ms, p95 {p95:.0f} ms over {len(every)} computations "
        "(target p95 ≤ 200 ms)"
    )
    return {"p50_ms": statistics.median(every), "p95_ms": p95, "timings": timings}
