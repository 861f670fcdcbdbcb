"""`python -m bench --only profile-loggedin`: where a logged-in page's time goes, function by function.

The same data and people as the logged-in part (bench/loggedin.py), but in one process: each page is
asked ``PROFILE_REQUESTS`` times (300 unless set) through Flask's test client under cProfile, after a
warm-up, and the top of the profile is printed (own time, then cumulative). Issue 26 asks for the top of
the profile in the closing note before cutting anything; this is how it is read again after a change.
The figures are CPU time in one process (no gunicorn, no socket), so compare them with each other,
not with the req/s of the wrk runs.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import shutil
import tempfile
import time
from pathlib import Path


def login_client(client, identifier: str, password: str) -> None:
    """Log Flask test client ``client`` in through the form, as a browser does."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    answer = client.post(
        "/login",
        data={"identifier": identifier, "password": password, "csrf_token": token.group(1) if token else ""},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"login of {identifier} answered {answer.status_code}")


def run(log=print, top: int = 25) -> None:
    from bench.http import bench_env
    from bench.loggedin import prepare

    work = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    env = bench_env(work)
    picked = prepare(env)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        from auth.cli import DEMO_PASSWORD
        from portal import create_app

        app = create_app()
        requests = int(os.environ.get("PROFILE_REQUESTS", "300"))
        pages = {
            picked["citizen"]: [
                ("item page", "/items/LJ-CR-001"),
                ("我的办件", "/me/applications"),
                ("application", f"/applications/{picked['application']}"),
            ],
            picked["clerk"]: [("clerk queue", "/clerk/")],
        }
        for who, rows in pages.items():
            client = app.test_client()
            login_client(client, who, DEMO_PASSWORD)
            for name, path in rows:
                for _ in range(20):  # warm: caches filled, statements compiled
                    assert client.get(path).status_code == 200
                profile = cProfile.Profile()
                started = time.perf_counter()
                profile.enable()
                for _ in range(requests):
                    client.get(path)
                profile.disable()
                per = (time.perf_counter() - started) / requests * 1000
                if os.environ.get("PROFILE_DUMP"):  # a folder: one pstats file per page, for pstats/snakeviz
                    folder = Path(os.environ["PROFILE_DUMP"])
                    folder.mkdir(parents=True, exist_ok=True)
                    profile.dump_stats(folder / f"{path.strip('/').replace('/', '_')}.prof")
                calls = pstats.Stats(profile).total_calls // requests
                log(
                    f"\n=== {name} {path}: {calls:,} Python function calls and {per:.2f} ms per request "
                    f"under the profiler ({requests} requests; calls are steadier on a shared host)"
                )
                for order in ("tottime", "cumulative"):
                    out = io.StringIO()
                    pstats.Stats(profile, stream=out).sort_stats(order).print_stats(top)
                    text = out.getvalue()
                    log(text[text.index("   ncalls") :].rstrip())
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(work, ignore_errors=True)
