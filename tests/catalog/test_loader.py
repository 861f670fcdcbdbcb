"""``flask catalog load``: the demo folder loads; a second load changes nothing; an edited item gets
a new published version; every kind of bad file loads nothing and says which file, item and field."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from catalog.loader import CatalogError, load
from catalog.models import ItemVersion, ServiceItem, VersionState
from catalog.queries import catalog
from core.db import db
from tests.catalog.helpers import (
    DEMO,
    all_items,
    catalog_revision,
    demo_files,
    item_in,
    load_demo,
    row_counts,
    write_catalog,
)


def _versions(code: str) -> list[tuple[int, VersionState]]:
    return [
        (v.version, v.state)
        for v in db.session.scalars(
            select(ItemVersion)
            .join(ServiceItem)
            .where(ServiceItem.code == code)
            .order_by(ItemVersion.version)
        )
    ]


# The good folder ---------------------------------------------------------------------------------


def test_demo_folder_loads_then_a_second_load_changes_nothing(app_ctx):
    first = load(DEMO)
    db.session.commit()
    assert first.units == {"created": 17, "updated": 0, "unchanged": 0}
    assert first.items == {"created": 79, "updated": 0, "unchanged": 0}
    assert first.bundles == {"created": 5, "updated": 0, "unchanged": 0}
    counts = row_counts()
    assert counts["service_items"] == counts["item_versions"] == 79
    assert counts["units"] == 17 and counts["bundles"] == 5 and counts["categories"] == 4
    assert catalog_revision() == 1
    assert len(catalog().items) == 79

    second = load(DEMO)
    db.session.commit()
    assert second.units == {"created": 0, "updated": 0, "unchanged": 17}
    assert second.items == {"created": 0, "updated": 0, "unchanged": 79}
    assert second.bundles == {"created": 0, "updated": 0, "unchanged": 5}
    assert not second.changed
    assert catalog_revision() == 1, "an unchanged load must not make every worker rebuild"
    assert row_counts() == counts, "no new versions, documents or audit rows"


def test_editing_one_item_publishes_version_2_and_supersedes_version_1(app_ctx, tmp_path):
    load_demo()
    before = row_counts()
    folder = shutil.copytree(DEMO, tmp_path / "data")
    path = folder / "exit_entry.yaml"
    text = path.read_text("utf-8")
    old = "description: 首次申请因私普通护照，"
    assert text.count(old) == 1
    path.write_text(text.replace(old, "description: 首次申请因私普通护照（已修订），"), "utf-8")

    result = load(folder)
    db.session.commit()

    assert result.items == {"created": 0, "updated": 1, "unchanged": 78}
    assert _versions("LJ-CR-001") == [(1, VersionState.SUPERSEDED), (2, VersionState.PUBLISHED)]
    assert _versions("LJ-CR-002") == [(1, VersionState.PUBLISHED)]
    after = row_counts()
    assert after["item_versions"] == before["item_versions"] + 1
    assert after["service_items"] == before["service_items"]
    # the old version keeps its documents (applications stay pinned to it); the new one has its own
    assert after["document_requirements"] == before["document_requirements"] + 5
    assert catalog_revision() == 2
    snap = catalog()
    assert snap.items["LJ-CR-001"].version == 2
    assert "（已修订）" in snap.items["LJ-CR-001"].description
    assert snap.items["LJ-CR-002"].version == 1

    again = load(folder)
    db.session.commit()
    assert again.items["unchanged"] == 79 and catalog_revision() == 2


def test_one_file_can_be_loaded_on_its_own(app_ctx):
    load_demo()
    result = load(DEMO / "vehicle.yaml")
    db.session.commit()
    assert result.items == {"created": 0, "updated": 0, "unchanged": 20}


# Bad files: nothing loads, the message names the file, the item and the field ---------------------

Mutation = Callable[[dict[str, dict[str, Any]]], None]


def _doc(files, code: str, name: str) -> dict[str, Any]:
    return next(d for d in item_in(files, code)["documents"] if d["name"] == name)


def _missing_name(files):
    del item_in(files, "LJ-CJ-001")["name"]


def _bad_category(files):
    item_in(files, "LJ-HJ-001")["category"] = "traffic"


def _promise_beyond_law(files):
    item = item_in(files, "LJ-CR-001")
    item["promised_days"] = item["legal_days"] + 1


def _depth5_with_a_visit(files):
    item = item_in(files, "LJ-HJ-006")
    assert item["online_depth"] == 5
    item["visits"] = 1
    item["visit_reason"] = "核验出生医学证明原件"


def _ecert_without_ecertificate(files):
    item = item_in(files, "LJ-CR-001")
    assert item["e_certificate"] is False
    item["delivery"].append("ecert")


def _when_missing_situation(files):
    _doc(files, "LJ-HJ-019", "当事人签名的委托书")["when"] = {"agent": "proxy"}


def _when_missing_option(files):
    _doc(files, "LJ-HJ-019", "当事人签名的委托书")["when"] = {"applicant": "robot"}


def _duplicate_code(files):
    twin = dict(item_in(files, "LJ-HJ-001"), name="居民身份证首次申领（副本）", aliases=[])
    files["vehicle.yaml"]["items"].append(twin)


def _alias_is_another_name(files):
    item_in(files, "LJ-CJ-011")["aliases"].append("普通护照签发")


def _proxy_without_applicant(files):
    item = item_in(files, "LJ-CR-001")
    assert all(s["key"] != "applicant" for s in item["situations"])
    item["proxy_allowed"] = True


def _bundle_missing_item(files):
    files["bundles.yaml"]["bundles"][0]["items"].append("LJ-HJ-999")


def _docx_accepted(files):
    _doc(files, "LJ-HJ-019", "申请人居民身份证")["accept"] = ["pdf", "docx"]


def _option_value_too_long(files):
    situation = item_in(files, "LJ-HJ-019")["situations"][1]
    situation["options"][1]["value"] = "h" * 41


BAD_FILES: list[tuple[str, Mutation, tuple[str, ...]]] = [
    ("missing-name", _missing_name, ("vehicle.json", "LJ-CJ-001", "字段 name", "必填")),
    ("bad-category", _bad_category, ("huji.json", "LJ-HJ-001", "字段 category", "traffic")),
    ("promise-beyond-law", _promise_beyond_law, ("exit_entry.json", "LJ-CR-001", "字段 promised_days")),
    ("depth5-with-visit", _depth5_with_a_visit, ("huji.json", "LJ-HJ-006", "字段 online_depth")),
    (
        "ecert-not-ecertificate",
        _ecert_without_ecertificate,
        ("exit_entry.json", "LJ-CR-001", "字段 delivery"),
    ),
    ("when-no-situation", _when_missing_situation, ("huji.json", "LJ-HJ-019", "字段 when", "agent")),
    ("when-no-option", _when_missing_option, ("huji.json", "LJ-HJ-019", "字段 when", "robot")),
    ("duplicate-code", _duplicate_code, ("vehicle.json", "huji.json", "LJ-HJ-001", "字段 code")),
    (
        "alias-is-a-name",
        _alias_is_another_name,
        ("vehicle.json", "LJ-CJ-011", "字段 aliases", "普通护照签发"),
    ),
    ("proxy-no-applicant", _proxy_without_applicant, ("exit_entry.json", "LJ-CR-001", "字段 situations")),
    ("bundle-missing-item", _bundle_missing_item, ("bundles.json", "LJ-YJS-001", "字段 items", "LJ-HJ-999")),
    ("docx", _docx_accepted, ("huji.json", "LJ-HJ-019", "字段 accept", "docx")),
    ("option-value-too-long", _option_value_too_long, ("huji.json", "LJ-HJ-019", "字段 options.value")),
]


def _assert_loads_nothing(folder: Path, *expected: str) -> list[str]:
    before = row_counts()
    with pytest.raises(CatalogError) as excinfo:
        load(folder)
    db.session.rollback()
    assert row_counts() == before, "a bad file must load nothing"
    problems = excinfo.value.problems
    assert any(all(part in p for part in expected) for p in problems), problems
    return problems


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_a_bad_file_loads_nothing_and_names_file_item_and_field(app_ctx, tmp_path, mutate, expected):
    files = demo_files()
    mutate(files)
    folder = write_catalog(tmp_path / "data", files)
    _assert_loads_nothing(folder, *expected)
    assert catalog_revision() == 0


def test_the_unchanged_copy_is_good(app_ctx, tmp_path):
    """Guards the test above: the JSON copy of the demo is valid, so each failure is its mutation."""
    folder = write_catalog(tmp_path / "data", demo_files())
    assert load(folder).items["created"] == 79


def test_a_bad_file_does_not_touch_a_loaded_catalog(app_ctx, tmp_path):
    load_demo()
    files = demo_files()
    item_in(files, "LJ-CR-002")["fee"] = 130  # a good change …
    _docx_accepted(files)  # … next to a bad one
    _assert_loads_nothing(write_catalog(tmp_path / "data", files), "huji.json", "LJ-HJ-019", "字段 accept")
    assert catalog_revision() == 1
    assert _versions("LJ-CR-002") == [(1, VersionState.PUBLISHED)]


def _good_copy_without(tmp_path, name: str) -> Path:
    """The demo as JSON files, except ``name``: the test writes that one itself."""
    files = demo_files()
    del files[name]
    return write_catalog(tmp_path / "data", files)


def test_unparseable_yaml_loads_nothing(app_ctx, tmp_path):
    folder = _good_copy_without(tmp_path, "public_order.yaml")
    text = (DEMO / "public_order.yaml").read_text("utf-8")
    (folder / "public_order.yaml").write_text(
        text + "  - code: LJ-ZA-099\n    name: [未闭合的列表\n", "utf-8"
    )
    problems = _assert_loads_nothing(folder, "public_order.yaml", "无法解析")
    # no item can be named in a file that does not parse; the parser's position is
    assert "line" in problems[0]


def test_top_level_not_a_mapping_loads_nothing(app_ctx, tmp_path):
    folder = write_catalog(tmp_path / "data", demo_files())
    (folder / "extra.yaml").write_text("- code: LJ-HJ-099\n  name: 列表不是映射\n", "utf-8")
    _assert_loads_nothing(folder, "extra.yaml", "顶层")


def test_every_problem_is_reported_at_once(app_ctx, tmp_path):
    files = demo_files()
    _missing_name(files)
    _docx_accepted(files)
    problems = _assert_loads_nothing(write_catalog(tmp_path / "data", files), "LJ-CJ-001", "字段 name")
    assert any("LJ-HJ-019" in p and "字段 accept" in p for p in problems)


# The command ------------------------------------------------------------------------------------


def test_cli_refuses_a_bad_folder_with_exit_code_1_and_the_messages(app, tmp_path):
    files = demo_files()
    _bad_category(files)
    _when_missing_option(files)
    folder = write_catalog(tmp_path / "data", files)
    result = app.test_cli_runner().invoke(args=["catalog", "load", str(folder)])
    assert result.exit_code == 1
    assert "未导入任何内容" in result.output
    assert "huji.json: 事项 LJ-HJ-001: 字段 category" in result.output
    assert "LJ-HJ-019" in result.output and "robot" in result.output
    with app.app_context():
        assert row_counts()["service_items"] == 0


def test_cli_loads_the_demo_folder(app):
    result = app.test_cli_runner().invoke(args=["catalog", "load", str(DEMO)])
    assert result.exit_code == 0, result.output
    assert "事项 新增79 更新0 未变0" in result.output
    again = app.test_cli_runner().invoke(args=["catalog", "load", str(DEMO)])
    assert "事项 新增0 更新0 未变79" in again.output


def test_demo_covers_the_issue(demo_snapshot):
    """Issue 3's coverage: 60+ items in four categories, a proxy situation wherever proxies are
    allowed, zero-visit ★5 items and visiting items that say why."""
    items = list(demo_snapshot.items.values())
    assert len(items) >= 60
    assert {i.category.code for i in items} == {"huji", "vehicle", "exit_entry", "public_order"}
    for item in items:
        if item.proxy_allowed:
            assert any(d.condition.get("applicant") == ("proxy",) for d in item.documents), item.code
        if item.visits:
            assert item.visit_reason, item.code
    assert any(i.online_depth == 5 and i.visits == 0 for i in items)
    assert "出生一件事" in {b.name for b in demo_snapshot.bundles.values()}
    assert len(all_items(demo_files())) == len(items)
