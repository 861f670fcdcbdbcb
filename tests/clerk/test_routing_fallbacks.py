"""Routing (applications.workflow.routing.route, pure): rules by position, the more specific rule
first at the same position, an item's fallback rule, and the defaults when no rule matches — the unit
of the item's kind in the applicant's district, else city-wide, else any of that kind, else the bureau."""

from __future__ import annotations

import random

import pytest

from applications.workflow.routing import Route, RuleRef, UnitRef, route

ITEM = "LJ-HJ-021"  # 无犯罪记录证明, category huji, police stations
OTHER_ITEM = "LJ-HJ-008"
CATEGORY = "huji"

UNITS = [
    UnitRef("LJ-PS-DC-02", "police_station", "东城区"),
    UnitRef("LJ-PS-DC-01", "police_station", "东城区"),
    UnitRef("LJ-PS-JN-01", "police_station", "江南区"),
    UnitRef("LJ-VO", "vehicle_office", None),
    UnitRef("LJ-VO-JN", "vehicle_office", "江南区"),
    UnitRef("LJ-EE", "exit_entry", None),
    UnitRef("LJ-BUREAU", "bureau", None),
]


def _route(district, rules=(), *, unit_kind="police_station", units=UNITS, item=ITEM, category=CATEGORY):
    return route(unit_kind, district, units, item_code=item, category=category, rules=rules)


def rule(id, position, unit, *, item=None, category=None, district=None, approving=None) -> RuleRef:
    return RuleRef(id, position, item, category, district, unit, approving)


# No matching rule ---------------------------------------------------------------------------------


def test_no_rule_the_unit_of_the_kind_in_the_applicants_district():
    # two stations in 东城区: the first by code, whatever order the units come in
    assert _route("东城区") == Route("LJ-PS-DC-01", "默认：police_station × 东城区")
    assert _route("江南区") == Route("LJ-PS-JN-01", "默认：police_station × 江南区")


def test_rules_for_other_items_districts_or_categories_do_not_apply():
    rules = [
        rule(1, 1, "LJ-PS-JN-01", item=OTHER_ITEM),
        rule(2, 2, "LJ-PS-JN-01", item=ITEM, district="江南区"),
        rule(3, 3, "LJ-PS-JN-01", category="vehicle"),
        rule(4, 4, "LJ-PS-JN-01", category=CATEGORY, district="西城区"),
    ]
    got = _route("东城区", rules)
    assert got == Route("LJ-PS-DC-01", "默认：police_station × 东城区") and got.rule_id is None


def test_no_unit_in_the_district_the_city_wide_unit_of_the_kind():
    assert _route("东城区", unit_kind="vehicle_office") == Route("LJ-VO", "默认：vehicle_office × 全市")
    assert _route("江南区", unit_kind="vehicle_office") == Route("LJ-VO-JN", "默认：vehicle_office × 江南区")
    # no district given (a walk-in without one): never a district's unit by accident
    assert _route(None, unit_kind="vehicle_office") == Route("LJ-VO", "默认：vehicle_office × 全市")


def test_no_city_wide_unit_any_unit_of_the_kind_then_the_bureau():
    assert _route("西城区") == Route("LJ-PS-DC-01", "默认：police_station × 任一")
    assert _route("西城区", unit_kind="public_order") == Route("LJ-BUREAU", "兜底：市公安局")
    with pytest.raises(LookupError):
        _route("西城区", unit_kind="public_order", units=[u for u in UNITS if u.kind != "bureau"])


# The item's fallback rule ---------------------------------------------------------------------------


def test_an_item_rule_without_a_district_is_the_items_fallback():
    rules = [
        rule(7, 10, "LJ-PS-JN-01", item=ITEM, district="江南区"),
        rule(8, 10, "LJ-PS-DC-02", item=ITEM),  # fallback: every other district
    ]
    assert _route("江南区", rules) == Route("LJ-PS-JN-01", "规则#7：LJ-HJ-021 × 江南区", None, 7)
    assert _route("东城区", rules) == Route("LJ-PS-DC-02", "规则#8：LJ-HJ-021 × 全市", None, 8)
    assert _route("西城区", rules).unit_code == "LJ-PS-DC-02"
    # … even with no district at all, and before the default unit of the district would be chosen
    assert _route(None, rules).unit_code == "LJ-PS-DC-02"
    # The fallback is the item's only: another item of the category gets the default.
    assert _route("东城区", rules, item=OTHER_ITEM) == Route("LJ-PS-DC-01", "默认：police_station × 东城区")


def test_the_approving_unit_comes_with_the_rule():
    rules = [rule(3, 1, "LJ-PS-JN-01", item=ITEM, approving="LJ-PS-DC-01")]
    got = _route("东城区", rules)
    assert (got.unit_code, got.approving_unit_code, got.rule_id) == ("LJ-PS-JN-01", "LJ-PS-DC-01", 3)
    assert _route("东城区").approving_unit_code is None


# Specificity at the same position ------------------------------------------------------------------


def test_a_district_rule_beats_the_city_wide_rule_of_the_same_scope():
    rules = [
        rule(1, 5, "LJ-PS-DC-02", category=CATEGORY),
        rule(2, 5, "LJ-PS-JN-01", category=CATEGORY, district="东城区"),
    ]
    assert _route("东城区", rules) == Route("LJ-PS-JN-01", "规则#2：huji × 东城区", None, 2)
    assert _route("江南区", rules) == Route("LJ-PS-DC-02", "规则#1：huji × 全市", None, 1)


def test_an_item_rule_beats_a_category_rule_at_the_same_position():
    rules = [
        rule(1, 5, "LJ-PS-DC-02", category=CATEGORY, district="东城区"),
        rule(2, 5, "LJ-PS-JN-01", item=ITEM, district="东城区"),
        rule(3, 5, "LJ-VO", item=ITEM),
    ]
    assert _route("东城区", rules).rule_id == 2  # item and district
    assert _route("江南区", rules).rule_id == 3  # item, city-wide: still before the category
    # for another item of the category only the category rule applies
    assert _route("东城区", rules, item=OTHER_ITEM).rule_id == 1


def test_an_all_items_rule_applies_to_every_item():
    rules = [rule(9, 1, "LJ-BUREAU", district="东城区")]
    assert _route("东城区", rules) == Route("LJ-BUREAU", "规则#9：全部事项 × 东城区", None, 9)
    assert _route("东城区", rules, item=OTHER_ITEM, category="vehicle").unit_code == "LJ-BUREAU"
    assert _route("江南区", rules).unit_code == "LJ-PS-JN-01"


# Rule order ---------------------------------------------------------------------------------------


def test_position_decides_before_specificity():
    general_first = [
        rule(1, 1, "LJ-PS-DC-02", category=CATEGORY),
        rule(2, 2, "LJ-PS-JN-01", item=ITEM, district="东城区"),
    ]
    assert _route("东城区", general_first).rule_id == 1
    specific_first = [
        rule(1, 2, "LJ-PS-DC-02", category=CATEGORY),
        rule(2, 1, "LJ-PS-JN-01", item=ITEM, district="东城区"),
    ]
    assert _route("东城区", specific_first).rule_id == 2


def test_the_order_rules_are_given_in_does_not_matter():
    rules = [
        rule(1, 30, "LJ-PS-DC-02", category=CATEGORY),
        rule(2, 20, "LJ-VO", item=ITEM),
        rule(3, 20, "LJ-PS-JN-01", item=ITEM, district="东城区"),
        rule(4, 10, "LJ-EE", item=ITEM, district="江南区"),
        rule(5, 40, "LJ-BUREAU"),
    ]
    expected = {
        "东城区": 3,
        "江南区": 4,
        "西城区": 2,
    }
    shuffler = random.Random(15)
    for _ in range(20):
        shuffled = shuffler.sample(rules, len(rules))
        assert {d: _route(d, shuffled).rule_id for d in expected} == expected
        assert _route("东城区", shuffled, item=OTHER_ITEM).rule_id == 1
        assert _route("东城区", shuffled, item=OTHER_ITEM, category="vehicle").rule_id == 5
