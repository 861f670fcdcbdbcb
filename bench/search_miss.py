"""In-process cost of a search that misses every cache (``python -m bench --only search-miss``).

The demo database gets the same generated catalog as bench/search_http.py (``--search-items``, 10,000
by default), then ``search_found`` — what /api/v1/items runs for ``q=`` — answers the queries
bench/search_rotate.lua sends (a different one each time), reading the first page of 20 and the total
like the API. Prints p50/p95/mean overall and per query shape. ``SEARCH_MISS_INSTANCE=dir`` reuses an
instance directory seeded by an earlier run (seeding 10,000 items takes minutes).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from bench.__main__ import ROOT, prepare_demo

SUBJECTS = ["居民身份证", "户口", "机动车", "驾驶证", "护照", "港澳通行证", "台湾通行证", "居住证", "犬只",
            "电动自行车", "旅馆业", "公章", "保安服务", "烟花爆竹", "行驶证", "号牌", "出生", "姓名", "签注",
            "外国人签证"]  # fmt: skip
ACTIONS = ["申领", "换领", "补领", "登记", "变更", "注销", "迁入", "迁出", "签发", "延期", "审验", "备案",
           "许可", "查询", "更正", "核发", "抵押", "转移", "恢复", "证明"]  # fmt: skip
ALIASES = [
    "身份证",
    "户口本",
    "驾照",
    "年检",
    "上牌",
    "过户",
    "办护照",
    "狗证",
    "良民证",
    "刻章",
    "签证",
    "续签",
]
PINYIN = [
    "huzhao",
    "jiashizheng",
    "shenfenzheng",
    "hukou",
    "jiuzhuzheng",
    "qianzhu",
    "gangao",
    "xingshizheng",
]
INITIALS = ["hz", "jsz", "sfz", "hk", "jzz", "qz", "gatxz", "xsz", "jdc", "ddzxc"]
SHAPES = ["name", "俗称", "sentence", "pinyin", "initials"]


def query(n: int) -> str:
    """The ``n``-th query of bench/search_rotate.lua."""
    pick = lambda t, k: t[k % len(t)]  # noqa: E731
    kind = n % 5
    if kind == 0:
        return pick(SUBJECTS, n) + pick(ACTIONS, n // 7) + str(n)
    if kind == 1:
        return pick(ALIASES, n) + str(n)
    if kind == 2:
        return "我想办" + pick(SUBJECTS, n // 3) + pick(ACTIONS, n // 11) + "要什么" + str(n)
    if kind == 3:
        return pick(PINYIN, n) + str(n)
    return pick(INITIALS, n) + pick(ACTIONS, n // 13) + str(n)


def _stats(ms: list[float]) -> str:
    ms = sorted(ms)
    p50, p95 = ms[len(ms) // 2], ms[int(len(ms) * 0.95)]
    return f"p50 {p50:.2f} ms, p95 {p95:.2f} ms, mean {sum(ms) / len(ms):.2f} ms"


def run(n_items: int, n_queries: int = 2000, log=print) -> None:
    instance = os.environ.get("SEARCH_MISS_INSTANCE") or tempfile.mkdtemp(prefix="bench-miss-")
    env = {**os.environ, "INSTANCE_DIR": instance, "LOG_LEVEL": "WARNING", "FLASK_APP": "wsgi.py"}
    env.pop("DATABASE_URL", None)
    if not os.path.exists(os.path.join(instance, "portal.db")):
        from bench.search_http import seed_catalog

        prepare_demo(env)
        log(f"search-miss: seeded {n_items:,} items in {seed_catalog(env, n_items):.0f} s ({instance})")
    os.environ.update(INSTANCE_DIR=instance, LOG_LEVEL="WARNING", RATELIMIT_ENABLED="0")
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    from catalog.ask.engine import engine_for, search_found
    from catalog.queries import catalog
    from portal import create_app

    with create_app().app_context():
        snap = catalog()
        t = time.perf_counter()
        engine_for(snap)
        log(f"search-miss: {len(snap.items):,} items, engine built in {time.perf_counter() - t:.1f} s")
        numbers = [*range(1, n_queries // 2 + 1), *range(1_000_001, 1_000_001 + n_queries // 2)]
        for n in numbers[:50]:  # warm-up
            search_found(snap, query(n))[:20]
        by_shape: dict[int, list[float]] = {k: [] for k in range(5)}
        for n in numbers:
            q = query(n)
            t = time.perf_counter()
            found = search_found(snap, q)
            found[:20], len(found)  # the API's first page and total
            by_shape[n % 5].append((time.perf_counter() - t) * 1000)
    every = [ms for v in by_shape.values() for ms in v]
    log(f"search-miss: {len(every)} rotating queries, {_stats(every)} (target p95 ≤ 3 ms)")
    for k, ms in by_shape.items():
        log(f"  {SHAPES[k]:9} {_stats(ms)}")
