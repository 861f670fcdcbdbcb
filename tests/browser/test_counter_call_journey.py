"""叫号 and the 预约 figures in Debian's chromium at 375 px: two citizens booked for now check in (the
second booked first), the 出入境 clerk calls the next one from the queue, presses again from a stale
second tab (nothing changes, told so); the unit lead finds the bookings on 统计分析 and clicks through to the
bookings behind the number (names masked). No horizontal scroll; axe-core on both pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.clock import local_today
from tests.appointments.helpers import UNIT, book_now
from tests.browser.test_appointment_journey import _axe_clean, _fits, _login

pytestmark = pytest.mark.browser
FIRST, SECOND = "FRST2345", "SCND2345"


@pytest.fixture
def server(live_server):
    """Two bookings of LJ-EE for a slot starting now (real time: the server runs in a thread)."""
    with live_server.app.app_context():
        book_now([(FIRST, "李四光"), (SECOND, "王小明")])
    return live_server


def _check_in(page, code: str) -> None:
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name="签到", exact=True).click()
    expect(page.get_by_test_id(f"waiting-{code}")).to_be_visible()


def test_clerk_calls_the_next_and_the_lead_sees_the_figures(server, phone_page, screenshot):
    page, base = phone_page, server.url
    _login(page, base, "clerk_ee")
    page.goto(f"{base}/clerk/appointments/")
    expect(page.get_by_test_id("waiting")).to_contain_text("暂无等候")
    _check_in(page, SECOND)
    _check_in(page, FIRST)
    queue = page.get_by_test_id("waiting")
    expect(queue.locator("li").first).to_contain_text("下一位")
    expect(queue.locator("li").first).to_have_attribute("data-testid", f"waiting-{SECOND}")
    expect(queue).to_contain_text("王**")
    expect(queue).not_to_contain_text("王小明")
    _fits(page)
    _axe_clean(page)
    screenshot(page, "queue")
    # a colleague's screen (a second tab) opened before the call
    stale = page.context.new_page()
    stale.goto(f"{base}/clerk/appointments/")
    expect(stale.get_by_test_id(f"waiting-{SECOND}")).to_be_visible()
    page.get_by_test_id(f"waiting-{SECOND}").get_by_role("button", name="叫号/开始办理").click()
    expect(page.locator(".alert-success")).to_contain_text("已叫号")
    expect(page.get_by_test_id(f"waiting-{SECOND}")).to_have_count(0)
    expect(queue.locator("li").first).to_have_attribute("data-testid", f"waiting-{FIRST}")
    expect(page.get_by_test_id(f"appointment-{SECOND}")).to_contain_text("已叫号")
    screenshot(page, "called")
    # the stale screen still shows the called citizen: pressing there changes nothing, and says so
    stale.get_by_test_id(f"waiting-{SECOND}").get_by_role("button", name="叫号/开始办理").click()
    expect(stale.locator(".alert-info")).to_contain_text("无需重复")
    expect(stale.get_by_test_id(f"waiting-{SECOND}")).to_have_count(0)
    stale.close()

    page.context.clear_cookies()
    _login(page, base, "lead_ee")
    page.goto(f"{base}/stats")
    table = page.get_by_test_id("appointments-table")
    month = local_today().strftime("%Y-%m")
    row = table.locator(f'tr[data-key="{UNIT}-{month}"]')
    expect(row).to_contain_text("2")
    _fits(page)
    _axe_clean(page)
    row.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/stats/appointments\?"))
    expect(page.get_by_test_id("drill-total")).to_contain_text("共 2 个预约")
    drill = page.get_by_test_id("drill-table")
    expect(drill).to_contain_text("李**")
    expect(drill).not_to_contain_text("李四光")
    _fits(page)
    _axe_clean(page)
    screenshot(page, "drill")
