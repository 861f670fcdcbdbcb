"""The 一件事 flow editor on a phone (375 px) in chromium: from the bundle page to the flow, a cycle typed
into the steps is saved as a draft, the publish is refused with the cycle named and the draft kept,
the preview lists the steps in order; a department with an http address is refused at the field."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_admin_journey import _log_in_as_admin, admin_server  # noqa: F401 (fixture)
from tests.conftest import run_axe

pytestmark = pytest.mark.browser


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    violations = run_axe(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def test_an_admin_edits_a_flow_and_a_department_on_a_phone(admin_server, page, screenshot):  # noqa: F811
    page.set_viewport_size({"width": 375, "height": 812})
    base = _log_in_as_admin(admin_server, page)
    page.goto(f"{base}/admin/catalog/bundles/LJ-YJS-001")
    page.get_by_role("link", name="编辑联办流程").click()
    steps = page.get_by_label("步骤与映射（YAML）")
    expect(steps).to_contain_text("item: LJ-HJ-006")
    _fits(page)
    screenshot(page, "bundle-flow-editor")

    text = steps.input_value().replace(
        "name: 出生登记（报户口）\n", "name: 出生登记（报户口）\n  depends_on: [sscard]\n", 1
    )
    steps.fill(text)
    page.get_by_role("button", name="保存到草稿").click()
    expect(page.locator("[data-testid=flow-checks]")).to_contain_text("循环依赖")
    page.get_by_role("button", name="发布第 2 版").click()
    expect(page.locator("[data-testid=publish-problems]")).to_contain_text("hukou → sscard → hukou")
    _fits(page)
    screenshot(page, "bundle-flow-refused")
    expect(page.get_by_label("步骤与映射（YAML）")).to_contain_text("depends_on: [sscard]")  # the draft kept

    page.get_by_role("link", name="预览群众看到的内容").click()
    expect(page.locator("[data-testid=flow-order]")).to_contain_text("在 出生登记（报户口）")
    _fits(page)
    screenshot(page, "bundle-flow-preview")

    page.goto(f"{base}/admin/catalog/departments/new")
    page.get_by_label("部门编码").fill("gjj")
    page.get_by_label("部门名称").fill("住房公积金管理中心")
    page.get_by_label("推送地址").fill("http://gjj.example.gov.cn/in")
    page.get_by_role("button", name="添加").click()
    expect(page.locator("#endpoint_url-error")).to_contain_text("https")
    expect(page.get_by_label("部门名称")).to_have_value("住房公积金管理中心")
    _fits(page)
    screenshot(page, "department-refused")
