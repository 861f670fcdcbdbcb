"""`python -m bench --only loggedin`: the pages a logged-in person sees, against the bare floor.

The same method as the anonymous part of `make bench` (gunicorn, 2 sync workers; wrk 2 threads; a bare
Flask app answering the same bytes), but each page is asked with a real session cookie: the demo citizen
(item page, 我的办件, one of their applications) and the clerk of the unit with the most open work (the
queue). Each person logs in through the login form just before their pages are measured (a staff
session's idle stamp is then fresh, as it is for a clerk at work), and wrk sends the cookie as a header.

Every answer must be a 200 (a redirect to the login page would fail the run). The resident memory of
each worker is read from /proc before the first and after the last run, with the number of requests
served in between (issue 26: it should stay flat).
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from functools import partial
from pathlib import Path

from bench.http import BIN, ROOT, free_port, gunicorn, paired_rounds, stop, wait_for, wrk_run

#: Finds what the benchmark asks for in the demo database (printed as one JSON line).
_PICK = """
import json
from sqlalchemy import func, select
from applications.models import Application
from applications.workflow.states import State
from auth.cli import DEMO_CITIZEN
from auth.models import Role, User, user_units
from auth.operations import find_citizen_by_mobile
from core.db import db
from portal import create_app

with create_app().app_context():
    citizen = find_citizen_by_mobile(DEMO_CITIZEN["mobile"])
    app_id = db.session.scalar(
        select(Application.id).where(Application.applicant_id == citizen.id).order_by(Application.id.desc())
    )
    open_states = [State.SUBMITTED, State.RESUBMITTED, State.ACCEPTED]
    unit_id = db.session.scalar(
        select(Application.unit_id).where(Application.state.in_(open_states))
        .group_by(Application.unit_id).order_by(func.count().desc())
    )
    clerk = db.session.scalar(
        select(User.username).join(user_units, user_units.c.user_id == User.id)
        .where(user_units.c.unit_id == unit_id, User.role == Role.CLERK.value).order_by(User.id)
    )
    print(json.dumps({"citizen": DEMO_CITIZEN["mobile"], "application": app_id, "clerk": clerk}))
"""


def prepare(env: dict) -> dict:
    """The demo data, a fortnight of simulated history (queues with work in them) and the demo
    citizen's e-certificate applications; what to ask for."""
    flask = str(BIN / "flask")
    for args in (
        ["db", "upgrade"],
        ["demo", "load"],
        ["demo", "simulate", "--days", "14", "--per-day", "4", "--seed", "1", "--if-empty"],
        ["demo", "ecert"],
    ):
        subprocess.run([flask, *args], cwd=ROOT, env=env, check=True, capture_output=True)
    out = subprocess.run(
        [str(BIN / "python"), "-c", _PICK], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


#: What the benchmark's client calls itself, at login and on every request after, as a browser does.
#: wrk sends no User-Agent of its own: Flask-Login's session protection then took every request for a
#: changed client, marked the session not fresh and signed and sent the cookie again each time, work
#: no browser causes.
USER_AGENT = "portal-bench/1"


def browser(cookie: str) -> dict[str, str]:
    """The headers of a logged-in browser's request: the session cookie and the login's User-Agent."""
    return {"Cookie": cookie, "User-Agent": USER_AGENT}


def login(base: str, identifier: str, password: str) -> str:
    """Log in through the form; the ``Cookie`` header value of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("no CSRF token on the login page")
    data = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "identifier": identifier, "password": password}
    ).encode()
    opener.open(f"{base}/login", data=data).read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session=" not in cookie:
        raise RuntimeError(f"login as {identifier} failed")
    return cookie


def fetch(url: str, cookie: str) -> bytes:
    """The page at ``url`` as the logged-in browser of ``cookie`` sees it. A page that answers with a
    new session cookie fails the run: wrk keeps sending the old one, so the portal would sign a cookie
    on every request of the measurement, which a browser (that keeps the new one) does not cause."""
    req = urllib.request.Request(url, headers=browser(cookie))  # noqa: S310 - loopback only
    with urllib.request.urlopen(req) as resp:  # noqa: S310
        if resp.url != url:
            raise RuntimeError(f"{url} answered with a redirect to {resp.url}")
        if any(c.startswith("portal_session=") for c in resp.headers.get_all("Set-Cookie") or []):
            raise RuntimeError(f"{url} sent a new session cookie to a browser that had just logged in")
        return resp.read()


def worker_pids(pid: int) -> list[int]:
    """The process ids of gunicorn master ``pid``'s workers (its children), in order."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found.extend(int(c) for c in children)
    return sorted(found)


def worker_rss_mb(master: int) -> list[float]:
    """Resident memory (VmRSS) of each gunicorn worker of ``master``, in MB."""
    sizes = []
    for pid in worker_pids(master):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        m = re.search(r"VmRSS:\s+(\d+) kB", status)
        if m:
            sizes.append(int(m.group(1)) / 1024)
    return sizes


def run(seconds: int, connections: int, log=print) -> dict:
    if shutil.which("wrk") is None:
        log("wrk not found: apt-get install wrk (skipping the logged-in benchmark)")
        return {}
    from bench.http import bench_env

    work = Path(tempfile.mkdtemp(prefix="bench-loggedin-"))
    env = bench_env(work)
    picked = prepare(env)
    from auth.cli import DEMO_PASSWORD

    pages = {
        "citizen": [
            ("item page", "/items/LJ-CR-001"),
            ("我的办件", "/me/applications"),
            ("application", f"/applications/{picked['application']}"),
        ],
        "clerk": [("clerk queue", "/clerk/")],
    }
    logins = {"citizen": picked["citizen"], "clerk": picked["clerk"]}
    portal_port, bare_port = free_port(), free_port()
    portal_url, bare_url = f"http://127.0.0.1:{portal_port}", f"http://127.0.0.1:{bare_port}"
    portal = gunicorn("wsgi:app", portal_port, env)
    bare = None
    try:
        wait_for(f"{portal_url}/healthz")
        cookies = {who: login(portal_url, login_name, DEMO_PASSWORD) for who, login_name in logins.items()}
        bodies = {}
        for who, rows in pages.items():
            for _name, path in rows:
                file = work / f"body-{len(bodies)}"
                file.write_bytes(fetch(portal_url + path, cookies[who]))
                bodies[path] = [str(file), "text/html"]
        (work / "bodies.json").write_text(json.dumps(bodies))
        bare = gunicorn("bench.bare_app:app", bare_port, {**env, "BENCH_BODIES": str(work / "bodies.json")})
        wait_for(f"{bare_url}/me/applications")
        rss_before = worker_rss_mb(portal.pid)
        served = 0
        results = []
        for who, rows in pages.items():
            # log in afresh before each person's pages: a staff cookie's idle stamp is then recent
            cookie = login(portal_url, logins[who], DEMO_PASSWORD)
            for name, path in rows:
                headers = browser(cookie)
                served += wrk_run(portal_url + path, 1, connections, headers)[1]  # warm
                pair = paired_rounds(
                    partial(_wrk_for, portal_url + path, connections, headers),
                    partial(_wrk_for, bare_url + path, connections, headers),
                    seconds,
                )
                served += pair["served"]
                results.append(
                    {
                        "page": name,
                        "path": path,
                        "bytes": Path(bodies[path][0]).stat().st_size,
                        "portal_rps": pair["a_rps"],
                        "bare_rps": pair["b_rps"],
                        "ratio": pair["ratio"],
                        "ratios": pair["ratios"],
                    }
                )
        rss_after = worker_rss_mb(portal.pid)
        return {"rows": results, "rss_before": rss_before, "rss_after": rss_after, "requests": served}
    finally:
        stop(portal)
        if bare is not None:
            stop(bare)
        shutil.rmtree(work, ignore_errors=True)


def _wrk_for(url: str, connections: int, headers: dict[str, str], seconds: int) -> tuple[float, int]:
    return wrk_run(url, seconds, connections, headers)


def report(result: dict, seconds: int, connections: int, log=print) -> None:
    if not result:
        return
    log(f"{'logged-in page':16} {'bytes':>7} {'portal req/s':>13} {'bare req/s':>11} {'ratio':>6}  rounds")
    for r in result["rows"]:
        spread = f"{min(r['ratios']):.2f}–{max(r['ratios']):.2f}"
        log(
            f"{r['page']:16} {r['bytes']:7d} {r['portal_rps']:13.0f} {r['bare_rps']:11.0f} "
            f"{r['ratio']:6.2f}  {spread}"
        )
    log(
        f"target: ratio ≥ 0.35 for every logged-in page (gunicorn, 2 workers, wrk -c{connections}; "
        f"medians of {len(result['rows'][0]['ratios']) if result['rows'] else 0} alternating rounds "
        f"over {seconds}s per side)"
    )
    before = ", ".join(f"{mb:.0f}" for mb in result["rss_before"])
    after = ", ".join(f"{mb:.0f}" for mb in result["rss_after"])
    log(f"worker RSS (MB): before [{before}], after [{after}] over {result['requests']:,} requests")
