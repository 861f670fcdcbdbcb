"""The 一件事 flow definition (catalog.bundle_spec): what parse() refuses and why, the checks against the
catalog as it is, and the order steps start in. Pure: no database."""

from __future__ import annotations

import copy

import pytest

from catalog import bundle_spec
from catalog.bundle_spec import DefinitionError, ItemFacts, catalog_problems, parse, resolve, start_order

BIRTH = {
    "questions": [
        {"key": "baby_name", "label": "新生儿姓名", "type": "text"},
        {"key": "mobile", "label": "联系电话", "type": "mobile"},
    ],
    "situations": [
        {
            "key": "follow",
            "question": "随父还是随母落户？",
            "options": [{"value": "father", "label": "随父"}, {"value": "mother", "label": "随母"}],
        }
    ],
    "documents": [{"key": "birth_cert", "name": "出生医学证明"}],
    "steps": [
        {
            "key": "hukou",
            "kind": "item",
            "item": "LJ-HJ-006",
            "name": "出生登记",
            "field_map": {"baby_name": "shared.baby_name", "mobile": "shared.mobile"},
            "situation_map": {"follow": "follow", "applicant": "const:self"},
            "document_map": {"出生医学证明": "birth_cert"},
        },
        {
            "key": "vaccination",
            "kind": "handoff",
            "department": "wsjk",
            "name": "预防接种证",
            "payload_map": {"baby_name": "shared.baby_name"},
        },
        {
            "key": "insurance",
            "kind": "handoff",
            "department": "ybj",
            "name": "医保参保",
            "depends_on": ["hukou"],
            "payload_map": {"hukou_reference": "result.hukou.reference"},
        },
        {
            "key": "sscard",
            "kind": "handoff",
            "department": "rsj",
            "name": "社保卡",
            "depends_on": ["insurance", "hukou"],
            "payload_map": {"number": "result.insurance.insurance_number", "where": "situation.follow"},
        },
    ],
}

HUKOU = ItemFacts(
    code="LJ-HJ-006",
    name="出生登记",
    active=True,
    fields=frozenset({"baby_name", "mobile", "mail_address"}),
    situations={"follow": frozenset({"father", "mother"}), "applicant": frozenset({"self", "proxy"})},
    documents=frozenset({"出生医学证明", "居民户口簿"}),
)


def _with(change) -> dict:
    data = copy.deepcopy(BIRTH)
    change(data)
    return data


def _step(data: dict, key: str) -> dict:
    return next(s for s in data["steps"] if s["key"] == key)


def _problems(data: dict) -> list[str]:
    with pytest.raises(DefinitionError) as exc:
        parse(data)
    return exc.value.problems


def test_the_birth_flow_parses_into_typed_steps():
    defn = parse(BIRTH)
    assert [s.key for s in defn.item_steps] == ["hukou"]
    assert [s.department for s in defn.handoff_steps] == ["wsjk", "ybj", "rsj"]
    assert defn.step("sscard").depends_on == ["insurance", "hukou"]


def test_duplicate_keys_are_refused_in_every_section():
    def dupes(d):
        d["questions"].append({"key": "mobile", "label": "另一个电话"})
        d["documents"].append({"key": "birth_cert", "name": "重复"})
        d["steps"].append({**_step(d, "vaccination"), "name": "又一个"})

    problems = _problems(_with(dupes))
    assert "共同问题的标识“mobile”重复" in problems
    assert "共用材料的标识“birth_cert”重复" in problems
    assert "步骤的标识“vaccination”重复" in problems


def test_unknown_sources_and_references_are_named():
    def unknown(d):
        _step(d, "hukou")["field_map"]["mail_address"] = "shared.address"
        _step(d, "vaccination")["payload_map"]["x"] = "situation.nope"
        _step(d, "vaccination")["payload_map"]["y"] = "cookie.z"
        _step(d, "hukou")["situation_map"]["marriage"] = "marriage"
        _step(d, "hukou")["document_map"]["户口簿"] = "hukou_book"
        _step(d, "insurance")["depends_on"] = ["hukou", "ghost"]

    problems = _problems(_with(unknown))
    assert "步骤“出生登记”引用了不存在的共同问题“address”" in problems
    assert "步骤“预防接种证”引用了不存在的情形“nope”" in problems
    assert "步骤“预防接种证”的来源“cookie.z”无法识别" in problems
    assert "步骤“出生登记”的情形“marriage”映射到不存在的情形“marriage”" in problems
    assert "步骤“出生登记”的材料“户口簿”映射到不存在的共用材料“hukou_book”" in problems
    assert "步骤“医保参保”依赖的步骤“ghost”不存在" in problems


def test_a_result_source_needs_its_step_among_the_dependencies():
    def no_dep(d):
        _step(d, "sscard")["depends_on"] = ["hukou"]  # uses result.insurance without waiting for it

    assert _problems(_with(no_dep)) == ["步骤“社保卡”使用了步骤“insurance”的结果，但没有把它列为前置步骤"]

    def malformed(d):
        _step(d, "insurance")["payload_map"]["x"] = "result.hukou"

    assert "应为 result.步骤.名称" in " ".join(_problems(_with(malformed)))


def test_an_item_step_may_not_take_an_earlier_steps_result():
    """Every item application is created and checked complete at submit, so its fields must be known."""

    def result_field(d):
        hukou = _step(d, "hukou")
        hukou["depends_on"] = ["vaccination"]
        hukou["field_map"]["mail_address"] = "result.vaccination.number"

    problems = _problems(_with(result_field))
    assert problems == [
        "公安事项步骤“出生登记”的字段“mail_address”不能取前序步骤的结果：事项在提交时就要核对完整"
    ]


def test_a_dependency_cycle_is_shown_step_by_step():
    def cycle(d):
        _step(d, "hukou")["depends_on"] = ["sscard"]

    problems = _problems(_with(cycle))
    assert problems == ["步骤之间存在循环依赖：hukou → sscard → insurance → hukou"]

    def self_loop(d):
        _step(d, "vaccination")["depends_on"] = ["vaccination"]

    assert "步骤“预防接种证”不能依赖自己" in _problems(_with(self_loop))


def test_kinds_keep_to_their_own_settings():
    def mixed(d):
        _step(d, "vaccination")["field_map"] = {"x": "shared.mobile"}
        _step(d, "hukou")["department"] = "wsjk"
        d["steps"].append({"key": "lost", "kind": "item", "name": "无事项"})

    problems = _problems(_with(mixed))
    assert "部门步骤“预防接种证”不能有公安事项的字段映射" in problems
    assert "公安事项步骤“出生登记”不能有部门或推送字段" in problems
    assert "步骤“无事项”没有指定公安事项" in problems


def test_structure_errors_and_a_flow_without_steps_are_refused():
    assert any("steps" in p for p in _problems({"steps": []}))
    assert any(
        "steps.0.key" in p for p in _problems({"steps": [{"key": "Bad Key", "kind": "item", "name": "x"}]})
    )
    assert any("colour" in p for p in _problems(_with(lambda d: _step(d, "hukou").update(colour="red"))))


def test_a_const_situation_is_checked_against_the_items_options():
    defn = parse(BIRTH)
    assert catalog_problems(defn, {"LJ-HJ-006": HUKOU}.get) == []
    bad = parse(_with(lambda d: _step(d, "hukou")["situation_map"].update(applicant="const:agent")))
    assert catalog_problems(bad, {"LJ-HJ-006": HUKOU}.get) == [
        "步骤“出生登记”的情形“applicant”没有选项“agent”"
    ]


def test_catalog_problems_name_what_the_item_no_longer_has():
    narrowed = ItemFacts(
        code="LJ-HJ-006",
        name="出生登记",
        active=False,
        fields=frozenset({"mobile"}),
        situations={"follow": frozenset({"father"})},
        documents=frozenset({"居民户口簿"}),
    )
    problems = catalog_problems(parse(BIRTH), {"LJ-HJ-006": narrowed}.get)
    assert problems == [
        "步骤“出生登记”的事项“出生登记”已停办",
        "步骤“出生登记”映射的表单字段“baby_name”在事项中已不存在",
        "步骤“出生登记”的情形“follow”没有选项“mother”",
        "步骤“出生登记”映射的情形“applicant”在事项中已不存在",
        "步骤“出生登记”映射的材料“出生医学证明”在事项中已不存在",
    ]
    assert catalog_problems(parse(BIRTH), lambda code: None) == [
        "步骤“出生登记”的事项 LJ-HJ-006 不存在或未发布"
    ]


def test_start_order_puts_every_step_after_what_it_waits_for():
    assert start_order(parse(BIRTH)) == ["hukou", "vaccination", "insurance", "sscard"]

    def reordered(d):
        d["steps"].reverse()  # sscard, insurance, vaccination, hukou

    order = start_order(parse(_with(reordered)))
    assert order.index("hukou") < order.index("insurance") < order.index("sscard")
    assert order == ["vaccination", "hukou", "insurance", "sscard"]  # independent steps keep their order


def test_resolve_reads_each_kind_of_source():
    shared, situations = {"baby_name": "王小明"}, {"follow": "father"}
    results = {"hukou": {"reference": "LJ2026"}}
    kw = {"shared": shared, "situations": situations, "results": results}
    assert resolve("shared.baby_name", **kw) == "王小明"
    assert resolve("situation.follow", **kw) == "father"
    assert resolve("result.hukou.reference", **kw) == "LJ2026"
    assert resolve("result.insurance.number", **kw) is None  # not there yet
    assert resolve("const:self", **kw) == "self"
    assert bundle_spec.is_key("baby_name") and not bundle_spec.is_key("Baby")
