"""`python -m bench --only instructions`: the CPU instructions one logged-in page costs, counted by
valgrind's callgrind — the same count on a quiet host and a busy one.

The wrk ratios of the logged-in part move with the neighbours on a shared host (the same page and code
read 0.22 and 0.11 minutes apart), so a change of a few per cent cannot be seen in them. This part asks
for the same four pages as the logged-in part, from the same data and people, straight into the WSGI
app in one process (no HTTP, no gunicorn: what Flask and the portal do per request), as a browser that
logged in through the form and keeps its cookie and User-Agent. callgrind counts only inside the
measured loop (``--toggle-collect`` on the C function that runs it), after a warm-up; the figure is
instructions per request. Run it before and after a change: the counts compare, the seconds do not
(valgrind runs the code about fifty times slower). Not part of `make bench` (about two minutes a page).
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.http import ROOT

#: callgrind counts between entering and leaving this C function: the loop runs inside it.
TOGGLE = "functools_reduce"
WARM_REQUESTS = 30
COUNTED_REQUESTS = 20
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def page_driver(app, identifier: str, password: str, path: str) -> Callable[[], bytes]:
    """A function that asks ``app`` for ``path`` once, as the browser that has just logged in as
    ``identifier`` (through the form, then one page) and keeps its cookie and User-Agent, taking a new
    cookie when one is sent. It fails on any answer but 200, and when two answers in a row send a new
    session cookie (the page would sign one on every request, work a browser does not cause)."""
    from werkzeug.test import EnvironBuilder

    from bench.loggedin import USER_AGENT, browser
    from bench.profile_loggedin import login_client

    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    login_client(client, identifier, password)
    client.get(path)  # the first page after login may still add to the session (its CSRF token)
    cookie = "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())
    environ = EnvironBuilder(
        path=path, headers=browser(cookie), environ_base={"REMOTE_ADDR": "127.0.0.1"}
    ).get_environ()
    session_cookie = app.config["SESSION_COOKIE_NAME"] + "="
    old_cookie = re.compile(re.escape(session_cookie) + "[^;]*")

    renewed = [False]  # the last answer sent a new session cookie

    def ask() -> bytes:
        seen: list = []
        env = dict(environ, **{"wsgi.input": io.BytesIO(b"")})
        body = b"".join(app(env, lambda status, headers, exc_info=None: seen.extend((status, headers))))
        if not seen[0].startswith("200"):
            raise RuntimeError(f"{path} answered {seen[0]}")
        cookies = [v for k, v in seen[1] if k == "Set-Cookie"]
        new = [v.split(";", 1)[0] for v in cookies if v.startswith(session_cookie)]
        if new and renewed[0]:
            raise RuntimeError(f"{path} sent a new session cookie on every request")
        if new:  # e.g. a clerk's idle stamp, renewed every 30 s: the browser keeps the new cookie
            environ["HTTP_COOKIE"] = old_cookie.sub(new[0], environ["HTTP_COOKIE"])
        renewed[0] = bool(new)
        return body

    return ask


def collected(callgrind_output: str) -> int | None:
    """The instruction count callgrind prints at exit (``==pid== Collected : N``), or None."""
    m = _COLLECTED.search(callgrind_output)
    return int(m.group(1)) if m else None


def _count(env: dict, who: str, path: str, out: Path) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--collect-atstart=no",
        f"--toggle-collect={TOGGLE}",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "bench.instructions",
        who,
        path,
    ]
    run = subprocess.run(
        command, cwd=ROOT, env={**env, "PYTHONHASHSEED": "0"}, capture_output=True, text=True
    )
    count = collected(run.stderr)
    if run.returncode or count is None:
        raise RuntimeError(f"callgrind of {path} failed:\n{run.stderr[-2000:]}")
    return count


def run(log=print) -> list[tuple[str, str, float]]:
    """Count each logged-in page (two at a time) and print instructions per request."""
    if shutil.which("valgrind") is None:
        log("valgrind not found (apt-get install valgrind): skipping instructions")
        return []
    from bench.http import bench_env
    from bench.loggedin import prepare

    work = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    try:
        env = bench_env(work)
        picked = prepare(env)
        pages = [
            ("item page", picked["citizen"], "/items/LJ-CR-001"),
            ("我的办件", picked["citizen"], "/me/applications"),
            ("application", picked["citizen"], f"/applications/{picked['application']}"),
            ("clerk queue", picked["clerk"], "/clerk/"),
        ]
        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = list(
                pool.map(
                    lambda k: _count(env, pages[k][1], pages[k][2], work / f"callgrind.{k}"),
                    range(len(pages)),
                )
            )
        rows = [
            (name, path, count / COUNTED_REQUESTS)
            for (name, _who, path), count in zip(pages, counts, strict=True)
        ]
        for name, path, per_request in rows:
            log(f"instructions: {name:12} {path:24} {per_request / 1e6:6.2f} M per request")
        log(f"(callgrind, {COUNTED_REQUESTS} requests after {WARM_REQUESTS} to warm up, in one process)")
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _main(who: str, path: str) -> None:
    """Under valgrind: log in as ``who``, warm up, then ask for ``path`` inside ``functools.reduce``."""
    from auth.cli import DEMO_PASSWORD
    from portal import create_app

    ask = page_driver(create_app(), who, DEMO_PASSWORD, path)
    for _ in range(WARM_REQUESTS):
        ask()
    functools.reduce(lambda _acc, _n: ask(), range(COUNTED_REQUESTS), None)
    print(json.dumps({"path": path, "requests": COUNTED_REQUESTS}))


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _main(sys.argv[1], sys.argv[2])
