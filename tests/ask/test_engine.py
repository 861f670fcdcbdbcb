"""The engine's pieces on the demo catalog: typo repair, near-synonyms, the clarifying question."""

from __future__ import annotations

from catalog.ask.engine import _one_typo, expand, load_lexicon


def test_a_homophone_or_a_missing_character_is_repaired(engine):
    assert "港澳通行证" in engine.repairs("港奥通行证签注")
    assert "户籍证明" in engine.repairs("户籍证名怎么开")
    assert "驾驶证" in engine.repairs("驾证丢了")
    assert "无犯罪记录证明" in engine.repairs("无犯记录证明")


def test_a_right_word_is_never_repaired_into_another(engine):
    # 照过期 is 驾照过期 without its first character, but the question has 护 right there
    assert "驾照过期" not in engine.repairs("我的护照过期了")
    assert engine.repairs("身份证丢了") == []


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
