"""Background jobs: the Huey instance, the outbox delivery task and the ``flask notify`` commands.

Huey stores its queue in ``<instance>/huey.db`` (SqliteHuey), or in Redis when ``REDIS_URL`` is set;
both are read from the environment at import, like :mod:`core.config`, because task decorators need
the instance before any app exists. Under ``app.testing`` :func:`register_cli` switches Huey to
immediate mode (tasks run inline, in memory).

Outbox delivery runs in either of two ways, safe side by side because every message is claimed
atomically (:mod:`applications.notify`):

- ``flask notify worker`` — what ``make run`` starts beside gunicorn: a plain loop calling
  :func:`~applications.notify.deliver_pending` every 5 seconds until SIGTERM/SIGINT. The outbox table
  already is a durable queue; routing it through Huey's queue too would add a second copy of the same
  state, and Huey's scheduler only fires periodic tasks once a minute.
- ``huey_consumer applications.tasks.huey`` — Huey's consumer runs :func:`deliver_outbox` once a minute
  (the resolution of Huey's scheduler), plus any Huey task added later.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flask import current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey, crontab

from applications.notify import DEFAULT_MAX_ATTEMPTS, Gateway, deliver_pending, get_gateway, requeue_failed
from core.config import instance_dir
from core.db import db

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

WORKER_INTERVAL = 5.0
_MAX_ERROR_PAUSE = 300.0


def _make_huey() -> Huey:
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return RedisHuey("portal", url=redis_url)
    return SqliteHuey("portal", filename=str(instance_dir() / "huey.db"))


huey = _make_huey()


@functools.cache
def _standalone_app() -> Flask:
    """The app for tasks run by ``huey_consumer`` (outside any Flask command)."""
    from core.factory import create_app

    return create_app()


@contextlib.contextmanager
def _app_context() -> Iterator[Flask]:
    if has_app_context():
        yield current_app._get_current_object()  # type: ignore[attr-defined]
        return
    app = _standalone_app()
    with app.app_context():
        yield app


@huey.periodic_task(crontab(minute="*"), name="notify.deliver_outbox")
def deliver_outbox() -> None:
    """Deliver the due outbox messages (one pass of :func:`~applications.notify.deliver_pending`)."""
    with _app_context() as app:
        counts = deliver_pending(get_gateway(app))
    if any(counts.values()):
        log.info("outbox delivery: %s", counts)


def run_worker(
    gateway: Gateway,
    *,
    stop: threading.Event,
    interval: float = WORKER_INTERVAL,
    batch: int = 100,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> None:
    """Deliver the outbox until ``stop`` is set; needs an app context.

    A pass every ``interval`` seconds, or straight away again when a pass filled its batch. A failing
    pass (database unreachable, a bug) is logged and the loop carries on, pausing longer after each
    consecutive failure (up to 5 minutes). The session is removed after every pass, so a long-running
    worker holds no connection or stale objects between passes. ``stop`` is also checked between
    messages: shutdown waits for at most the SMS being sent.
    """
    failures = 0
    while not stop.is_set():
        counts: dict[str, int] | None = None
        try:
            counts = deliver_pending(gateway, batch=batch, max_attempts=max_attempts, should_stop=stop.is_set)
            failures = 0
        except Exception:
            failures += 1
            log.exception("outbox delivery pass failed (%d in a row)", failures)
        finally:
            db.session.remove()
        if counts and any(counts.values()):
            log.info("outbox delivery: %s", counts)
        if counts is not None and sum(counts.values()) >= batch:
            continue
        pause = interval if failures == 0 else min(interval * 2**failures, _MAX_ERROR_PAUSE)
        stop.wait(pause)


def register_cli(app: Flask) -> None:
    """Add ``flask notify deliver|worker|requeue`` to ``app``; under ``app.testing`` make Huey run tasks
    immediately."""
    import click
    from flask.cli import AppGroup

    if app.testing:
        huey.immediate = True

    group = AppGroup("notify", help="通知投递（短信与站内消息）")
    batch_option = click.option(
        "--batch", type=click.IntRange(min=1), default=100, show_default=True, help="每轮最多处理的消息数"
    )
    attempts_option = click.option(
        "--max-attempts",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_ATTEMPTS,
        show_default=True,
        help="失败多少次后停止重试（消息保留）",
    )

    @group.command("deliver")
    @batch_option
    @attempts_option
    def deliver(batch: int, max_attempts: int) -> None:
        """Deliver the due messages once and print the counts."""
        counts = deliver_pending(get_gateway(current_app), batch=batch, max_attempts=max_attempts)
        click.echo(" ".join(f"{key}={value}" for key, value in counts.items()))

    @group.command("worker")
    @click.option(
        "--interval",
        type=click.FloatRange(min=0.1),
        default=WORKER_INTERVAL,
        show_default=True,
        help="两轮投递之间的秒数",
    )
    @batch_option
    @attempts_option
    def worker(interval: float, batch: int, max_attempts: int) -> None:
        """Deliver the outbox every few seconds until SIGTERM or SIGINT (Ctrl-C)."""
        stop = threading.Event()

        def _stop(signum: int, _frame: object) -> None:
            # Event.set() takes a lock the interrupted main thread may be holding (inside
            # Event.wait), so set it from another thread. A second signal kills at once.
            signal.signal(signum, signal.SIG_DFL)
            threading.Thread(target=stop.set, name="notify-stop", daemon=True).start()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        gateway = get_gateway(current_app)
        log.info("notify worker started, every %.1f s", interval)
        run_worker(gateway, stop=stop, interval=interval, batch=batch, max_attempts=max_attempts)
        log.info("notify worker stopped")

    @group.command("requeue")
    @click.option("--id", "ids", type=int, multiple=True, help="只重新投递这些消息（可重复）")
    @attempts_option
    def requeue(ids: tuple[int, ...], max_attempts: int) -> None:
        """Make messages that gave up after max attempts due again."""
        count = requeue_failed(ids or None, max_attempts=max_attempts)
        db.session.commit()
        click.echo(f"requeued {count} message(s)")

    app.cli.add_command(group)
