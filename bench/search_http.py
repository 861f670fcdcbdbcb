"""Search API throughput when every request misses the cache (``python -m bench --only search-http``).

The demo database gets a generated catalog of ``--search-items`` published items (the demo items'
records cloned under the names bench.catalog_gen makes: 居民身份证补领（异地）123 …, half with a 俗称), then
gunicorn serves the portal and a bare Flask app answers the same-size JSON for any query. wrk runs
bench/search_rotate.lua, which builds a different ``q=`` for every request (names, 俗称, colloquial
phrases, full pinyin and initials with a running number), so the micro-cache never answers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.__main__ import BIN, ROOT, free_port, gunicorn, prepare_demo, stop, wait_for

LUA = Path(__file__).resolve().parent / "search_rotate.lua"
SAMPLE_QUERY = "驾驶证补领"  # its answer's size is what the bare app sends for every query


def seed_catalog(env: dict, n_items: int) -> float:
    """Add generated items until the catalog holds ``n_items``; returns the seconds it took."""
    code = f"""
import copy, random, time
from bench.catalog_gen import ACTIONS, ALIASES, QUALIFIERS, SUBJECTS
from catalog.cli import DEMO_DATA
from catalog.loader import apply, read_files, validate
from core.db import db
from core.transaction import commit
from portal import create_app

app = create_app()
with app.app_context():
    t = time.perf_counter()
    data = validate(read_files(DEMO_DATA))
    templates = [i for i in data["items"] if not i.get("english")] or data["items"]
    rng = random.Random(7)
    items = []
    for i in range({n_items} - len(data["items"])):
        rec = copy.deepcopy(rng.choice(templates))
        rec["code"] = f"G-{{i:06d}}"
        rec["name"] = rng.choice(SUBJECTS) + rng.choice(ACTIONS) + rng.choice(QUALIFIERS) + str(i)
        rec["aliases"] = [rng.choice(ALIASES) + str(i)] if rng.random() < 0.5 else []
        rec["description"] = (
            f"办理{{rec['name']}}的事项，适用于{{rng.choice(SUBJECTS)}}相关业务，材料齐全即办。"
        )
        rec["_hash"] = rec["code"]
        items.append(rec)
    apply({{"units": [], "items": items, "bundles": []}})
    commit()
    print(time.perf_counter() - t)
"""
    done = subprocess.run(
        [str(BIN / "python"), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"seeding the catalog failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def wrk_script(url: str, seconds: int, connections: int) -> tuple[float, int]:
    """Requests/s and the number of non-2xx answers, wrk running the rotating-query script."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(LUA), "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return (float(rps.group(1)) if rps else 0.0), int(bad.group(1)) if bad else 0


def run(n_items: int, seconds: int, connections: int, log=print) -> dict | None:
    if shutil.which("wrk") is None:
        log("wrk not found: apt-get install wrk (skipping the search HTTP benchmark)")
        return None
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    env = {
        **os.environ,
        "INSTANCE_DIR": str(work),
        "LOG_LEVEL": "WARNING",
        "FLASK_APP": "wsgi.py",
        "RATELIMIT_ENABLED": "0",
    }
    env.pop("DATABASE_URL", None)
    prepare_demo(env)
    seeded = seed_catalog(env, n_items) if n_items else 0.0
    portal_port, bare_port = free_port(), free_port()
    # each worker builds its search index and 智能咨询 engine on the first search (half a minute at
    # 10,000 items on a busy host): longer than gunicorn's default timeout
    portal = gunicorn("wsgi:app", portal_port, {**env, "GUNICORN_CMD_ARGS": "--timeout 300"})
    bare = None
    try:
        wait_for(f"http://127.0.0.1:{portal_port}/healthz", timeout=120)
        path = "/api/v1/items?" + urllib.parse.urlencode({"q": SAMPLE_QUERY})
        body = urllib.request.urlopen(f"http://127.0.0.1:{portal_port}{path}", timeout=60).read()
        total = json.loads(body)["total"]
        total_items = json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{portal_port}/api/v1/items").read()
        )["total"]
        (work / "body").write_bytes(body)
        (work / "bodies.json").write_text(
            json.dumps({"/api/v1/items": [str(work / "body"), "application/json"]})
        )
        bare = gunicorn("bench.bare_app:app", bare_port, {**env, "BENCH_BODIES": str(work / "bodies.json")})
        wait_for(f"http://127.0.0.1:{bare_port}/api/v1/items")
        with ThreadPoolExecutor(4) as pool:  # both workers build their index before the clock starts
            warm = [f"http://127.0.0.1:{portal_port}/api/v1/items?q=warm{k}" for k in range(4)]
            list(pool.map(lambda u: urllib.request.urlopen(u, timeout=300).read(), warm))  # noqa: S310
        wrk_script(f"http://127.0.0.1:{portal_port}", 2, connections)
        p, p_bad = wrk_script(f"http://127.0.0.1:{portal_port}", seconds, connections)
        b, _ = wrk_script(f"http://127.0.0.1:{bare_port}", seconds, connections)
        if p_bad:
            raise RuntimeError(f"{p_bad} non-2xx answers from the portal's search API")
        return {
            "items": n_items or total_items,
            "seed_s": seeded,
            "bytes": len(body),
            "sample_total": total,
            "portal_rps": p,
            "bare_rps": b,
            "ratio": p / b if b else 0.0,
        }
    finally:
        stop(portal)
        if bare is not None:
            stop(bare)
        shutil.rmtree(work, ignore_errors=True)


def report(r: dict, connections: int, seconds: int) -> str:
    return (
        f"search API, a different query every request, {r['items']:,} items (seeded in {r['seed_s']:.0f} s; "
        f"{r['bytes']} bytes for {SAMPLE_QUERY}, {r['sample_total']} hits): "
        f"portal {r['portal_rps']:.0f} req/s, "
        f"bare {r['bare_rps']:.0f} req/s, ratio {r['ratio']:.2f} (target ≥ 0.8; gunicorn 2 workers, wrk "
        f"-c{connections} {seconds}s)"
    )
