"""预约 benchmark: slot listing, booking and the booking race against gunicorn on a generated database.

    python -m bench.appointments [--pg postgresql://postgres@127.0.0.1:5432/postgres] \
        [--slots 10000] [--bookings 100000] [--clients 8] [--requests 50] [--json PATH]

A scratch PostgreSQL database is created and dropped (SQLite in a temporary folder when no PostgreSQL
answers; the run says so). Phases, each timed:

1. the real migrations and demo data (``flask db upgrade``, ``flask demo load``); the demo's slots are
   replaced by ``--slots`` future slots (10-minute slots on working days, 09:00–12:00 and 13:30–17:00,
   ``--capacity`` places) of the units that serve an item needing a visit, and ``--bookings``
   appointments of as many generated citizens, all bulk inserts (COPY on PostgreSQL); every slot's
   ``booked`` equals its booked appointments. One extra 10-place slot is kept empty for the race.
2. gunicorn (2 workers, the project's gunicorn.conf.py) serves the portal; 200 citizens log in.
3. p95 at the client, each as a ratio against ``/healthz`` (no database) measured by the same clients in
   the same run: the slots API for one item over 14 days, the citizen's day page
   (``/items/<code>/book?day=``), ``--clients`` at once; and booking through the real form POST with
   its CSRF token: each of the 200 citizens books one distinct free slot (so no booking finds its slot
   full), ``--clients`` citizens at a time.
4. the race: 200 citizens POST the same 10-place slot at once; exactly 10 must get their booking,
   checked in the database too.
5. EXPLAIN of the slot listing's statement as the API runs it (the plan's top line, and whether an index
   is used).

The machine is shared: the figures are only comparable within one run, hence the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.__main__ import free_port, stop, wait_for  # noqa: E402
from bench.clerk_load import CSRF, Client, portal, summary  # noqa: E402
from bench.generate import CITIZEN_PASSWORD, _id_number, citizen_password_hash, flask_env, run_flask  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
SLOT_MINUTES = 10
LINES = (((9, 0), (12, 0)), ((13, 30), (17, 0)))
RACE_CLIENTS, RACE_PLACES = 200, 10
LISTING_DAYS = 14
DETAIL = re.compile(r"/me/appointments/(\d+)$")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# Generation (pure parts) ------------------------------------------------------------------------------


def slot_plan(unit_ids: Sequence[int], first: date, n: int) -> list[tuple[int, date, datetime, datetime]]:
    """``n`` slots (unit, local day, start, end in UTC) from ``first`` on: Monday–Friday, every unit the
    same 10-minute slots of the two opening lines, day after day until ``n`` are planned."""
    out: list[tuple[int, date, datetime, datetime]] = []
    day = first
    while len(out) < n:
        if day.weekday() < 5:
            for unit in unit_ids:
                for (h0, m0), (h1, m1) in LINES:
                    at = datetime(day.year, day.month, day.day, h0, m0, tzinfo=SHANGHAI)
                    stop_at = datetime(day.year, day.month, day.day, h1, m1, tzinfo=SHANGHAI)
                    while at + timedelta(minutes=SLOT_MINUTES) <= stop_at and len(out) < n:
                        end = at + timedelta(minutes=SLOT_MINUTES)
                        out.append((unit, day, at.astimezone(UTC), end.astimezone(UTC)))
                        at = end
        day += timedelta(days=1)
    return out


def spread_bookings(n_slots: int, capacity: int, total: int, rng: random.Random) -> list[int]:
    """Booked places per slot: ``total`` places drawn at random among all ``n_slots × capacity``, so
    every count is within the capacity and they add up to ``total``."""
    if total > n_slots * capacity:
        raise ValueError(f"{total} bookings do not fit in {n_slots} slots of {capacity} places")
    booked = [0] * n_slots
    for place in rng.sample(range(n_slots * capacity), total):
        booked[place // capacity] += 1
    return booked


def booking_code(n: int) -> str:
    """A unique 8-character code in the booking alphabet for generated booking ``n``."""
    chars = []
    for _ in range(8):
        n, r = divmod(n, len(_CODE_ALPHABET))
        chars.append(_CODE_ALPHABET[r])
    return "".join(reversed(chars))


# Database access (PostgreSQL with psycopg, or sqlite3) -----------------------------------------------


class Db:
    def __init__(self, url: str) -> None:
        self.url = url
        self.pg = url.startswith("postgresql")
        if self.pg:
            import psycopg

            self.conn = psycopg.connect(url)
        else:
            import sqlite3

            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=60)

    def q(self, sql: str, params: Sequence = ()) -> list[tuple]:
        cur = self.conn.cursor()
        cur.execute(sql if self.pg else sql.replace("%s", "?"), tuple(params))
        return cur.fetchall() if cur.description else []

    def insert(self, table: str, cols: Sequence[str], rows: list[tuple]) -> None:
        cur = self.conn.cursor()
        if self.pg:
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in cols)
            cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)

    def next_id(self, table: str) -> int:
        return self.q(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")[0][0]

    def advance(self, table: str) -> None:
        if self.pg:
            self.q(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")

    def close(self) -> None:
        self.conn.close()


def _context_in_app() -> dict:
    """The items that need a visit and the units serving each, read through the portal's own queries."""
    from applications.appointments import queries
    from catalog.queries import catalog
    from portal import create_app

    app = create_app()
    with app.app_context():
        items = [
            {"code": i.code, "id": i.id, "units": [u.id for u in queries.serving_units(i)]}
            for i in sorted(catalog().items.values(), key=lambda i: i.code)
            if i.visits >= 1
        ]
    return {"items": [i for i in items if i["units"]]}


def _in_app(database_url: str, call: str) -> dict:
    code = (
        "import json\nfrom bench import appointments as b\n"
        f"print('RESULT' + json.dumps(b.{call}, default=str))"
    )
    with tempfile.TemporaryDirectory(prefix="bench-appt-") as inst:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=flask_env(database_url, inst),
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode:
        raise RuntimeError(f"{call} failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))
    return json.loads(line.removeprefix("RESULT"))


def generate(
    database_url: str,
    *,
    slots: int,
    bookings: int,
    capacity: int,
    clients: int,
    log: Callable[[str], None],
    seed: int = 20,
) -> dict:
    """Fill the (migrated, demo-loaded) database; the context the load phase needs."""
    rng = random.Random(seed)
    ctx = _in_app(database_url, "_context_in_app()")
    items = ctx["items"]
    pw_hash = citizen_password_hash(database_url)
    units = sorted({u for i in items for u in i["units"]})
    items_of_unit = {u: [i["id"] for i in items if u in i["units"]] for u in units}
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    figures: dict = {}
    db = Db(database_url)
    try:
        t = time.perf_counter()
        db.q("DELETE FROM appointment_slots WHERE id NOT IN (SELECT slot_id FROM appointments)")
        plan = slot_plan(units, today + timedelta(days=1), slots)
        booked = spread_bookings(len(plan), capacity, bookings, rng)
        first_slot = db.next_id("appointment_slots")
        slot_rows = [
            (first_slot + n, unit, day, start, end, capacity, booked[n], True)
            for n, (unit, day, start, end) in enumerate(plan)
        ]
        # the race slot: 08:00 on the third planned day, before the opening lines, empty
        race_item = max(items, key=lambda i: len(i["units"]))
        race_day = sorted({p[1] for p in plan})[min(2, len({p[1] for p in plan}) - 1)]
        race_start = datetime(race_day.year, race_day.month, race_day.day, 8, 0, tzinfo=SHANGHAI)
        race_slot = first_slot + len(plan)
        slot_rows.append(
            (
                race_slot,
                race_item["units"][0],
                race_day,
                race_start.astimezone(UTC),
                (race_start + timedelta(minutes=SLOT_MINUTES)).astimezone(UTC),
                RACE_PLACES,
                0,
                True,
            )
        )
        db.insert(
            "appointment_slots",
            ("id", "unit_id", "day", "starts_at", "ends_at", "capacity", "booked", "open"),
            slot_rows,
        )
        db.advance("appointment_slots")
        db.conn.commit()
        figures["slots"] = {"rows": len(slot_rows), "s": time.perf_counter() - t}

        t = time.perf_counter()
        first_user = db.next_id("users")
        n_users = bookings + max(clients, RACE_CLIENTS)
        created = datetime.now(UTC)
        users = [
            (
                first_user + n,
                "citizen",
                "压测市民",
                f"16{first_user + n:09d}",
                _id_number(9_000_000 + first_user + n),
                None,
                pw_hash,
                True,
                False,
                f"{rng.getrandbits(128):032x}",
                created,
            )
            for n in range(n_users)
        ]
        db.insert(
            "users",
            (
                "id",
                "role",
                "real_name",
                "mobile",
                "id_number",
                "username",
                "password_hash",
                "active",
                "must_change_password",
                "session_token",
                "created_at",
            ),
            users,
        )
        db.advance("users")
        db.conn.commit()
        figures["citizens"] = {"rows": n_users, "s": time.perf_counter() - t}

        t = time.perf_counter()
        first_appt = db.next_id("appointments")
        appts = []
        for row, count in zip(slot_rows, booked, strict=False):  # the race slot has no count: empty
            for _ in range(count):
                k = len(appts)
                appts.append(
                    (
                        first_appt + k,
                        booking_code(1_000_000 + k),
                        first_user + k,  # one booking per generated citizen: the unique index holds
                        rng.choice(items_of_unit[row[1]]),
                        row[0],
                        row[1],
                        "booked",
                        created,
                    )
                )
        db.insert(
            "appointments",
            ("id", "code", "user_id", "item_id", "slot_id", "unit_id", "status", "created_at"),
            appts,
        )
        db.advance("appointments")
        db.conn.commit()
        if db.pg:
            db.q("ANALYZE appointment_slots")
            db.q("ANALYZE appointments")
            db.q("ANALYZE users")
            db.conn.commit()
        figures["appointments"] = {"rows": len(appts), "s": time.perf_counter() - t}
        mismatched = db.q(
            """SELECT count(*) FROM appointment_slots s
                WHERE s.booked <> (SELECT count(*) FROM appointments a
                                    WHERE a.slot_id = s.id AND a.status = 'booked')"""
        )[0][0]
        if mismatched:
            raise RuntimeError(f"{mismatched} slots whose booked count differs from their bookings")
    finally:
        db.close()
    for what, f in figures.items():
        log(f"  {what:13} {f['rows']:8,d} rows  {f['s']:6.1f} s  ({f['rows'] / max(f['s'], 1e-9):,.0f}/s)")
    book_items = [i for i in items if i["code"] != race_item["code"]]
    book_items.sort(key=lambda i: -len(i["units"]))
    return {
        "generated": figures,
        "today": today.isoformat(),
        "race_item": race_item,
        "race_slot": race_slot,
        "race_day": race_day.isoformat(),
        "book_items": book_items[:1],
        "client_mobiles": [f"16{first_user + bookings + n:09d}" for n in range(n_users - bookings)],
    }


# Load --------------------------------------------------------------------------------------------------


class Citizen(Client):
    def login(self) -> None:
        _status, _loc, page, _t = self.request("GET", "/login")
        self.csrf = CSRF.search(page).group(1)
        status, _loc, _page, _t = self.request(
            "POST",
            "/login",
            {"csrf_token": self.csrf, "identifier": self.username, "password": self.password},
        )
        if status != 302:
            raise RuntimeError(f"login of citizen {self.username} failed ({status})")
        _status, _loc, page, _t = self.request("GET", "/")
        m = CSRF.search(page)
        if m:
            self.csrf = m.group(1)

    def get(self, path: str, expect: int = 200) -> float:
        status, _loc, page, elapsed = self.request("GET", path)
        if status != expect:
            raise RuntimeError(f"GET {path} as {self.username}: HTTP {status}")
        m = CSRF.search(page)
        if m:
            self.csrf = m.group(1)
        return elapsed

    def book(self, item: str, day: str, slot: int) -> tuple[int, str, float]:
        status, loc, _body, elapsed = self.request(
            "POST", f"/items/{item}/book", {"csrf_token": self.csrf, "day": day, "slot": str(slot)}
        )
        return status, loc, elapsed


def _pool(n: int, fn: Callable, args: Sequence) -> list:
    with ThreadPoolExecutor(n) as ex:
        return list(ex.map(fn, args))


def timed_gets(clients: list[Citizen], paths: Callable[[int, int], str], requests: int) -> list[float]:
    """Each client GETs ``paths(client, i)`` ``requests`` times, all clients at once; the timings."""
    out: list[float] = []
    lock = threading.Lock()

    def one(k: int) -> None:
        mine = [clients[k].get(paths(k, i)) for i in range(requests)]
        with lock:
            out.extend(mine)

    _pool(len(clients), one, range(len(clients)))
    return out


def free_slots_for(
    database_url: str, item: dict, after: datetime, last: date, n: int, exclude: int
) -> list[tuple[int, str]]:
    """``n`` distinct slots with a free place for ``item`` (slot id, local day), spread over the days,
    never ``exclude`` (the race slot)."""
    db = Db(database_url)
    try:
        marks = ", ".join("%s" for _ in item["units"])
        rows = db.q(
            f"""SELECT id, day FROM appointment_slots
                 WHERE unit_id IN ({marks}) AND open AND booked < capacity AND starts_at >= %s AND day <= %s
                   AND id <> %s
                 ORDER BY id""",
            [*item["units"], after if db.pg else after.strftime("%Y-%m-%d %H:%M:%S.%f"), last, exclude],
        )
    finally:
        db.close()
    random.Random(7).shuffle(rows)
    return [(r[0], str(r[1])) for r in rows[:n]]


def load(database_url: str, ctx: dict, *, clients: int, requests: int, log: Callable[[str], None]) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-appt-"))
    env = flask_env(database_url, str(work))
    port = free_port()
    server = portal(port, env, work / "access.log", workers=2)
    result: dict = {"clients": clients, "requests_per_client": requests}
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        people = [Citizen(port, m, CITIZEN_PASSWORD) for m in ctx["client_mobiles"][:RACE_CLIENTS]]
        t = time.perf_counter()
        _pool(16, lambda c: c.login(), people)
        log(f"  logged in {len(people)} citizens in {time.perf_counter() - t:.1f} s (Argon2id, 2 workers)")
        load_before = os.getloadavg()[0]
        race_item, today = ctx["race_item"]["code"], date.fromisoformat(ctx["today"])
        first, last = today, today + timedelta(days=LISTING_DAYS - 1)
        api = f"/api/v1/appointments/slots?item={race_item}&from={first}&to={last}"
        days = [str(today + timedelta(days=d)) for d in range(1, LISTING_DAYS)]
        group = people[:clients]
        # warm-up (not measured): every worker answers each kind once or twice
        for c in group[:4]:
            c.get("/healthz")
            c.get(api)
            c.get(f"/items/{race_item}/book?day={days[0]}")
        figures = {}
        for name, path in (
            ("healthz", lambda k, i: "/healthz"),
            ("slots API (14 days)", lambda k, i: api),
            ("day page", lambda k, i: f"/items/{race_item}/book?day={days[(k + i) % len(days)]}"),
        ):
            figures[name] = timed_gets(group, path, requests)
        # booking: each of the 200 citizens books the booking item once, on a slot no one else takes,
        # ``clients`` citizens at a time (the day page's GET before each POST is not timed)
        at = datetime.now(UTC) + timedelta(hours=2)
        jobs: list[list[tuple[str, int, str]]] = [[] for _ in people]
        item = ctx["book_items"][0]
        last = today + timedelta(days=LISTING_DAYS - 1)
        for k, (slot, day) in enumerate(
            free_slots_for(database_url, item, at, last, len(people), ctx["race_slot"])
        ):
            jobs[k].append((item["code"], slot, day))
        booking: list[float] = []
        failed: list[str] = []
        lock = threading.Lock()

        def book_all(k: int) -> None:
            c = people[k]
            for code, slot, day in jobs[k]:
                c.get(f"/items/{code}/book?day={day}")
                status, loc, elapsed = c.book(code, day, slot)
                with lock:
                    booking.append(elapsed)
                    if status != 302 or not DETAIL.search(loc):
                        failed.append(f"{code} slot {slot}: HTTP {status} {loc}")

        _pool(clients, book_all, range(len(people)))
        if failed:
            raise RuntimeError(f"{len(failed)} bookings failed, first: {failed[0]}")
        figures["booking POST"] = booking
        base = summary(figures["healthz"])
        result["latency"] = {k: summary(v) for k, v in figures.items()}
        for s in result["latency"].values():
            s["ratio_p95"] = s["p95"] / base["p95"] if base["p95"] else float("nan")

        # the race: every citizen has the day page's CSRF token, then all POST the 10-place slot at once
        slot, day = ctx["race_slot"], ctx["race_day"]
        _pool(16, lambda c: c.get(f"/items/{race_item}/book?day={day}"), people)
        barrier = threading.Barrier(len(people))
        answers: list[tuple[int, str, float]] = []

        def race(c: Citizen) -> None:
            barrier.wait()
            answers.append(c.book(race_item, day, slot))

        threads = [threading.Thread(target=race, args=(c,)) for c in people]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
        won = sum(1 for s, loc, _e in answers if s == 302 and DETAIL.search(loc))
        refused = sum(1 for s, _loc, _e in answers if s == 422)
        db = Db(database_url)
        try:
            booked = db.q("SELECT booked FROM appointment_slots WHERE id = %s", [slot])[0][0]
            rows = db.q("SELECT count(*) FROM appointments WHERE slot_id = %s AND status = 'booked'", [slot])[
                0
            ][0]
        finally:
            db.close()
        result["race"] = {
            "clients": len(people),
            "places": RACE_PLACES,
            "won": won,
            "refused_422": refused,
            "other": len(answers) - won - refused,
            "slot_booked": booked,
            "slot_bookings": rows,
            "wall_s": wall,
            "latency": summary([e for _s, _l, e in answers]),
            "ok": won == RACE_PLACES
            and booked == RACE_PLACES
            and rows == RACE_PLACES
            and refused == len(people) - won,
        }
        result["loadavg"] = (load_before, os.getloadavg()[0])
    finally:
        stop(server)
        shutil.rmtree(work, ignore_errors=True)
    return result


# EXPLAIN -----------------------------------------------------------------------------------------------


def _explain_in_app(item_code: str, first: str, last: str) -> list[dict]:
    """EXPLAIN the statement ``queries.free_slots`` runs for the API's listing of ``item_code`` (all its
    units, then its first unit as ``&unit=`` does)."""
    from sqlalchemy import event

    from applications.appointments import queries
    from catalog.queries import catalog
    from core.db import db
    from portal import create_app

    app = create_app()
    out = []
    with app.app_context():
        item = catalog().items[item_code]
        units = [u.id for u in queries.serving_units(item)]
        engine = db.session.get_bind()
        pg = engine.dialect.name == "postgresql"
        for label, ids in (("all serving units", units), ("one unit (&unit=)", units[:1])):
            captured: list = []

            def capture(conn, cursor, statement, parameters, context, executemany, captured=captured):
                if "appointment_slots" in statement:
                    captured.append((statement, parameters))

            event.listen(engine, "before_cursor_execute", capture)
            try:
                queries.free_slots(
                    ids,
                    date.fromisoformat(first),
                    date.fromisoformat(last),
                    include_full=True,
                    item_id=item.id,  # the item's group (or ungrouped) slots, as the API asks
                )
            finally:
                event.remove(engine, "before_cursor_execute", capture)
            statement, params = captured[-1]
            cursor = db.session.connection().connection.dbapi_connection.cursor()
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
            cursor.execute(prefix + statement, params)
            lines = [str(r[0]) if pg else str(r[-1]) for r in cursor.fetchall()]
            out.append(
                {
                    "what": label,
                    "units": len(ids),
                    "top": lines[0],
                    "scan": next((x.strip().lstrip("-> ") for x in lines if "Scan" in x or "SCAN" in x), ""),
                    "index": any("Index" in x or "USING INDEX" in x.upper() for x in lines),
                    "plan": lines,
                }
            )
        db.session.rollback()
    return out


# The run -----------------------------------------------------------------------------------------------


def report(r: dict, log: Callable[[str], None] = print) -> None:
    log(
        f"预约 benchmark ({r['database']}): {r['slots']:,} slots, {r['bookings']:,} bookings; "
        f"gunicorn 2 workers, "
        f"{r['load']['clients']} clients × {r['load']['requests_per_client']} requests; load average "
        f"{r['load']['loadavg'][0]:.1f} → {r['load']['loadavg'][1]:.1f} on {os.cpu_count()} CPUs "
        "(shared, noisy)"
    )
    log(f"{'at the client':22} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95 / healthz':>14}")
    for name, s in r["load"]["latency"].items():
        log(f"{name:22} {s['n']:5d} {s['p50']:8.1f} {s['p95']:8.1f} {s['max']:8.1f} {s['ratio_p95']:14.1f}")
    race = r["load"]["race"]
    log(
        f"race: {race['clients']} citizens on a {race['places']}-place slot: {race['won']} booked, "
        f"{race['refused_422']} refused (422), {race['other']} other; slot booked={race['slot_booked']}, "
        f"{race['slot_bookings']} bookings in the database; all answered in {race['wall_s']:.2f} s "
        f"(p95 {race['latency']['p95']:.0f} ms) — {'ok' if race['ok'] else 'WRONG'}"
    )
    for e in r["explain"]:
        log(f"EXPLAIN slot listing, {e['what']}: {e['top']}")
        log(f"    scan: {e['scan']}  (index used: {'yes' if e['index'] else 'no'})")


def run(
    pg_admin_url: str,
    *,
    slots: int = 10_000,
    bookings: int = 100_000,
    capacity: int = 20,
    clients: int = 8,
    requests: int = 50,
    json_path: str | None = None,
    keep_db: bool = False,
    log: Callable[[str], None] = print,
) -> dict:
    """Create the scratch database, generate, measure, EXPLAIN, report; drop the database."""
    db_name = f"bench_appt_{os.getpid()}"
    url = None
    sqlite_dir = None
    if pg_admin_url:
        try:
            import psycopg

            with psycopg.connect(pg_admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db_name}"')
            url = pg_admin_url.rsplit("/", 1)[0] + f"/{db_name}"
        except Exception as exc:  # noqa: BLE001 - no PostgreSQL: SQLite
            log(f"PostgreSQL not available ({exc}); NOTE: running on SQLite, figures are not PostgreSQL's")
    if url is None:
        sqlite_dir = tempfile.mkdtemp(prefix="bench-appt-sqlite-")
        url = f"sqlite:///{sqlite_dir}/bench.db"
    try:
        t = time.perf_counter()
        log(f"预约 benchmark: schema and demo data into {db_name if sqlite_dir is None else url}")
        run_flask(url, "db", "upgrade")
        run_flask(url, "demo", "load")
        log(f"  migrations and demo data {time.perf_counter() - t:.1f} s")
        ctx = generate(url, slots=slots, bookings=bookings, capacity=capacity, clients=clients, log=log)
        log("measuring over HTTP")
        measured = load(url, ctx, clients=clients, requests=requests, log=log)
        today = date.fromisoformat(ctx["today"])
        explain = _in_app(
            url,
            f"_explain_in_app({ctx['race_item']['code']!r}, {str(today)!r}, "
            f"{str(today + timedelta(days=LISTING_DAYS - 1))!r})",
        )
        result = {
            "database": "PostgreSQL" if sqlite_dir is None else "SQLite",
            "slots": slots,
            "bookings": bookings,
            "capacity": capacity,
            "listing_item": ctx["race_item"]["code"],
            "booking_items": [i["code"] for i in ctx["book_items"]],
            "generated": ctx["generated"],
            "load": measured,
            "explain": explain,
        }
        report(result, log)
        path = Path(json_path or Path(tempfile.gettempdir()) / f"bench-appointments-{os.getpid()}.json")
        path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        log(f"figures written to {path}")
        return result
    finally:
        if sqlite_dir is not None:
            shutil.rmtree(sqlite_dir, ignore_errors=True)
        elif keep_db:
            log(f"kept database {db_name}: {url}")
        else:
            import psycopg

            with psycopg.connect(pg_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="admin URL of a PostgreSQL server ('' for SQLite)",
    )
    parser.add_argument("--slots", type=int, default=10_000)
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--capacity", type=int, default=20, help="places per generated slot")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for the timed requests")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per client and kind")
    parser.add_argument("--json", default=None, help="where to write the figures (default: a temp file)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    run(
        args.pg,
        slots=args.slots,
        bookings=args.bookings,
        capacity=args.capacity,
        clients=args.clients,
        requests=args.requests,
        json_path=args.json,
        keep_db=args.keep_db,
        log=lambda s: print(s, flush=True),
    )


if __name__ == "__main__":
    main()
