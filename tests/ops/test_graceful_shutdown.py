"""SIGTERM to gunicorn's master drains: a request in flight when the signal arrives still gets its whole
answer, and gunicorn exits cleanly (issue 18 item 8; ``graceful_timeout`` in gunicorn.conf.py). The
same run checks that the workers share their metrics through ``PROMETHEUS_MULTIPROC_DIR``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEST_CONFIG

pytestmark = pytest.mark.chaos


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 10) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
        return response.status, response.read().decode()


@pytest.fixture(scope="module")
def served(database_template, tmp_path_factory):
    """gunicorn (one worker, this repository's gunicorn.conf.py) on a SQLite copy of the test database,
    started once for the module (its start-up is most of the time): the SIGTERM test runs last."""
    tmp_path = tmp_path_factory.mktemp("served")
    template = database_template.get("template") or ROOT / "no-template"
    if not template.exists():  # PostgreSQL run: migrate a SQLite file of its own
        from tests.conftest import _migrate

        template = tmp_path / "template.db"
        _migrate(f"sqlite:///{template}", tmp_path)
    shutil.copy(template, tmp_path / "portal.db")
    database_url = f"sqlite:///{tmp_path / 'portal.db'}"
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "graceful-test-key",
        "MASTER_KEY": TEST_CONFIG["MASTER_KEY"],
        "LOG_LEVEL": "WARNING",
        "PAGE_MICROCACHE": "0",
        "SLOW_MARKER": str(tmp_path / "in-flight"),
        "SLOW_SECONDS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    proc = subprocess.Popen(
        [
            gunicorn,
            "--config",
            "gunicorn.conf.py",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",  # one shared ~/.gunicorn/gunicorn.ctl would clash between parallel runs
            "tests.ops.slow_wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if _get(f"{base}/healthz", timeout=1)[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"gunicorn did not start:\n{proc.communicate()[0]}")
        time.sleep(0.1)
    yield type(
        "Served",
        (),
        {"url": base, "proc": proc, "marker": Path(env["SLOW_MARKER"]), "metrics_dir": metrics_dir},
    )()
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def test_workers_write_shared_metrics_and_metrics_answer_on_loopback(served):
    assert _get(f"{served.url}/healthz")[0] == 200
    status, body = _get(f"{served.url}/metrics")
    assert status == 200
    assert 'flask_http_request_duration_seconds_count{method="GET",status="200",url_rule="/healthz"}' in body
    assert list(served.metrics_dir.glob("*.db"))  # multiprocess mode: the values live in files


def test_sigterm_lets_the_request_in_flight_finish(served):
    answer: dict = {}

    def slow_request():
        try:
            answer["status"], answer["body"] = _get(f"{served.url}/_test/slow")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            answer["error"] = repr(exc)

    client = threading.Thread(target=slow_request)
    client.start()
    deadline = time.monotonic() + 10
    while not served.marker.exists():  # the worker is inside the slow view
        assert time.monotonic() < deadline, "the slow request never reached the view"
        time.sleep(0.02)
    served.proc.send_signal(signal.SIGTERM)
    client.join(15)
    output = served.proc.communicate(timeout=15)[0]
    assert answer == {"status": 200, "body": "finished after the signal"}, output
    assert served.proc.returncode == 0, output
    assert "Handling signal: term" in output  # gunicorn's own log line …
    assert '"levelname": "INFO", "name": "gunicorn.error"' in output  # … written as JSON
