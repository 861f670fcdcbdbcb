"""统计分析: the reform's numbers (DESIGN §4) — dashboard, drill-down, 改革清单, exports, the public page
and ``GET /api/v1/stats``. One module (:mod:`applications.stats.metrics`) computes every figure."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext


def init_stats(app: Flask) -> None:
    """Register the statistics pages, the JSON endpoint and their navigation links
    (公开数据 for everybody; 统计分析 for unit leads, admins and auditors)."""
    from applications.stats import models as _models  # noqa: F401 - registers the roll-up tables
    from applications.stats import rollup, views
    from core.nav import add_nav
    from core.transaction import add_commit_step

    add_commit_step(app, rollup.refresh_marked)
    app.cli.add_command(stats_cli)
    app.register_blueprint(views.bp)
    app.register_blueprint(views.api_bp)
    from applications.stats.bundle_views import init_bundle_stats

    init_bundle_stats(app)  # 一件事 figures: /stats/bundles and /api/v1/stats/bundles
    add_nav(app, "stats.public", views.NAV_PUBLIC)
    add_nav(app, "stats.dashboard", views.NAV_STAFF, roles=set(views.STAFF_ROLES))


@click.group("stats", help="统计: the roll-up tables behind the scoreboard.")
def stats_cli() -> None:
    pass


@stats_cli.command("rebuild")
@click.option("--skip-working-days", is_flag=True, help="Keep the stored working-day durations.")
@with_appcontext
def rebuild_command(skip_working_days: bool) -> None:
    """Recompute every working-day duration and every daily and monthly roll-up row from the
    applications table, in one transaction (after a bulk load, or to repair)."""
    import time

    from applications.stats import rollup
    from core.db import db
    from core.transaction import commit

    started = time.perf_counter()
    figures = rollup.rebuild(db.session.connection(), working_days=not skip_working_days)
    commit()
    click.echo(
        "roll-ups rebuilt in {:.1f} s: {daily_rows} daily rows, {monthly_rows} monthly rows, "
        "{reason_rows} reason rows, {working_days_changed} durations changed".format(
            time.perf_counter() - started, **figures
        )
    )
