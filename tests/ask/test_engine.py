"""The engine's pieces on the demo catalog: typo repair, near-synonyms, the clarifying question."""

from __future__ import annotations

import re

from catalog.ask.engine import _one_typo, expand, load_lexicon
from tests.ask.questions import HELD_OUT, QUESTIONS


def test_a_homophone_or_a_missing_character_is_repaired(engine):
    assert "港澳通行证" in engine.repairs("港奥通行证签注")
    assert "户籍证明" in engine.repairs("户籍证名怎么开")
    assert "驾驶证" in engine.repairs("驾证丢了")
    assert "无犯罪记录证明" in engine.repairs("无犯记录证明")


def test_a_right_word_is_never_repaired_into_another(engine):
    # 照过期 is 驾照过期 without its first character, but the question has 护 right there
    assert "驾照过期" not in engine.repairs("我的护照过期了")
    assert engine.repairs("身份证丢了") == []


def test_repairs_at_the_edges(engine):
    # a window that is a catalog word itself is left alone, and so is a question without Han characters
    assert engine.repairs("港澳通行证") == []
    assert engine.repairs("passport lost 123") == []
    assert engine.repairs("") == []
    # one character missing from a long word, the window at the question's start or end
    assert "港澳通行证" in engine.repairs("港澳通证续签")
    assert "港澳通行证" in engine.repairs("续签港澳通证")
    # a homophone inside a two-character word is no repair (too risky), but the question still finds
    # the item through the pinyin of its bigrams
    assert "护照" not in engine.repairs("护昭丢了")
    assert engine.rank("护昭丢了")[0][0] == "LJ-CR-003"
    # each window finds its candidates by look-up: they are the words one edit away, and no other
    assert "港澳通行证" in engine._one_edit("港澳通证")  # one character missing
    assert "港澳通行证" in engine._one_edit("港奥通行证")  # one character wrong
    assert all(len(w) in (3, 4, 5) for w in engine._one_edit("户籍证名"))
    assert engine._one_edit("天气预报") == []


def test_the_typo_index_finds_what_a_scan_of_every_word_finds(engine):
    # the candidates (at most five, in word order) are those rapidfuzz's extract over the sorted words
    # gave before the index existed, so the repairs are the same
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    words = sorted(engine._typo_set)
    questions = [q.question for q in QUESTIONS + HELD_OUT] + ["港澳通证", "户籍证名", "驾证", "无犯记录证明"]
    checked = 0
    for question in questions:
        for run in re.findall(r"[\u4e00-\u9fff]+", question):
            for size in range(2, min(len(run), 9) + 1):
                for i in range(len(run) - size + 1):
                    window = run[i : i + size]
                    if window in engine._typo_set:
                        continue
                    scan = process.extract(
                        window, words, scorer=Levenshtein.distance, score_cutoff=1, limit=5
                    )
                    assert engine._one_edit(window) == [w for w, _d, _n in scan], window
                    checked += 1
    assert checked > 500


def test_one_typo_rules():
    assert _one_typo("护昭", "护照") is False  # two characters: a substitution is too risky
    assert _one_typo("身份正", "身份证") is True  # same sound (zheng)
    assert _one_typo("身份王", "身份证") is False  # a different sound in a short word
    assert _one_typo("港澳通证", "港澳通行证") is True
    assert _one_typo("照过期", "驾照过期", before="护") is False
    assert _one_typo("照过期", "驾照过期") is True


def test_near_synonyms_come_from_the_data_file():
    lexicon = load_lexicon()
    assert "驾驶证" in expand("驾照丢了", lexicon)
    assert "护照" in expand("I lost my Passport", lexicon)
    assert expand("今天天气", lexicon) == []


def test_an_open_question_that_changes_nothing_is_never_asked(engine, demo_snapshot):
    # 居民身份证补领 asks 遗失 or 被盗; the answer changes no document: no clarifying question
    answer = engine.ask("身份证丢了怎么办")
    assert answer.best.code == "LJ-HJ-003"
    assert answer.clarify is None or answer.clarify.get("key") != "lost_way"
    item = demo_snapshot.items["LJ-HJ-003"]
    assert engine.matters(item, "lost_way") == any("lost_way" in d.condition for d in item.documents)
