"""The admin's scheduled-jobs journey in chromium: from the admin menu to 定时任务, every job listed as
never run, 立即运行 on the statistics check, the page back with the outcome and counts; the same page
on a phone without horizontal scroll. axe-core on the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.auth.helpers import make_account
from tests.conftest import run_axe
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def _log_in_as_admin(server, page) -> None:
    account = make_account(server.app, "admin")
    page.goto(f"{server.url}/login")
    page.locator("input[name=identifier]").fill(account.login)
    page.locator("input[name=password]").fill(DEFAULT_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()


def test_admin_runs_the_statistics_check_now(live_server, page, screenshot):
    _log_in_as_admin(live_server, page)
    page.goto(f"{live_server.url}/admin/units/")
    page.get_by_role("link", name="定时任务").click()
    row = page.get_by_test_id("job-stats_check")
    expect(row).to_contain_text("从未运行")
    expect(page.get_by_test_id("job-retention")).to_contain_text("每天 02:00")
    screenshot(page, "jobs")
    violations = run_axe(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]

    row.get_by_role("button", name="立即运行").click()
    page.wait_for_load_state()
    expect(page.locator(".flash-messages")).to_contain_text("统计汇总核对")
    row = page.get_by_test_id("job-stats_check")
    expect(row).to_contain_text("成功")
    expect(row).to_contain_text("手动")
    expect(row).to_contain_text("mismatched_days 0")
    screenshot(page, "after-run")


def test_the_jobs_page_fits_a_phone(live_server, phone_page):
    _log_in_as_admin(live_server, phone_page)
    phone_page.goto(f"{live_server.url}/admin/jobs/")
    expect(phone_page.get_by_test_id("job-sweep_uploads")).to_be_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
