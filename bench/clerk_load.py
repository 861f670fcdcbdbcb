"""Clerk load benchmark: concurrent clerks on the queue page and 领取下一件 against a generated database.

    python -m bench.clerk_load --database-url postgresql://postgres@127.0.0.1:5432/DB \
        [--clients 32] [--seconds 30] [--think-ms 1000] [--workers 2] [--explain]

The database comes from ``python -m bench.generate``. Clerk accounts are spread over the units in
proportion to their 待受理 queues (the demo clerk of each unit first, then extra accounts made with
auth.operations.create_staff). gunicorn (``--workers``, 2 as in the Makefile; loopback) serves the
portal; each client logs in, then for ``--seconds`` loops: GET /clerk/?tab=pending, every
``--claim-every`` iterations POST /clerk/claim-next (the POST itself is timed, the redirect is not
followed), and when it holds more than ``--max-held`` applications it releases the oldest, so the queues
do not drain. Each client waits a think time (uniform 0.5–1.5 × ``--think-ms``) between iterations, as a
working clerk does; ``--think-ms 0`` saturates the workers instead and then the figures include queueing
in front of them.

``--runs N`` repeats the whole run N times and ends with one line per run: this host is shared, and its
noise moves the claim p95 by several milliseconds from one minute to the next, so one run proves little.

Afterwards the audit trail is replayed: every application.claim must find the application free and
every application.release must come from its holder (zero double claims), the applications the clients
still hold must be held by them in the database, and the claims the clients saw must match the audit rows.
Finally the statements one queue page view and one claim run are timed in the database (EXPLAIN ANALYZE
with ``--explain``), for the busiest unit's clerk.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUEUE_P95_MS, CLAIM_P95_MS = 50, 20  # the targets for the queue page and 领取下一件, at the client
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.__main__ import BIN, free_port, stop, wait_for  # noqa: E402
from bench.generate import flask_env  # noqa: E402

CLERK_PASSWORD = "Bench-clerk-2026"  # noqa: S105 - the extra bench clerks' password
DEMO_PASSWORD = "Demo-2026"  # noqa: S105 - auth.cli.DEMO_PASSWORD, the demo clerks'
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CLAIMED = re.compile(r"/clerk/applications/(\d+)$")
QUEUE_STATES = ("submitted", "resubmitted")


# Accounts ---------------------------------------------------------------------------------------------


def plan_clerks(database_url: str, clients: int) -> list[dict]:
    """Spread ``clients`` clerks over the units in proportion to their 待受理 queues (at least one per
    unit with work); reuse each unit's demo clerks first. Returns [{username, password, unit, create}]."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        pending = conn.execute(
            """SELECT u.code, count(*) FROM applications a JOIN units u ON u.id = a.unit_id
                WHERE a.state IN ('submitted', 'resubmitted') AND a.claimed_by_id IS NULL
                GROUP BY u.code ORDER BY count(*) DESC, u.code"""
        ).fetchall()
        existing: dict[str, list[str]] = {}
        for username, code in conn.execute(
            """SELECT u.username, n.code FROM users u JOIN user_units uu ON uu.user_id = u.id
                 JOIN units n ON n.id = uu.unit_id
                WHERE u.role = 'clerk' AND u.active AND u.username LIKE 'clerk\\_%%'
                  AND (SELECT count(*) FROM user_units x WHERE x.user_id = u.id) = 1
                ORDER BY u.username"""
        ):
            existing.setdefault(code, []).append(username)
    if not pending:
        raise SystemExit("no 待受理 applications: generate the database first (python -m bench.generate)")
    units = pending[:clients]
    total = sum(n for _, n in units)
    share = {code: 1 for code, _ in units}
    spare = clients - len(units)
    exact = {code: spare * n / total for code, n in units}
    for code in exact:
        share[code] += int(exact[code])
    for code in sorted(exact, key=lambda c: exact[c] - int(exact[c]), reverse=True)[
        : clients - sum(share.values())
    ]:
        share[code] += 1
    plan = []
    for code, n in share.items():
        demo = existing.get(code, [])
        for i in range(n):
            if i < len(demo):
                plan.append({"username": demo[i], "password": DEMO_PASSWORD, "unit": code, "create": False})
            else:
                name = f"bench_{code.removeprefix('LJ-').replace('-', '_').lower()}_{i + 1:02d}"
                plan.append({"username": name, "password": CLERK_PASSWORD, "unit": code, "create": True})
    return plan


def create_clerks(database_url: str, plan: list[dict]) -> None:
    """Make the planned accounts that do not exist yet, with auth.operations.create_staff, in a Flask app
    context of their own (a subprocess, so this process never binds the portal's configuration)."""
    todo = [p for p in plan if p["create"]]
    if not todo:
        return
    code = (
        "import json\nfrom bench.clerk_load import _create_in_app\n"
        f"_create_in_app(json.loads({json.dumps(todo)!r}))"
    )
    with tempfile.TemporaryDirectory(prefix="bench-clerk-") as inst:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=flask_env(database_url, inst),
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode:
        raise SystemExit(f"creating clerk accounts failed:\n{done.stderr[-3000:]}")


def _create_in_app(todo: list[dict]) -> None:
    from sqlalchemy import select

    from auth.models import User
    from auth.operations import create_staff
    from core.db import db
    from core.transaction import commit
    from portal import create_app

    app = create_app()
    with app.app_context():
        for p in todo:
            if db.session.scalar(select(User.id).where(User.username == p["username"])) is None:
                create_staff(
                    username=p["username"],
                    real_name="压测窗口",
                    role="clerk",
                    password=p["password"],
                    unit_codes=[p["unit"]],
                )
        commit()


# HTTP ---------------------------------------------------------------------------------------------------


class Client:
    """One clerk's browser: a cookie jar, no redirects followed, one connection per request (gunicorn's
    sync workers close it anyway)."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.port, self.username, self.password = port, username, password
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.user_id: int | None = None
        self.held: list[int] = []  # applications this clerk claimed and has not released, oldest first
        self.claims: list[int] = []

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str, float]:
        """(status, Location, body, seconds from sending the request to the last byte of the answer)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            start = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            elapsed = time.perf_counter() - start
        finally:
            conn.close()
        for cookie in resp.headers.get_all("Set-Cookie") or []:
            name, _sep, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "expires=thu, 01 jan 1970" in cookie.lower() or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return resp.status, resp.headers.get("Location", ""), data.decode("utf-8", "replace"), elapsed

    def login(self) -> None:
        _status, _loc, page, _t = self.request("GET", "/login")
        token = CSRF.search(page).group(1)
        status, _loc, page, _t = self.request(
            "POST", "/login", {"csrf_token": token, "identifier": self.username, "password": self.password}
        )
        if status != 302:
            raise RuntimeError(f"login of {self.username} failed ({status})")
        self.queue()

    def queue(self) -> float:
        status, _loc, page, elapsed = self.request("GET", "/clerk/?tab=pending")
        if status != 200:
            raise RuntimeError(f"queue page for {self.username}: HTTP {status}")
        m = CSRF.search(page)
        if m:
            self.csrf = m.group(1)
        return elapsed

    def claim_next(self) -> tuple[int | None, float]:
        status, loc, _body, elapsed = self.request("POST", "/clerk/claim-next", {"csrf_token": self.csrf})
        if status != 302:
            raise RuntimeError(f"claim-next by {self.username}: HTTP {status}")
        m = CLAIMED.search(urllib.parse.urlparse(loc).path)
        if m is None:
            return None, elapsed  # the queue was empty
        app_id = int(m.group(1))
        self.held.append(app_id)
        self.claims.append(app_id)
        return app_id, elapsed

    def release_oldest(self) -> float:
        app_id = self.held.pop(0)
        status, loc, _body, elapsed = self.request(
            "POST", f"/clerk/applications/{app_id}/release", {"csrf_token": self.csrf}
        )
        if status != 302 or urllib.parse.urlparse(loc).path.rstrip("/") != "/clerk":
            raise RuntimeError(f"release of {app_id} by {self.username}: HTTP {status} → {loc}")
        return elapsed


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


def summary(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
    }


def portal(
    port: int, env: dict, access_log: Path, workers: int = 2, app: str = "wsgi:app"
) -> subprocess.Popen:
    """gunicorn as `make run` starts it (its gunicorn.conf.py, ``workers`` as in the Makefile), plus an
    access log of each request's time in the worker (%(D)s, microseconds), which tells the service time
    apart from the wait in front of the workers."""
    return subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            "%(m)s %(U)s %(s)s %(D)s",
            "--error-logfile",
            "/dev/null",
            app,
        ],
        cwd=ROOT,
        # one machine, but a shared database: the start-up check wants the key set explicitly
        # (GUNICORN_PLAIN_LOGS: the access log below in gunicorn's own format, not the JSON lines)
        env={"SECRET_KEY": "bench-" + secrets.token_hex(16), "GUNICORN_PLAIN_LOGS": "1", **env},
        start_new_session=True,
    )


def server_times(access_log: Path, offset: int) -> dict[str, list[float]]:
    """Seconds spent in the worker per request kind, from ``offset`` in the access log on."""
    out: dict[str, list[float]] = {"queue": [], "claim": [], "release": []}
    with access_log.open() as fh:
        fh.seek(offset)
        for line in fh:
            parts = line.split()
            if len(parts) != 4:
                continue
            method, path, _status, micros = parts
            kind = (
                "queue"
                if method == "GET" and path == "/clerk/"
                else "claim"
                if path == "/clerk/claim-next"
                else "release"
                if path.endswith("/release")
                else None
            )
            if kind:
                out[kind].append(int(micros) / 1e6)
    return out


# Checks -----------------------------------------------------------------------------------------------


def replay_audit(conn, after_id: int) -> dict:
    """Replay claim/release audit rows: a claim of a held application or a release by someone else than
    the holder is a double claim."""
    holder: dict[str, int | None] = {}
    claims = releases = doubles = foreign_releases = 0
    for _id, action, object_id, actor_id in conn.execute(
        """SELECT id, action, object_id, actor_id FROM audit_log
            WHERE id > %s AND action IN ('application.claim', 'application.release') ORDER BY id""",
        (after_id,),
    ):
        if action == "application.claim":
            claims += 1
            if holder.get(object_id) is not None:
                doubles += 1
            holder[object_id] = actor_id
        else:
            releases += 1
            if holder.get(object_id) != actor_id:
                foreign_releases += 1
            holder[object_id] = None
    return {
        "claims": claims,
        "releases": releases,
        "double_claims": doubles,
        "foreign_releases": foreign_releases,
    }


def check_outstanding(conn, clients: list[Client]) -> dict:
    seen = Counter(app_id for c in clients for app_id in c.held)
    shared = sorted(a for a, n in seen.items() if n > 1)
    mismatched = []
    for c in clients:
        if c.held:
            rows = dict(
                conn.execute("SELECT id, claimed_by_id FROM applications WHERE id = ANY(%s)", (c.held,))
            )
            mismatched += [a for a in c.held if rows.get(a) != c.user_id]
    return {"outstanding": sum(seen.values()), "held_by_two": shared, "db_mismatch": mismatched}


def pending_by_unit(conn) -> dict[str, int]:
    return dict(
        conn.execute(
            """SELECT u.code, count(a.id) FROM units u LEFT JOIN applications a ON a.unit_id = u.id
              AND a.state IN ('submitted', 'resubmitted') AND a.claimed_by_id IS NULL
            WHERE u.kind NOT IN ('bureau', 'branch') GROUP BY u.code"""
        ).fetchall()
    )


# Statement profile ------------------------------------------------------------------------------------


def statement_profile(database_url: str, username: str, explain: bool) -> list[dict]:
    """Run one queue page view (page + counts) and one claim for ``username`` inside a transaction that is
    rolled back, capturing the SQL the app sends; then EXPLAIN ANALYZE each statement."""
    code = (
        "import json\nfrom bench.clerk_load import _profile_in_app\n"
        f"print('PROFILE' + json.dumps(_profile_in_app({username!r}, {explain!r})))"
    )
    with tempfile.TemporaryDirectory(prefix="bench-clerk-") as inst:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=flask_env(database_url, inst),
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode:
        raise RuntimeError(f"statement profile failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("PROFILE"))
    return json.loads(line.removeprefix("PROFILE"))


def _profile_in_app(username: str, explain: bool) -> list[dict]:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from flask_login import login_user
    from sqlalchemy import event, select

    from applications.clerk import operations as ops
    from applications.clerk import queues
    from auth.models import User
    from core.db import db
    from portal import create_app

    app = create_app()
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    captured: list[tuple[str, str, object]] = []
    label = ["setup"]

    def capture(conn, cursor, statement, parameters, context, executemany):
        if label[0] != "setup" and statement.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT")):
            captured.append((label[0], statement, parameters))

    with app.test_request_context("/clerk/"):
        user = db.session.scalar(select(User).where(User.username == username))
        login_user(user)
        _ = user.units  # loaded once per request by the real page too
        engine = db.session.get_bind()
        event.listen(engine, "before_cursor_execute", capture)
        try:
            label[0] = "queue page (30 rows)"
            queues.queue_page(user, "pending", today=today)
            label[0] = "count"
            queues.queue_counts(user, today)
            label[0] = "已办结 page 1"
            rows = queues.queue_page(user, "done", today=today)
            label[0] = "setup"
            for _page in range(32):  # keyset pages: the 34th starts after 990 rows
                after = queues.parse_queue_cursor("done", queues.queue_cursor("done", rows[-1]))
                rows = queues.queue_page(user, "done", after=after, today=today) if rows else []
            label[0] = "已办结 page 34"
            if rows:
                after = queues.parse_queue_cursor("done", queues.queue_cursor("done", rows[-1]))
                queues.queue_page(user, "done", after=after, today=today)
            label[0] = "claim-next"
            ops.claim_next(user)
            db.session.flush()
        finally:
            event.remove(engine, "before_cursor_execute", capture)
            db.session.rollback()
        out = []
        claim_steps = iter(("claim: UPDATE … SKIP LOCKED RETURNING", "claim: audit row"))
        cursor = db.session.connection().connection.dbapi_connection.cursor()
        count_steps = iter(("counts: the units' tabs (shared by their clerks)", "counts: 我的"))
        for what, statement, params in captured:
            if what == "count":
                what = next(count_steps, "counts: other")
            elif what == "claim-next":
                what = next(claim_steps, "claim: other")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params)
            plan = cursor.fetchone()[0][0]
            row = {"what": what, "ms": plan["Execution Time"] + plan["Planning Time"], "sql": statement}
            if explain:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                row["plan"] = "\n".join(r[0] for r in cursor.fetchall())
            out.append(row)
        db.session.rollback()
    return out


# The run ------------------------------------------------------------------------------------------------


def run(
    database_url: str,
    *,
    clients: int = 32,
    seconds: float = 30,
    think_ms: float = 1000,
    claim_every: int = 3,
    max_held: int = 3,
    explain: bool = False,
    log: Callable[[str], None] = print,
    wsgi_app: str = "wsgi:app",
    workers: int = 2,
) -> dict:
    """Run the load against ``database_url``; ``wsgi_app`` lets an experiment serve a patched portal."""
    import psycopg

    t = time.perf_counter()
    plan = plan_clerks(database_url, clients)
    create_clerks(database_url, plan)
    per_unit = Counter(p["unit"] for p in plan)
    log(
        f"clerks: {len(plan)} ({sum(p['create'] for p in plan)} created) over {len(per_unit)} units: "
        + ", ".join(f"{u} {n}" for u, n in per_unit.most_common())
        + f" ({time.perf_counter() - t:.1f} s)"
    )

    work = Path(tempfile.mkdtemp(prefix="bench-clerk-"))
    env = flask_env(database_url, str(work))
    port = free_port()
    access_log = work / "access.log"
    server = portal(port, env, access_log, workers=workers, app=wsgi_app)
    conn = psycopg.connect(database_url, autocommit=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        people = [Client(port, p["username"], p["password"]) for p in plan]
        ids = dict(
            conn.execute(
                "SELECT username, id FROM users WHERE username = ANY(%s)", ([p["username"] for p in plan],)
            ).fetchall()
        )
        for c in people:
            c.user_id = ids[c.username]
        t = time.perf_counter()
        _parallel(people, lambda c: c.login())
        took = time.perf_counter() - t
        log(f"logged in {len(people)} clerks in {took:.1f} s (Argon2id, {workers} workers)")
        pending_before = pending_by_unit(conn)
        audit_start = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
        # Warm-up (not measured): every worker renders the page and runs a claim and a release.
        _parallel(people, lambda c: (c.queue(), c.claim_next(), c.held and c.release_oldest(), c.queue()))

        timings: dict[str, list[float]] = {"queue": [], "claim": [], "release": []}
        empty = Counter()
        lock = threading.Lock()
        errors: list[BaseException] = []
        deadline = time.perf_counter() + seconds

        def loop(c: Client) -> None:
            rng = random.Random(c.username)
            mine = {"queue": [], "claim": [], "release": []}
            i = 0
            time.sleep(rng.uniform(0, think_ms / 1000))  # do not start in lockstep
            try:
                while time.perf_counter() < deadline:
                    mine["queue"].append(c.queue())
                    i += 1
                    if i % claim_every == 0:
                        app_id, elapsed = c.claim_next()
                        mine["claim"].append(elapsed)
                        if app_id is None:
                            empty[c.username] += 1
                        if len(c.held) > max_held:
                            mine["release"].append(c.release_oldest())
                    if think_ms:
                        time.sleep(rng.uniform(0.5, 1.5) * think_ms / 1000)
            except BaseException as exc:  # noqa: BLE001 - reported after the run
                errors.append(exc)
            with lock:
                for k, v in mine.items():
                    timings[k] += v

        time.sleep(0.2)
        log_offset = access_log.stat().st_size
        load_before = os.getloadavg()[0]
        t = time.perf_counter()
        _parallel(people, loop)
        elapsed = time.perf_counter() - t
        load_after = os.getloadavg()[0]
        time.sleep(0.2)
        in_worker = server_times(access_log, log_offset)
        if errors:
            raise errors[0]
        replay = replay_audit(conn, audit_start)
        outstanding = check_outstanding(conn, people)
        pending_after = pending_by_unit(conn)
        seen_claims = sum(len(c.claims) for c in people)
    finally:
        conn.close()
        stop(server)
        shutil.rmtree(work, ignore_errors=True)

    busiest = max(per_unit, key=lambda u: per_unit[u])
    profile_user = next(p["username"] for p in plan if p["unit"] == busiest)
    profile = statement_profile(database_url, profile_user, explain)
    result = {
        "clients": len(people),
        "seconds": elapsed,
        "think_ms": think_ms,
        "workers": workers,
        "queue": summary(timings["queue"]),
        "claim": summary(timings["claim"]),
        "release": summary(timings["release"]),
        "in_worker": {k: summary(v) for k, v in in_worker.items()},
        "requests_per_s": sum(len(v) for v in timings.values()) / elapsed,
        "loadavg": (load_before, load_after),
        "empty_claims": sum(empty.values()),
        "claims_seen": seen_claims,
        "audit": replay,
        "outstanding": outstanding,
        "pending_before": pending_before,
        "pending_after": pending_after,
        "profile_user": profile_user,
        "profile": profile,
    }
    result["double_claims"] = (
        replay["double_claims"]
        + replay["foreign_releases"]
        + len(outstanding["held_by_two"])
        + len(outstanding["db_mismatch"])
        + abs(replay["claims"] - seen_claims)
    )
    return result


def _parallel(people: list[Client], fn: Callable[[Client], object]) -> None:
    errors: list[BaseException] = []

    def wrapped(c: Client) -> None:
        try:
            fn(c)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(c,)) for c in people]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]


def report(r: dict, log: Callable[[str], None] = print) -> None:
    def line(name: str, s: dict) -> str:
        return (
            f"{name:18} n={s['n']:6d}  p50 {s['p50']:7.1f} ms  p95 {s['p95']:7.1f} ms  "
            f"p99 {s['p99']:7.1f} ms  max {s['max']:7.1f} ms"
        )

    think = f"think {r['think_ms']:.0f} ms ±50 %" if r["think_ms"] else "no think time (saturated)"
    log(
        f"clerk load: {r['clients']} clerks, {r['seconds']:.0f} s, {think}, gunicorn {r['workers']} workers; "
        f"{r['requests_per_s']:.1f} requests/s; load average {r['loadavg'][0]:.1f} → {r['loadavg'][1]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    log("at the client (what a clerk waits for):")
    log(line("  queue page", r["queue"]))
    log(line("  claim-next POST", r["claim"]))
    log(line("  release POST", r["release"]))
    w = r["in_worker"]
    log("in the gunicorn worker (service time, without the wait for a free worker):")
    log(line("  queue page", w["queue"]))
    log(line("  claim-next POST", w["claim"]))
    log(line("  release POST", w["release"]))
    a, o = r["audit"], r["outstanding"]
    log(
        f"claims: {a['claims']} in the audit trail ({r['claims_seen']} seen by the clients, "
        f"{r['empty_claims']} found the queue empty), {a['releases']} releases, {o['outstanding']} still held"
    )
    lowest = min(r["pending_after"].items(), key=lambda kv: kv[1])
    log(
        f"待受理 left: {sum(r['pending_after'].values()):,} (was {sum(r['pending_before'].values()):,}); "
        f"smallest unit queue {lowest[0]} {lowest[1]}"
    )
    log(
        f"double claims: {r['double_claims']} (audit replay {a['double_claims']}, releases by a non-holder "
        f"{a['foreign_releases']}, held by two clients {len(o['held_by_two'])}, "
        f"holder differs in the database {len(o['db_mismatch'])})"
    )
    log(f"statements for one page view and one claim ({r['profile_user']}), database time:")
    for row in r["profile"]:
        log(f"  {row['what']:22} {row['ms']:8.2f} ms")
        if "plan" in row:
            log("    " + row["sql"].replace("\n", "\n    "))
            log("    " + row["plan"].replace("\n", "\n    "))
    page_db = sum(x["ms"] for x in r["profile"] if x["what"].startswith(("queue", "counts")))
    log(f"  queue page statements total {page_db:.1f} ms")
    ok = lambda good: "ok" if good else "MISSED"  # noqa: E731
    queue_ok, claim_ok = r["queue"]["p95"] <= QUEUE_P95_MS, r["claim"]["p95"] <= CLAIM_P95_MS
    log(
        f"targets: queue page p95 {r['queue']['p95']:.1f} ms (≤ {QUEUE_P95_MS} ms: {ok(queue_ok)}), "
        f"claim p95 {r['claim']['p95']:.1f} ms (≤ {CLAIM_P95_MS} ms: {ok(claim_ok)}), "
        f"double claims {r['double_claims']} (0: {ok(r['double_claims'] == 0)})"
    )


def met_targets(r: dict) -> bool:
    """The issue's targets, at the client: both p95s within bounds and no double claim."""
    return r["queue"]["p95"] <= QUEUE_P95_MS and r["claim"]["p95"] <= CLAIM_P95_MS and r["double_claims"] == 0


def run_many(database_url: str, runs: int, log: Callable[[str], None] = print, **kwargs) -> list[dict]:
    """:func:`run` ``runs`` times, each reported, then (for more than one) the per-run summary."""
    results = []
    for i in range(runs):
        if runs > 1:
            log(f"--- clerk load run {i + 1} of {runs}")
        results.append(run(database_url, log=log, **kwargs))
        report(results[-1], log=log)
    if runs > 1:
        summarize_runs(results, log=log)
    return results


def summarize_runs(results: list[dict], log: Callable[[str], None] = print) -> None:
    """One line per run (client p95s, double claims), then how many runs met every target."""
    log("runs (p95 at the client):")
    met = 0
    for i, r in enumerate(results, 1):
        good = met_targets(r)
        met += good
        log(
            f"  {i:2d}  queue page {r['queue']['p95']:6.1f} ms  claim {r['claim']['p95']:6.1f} ms  "
            f"(worker {r['in_worker']['claim']['p95']:5.1f} ms)  double claims {r['double_claims']}  "
            f"load {r['loadavg'][1]:.1f}  {'ok' if good else 'MISSED'}"
        )
    claims = [r["claim"]["p95"] for r in results]
    log(
        f"{met} of {len(results)} runs met every target; "
        f"claim p95 median {statistics.median(claims):.1f} ms, worst {max(claims):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--think-ms", type=float, default=1000)
    parser.add_argument("--claim-every", type=int, default=3)
    parser.add_argument("--max-held", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--runs", type=int, default=1, help="repeat the run, then list every run's p95s")
    parser.add_argument("--explain", action="store_true", help="print the EXPLAIN ANALYZE plans")
    args = parser.parse_args()
    out = lambda s: print(s, flush=True)  # noqa: E731
    run_many(
        args.database_url,
        args.runs,
        log=out,
        clients=args.clients,
        seconds=args.seconds,
        think_ms=args.think_ms,
        claim_every=args.claim_every,
        max_held=args.max_held,
        explain=args.explain,
        workers=args.workers,
    )


if __name__ == "__main__":
    main()
