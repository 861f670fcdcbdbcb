"""The catalog journey in Debian's chromium: home → search 护照 → open 普通护照签发 → answer a situation
question and watch the document list change in place (htmx) → the printable notice, whose print
stylesheet hides the header. A screenshot per step (test-artifacts/); axe-core on the home, search and
item pages; the item page fits a 375-px phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.catalog.helpers import load_demo
from tests.conftest import run_axe

pytestmark = pytest.mark.browser


def assert_accessible(page) -> None:
    violations = run_axe(page)
    summary = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert violations == [], summary


@pytest.fixture
def catalog_server(live_server):
    with live_server.app.app_context():
        load_demo()
    return live_server


def test_search_open_answer_and_print(catalog_server, page, screenshot):
    base = catalog_server.url
    page.goto(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("最多跑一次")
    screenshot(page, "home")
    assert_accessible(page)

    page.get_by_label("搜索办事事项").fill("护照")
    page.get_by_role("button", name="搜索", exact=True).click()
    page.wait_for_url(re.compile(r"/search\?q="))
    results = page.get_by_test_id("results")
    expect(results.locator("mark").first).to_have_text("护照")
    screenshot(page, "search-results")
    assert_accessible(page)

    results.get_by_role("link", name="普通护照签发").click()
    page.wait_for_url(f"{base}/items/LJ-CR-001")
    docs = page.get_by_test_id("doc-list")
    expect(docs).not_to_contain_text("监护人居民身份证")  # default answer: 16 or over
    screenshot(page, "item")
    assert_accessible(page)

    # answer "未满十六周岁" then back: htmx swaps the list in place — same page, no navigation
    page.evaluate("window.__samePage = true")
    page.get_by_label("未满十六周岁（监护人陪同）").check()
    expect(docs).to_contain_text("监护人居民身份证")
    page.get_by_label("已满十六周岁").check()
    expect(docs).not_to_contain_text("监护人居民身份证")
    expect(docs).to_contain_text("出入境证件数码照片回执")
    assert page.evaluate("window.__samePage === true"), "the page was reloaded instead of updated"
    assert page.url == f"{base}/items/LJ-CR-001"
    screenshot(page, "item-answered")

    page.get_by_test_id("notice-link").click()
    page.wait_for_url(re.compile(r"/items/LJ-CR-001/notice\?.*age=adult"))
    notice_docs = page.get_by_test_id("notice-docs")
    expect(notice_docs).to_contain_text("出入境证件数码照片回执")
    expect(notice_docs).not_to_contain_text("监护人居民身份证")
    expect(page.get_by_test_id("notice-fee")).to_contain_text("120.00 元")
    header = page.locator("header.site-header")
    expect(header).to_be_visible()
    screenshot(page, "notice")

    page.emulate_media(media="print")
    expect(header).to_be_hidden()
    expect(page.get_by_role("button", name="打印")).to_be_hidden()
    expect(notice_docs).to_be_visible()
    screenshot(page, "notice-print")
    page.emulate_media(media="screen")
    expect(header).to_be_visible()


def test_without_javascript_the_form_updates_the_list(catalog_server, browser_instance, screenshot):
    context = browser_instance.new_context(locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{catalog_server.url}/items/LJ-HJ-019")
        docs = page.get_by_test_id("doc-list")
        expect(docs).not_to_contain_text("委托书")
        page.get_by_label("亲友代办").check()
        page.get_by_role("button", name="更新材料清单").click()
        page.wait_for_url(re.compile(r"applicant=proxy"))
        expect(page.get_by_test_id("doc-list")).to_contain_text("当事人签名的委托书")
        screenshot(page, "no-js-proxy")
    finally:
        context.close()


def test_item_page_fits_a_phone(catalog_server, phone_page, screenshot):
    phone_page.goto(f"{catalog_server.url}/items/LJ-CR-001")
    expect(phone_page.get_by_test_id("doc-list")).to_be_visible()
    screenshot(phone_page, "item-375px")
    widths = phone_page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"horizontal overflow: content {widths[0]}px in a {widths[1]}px viewport"
    too_wide = phone_page.evaluate(
        """() => [...document.querySelectorAll('main *')]
              .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
              .map(e => e.tagName + '.' + e.className).slice(0, 5)"""
    )
    assert too_wide == []
