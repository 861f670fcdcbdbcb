"""`python -m bench --only spy-loggedin`: where a logged-in page's time goes in a gunicorn worker under wrk.

``profile-loggedin`` (cProfile through Flask's test client, in one process) shows the portal's own
functions but neither gunicorn nor what the multiprocess Prometheus client, the access log or the
socket cost in a worker. This part serves the same data with gunicorn (one sync worker, the repository's
``gunicorn.conf.py``, the access log on as in the ``loggedin`` part), drives each logged-in page with wrk
and samples the worker with py-spy (a sampling profiler: it reads the worker's stacks from outside,
without slowing the code it measures much). Each line of the report is a function and the share of
the worker's request handling (``SyncWorker.handle``) spent in it or below it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from bench.http import BIN, free_port, gunicorn, stop, wait_for, wrk_run

HANDLE = "SyncWorker.handle"
_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>.*?)(?::\d+)?\)$")
_SITE = re.compile(r"^.*/(?:site-packages|lib/python3\.\d+)/")
_REPO = str(Path(__file__).resolve().parent.parent) + "/"


def frame_label(frame: str) -> str:
    """``Flask.wsgi_app (/…/site-packages/flask/app.py:1479)`` → ``Flask.wsgi_app (flask/app.py)``:
    one label per function, whatever line the sample stood on, with the install prefix dropped."""
    m = _FRAME.match(frame.strip())
    if m is None:
        return frame.strip()
    file = _SITE.sub("", m.group("file").removeprefix(_REPO))
    return f"{m.group('name')} ({file})"


def shares(raw_lines: Iterable[str], root: str = HANDLE) -> tuple[int, list[tuple[str, float]]]:
    """From py-spy's ``--format raw`` lines (``frame;frame;… count``): how many samples fell under a frame
    named ``root``, and each function's share of those samples (counted once per sample however often it
    recurs in the stack), largest first. Samples outside ``root`` (the worker waiting for a connection)
    are left out."""
    under: Counter[str] = Counter()
    total = 0
    for line in raw_lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        labels = [frame_label(f) for f in stack.split(";")]
        at = next((k for k, label in enumerate(labels) if label.split(" (", 1)[0] == root), None)
        if at is None:
            continue
        n = int(count)
        total += n
        for label in dict.fromkeys(labels[at + 1 :]):
            under[label] += n
    if not total:
        return 0, []
    return total, [(label, n / total) for label, n in under.most_common()]


def run(seconds: int = 6, top: int = 30, log=print) -> None:
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(spy).exists() or shutil.which("wrk") is None:
        log("py-spy or wrk not found (make dev-venv; apt-get install wrk): skipping spy-loggedin")
        return
    from auth.cli import DEMO_PASSWORD
    from bench.http import bench_env
    from bench.loggedin import browser, fetch, login, prepare, worker_pids

    work = Path(tempfile.mkdtemp(prefix="bench-spy-"))
    env = bench_env(work)
    picked = prepare(env)
    pages = [
        ("citizen", "item page", "/items/LJ-CR-001"),
        ("citizen", "我的办件", "/me/applications"),
        ("citizen", "application", f"/applications/{picked['application']}"),
        ("clerk", "clerk queue", "/clerk/"),
    ]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    portal = gunicorn("wsgi:app", port, env, workers=1)
    try:
        wait_for(f"{base}/healthz")
        workers = worker_pids(portal.pid)
        if not workers:
            raise RuntimeError("gunicorn started no worker")
        worker = workers[0]
        for who, name, path in pages:
            cookie = login(base, picked[who], DEMO_PASSWORD)  # afresh: a clerk's idle stamp is recent
            for _ in range(30):
                fetch(base + path, cookie)
            out = work / f"spy-{path.strip('/').replace('/', '_')}.txt"
            record = ["record", "--pid", str(worker), "--duration", str(seconds + 1), "--rate", "250"]
            sampler = subprocess.Popen(
                [spy, *record, "--format", "raw", "--nonblocking", "-o", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                rps, _served = wrk_run(base + path, seconds, 4, browser(cookie))
            finally:
                sampler.wait(timeout=seconds + 30)
            if sampler.returncode or not out.exists():
                log(f"py-spy could not sample the worker (exit {sampler.returncode}; it needs ptrace)")
                return
            samples, rows = shares(out.read_text().splitlines())
            log(f"\n=== {name} {path}: {rps:,.0f} req/s in one worker; {samples} samples in {HANDLE}")
            for label, share in rows[:top]:
                log(f"{share * 100:5.1f}%  {label}")
    finally:
        stop(portal)
        shutil.rmtree(work, ignore_errors=True)
