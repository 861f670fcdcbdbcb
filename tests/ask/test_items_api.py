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


def _merged_as_before(snap, q, limit=10):
    """What search_items returned before it ranked only the page read: every Hit built and sorted,
    the engine fed the items' best scores as a dict, per-document rules in a Python loop."""
    from catalog.ask.engine import PLAIN_ENOUGH, AskEngine, engine_for

    plain = snap.search(q)
    if plain and plain[0][1].score >= PLAIN_ENOUGH:
        return [item.code for item, _hit in plain]
    entry = {e.key: i for i, e in enumerate(snap.index.entries)}
    ranked = [
        c
        for c, s in engine_for(snap).rank(q, limit=limit, scores={entry[i.code]: h.score for i, h in plain})
        if s >= AskEngine.MIN_SCORE
    ]
    return ranked + [item.code for item, _hit in plain if item.code not in ranked]


def test_the_page_and_total_are_those_of_the_full_ranking(demo_snapshot):
    # the items API reads a page and the length of search_found: ranking only as far as the page
    # reads must give the same items in the same order and the same total as ranking every match
    from bench.search_miss import query
    from catalog.ask.engine import search_found
    from tests.ask.questions import HELD_OUT, QUESTIONS

    snap = demo_snapshot
    questions = [query(n) for n in [*range(1, 301), *range(1_000_001, 1_000_101)]]
    questions += [q.question for q in QUESTIONS + HELD_OUT] + ["护照", "hz", "证明", "passport", "办"]
    some = 0
    for q in questions:
        found = search_found(snap, q)
        full = [i.code for i in found]
        assert full == _merged_as_before(snap, q), q
        assert len(found) == len(full)
        for a, b in ((0, 20), (0, 3), (2, 5), (5, 40)):
            assert [i.code for i in found[a:b]] == full[a:b], (q, a, b)
        some += len(full) > 3
    assert some > 100


def test_rank_is_the_per_document_rules(engine):
    # rank() sums its bonuses in numpy; the order-aware alias check runs only for aliases whose every
    # character the question has. Same scores as each rule applied document by document.
    import numpy as np

    from bench.search_miss import query
    from catalog.ask.engine import _bigrams, _spread_in
    from tests.ask.questions import HELD_OUT, QUESTIONS

    def slow(question, limit):
        bm, plain, said, implied = engine._scores(question)
        top = float(bm.max()) if len(bm) else 0.0
        combined = {}
        for n in np.flatnonzero(bm > 0).tolist() if top > 0 else ():
            s = float(bm[n]) / top * min(1.0, top / 6.0)
            p = plain[n]
            s += 0.45 if p >= 600 else 0.2 if p >= 300 else 0.05 if p > 0 else 0.0
            words = engine._name_words[n]
            if words:
                said_n = sum(
                    1.0 if w in _bigrams(said) else 0.5 if w in _bigrams(implied) else 0 for w in words
                )
                s += 0.35 * said_n / len(words)
            if any(_spread_in(a, said) for a in engine._aliases[n]):
                s += 0.3
            combined[engine.docs[n].code] = min(s / 2.1, 1.0)
        return sorted(combined.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]

    texts = [query(n) for n in range(1, 201)] + [q.question for q in QUESTIONS + HELD_OUT]
    for text in [*texts, "护照明年到期", "passport lost", "驾照到期"]:
        for limit in (5, 10):
            got, want = engine.rank(text, limit=limit), slow(text, limit)
            assert [c for c, _ in got] == [c for c, _ in want], text
            assert np.allclose([s for _, s in got], [s for _, s in want]), text
