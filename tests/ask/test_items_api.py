"""``/api/v1/items?q=`` understands sentences, near-synonyms and typos through the 智能咨询 engine,
while a plain name or alias search stays on the catalog search alone (same order, no engine)."""

from __future__ import annotations

import time

import pytest

from catalog.ask.engine import search_items


@pytest.fixture(scope="module")
def app(demo_app):
    return demo_app


@pytest.mark.parametrize(
    ("q", "code", "top"),
    [
        ("女儿满月了还没上户口", "LJ-HJ-006", 1),
        ("护昭丢了", "LJ-CR-003", 1),
        ("身份正过期了", "LJ-HJ-002", 1),
        ("行车证找不到了", "LJ-CJ-007", 3),
        ("绿本不见了", "LJ-CJ-008", 1),
        ("I lost my passport", "LJ-CR-003", 1),
    ],
)
def test_sentences_synonyms_and_typos_find_the_item(app, q, code, top):
    body = app.test_client().get("/api/v1/items", query_string={"q": q}).get_json()
    codes = [i["code"] for i in body["items"]]
    assert code in codes[:top], codes[:5]


def test_a_plain_name_search_keeps_its_order_and_never_builds_the_engine(demo_snapshot):
    snap = demo_snapshot
    snap.__dict__.pop("_ask_engine", None)
    for q in ("护照", "驾照", "hz", "sfz", "户籍证明", "驾照到期"):
        assert [i.code for i in search_items(snap, q)] == [i.code for i, _h in snap.search(q)]
    assert "_ask_engine" not in snap.__dict__


def test_the_understanding_costs_little(demo_snapshot):
    search_items(demo_snapshot, "女儿满月了还没上户口")  # the engine is built once per catalog revision
    started = time.perf_counter()
    for _ in range(20):
        search_items(demo_snapshot, "我的驾照在老家考的能在这边换吗")
    per_query = (time.perf_counter() - started) / 20
    print(f"\nitems API sentence search: {per_query * 1000:.1f} ms per query")
    assert per_query < 0.25  # generous on a shared 2-core machine
