"""`make bench`: throughput of the portal against a bare Flask app, and in-process search latency.

Everything runs in one process tree on loopback, bounded in time; figures are printed as ratios
measured in the same run because the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.http import BIN, ROOT, bench_env, free_port, gunicorn, stop, wait_for, wrk


def prepare_demo(env: dict) -> None:
    for args in (["db", "upgrade"], ["demo", "load"]):
        subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, check=True, capture_output=True)


def bench_http(seconds: int, connections: int) -> list[dict]:
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk (skipping HTTP benchmarks)")
        return []
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    env = bench_env(work)
    prepare_demo(env)
    paths = {
        "home": ("/", "text/html"),
        "item page": ("/items/LJ-CR-001", "text/html"),
        "search API": ("/api/v1/items?q=hz", "application/json"),
    }
    portal_port, bare_port = free_port(), free_port()
    portal = gunicorn("wsgi:app", portal_port, env)
    bare = None
    try:
        wait_for(f"http://127.0.0.1:{portal_port}/healthz")
        bodies = {}
        for path, mimetype in paths.values():
            body = urllib.request.urlopen(f"http://127.0.0.1:{portal_port}{path}").read()
            file = work / f"body-{len(bodies)}"
            file.write_bytes(body)
            bodies[path] = [str(file), mimetype]
        (work / "bodies.json").write_text(json.dumps(bodies))
        bare = gunicorn("bench.bare_app:app", bare_port, {**env, "BENCH_BODIES": str(work / "bodies.json")})
        wait_for(f"http://127.0.0.1:{bare_port}/")
        rows = []
        for name, (path, _m) in paths.items():
            wrk(f"http://127.0.0.1:{portal_port}{path}", 1, connections)  # warm caches
            p = wrk(f"http://127.0.0.1:{portal_port}{path}", seconds, connections)
            b = wrk(f"http://127.0.0.1:{bare_port}{path}", seconds, connections)
            rows.append(
                {
                    "page": name,
                    "path": path,
                    "bytes": Path(bodies[path][0]).stat().st_size,
                    "portal_rps": p,
                    "bare_rps": b,
                    "ratio": p / b if b else 0,
                }
            )
        return rows
    finally:
        stop(portal)
        if bare is not None:
            stop(bare)
        shutil.rmtree(work, ignore_errors=True)


def bench_search(n_items: int, n_queries: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from bench.catalog_gen import generate_entries, sample_queries
    from catalog.search import SearchIndex

    t0 = time.perf_counter()
    index = SearchIndex(generate_entries(n_items))
    build = time.perf_counter() - t0
    queries = sample_queries(n_queries)
    timings = []
    for q in queries:
        t = time.perf_counter()
        index.search(q, limit=20)
        timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    return {
        "items": n_items,
        "queries": len(queries),
        "build_s": build,
        "p50_ms": timings[len(timings) // 2],
        "p95_ms": timings[int(len(timings) * 0.95)],
        "max_ms": timings[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--search-items", type=int, default=10_000)
    parser.add_argument(
        "--only",
        choices=[
            "http",
            "loggedin",
            "search",
            "search-http",
            "search-miss",
            "submit",
            "clerk",
            "stats",
            "appointments",
            "crypto",
            "templates",
            "profile-loggedin",
            "spy-loggedin",
            "instructions",
        ],
        default=None,
        help=(
            "one part; profile-loggedin (a cProfile of the logged-in pages), spy-loggedin (py-spy "
            "sampling a gunicorn worker under wrk) and instructions (callgrind's count per logged-in "
            "request) run only when asked for"
        ),
    )
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="admin URL of a PostgreSQL server for the submission benchmark ('' to skip)",
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="applications for the clerk benchmark")
    parser.add_argument("--clerk-seconds", type=int, default=30)
    parser.add_argument("--clerk-runs", type=int, default=3, help="clerk load runs (the host is noisy)")
    parser.add_argument("--think-ms", type=int, default=1000, help="clerk think time between page views")
    parser.add_argument("--keep-db", action="store_true", help="keep the clerk benchmark's database")
    args = parser.parse_args()
    if args.only in (None, "search"):
        s = bench_search(args.search_items, 2000)
        print(
            f"search: {s['items']} items, index built in {s['build_s']:.2f}s; {s['queries']} queries "
            f"p50 {s['p50_ms']:.2f} ms, p95 {s['p95_ms']:.2f} ms (target ≤ 3 ms), max {s['max_ms']:.1f} ms"
        )
    if args.only in (None, "http"):
        rows = bench_http(args.seconds, args.connections)
        if rows:
            print(f"{'page':12} {'bytes':>7} {'portal req/s':>13} {'bare req/s':>11} {'ratio':>6}")
            for r in rows:
                line = f"{r['page']:12} {r['bytes']:7d} {r['portal_rps']:13.0f} {r['bare_rps']:11.0f}"
                print(f"{line} {r['ratio']:6.2f}")
            print(
                "targets: ratio ≥ 0.7 for the item page and the search API (gunicorn, 2 workers, wrk "
                f"-c{args.connections} {args.seconds}s)"
            )
    if args.only in (None, "search-http"):
        from bench import search_http

        r = search_http.run(args.search_items, args.seconds, args.connections)
        if r:
            print(search_http.report(r, args.connections, args.seconds), flush=True)
    if args.only in (None, "search-miss"):
        from bench import search_miss

        search_miss.run(args.search_items, log=lambda line: print(line, flush=True))
    if args.only in (None, "loggedin"):
        from bench import loggedin

        loggedin.report(loggedin.run(args.seconds, args.connections), args.seconds, args.connections)
    if args.only in (None, "templates"):
        from bench import templates

        templates.run(log=lambda line: print(line, flush=True))
    if args.only == "profile-loggedin":
        from bench import profile_loggedin

        profile_loggedin.run(log=lambda line: print(line, flush=True))
    if args.only == "spy-loggedin":
        from bench import spy_loggedin

        spy_loggedin.run(args.seconds + 1, log=lambda line: print(line, flush=True))
    if args.only == "instructions":
        from bench import instructions

        instructions.run(log=lambda line: print(line, flush=True))
    if args.only in (None, "submit"):
        bench_submit(args.submissions, args.pg)
    if args.only in (None, "clerk"):
        bench_clerk(args.pg, args.rows, args.clerk_seconds, args.think_ms, args.keep_db, args.clerk_runs)
    if args.only in (None, "stats"):
        bench_stats(args.pg, args.rows, args.keep_db)
    if args.only in (None, "crypto"):
        from bench import crypto

        crypto.run(log=lambda line: print(line, flush=True))
    if args.only in (None, "appointments"):
        from bench import appointments

        appointments.run(args.pg, keep_db=args.keep_db, log=lambda line: print(line, flush=True))


def bench_stats(pg_admin_url: str, rows: int, keep_db: bool) -> None:
    """Generate ``rows`` applications into a database of its own and time the scoreboard on it."""
    from bench import generate, stats_load

    if not pg_admin_url:
        print("stats benchmark skipped: it needs PostgreSQL (--pg)")
        return
    import psycopg

    db_name = f"bench_stats_{os.getpid()}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    url = pg_admin_url.rsplit("/", 1)[0] + f"/{db_name}"
    try:
        print(f"stats benchmark: generating {rows:,} applications into {db_name}", flush=True)
        generate.run(url, rows, log=lambda line: print(line, flush=True))
        stats_load.run(url)
    finally:
        if not keep_db:
            with psycopg.connect(pg_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def bench_clerk(
    pg_admin_url: str, rows: int, seconds: int, think_ms: int, keep_db: bool, runs: int = 3
) -> None:
    """bench/generate.py fills a database of its own, bench/clerk_load.py runs 32 clerks against it
    ``runs`` times."""
    from bench import clerk_load, generate

    if not pg_admin_url:
        print("clerk benchmark skipped: it needs PostgreSQL (--pg)")
        return
    import psycopg

    db_name = f"bench_clerk_{os.getpid()}"
    try:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL: skip
        print(f"PostgreSQL not available for the clerk benchmark: {exc}")
        return
    url = pg_admin_url.rsplit("/", 1)[0] + f"/{db_name}"

    def log(line: str) -> None:
        print(line, flush=True)

    try:
        print(f"clerk benchmark: generating {rows:,} applications into {db_name}", flush=True)
        generate.run(url, rows, log=log)
        clerk_load.run_many(url, runs, log=log, seconds=seconds, think_ms=think_ms)
    finally:
        if keep_db:
            print(f"kept database {db_name}: {url}")
        else:
            with psycopg.connect(pg_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def bench_submit(submissions: int, pg_admin_url: str) -> None:
    from bench import submit

    targets: list[str | None] = [None]
    db_name = f"bench_submit_{os.getpid()}"
    if pg_admin_url:
        try:
            import psycopg

            with psycopg.connect(pg_admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db_name}"')
            targets.append(pg_admin_url.rsplit("/", 1)[0] + f"/{db_name}")
        except Exception as exc:  # noqa: BLE001 - no PostgreSQL: SQLite only
            print(f"PostgreSQL not available for the submission benchmark: {exc}")
    try:
        for url in targets:
            r = submit.run(url, submissions, clients=4)
            print(
                f"submit ({r['database']}): {r['submissions']} submissions with two "
                f"{r['photo_bytes'][0] // 1000} KB photos: {r['per_second']:.2f}/s; bare "
                f"decode+re-encode+hash+write loop {r['bare_per_second']:.2f}/s; "
                f"ratio {r['ratio']:.2f} (target ≥ 0.5)"
            )
    finally:
        if len(targets) > 1:
            import psycopg

            with psycopg.connect(pg_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
