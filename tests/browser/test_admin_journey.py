"""The admin journey in chromium: add a document requirement under a situation, preview it, see
the publish refused for a missing field, fix it, publish, and the public page and the API show it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.auth.helpers import make_account
from tests.catalog_admin.conftest import small_catalog, wire
from tests.conftest import run_axe
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser
CODE = "LJ-HJ-001"


@pytest.fixture
def admin_server(live_server):
    wire(live_server.app)
    with live_server.app.app_context():
        small_catalog()
    return live_server


def _log_in_as_admin(server, page) -> str:
    """Log a new admin account in through the login page; the server's base URL."""
    account = make_account(server.app, "admin")
    page.goto(f"{server.url}/login")
    page.locator("input[name=identifier]").fill(account.login)
    page.locator("input[name=password]").fill(DEFAULT_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    return server.url


def test_admin_edits_previews_publishes(admin_server, page, screenshot):
    base = _log_in_as_admin(admin_server, page)
    page.goto(f"{base}/admin/catalog/?q={CODE}")
    page.get_by_role("link", name="居民身份证首次申领").click()
    screenshot(page, "edit-page")

    # add a document requirement under the 'age' situation
    page.locator("#documents").get_by_role("link", name="添加").click()
    page.get_by_label("材料名称").fill("学校在读证明")
    page.get_by_label("适用情形").fill("age=minor")
    screenshot(page, "new-document")
    violations = run_axe(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    page.get_by_role("button", name="保存到草稿").click()
    expect(page.get_by_test_id("draft-badge")).to_be_visible()
    expect(page.locator("#doc-4")).to_contain_text("学校在读证明")

    # preview as a citizen sees it
    page.get_by_role("link", name="预览办事指南").click()
    expect(page.get_by_test_id("preview-banner")).to_be_visible()
    page.locator("#s-age-minor").check()
    expect(page.locator("#doc-list")).to_contain_text("学校在读证明")
    screenshot(page, "preview")
    page.get_by_role("link", name="返回编辑").click()

    # break a field, publish is refused with the problem linked to the field
    page.get_by_label("网办深度").select_option("5")
    page.get_by_role("button", name="保存到草稿").click()
    # the save's page must be there before publishing: a click on the page being replaced is lost
    expect(page.locator(".alert-success")).to_contain_text("已保存到草稿")
    page.get_by_role("button", name="发布第 2 版").click()
    problems = page.get_by_test_id("publish-problems")
    expect(problems).to_contain_text("★5 全程网办的事项到现场次数应为 0")
    screenshot(page, "publish-refused")
    problems.get_by_role("link").first.click()
    page.get_by_label("网办深度").select_option("4")
    page.get_by_role("button", name="保存到草稿").click()
    # the save's page must be there before publishing: a click on the page being replaced is lost
    expect(page.locator(".alert-success")).to_contain_text("已保存到草稿")
    page.get_by_role("button", name="发布第 2 版").click()
    expect(page.locator(".alert-success")).to_contain_text("第 2 版已发布")
    screenshot(page, "published")

    page.goto(f"{base}/items/{CODE}?age=minor")
    expect(page.locator("#doc-list")).to_contain_text("学校在读证明")
    screenshot(page, "public-page")
    api = page.request.get(f"{base}/api/v1/items/{CODE}").json()
    assert "学校在读证明" in str(api)


def test_admin_creates_then_deletes_a_bundle_on_a_phone(admin_server, page, screenshot):
    page.set_viewport_size({"width": 375, "height": 812})
    base = _log_in_as_admin(admin_server, page)
    page.goto(f"{base}/admin/catalog/bundles/")
    page.get_by_role("link", name="新建一件事").click()
    page.get_by_label("编码", exact=True).fill("LJ-YJS-101")
    page.get_by_label("名称", exact=True).fill("新生儿落户一件事")
    page.get_by_label("包含的事项编码").fill("LJ-HJ-006\nLJ-HJ-404")
    page.get_by_role("button", name="创建").click()
    expect(page.locator("#items-error")).to_contain_text("LJ-HJ-404")
    expect(page.get_by_label("名称", exact=True)).to_have_value("新生儿落户一件事")  # kept
    violations = run_axe(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "bundle-new-refused")
    page.get_by_label("包含的事项编码").fill("LJ-HJ-006\nLJ-HJ-001")
    page.get_by_role("button", name="创建").click()
    expect(page.locator(".alert-success")).to_contain_text("新生儿落户一件事")
    page.goto(f"{base}/bundles/LJ-YJS-101")
    expect(page.locator("h1")).to_contain_text("新生儿落户一件事")

    page.goto(f"{base}/admin/catalog/bundles/LJ-YJS-101")
    violations = run_axe(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    screenshot(page, "bundle-edit")
    page.get_by_role("button", name="删除 新生儿落户一件事").click()
    expect(page.locator(".alert-success")).to_contain_text("已删除")
    assert page.request.get(f"{base}/bundles/LJ-YJS-101").status == 404
