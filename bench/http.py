"""What the HTTP parts of `make bench` share: a gunicorn on a free loopback port, wrk, and the
environment of a scratch instance."""

from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start")


def gunicorn(app: str, port: int, env: dict, workers: int = 2) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            "/dev/null",
            app,
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def wrk_run(
    url: str, seconds: int, connections: int, headers: dict[str, str] | None = None
) -> tuple[float, int]:
    """(requests per second, requests served) of ``seconds`` of wrk at ``url``; any non-2xx fails."""
    extra = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers from {url}:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    served = re.search(r"(\d+) requests in", out)
    return (float(rps.group(1)) if rps else 0.0, int(served.group(1)) if served else 0)


def wrk(url: str, seconds: int, connections: int) -> float:
    return wrk_run(url, seconds, connections)[0]


def paired_rounds(
    measure_a: Callable[[int], tuple[float, int]],
    measure_b: Callable[[int], tuple[float, int]],
    seconds: int,
    rounds: int = 5,
) -> dict:
    """A against B (the portal and its bare baseline) in ``rounds`` short alternating runs of
    ``seconds / rounds`` (at least one second) each, the order swapped every round; each
    ``measure(seconds)`` gives (requests/s, requests served).

    On a shared machine a neighbour's burst during one long run of A and none during B's moved a
    ratio by half (0.22 and 0.11 for the same page and code, minutes apart). Short alternating runs
    put both under the same conditions, and the median of the rounds' ratios ignores a burst that
    hits one round."""
    per_round = max(1, round(seconds / rounds))
    a_rates, b_rates, ratios, served = [], [], [], 0
    for k in range(rounds):
        if k % 2 == 0:
            a, n = measure_a(per_round)
            b, _ = measure_b(per_round)
        else:
            b, _ = measure_b(per_round)
            a, n = measure_a(per_round)
        served += n
        a_rates.append(a)
        b_rates.append(b)
        ratios.append(a / b if b else 0.0)
    return {
        "a_rps": statistics.median(a_rates),
        "b_rps": statistics.median(b_rates),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "served": served,
    }


def bench_env(work: Path) -> dict[str, str]:
    """The environment of a scratch instance in ``work`` (SQLite, or BENCH_DATABASE_URL)."""
    env = {
        **os.environ,
        "INSTANCE_DIR": str(work),
        "LOG_LEVEL": "WARNING",
        "FLASK_APP": "wsgi.py",
        "RATELIMIT_ENABLED": "0",
    }
    env.pop("DATABASE_URL", None)
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    return env
