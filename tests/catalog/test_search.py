"""Search: the query → item table on the demo catalog's snapshot (so on SQLite and PostgreSQL alike),
the ranking order on a crafted index, and queries that match nothing."""

from __future__ import annotations

from collections import Counter

import pytest

from catalog.search import SearchIndex, build_entry, highlight_spans, normalise, pinyin_initials
from tests.catalog.search_cases import CASES, NO_MATCH, Case


def test_the_table_is_big_enough_and_covers_every_kind():
    assert len(CASES) >= 40
    kinds = Counter(c.kind for c in CASES)
    assert set(kinds) == {
        "exact name",
        "俗称",
        "colloquial phrase",
        "sentence holding an alias",
        "full pinyin",
        "initials",
        "typo",
    }
    assert all(n >= 5 for n in kinds.values()), kinds
    assert len({c.query for c in CASES}) == len(CASES), "a query appears twice"
    assert all(c.note for c in CASES if c.top > 1), "say why an ambiguous case is relaxed"


def test_every_expected_code_exists(demo_snapshot):
    missing = sorted({c.code for c in CASES} - set(demo_snapshot.items))
    assert missing == []


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}:{c.query}" for c in CASES])
def test_query_finds_the_item(demo_snapshot, case: Case):
    found = [item.code for item, _hit in demo_snapshot.search(case.query, limit=case.top)]
    assert case.code in found, (
        f"{case.query!r} → {[demo_snapshot.items[c].name for c in found]}, "
        f"expected {demo_snapshot.items[case.code].name} in the top {case.top}"
    )


@pytest.mark.parametrize("query", NO_MATCH)
def test_a_query_matching_nothing_returns_nothing(demo_snapshot, query):
    assert demo_snapshot.search(query) == []
    assert demo_snapshot.index.search(query) == []


def test_empty_query_returns_nothing(demo_snapshot):
    assert demo_snapshot.search("") == [] and demo_snapshot.search("   ") == []


# Ranking ------------------------------------------------------------------------------------------


RANKING = SearchIndex(
    [
        build_entry("description", "出入境证件照片采集", (), "出国前请准备好护照和照片"),
        build_entry("pinyin", "沪照", ()),  # reads huzhao, like 护照
        build_entry("alias-contains", "出国证件办理", ("办护照",)),
        build_entry("name-contains", "普通护照签发"),
        build_entry("alias", "因私出国证件", ("护照",)),
        build_entry("exact", "护照"),
        build_entry("unrelated", "居民身份证首次申领", ("身份证",), "采集人像和指纹"),
    ]
)


def test_ranking_exact_name_alias_name_contains_pinyin_description():
    assert [h.key for h in RANKING.search("护照")] == [
        "exact",
        "alias",
        "name-contains",
        "alias-contains",
        "pinyin",
        "description",
    ]


def test_ranking_scores_strictly_decrease_by_tier():
    scores = [h.score for h in RANKING.search("护照")]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)


def test_a_one_word_query_found_only_in_a_description():
    assert [h.key for h in RANKING.search("指纹")] == ["unrelated"]


def test_limit_keeps_the_best():
    assert [h.key for h in RANKING.search("护照", limit=2)] == ["exact", "alias"]


def test_nothing_matches_in_the_crafted_index():
    assert RANKING.search("火星移民") == []
    assert RANKING.search("zzzz") == []


def test_the_rest_of_the_query_decides_between_items():
    """A query holding one item's generic alias (身份证) and a word only another item has (补)."""
    index = SearchIndex(
        [
            build_entry("first", "居民身份证首次申领", ("身份证",)),
            build_entry("lost", "居民身份证补领", ("身份证丢了", "补办身份证")),
        ]
    )
    assert index.search("身份证补办")[0].key == "lost"
    assert index.search("我的身份证怎么办")[0].key == "first"


# Pieces ------------------------------------------------------------------------------------------


def test_normalise_and_initials():
    assert normalise(" Hu　Zhao，") == "huzhao"
    assert normalise("ＨＺ") == "hz"
    assert pinyin_initials("居民身份证") == "jmsfz"


def test_highlight_spans():
    assert highlight_spans("普通护照签发", ["护照"]) == [("普通", False), ("护照", True), ("签发", False)]
    assert highlight_spans("普通护照签发", ["签证"]) == [("普通护照签发", False)]
    assert highlight_spans("普通护照签发", ["护照签发", "护照"]) == [("普通", False), ("护照签发", True)]


def test_a_pinyin_prefix_names_the_item_it_begins_and_no_neighbour():
    # The old joined-blob scan attributed a prefix found after a NUL separator to the value *before*
    # it: "jia" found 护照 (the neighbour) at prefix rank and 驾驶证 only below it.
    index = SearchIndex([build_entry("A", "护照"), build_entry("B", "驾驶证"), build_entry("C", "户口")])
    assert [(h.key, h.score) for h in index.search("jia")] == [("B", 560)]
    assert [(h.key, h.score) for h in index.search("hu")] == [("A", 560), ("C", 560)]
    assert [(h.key, h.score) for h in index.search("sz")] == [("B", 500)]


def test_a_long_word_found_through_its_runs_is_still_checked_whole():
    # 行驶证 and 驾驶证 share the run 驶证: a name is found for a query only when it holds all of it.
    index = SearchIndex([build_entry("A", "机动车行驶证补领"), build_entry("B", "驾驶证换领", ("驾照",))])
    assert [(h.key, h.terms) for h in index.search("行驶证补领")] == [("A", ["行驶证补领", "行驶证", "补领"])]
    assert [h.key for h in index.search("驶证")] == ["B", "A"]  # both contain it: shorter name first
    assert [h.score for h in index.search("驾驶证补领行")] == [
        pytest.approx(383.33, abs=0.01),
        376.6666666666667,
    ]
