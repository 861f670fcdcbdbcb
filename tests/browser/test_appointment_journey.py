"""预约 in Debian's chromium at 375 px: a citizen books the passport visit from the item page (a day,
then a time), moves it, cancels it on the confirmation page; the 出入境 clerk checks a booking of today
in by typing its code. No horizontal scroll; axe-core on the booking, confirmation and counter pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from applications.appointments.models import Appointment, Slot
from catalog.queries import catalog
from core.clock import local_today, now
from core.db import db
from core.transaction import commit
from tests.appointments.helpers import ITEM, UNIT, open_weekdays
from tests.clerk.helpers import DEMO_CITIZEN_MOBILE, DEMO_PASSWORD, citizen, load_world, unit
from tests.conftest import run_axe
from tests.factories import CitizenFactory

pytestmark = pytest.mark.browser
TODAY_CODE = "TDAY2345"


@pytest.fixture
def server(live_server):
    """The demo world, LJ-EE open on working days from today (real time: the server runs in a thread),
    and one booking of another citizen for a slot of today, to be checked in at the counter."""
    with live_server.app.app_context():
        load_world()
        open_weekdays(today=local_today(), days=14)
        start = now().replace(second=0, microsecond=0)
        slot = Slot(
            unit_id=unit(UNIT).id,
            day=local_today(),
            starts_at=start,
            ends_at=start + timedelta(minutes=1),
            capacity=1,
            booked=1,
            open=True,
        )
        db.session.add(slot)
        db.session.flush()
        other = CitizenFactory(real_name="李四光")
        db.session.add(
            Appointment(
                code=TODAY_CODE,
                user_id=other.id,
                item_id=catalog().items[ITEM].id,
                slot_id=slot.id,
                unit_id=slot.unit_id,
            )
        )
        commit()
        assert citizen() is not None
    return live_server


def _login(page, base: str, identifier: str) -> None:
    page.goto(f"{base}/login")
    page.locator("input[name=identifier]").fill(identifier)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _fits(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def _axe_clean(page) -> None:
    violations = run_axe(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def test_citizen_books_moves_and_cancels_and_the_clerk_checks_in_by_code(server, phone_page, screenshot):
    page, base = phone_page, server.url
    _login(page, base, DEMO_CITIZEN_MOBILE)
    page.goto(f"{base}/items/{ITEM}")
    page.get_by_test_id("book-link").click()
    expect(page).to_have_url(re.compile(rf"/items/{ITEM}/book"))
    days = page.get_by_test_id("days").locator("a")
    expect(days.first).to_be_visible()
    days.nth(1).click()  # the second day offered
    page.wait_for_load_state()
    expect(days.nth(1)).to_have_attribute("aria-current", "true")
    _fits(page)
    _axe_clean(page)
    screenshot(page, "pick-time")
    page.locator("input[name=slot]").nth(1).check()
    page.get_by_role("button", name="确认预约").click()
    expect(page).to_have_url(re.compile(r"/me/appointments/\d+$"))
    expect(page.get_by_test_id("status")).to_have_text("已预约")
    code = page.get_by_test_id("code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{8}", code)
    expect(page.get_by_test_id("qr").locator("svg")).to_be_visible()
    first_when = page.get_by_test_id("when").inner_text()
    _fits(page)
    _axe_clean(page)
    screenshot(page, "confirmed")

    # move: another time of the first day
    page.get_by_role("link", name="改约").click()
    expect(page.get_by_test_id("moving")).to_be_visible()
    page.locator("input[name=slot]").first.check()
    page.get_by_role("button", name="确认改约").click()
    expect(page).to_have_url(re.compile(r"/me/appointments/\d+$"))
    expect(page.get_by_test_id("when")).not_to_have_text(first_when)
    expect(page.get_by_test_id("code")).to_have_text(code)
    screenshot(page, "moved")

    # cancel: a confirmation page, then 确认取消
    page.get_by_role("link", name="取消预约").click()
    expect(page.get_by_test_id("cancel-form")).to_be_visible()
    _fits(page)
    page.get_by_role("button", name="确认取消").click()
    expect(page).to_have_url(re.compile(r"/me/appointments$"))
    expect(page.get_by_test_id("appointments")).to_contain_text("已取消")
    screenshot(page, "cancelled")

    # the counter: a wrong code is told at the field; the right one checks in
    page.context.clear_cookies()
    _login(page, base, "clerk_ee")
    page.goto(f"{base}/clerk/appointments/")
    row = page.get_by_test_id(f"appointment-{TODAY_CODE}")
    expect(row).to_contain_text("李**")
    expect(row).not_to_contain_text("李四光")
    page.locator("input[name=code]").fill("NOPE2345")
    page.get_by_role("button", name="签到", exact=True).click()
    expect(page.locator("#code-error")).to_contain_text("未找到该预约码")
    expect(page.locator("input[name=code]")).to_have_value("NOPE2345")
    page.locator("input[name=code]").fill(TODAY_CODE.lower())
    page.get_by_role("button", name="签到", exact=True).click()
    expect(page).to_have_url(re.compile(r"/clerk/appointments/$"))
    expect(page.get_by_test_id(f"appointment-{TODAY_CODE}")).to_contain_text("已签到")
    _fits(page)
    _axe_clean(page)
    screenshot(page, "checked-in")
