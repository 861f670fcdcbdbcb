"""``flask appointments open|no-shows``: what the scheduler runs (both idempotent)."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    import click
    from flask.cli import AppGroup

    from applications.appointments import operations as ops
    from core.transaction import commit

    group = AppGroup("appointments", help="预约：生成时段、标记未到")

    @group.command("open")
    @click.option(
        "--days", type=click.IntRange(min=1, max=366), default=30, show_default=True, help="生成未来多少天"
    )
    def open_command(days: int) -> None:
        """Materialise the slots of the next DAYS days from every unit's opening hours."""
        created = ops.open_slots(days)
        commit()
        click.echo(f"新增预约时段 {created} 个（未来 {days} 天）")

    @group.command("no-shows")
    def no_shows_command() -> None:
        """Mark the bookings of slots that ended without a check-in as 未到."""
        count = ops.mark_no_shows()
        commit()
        click.echo(f"标记未到 {count} 个预约")

    app.cli.add_command(group)
