"""``flask notify deliver|requeue|worker``, the worker loop, and the Huey task in immediate mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from applications.notify import tasks as tasks
from core.db import db
from core.outbox import deliver_pending
from tests.conftest import TEST_CONFIG

from .conftest import FailingGateway, RecordingGateway, add_messages, outbox_rows

ROOT = Path(__file__).resolve().parents[2]


def _with_cli(app):
    if "notify" not in app.cli.commands:  # until applications/__init__.py registers it
        tasks.register_cli(app)
    return app


def test_notify_deliver_prints_the_counts(app, tmp_path, citizen):
    _with_cli(app)
    with app.app_context():
        add_messages(citizen.id, 2)
        add_messages(citizen.id, 1, sms="")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["notify", "deliver"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sent=2 failed=0 skipped=1"
    log_lines = (tmp_path / "instance" / "sms.log").read_text(encoding="utf-8").splitlines()
    assert len(log_lines) == 2 and citizen.mobile not in "".join(log_lines)
    assert runner.invoke(args=["notify", "deliver"]).output.strip() == "sent=0 failed=0 skipped=0"
    with app.app_context():
        assert all(row.sent_at is not None for row in outbox_rows())


def test_notify_requeue_makes_given_up_messages_due_again(app, citizen):
    _with_cli(app)
    with app.app_context():
        (message_id,) = add_messages(citizen.id, 1)
        assert deliver_pending(FailingGateway(), max_attempts=1)["failed"] == 1
    runner = app.test_cli_runner()
    result = runner.invoke(args=["notify", "requeue", "--id", str(message_id), "--max-attempts", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "requeued 1 message(s)"
    assert runner.invoke(args=["notify", "deliver", "--max-attempts", "1"]).output.strip() == (
        "sent=1 failed=0 skipped=0"
    )


def _start_worker(app, gateway, stop, **options) -> threading.Thread:
    def run() -> None:
        with app.app_context():
            tasks.run_worker(gateway, stop=stop, **options)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_worker_loop_delivers_new_messages_and_stops_promptly(make_app, app, citizen):
    gateway, stop = RecordingGateway(), threading.Event()
    thread = _start_worker(make_app(), gateway, stop, interval=0.1, batch=3)
    with app.app_context():
        add_messages(citizen.id, 7)  # more than one batch
        assert _wait_until(lambda: len(gateway.calls) == 7)
        add_messages(citizen.id, 1, sms="后来的短信")
        assert _wait_until(lambda: len(gateway.calls) == 8)
    started = time.monotonic()
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 2
    assert len({text for _, text in gateway.calls}) == 8


def test_worker_loop_survives_a_failing_pass(make_app, app, citizen, monkeypatch, caplog):
    calls = {"n": 0}

    def flaky_pass(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return deliver_pending(*args, **kwargs)

    monkeypatch.setattr(tasks, "deliver_pending", flaky_pass)
    gateway, stop = RecordingGateway(), threading.Event()
    with app.app_context():
        add_messages(citizen.id, 1)
    thread = _start_worker(make_app(), gateway, stop, interval=0.05)
    assert _wait_until(lambda: len(gateway.calls) == 1)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert "outbox delivery pass failed" in caplog.text


def test_notify_deliver_sends_the_due_messages_once_and_prints_the_counts(app_ctx, tmp_path, citizen):
    """``flask notify deliver``: one pass, for an operator (the worker loop is the only job runner)."""
    _with_cli(app_ctx)
    add_messages(citizen.id, 1)
    result = app_ctx.test_cli_runner().invoke(args=["notify", "deliver"])
    assert result.exit_code == 0 and "sent=1" in result.output
    (row,) = outbox_rows()
    assert row.sent_at is not None
    (line,) = (tmp_path / "instance" / "sms.log").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["text"] == "【临江公安】测试短信0"
    again = app_ctx.test_cli_runner().invoke(args=["notify", "deliver"])
    assert "sent=0" in again.output
    assert len((tmp_path / "instance" / "sms.log").read_text(encoding="utf-8").splitlines()) == 1


WORKER_SCRIPT = textwrap.dedent(
    """
    from flask.cli import ScriptInfo

    from applications.notify.tasks import register_cli
    from portal import create_app

    app = create_app()
    if "notify" not in app.cli.commands:
        register_cli(app)
    args = ["notify", "worker", "--interval", "0.2"]
    app.cli.main(args=args, prog_name="flask", obj=ScriptInfo(create_app=lambda: app))
    """
)


@pytest.mark.chaos
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_worker_process_delivers_and_exits_cleanly_on_a_signal(
    app, database_url, tmp_path, citizen, stop_signal
):
    """What ``make run`` starts beside gunicorn: ``flask notify worker`` in its own process."""
    instance = tmp_path / "worker-instance"
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "FLASK_APP"}}
    env.update(
        DATABASE_URL=database_url,
        INSTANCE_DIR=str(instance),
        SECRET_KEY="test-secret-key-not-for-production",
        MASTER_KEY=TEST_CONFIG["MASTER_KEY"],
        LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
    )
    with app.app_context():
        add_messages(citizen.id, 2)
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        with app.app_context():
            delivered = _wait_until(lambda: all(r.sent_at is not None for r in outbox_rows()), timeout=30)
        assert delivered, "the worker delivered nothing"
        proc.send_signal(stop_signal)
        _out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "notify worker stopped" in err.decode()
    lines = (instance / "sms.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and citizen.mobile not in "".join(lines)
    with app.app_context():
        db.session.remove()


KILLABLE_WORKER = textwrap.dedent(
    """
    import os, time
    from flask.cli import ScriptInfo

    from core.outbox import LogFileGateway
    from portal import create_app

    send = LogFileGateway.send_sms

    def slow(self, mobile, text, *, key=""):
        send(self, mobile, text, key=key)  # accepted by the gateway ...
        time.sleep(float(os.environ["SLOW"]))  # ... and the worker may die before recording it

    LogFileGateway.send_sms = slow
    app = create_app()
    args = ["notify", "worker", "--interval", "0.1", "--name", "worker-1"]
    app.cli.main(args=args, prog_name="flask", obj=ScriptInfo(create_app=lambda: app))
    """
)


@pytest.mark.chaos
def test_a_worker_killed_mid_batch_sends_each_sms_exactly_once_and_resumes_at_once(
    app, database_url, tmp_path, citizen
):
    """kill -9 between a send and its commit: the restarted worker takes its leases back at once
    (no five-minute wait) and the gateway recognises the idempotency key, so nothing is sent twice."""
    instance = tmp_path / "worker-instance"
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "FLASK_APP"}}
    env.update(
        DATABASE_URL=database_url,
        INSTANCE_DIR=str(instance),
        SECRET_KEY="test-secret-key-not-for-production",
        MASTER_KEY=TEST_CONFIG["MASTER_KEY"],
        PYTHONPATH=str(ROOT),
    )
    with app.app_context():
        add_messages(citizen.id, 10)
    log = instance / "sms.log"

    def lines() -> list[dict]:
        return [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []

    first = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_WORKER],
        cwd=ROOT,
        env={**env, "SLOW": "0.4"},
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait_until(lambda: len(lines()) >= 3, timeout=30), "the first worker sent nothing"
        first.kill()  # SIGKILL: no cleanup, a lease left behind
        first.wait(10)
        with app.app_context():
            assert any(r.sent_at is None and r.leased_by == "worker-1" for r in outbox_rows())
        second = subprocess.Popen(
            [sys.executable, "-c", KILLABLE_WORKER],
            cwd=ROOT,
            env={**env, "SLOW": "0"},
            stderr=subprocess.DEVNULL,
        )
        try:
            with app.app_context():
                done = _wait_until(lambda: all(r.sent_at is not None for r in outbox_rows()), timeout=30)
            assert done, "the restarted worker did not finish (waiting for a lease to run out?)"
        finally:
            second.terminate()
            second.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    keys = [x["key"] for x in lines()]
    assert len(keys) == 10 and len(set(keys)) == 10  # every message once, none twice
