"""Each publish check, pure over a version record (the demo's LJ-HJ-001), refused with its message
and the anchor of the field to fix."""

from __future__ import annotations

import copy
from functools import lru_cache

import pytest

from catalog.admin import checks
from catalog.admin.checks import OtherItem, publish_problems
from tests.catalog.helpers import demo_files, item_in


@lru_cache(maxsize=1)
def _base() -> dict:
    return item_in(demo_files(), "LJ-HJ-001")


def rec(**changes) -> dict:
    r = copy.deepcopy(_base())
    r.update(changes)
    return r


def messages(problems) -> list[str]:
    return [p.message for p in problems]


def test_the_published_demo_item_passes():
    assert publish_problems(rec()) == []


def test_no_documents():
    problems = publish_problems(rec(documents=[]))
    assert checks.NO_DOCUMENTS in messages(problems)
    assert any(p.anchor == "documents" for p in problems)


def test_promise_longer_than_law():
    problems = publish_problems(rec(legal_days=10, promised_days=15))
    assert (checks.PROMISE_TOO_LONG, "f-promised_days") in [(p.message, p.anchor) for p in problems]


def test_situation_option_that_changes_nothing():
    r = rec()
    r["situations"].append(
        {
            "key": "urgent",
            "question": "是否加急？",
            "options": [{"value": "yes", "label": "是"}, {"value": "no", "label": "否"}],
        }
    )
    problems = publish_problems(r)
    assert [p.anchor for p in problems] == ["sit-urgent"]
    assert "是否加急" in problems[0].message and "不改变" in problems[0].message


def test_an_option_with_a_fee_override_changes_something():
    r = rec()
    r["situations"].append(
        {
            "key": "urgent",
            "question": "是否加急？",
            "options": [{"value": "yes", "label": "是", "fee": 40}, {"value": "no", "label": "否"}],
        }
    )
    assert publish_problems(r) == []


@pytest.mark.parametrize("when", [{"ages": "minor"}, {"age": "baby"}])
def test_condition_naming_a_missing_situation_or_option(when):
    r = rec()
    r["documents"][2]["when"] = when
    problems = publish_problems(r)
    assert problems and all(p.anchor == "doc-2" for p in problems)
    assert any("不存在的情形" in m or "没有选项" in m for m in messages(problems))


def test_condition_on_a_form_field_is_checked_too():
    r = rec()
    r["fields"][3]["when"] = {"gone": "x"}
    assert any(
        p.anchor == "field-guardian_name" and checks.UNKNOWN_SITUATION in p.message
        for p in publish_problems(r)
    )


def test_five_stars_with_visits():
    problems = publish_problems(rec(online_depth=5, visits=1))
    assert (checks.DEPTH_VISITS, "f-online_depth") in [(p.message, p.anchor) for p in problems]


def test_ecert_delivery_without_e_certificate():
    problems = publish_problems(rec(delivery=["mail", "ecert"], e_certificate=False))
    assert (checks.ECERT_WITHOUT_CERT, "f-delivery") in [(p.message, p.anchor) for p in problems]


def test_duplicate_code_and_alias_clash():
    others = [OtherItem(99, "LJ-HJ-001", "别的事项", ("身份证",)), OtherItem(98, "LJ-HJ-009", "办身份证", ())]
    problems = publish_problems(rec(), item_id=1, others=others)
    msgs = messages(problems)
    assert checks.DUPLICATE_CODE.format(code="LJ-HJ-001") in msgs
    assert any("别名「身份证」" in m and "LJ-HJ-001" in m for m in msgs)
    assert any("别名「办身份证」" in m and "LJ-HJ-009" in m for m in msgs)


def test_the_item_itself_is_no_clash():
    assert publish_problems(rec(), item_id=1, others=[OtherItem(1, "LJ-HJ-001", rec()["name"], ())]) == []


def test_every_problem_at_once():
    r = rec(documents=[], fields=[], legal_days=10, online_depth=5, delivery=["ecert"])
    msgs = messages(publish_problems(r))
    for expected in (
        checks.NO_DOCUMENTS,
        checks.PROMISE_TOO_LONG,
        checks.DEPTH_VISITS,
        checks.ECERT_WITHOUT_CERT,
    ):
        assert expected in msgs
    assert any("不改变" in m for m in msgs)  # 'age' no longer switches anything
