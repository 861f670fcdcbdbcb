"""预约 closed day in Debian's chromium at 375 px: the admin closes a day that has a booking; the
citizen finds the cancellation in 我的预约, follows 重新预约 and sees the notice on the booking page
(no horizontal scroll, axe-core clean)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from applications.appointments import operations as ops
from applications.appointments.models import Slot
from core.clock import local_today
from core.db import db
from core.outbox import OutboxMessage
from core.transaction import commit
from tests.appointments.helpers import ITEM, UNIT, item, open_weekdays
from tests.browser.test_appointment_journey import _axe_clean, _fits, _login
from tests.clerk.helpers import DEMO_CITIZEN_MOBILE, citizen, load_world, unit

pytestmark = pytest.mark.browser


@pytest.fixture
def server(live_server):
    """The demo world, LJ-EE open on working days from today (real time), the demo citizen booked
    on the first working day after tomorrow."""
    with live_server.app.app_context():
        load_world()
        open_weekdays(today=local_today(), days=14)
        slot = db.session.scalar(
            select(Slot)
            .where(Slot.unit_id == unit(UNIT).id, Slot.day > local_today() + timedelta(days=1))
            .order_by(Slot.starts_at)
        )
        ops.book(citizen(), item(), slot.id)
        commit()
        live_server.day = slot.day
    return live_server


def test_admin_closes_a_booked_day_and_the_citizen_books_again(server, phone_page, screenshot):
    page, base = phone_page, server.url
    _login(page, base, "admin")
    page.goto(f"{base}/admin/appointments/{UNIT}")
    expect(page.get_by_test_id("closing-cancels")).to_be_visible()
    page.locator("input[name=day]").fill(server.day.isoformat())
    page.locator("input[name=kind][value=closed]").check()
    page.locator("input[name=note]").fill("设备检修")
    page.get_by_role("button", name="保存例外日期").click()
    expect(page.get_by_test_id("exceptions")).to_contain_text(server.day.isoformat())
    expect(page.locator(".alert-success")).to_contain_text("已取消 1 个预约并通知群众")
    with server.app.app_context():
        told = list(
            db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "appointment_closed"))
        )
        assert [m.user_id for m in told] == [citizen().id]
    page.context.clear_cookies()

    _login(page, base, DEMO_CITIZEN_MOBILE)
    page.goto(f"{base}/me/appointments")
    page.get_by_test_id("appointments").locator("a").first.click()
    expect(page).to_have_url(re.compile(r"/me/appointments/\d+$"))
    expect(page.get_by_test_id("status")).to_have_text("已取消")
    expect(page.get_by_test_id("closed-notice")).to_be_visible()
    _fits(page)
    _axe_clean(page)
    screenshot(page, "cancelled-by-closure")
    page.get_by_test_id("rebook").click()
    expect(page).to_have_url(re.compile(rf"/items/{ITEM}/book"))
    expect(page.get_by_test_id("closed-notice")).to_contain_text("请重新选择时间")
    expect(page.get_by_test_id("no-show-rule")).to_be_visible()
    _fits(page)
    _axe_clean(page)
    screenshot(page, "rebook")
