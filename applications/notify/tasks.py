"""The background worker and the ``flask notify`` commands.

One job mechanism: ``flask notify worker`` — what ``make run`` starts beside gunicorn — is a plain loop
calling :func:`~core.outbox.deliver_pending` every 5 seconds until SIGTERM/SIGINT, in
the flask CLI's app context; once a minute the same loop runs the scheduled jobs that are due
(:func:`core.jobs.run_due`: the sweeper, reminders, the statistics check, retention), each at most
once per period however many workers run. The outbox table already is the durable queue (claimed
atomically, so several workers are safe side by side); the Huey consumer that used to run the same
delivery once a minute was a second path to the same state and is gone, with its dependency.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from typing import TYPE_CHECKING

from flask import current_app

from core import audit
from core.db import db
from core.jobs import run_due
from core.masking import mask_mobile
from core.outbox import (
    DEFAULT_MAX_ATTEMPTS,
    ExchangeGateway,
    Gateway,
    deliver_pending,
    get_exchange_gateway,
    get_gateway,
    held_messages,
    reclaim_leases,
    release_held,
    requeue_failed,
)
from core.preflight import problems
from core.transaction import commit

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

WORKER_INTERVAL = 5.0
#: How often the worker looks for due scheduled jobs.
JOBS_INTERVAL = 60.0
#: Message kinds that carry an SMS code (auth.verification: valid for 5 minutes, useless after a restore).
CODE_KINDS = "code_"
_MAX_ERROR_PAUSE = 300.0


def run_worker(
    gateway: Gateway,
    *,
    stop: threading.Event,
    name: str | None = None,
    interval: float = WORKER_INTERVAL,
    batch: int = 100,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    jobs: bool = False,
    jobs_interval: float = JOBS_INTERVAL,
    exchange: ExchangeGateway | None = None,
) -> None:
    """Deliver the outbox until ``stop`` is set; needs an app context. With ``jobs``, also run the
    scheduled jobs that are due, at most every ``jobs_interval`` seconds (after a delivery pass).
    With ``exchange``, the 一件事 exchange messages to other departments are delivered too.

    A pass every ``interval`` seconds, or straight away again when a pass filled its batch. A failing
    pass (database unreachable, a bug) is logged and the loop carries on, pausing longer after each
    consecutive failure (up to 5 minutes). The session is removed after every pass, so a long-running
    worker holds no connection or stale objects between passes. ``stop`` is also checked between
    messages: shutdown waits for at most the SMS being sent.
    """
    failures = 0
    next_jobs = 0.0
    while not stop.is_set():
        if jobs and time.monotonic() >= next_jobs:
            next_jobs = time.monotonic() + jobs_interval
            try:
                run_due(worker=name or "", should_stop=stop.is_set)
            except Exception:
                log.exception("scheduled jobs pass failed")
            finally:
                db.session.remove()
        counts: dict[str, int] | None = None
        try:
            counts = deliver_pending(
                gateway,
                worker=name,
                batch=batch,
                max_attempts=max_attempts,
                should_stop=stop.is_set,
                exchange=exchange,
            )
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
    """Add ``flask notify deliver|worker|requeue|release-restored`` to ``app``."""
    import click
    from flask.cli import AppGroup

    group = AppGroup("notify", help="通知投递（短信、站内消息与一件事的部门推送）")
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
        counts = deliver_pending(
            get_gateway(current_app),
            batch=batch,
            max_attempts=max_attempts,
            exchange=get_exchange_gateway(current_app),
        )
        click.echo(" ".join(f"{key}={value}" for key, value in counts.items()))

    @group.command("worker")
    @click.option(
        "--interval",
        type=click.FloatRange(min=0.1),
        default=WORKER_INTERVAL,
        show_default=True,
        help="两轮投递之间的秒数",
    )
    @click.option(
        "--name",
        default=lambda: socket.gethostname(),
        show_default="this machine's name",
        help="工作进程名：重启后立即收回本进程未完成的投递（同一台机器只运行一个时用默认值）",
    )
    @click.option("--no-jobs", is_flag=True, help="只投递消息，不运行定时任务（另有进程运行定时任务时）")
    @batch_option
    @attempts_option
    def worker(interval: float, name: str, no_jobs: bool, batch: int, max_attempts: int) -> None:
        """Deliver the outbox every few seconds and run the scheduled jobs, until SIGTERM or SIGINT."""
        stop = threading.Event()

        def _stop(signum: int, _frame: object) -> None:
            # Event.set() takes a lock the interrupted main thread may be holding (inside
            # Event.wait), so set it from another thread. A second signal kills at once.
            signal.signal(signum, signal.SIG_DFL)
            threading.Thread(target=stop.set, name="notify-stop", daemon=True).start()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        refused = [p for p in problems(current_app) if p.startswith("MASTER_KEY")]
        if refused:  # the messages' numbers are encrypted: never start without the key
            raise click.ClickException("; ".join(refused))
        gateway = get_gateway(current_app)
        reclaimed = reclaim_leases(name)
        log.info(
            "notify worker %s started, every %.1f s; %d unfinished lease(s) taken back",
            name,
            interval,
            reclaimed,
        )
        run_worker(
            gateway,
            stop=stop,
            name=name,
            interval=interval,
            batch=batch,
            max_attempts=max_attempts,
            jobs=not no_jobs,
            exchange=get_exchange_gateway(current_app),
        )
        log.info("notify worker stopped")

    @group.command("requeue")
    @click.option("--id", "ids", type=int, multiple=True, help="只重新投递这些消息（可重复）")
    @attempts_option
    def requeue(ids: tuple[int, ...], max_attempts: int) -> None:
        """Make messages that gave up after max attempts due again."""
        count = requeue_failed(ids or None, max_attempts=max_attempts)
        commit()
        click.echo(f"requeued {count} message(s)")

    @group.command("release-restored")
    @click.option("--id", "ids", type=int, multiple=True, help="只放行这些消息（可重复）")
    @click.option("--list", "list_only", is_flag=True, help="只列出被扣住的消息，不放行")
    def release_restored(ids: tuple[int, ...], list_only: bool) -> None:
        """Send the messages a restore held (unsent when the backup was made; see README)."""
        if list_only:
            for msg in held_messages(ids or None):
                to = mask_mobile(msg.to_mobile) if msg.to_mobile else f"user {msg.user_id}"
                click.echo(f"{msg.id}\t{msg.created_at:%Y-%m-%d %H:%M}Z\t{msg.kind}\t{to}\t{msg.title}")
            db.session.rollback()
            return
        chosen: list[int] | None = list(ids) or None
        stale_codes = 0
        if chosen is None:  # all of them but the SMS codes: they expired minutes after they were made
            held = held_messages()
            chosen = [m.id for m in held if not m.kind.startswith(CODE_KINDS)]
            stale_codes = len(held) - len(chosen)
        count = release_held(chosen)
        audit.record(
            "outbox.released_after_restore",
            object_type="outbox",
            details={"count": count, "ids": list(ids) or "all", "codes_left_held": stale_codes},
            actor=None,
        )
        commit()
        click.echo(f"released {count} held message(s): the worker sends them on its next pass")
        if stale_codes:
            click.echo(f"{stale_codes} SMS verification code(s) left held: they expired long ago")

    app.cli.add_command(group)
