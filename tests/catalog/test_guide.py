"""The guide (catalog/guide.py): a citizen's answers → exactly their documents, fee and form fields.

Pure unit tests over the demo catalog's snapshot views."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from catalog.guide import applies, build_guide, resolve_answers
from catalog.queries import OptionView, SituationView


def names(docs) -> list[str]:
    return [d.name for d in docs]


def test_unanswered_questions_take_their_first_option(demo_snapshot):
    # 普通护照签发: age (adult/minor), staff (ordinary/staff) — the common case first
    item = demo_snapshot.items["LJ-CR-001"]
    guide = build_guide(item)
    assert guide.answers == {"age": "adult", "staff": "ordinary"}
    assert guide.answers == {s.key: s.options[0].value for s in item.situations}
    assert "监护人居民身份证" not in names(guide.documents)
    assert "所属单位或上级主管单位出具的出国（境）审批意见" not in names(guide.documents)
    assert [label for _s, label in guide.chosen] == ["已满十六周岁", "否"]


def test_answers_switch_documents(demo_snapshot):
    item = demo_snapshot.items["LJ-CR-001"]
    minor = build_guide(item, {"age": "minor", "staff": "ordinary"})
    adult = build_guide(item, {"age": "adult", "staff": "ordinary"})
    assert set(names(minor.documents)) - set(names(adult.documents)) == {
        "监护人居民身份证",
        "监护关系证明（出生医学证明）",
    }
    assert set(names(adult.documents)) < set(names(minor.documents))
    staff = build_guide(item, {"age": "adult", "staff": "staff"})
    assert set(names(staff.documents)) - set(names(adult.documents)) == {
        "所属单位或上级主管单位出具的出国（境）审批意见"
    }


@pytest.mark.parametrize("code", ["LJ-HJ-019", "LJ-HJ-021", "LJ-CJ-002"])
def test_a_proxy_brings_the_authorisation_and_their_own_id(demo_snapshot, code):
    item = demo_snapshot.items[code]
    assert item.proxy_allowed
    self_ = build_guide(item, {"applicant": "self"})
    proxy = build_guide(item, {"applicant": "proxy"})
    extra = [n for n in names(proxy.to_bring) if n not in names(self_.to_bring)]
    assert extra and any("委托书" in n for n in extra), extra
    assert set(names(self_.documents)) < set(names(proxy.documents))
    assert not any("委托书" in n for n in names(self_.documents))


def test_proxy_documents_of_户籍证明_exactly(demo_snapshot):
    item = demo_snapshot.items["LJ-HJ-019"]
    self_ = names(build_guide(item, {"applicant": "self"}).to_bring)
    proxy = names(build_guide(item, {"applicant": "proxy"}).to_bring)
    assert self_ == ["申请人居民身份证"]
    assert proxy == ["申请人居民身份证", "代办人居民身份证及与当事人的关系证明", "当事人签名的委托书"]


def test_a_condition_on_two_questions_needs_both(demo_snapshot):
    item = demo_snapshot.items["LJ-HJ-006"]  # 出生登记: 亲子关系鉴定 only for 非婚生育 + 随父落户
    doc = "亲子关系鉴定证明"
    assert doc in names(build_guide(item, {"marriage": "unmarried", "follow": "father"}).documents)
    assert doc not in names(build_guide(item, {"marriage": "unmarried", "follow": "mother"}).documents)
    assert doc not in names(build_guide(item, {"marriage": "married", "follow": "father"}).documents)


def test_an_option_fee_replaces_the_item_fee(demo_snapshot):
    item = demo_snapshot.items["LJ-CR-005"]  # 往来港澳通行证签发: 60 元, 75/90 with an endorsement
    assert item.fee == Decimal("60")
    assert build_guide(item).fee == Decimal("60")
    assert build_guide(item, {"endorsement": "personal_once"}).fee == Decimal("75")
    assert build_guide(item, {"endorsement": "personal_twice"}).fee == Decimal("90")
    plates = demo_snapshot.items["LJ-CJ-002"]  # 转让登记: 10 元, 110 元 with new plates
    assert build_guide(plates, {"plate": "change"}).fee == Decimal("110")
    assert build_guide(plates, {"plate": "keep"}).fee == Decimal("10")


def test_without_an_option_fee_the_item_fee_stands(demo_snapshot):
    item = demo_snapshot.items["LJ-CR-001"]
    assert {build_guide(item, {"age": a}).fee for a in ("minor", "adult")} == {Decimal("120")}


def test_the_last_question_with_a_fee_wins(demo_snapshot):
    item = demo_snapshot.items["LJ-CR-005"]
    extra = SituationView(
        "express", "是否加急？", (OptionView("no", "否", None), OptionView("yes", "是", Decimal("200")))
    )
    item = dataclasses.replace(item, situations=(*item.situations, extra))
    assert build_guide(item, {"endorsement": "personal_twice", "express": "yes"}).fee == Decimal("200")
    assert build_guide(item, {"endorsement": "personal_twice", "express": "no"}).fee == Decimal("90")


def test_answers_switch_form_fields(demo_snapshot):
    item = demo_snapshot.items["LJ-HJ-019"]
    self_ = [f.key for f in build_guide(item, {"applicant": "self"}).fields]
    proxy = [f.key for f in build_guide(item, {"applicant": "proxy"}).fields]
    assert "principal_name" not in self_ and "principal_id" not in self_
    # its 被代办人姓名/公民身份号码 fields repeat the form's 亲友代办 part: asked once, there (issue 17)
    assert proxy == self_
    assert {"principal_name", "principal_id"} <= {f.key for f in item.fields}
    crime = demo_snapshot.items["LJ-HJ-021"]  # 无犯罪记录证明: a mailing address only for use abroad
    assert "mail_address" in [f.key for f in build_guide(crime, {"usage": "abroad"}).fields]
    assert "mail_address" not in [f.key for f in build_guide(crime, {"usage": "domestic"}).fields]


@pytest.mark.parametrize(
    "raw", [{"applicant": "robot"}, {"applicant": ""}, {"applicant": "PROXY"}, {"nonsense": "proxy"}]
)
def test_an_invalid_answer_is_ignored(demo_snapshot, raw):
    item = demo_snapshot.items["LJ-HJ-019"]
    guide = build_guide(item, raw)
    assert guide.answers == build_guide(item).answers == {"applicant": "self", "purpose": "general"}
    assert names(guide.documents) == names(build_guide(item).documents)
    assert set(resolve_answers(item, raw)) == {"applicant", "purpose"}


def test_government_documents_are_fetched_never_asked_for(demo_snapshot):
    item = demo_snapshot.items["LJ-HJ-019"]
    guide = build_guide(item)
    assert names(guide.fetched) == ["户籍档案信息"]
    assert "户籍档案信息" not in names(guide.to_bring)


def test_to_bring_and_fetched_split_every_guide(demo_snapshot):
    for item in demo_snapshot.items.values():
        for s in item.situations or [None]:
            for option in s.options if s else [None]:
                guide = build_guide(item, {s.key: option.value} if s else {})
                assert all(d.source == "applicant" for d in guide.to_bring), item.code
                assert all(d.source == "government" for d in guide.fetched), item.code
                assert sorted(names(guide.to_bring) + names(guide.fetched)) == sorted(names(guide.documents))
                assert guide.documents, f"{item.code}: no documents for {guide.answers}"


def test_applies():
    assert applies({}, {"applicant": "self"})
    assert applies({"applicant": ("proxy",)}, {"applicant": "proxy"})
    assert not applies({"applicant": ("proxy",)}, {"applicant": "self"})
    assert not applies({"applicant": ("proxy",)}, {})
    assert applies({"reason": ("lost", "damaged")}, {"reason": "damaged"})


def test_an_item_whose_fee_depends_on_the_answers_shows_the_range(demo_snapshot):
    item = demo_snapshot.items["LJ-CJ-006"]  # 补领号牌: one plate 50, a pair 100
    assert item.fee_range == (min(item.fee_range), max(item.fee_range))
    low, high = item.fee_range
    assert low < high
    fees = {build_guide(item, {s.key: o.value}).fee for s in item.situations for o in s.options}
    assert {low, high} <= fees
