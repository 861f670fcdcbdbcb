"""预约 item groups in Debian's chromium at 375 px: the admin groups the 出入境 hall's 港澳 items, gives
the group its own hours and windows, then deletes a line that has a booking and is told the booking
stays outside the hours; the 港澳 citizen's booking page offers that group's times only. No sideways
scroll; axe-core on the admin page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from applications.appointments import operations as ops
from applications.appointments.models import Appointment, AppointmentStatus, ItemGroup, Slot
from catalog.queries import catalog
from core.clock import local_today
from core.db import db
from core.transaction import commit
from tests.appointments.helpers import UNIT, open_weekdays
from tests.browser.test_appointment_journey import _axe_clean, _fits, _login
from tests.clerk.helpers import DEMO_CITIZEN_MOBILE, load_world, unit

pytestmark = pytest.mark.browser
HK_ITEM = "LJ-CR-005"


@pytest.fixture
def server(live_server):
    """The demo world, LJ-EE open 09:00–11:00 on working days from today (real time)."""
    with live_server.app.app_context():
        load_world()
        open_weekdays(today=local_today(), days=14)
        commit()
    return live_server


def test_admin_groups_items_and_is_told_about_bookings_outside_the_hours(server, phone_page, screenshot):
    page, base = phone_page, server.url
    _login(page, base, "admin")
    page.goto(f"{base}/admin/appointments/{UNIT}")
    form = page.get_by_test_id("group-form")
    form.get_by_role("button", name="添加分组").click()  # nothing filled in: told at the fields
    expect(page.locator("#name-error")).to_have_text("请填写分组名称")
    form = page.get_by_test_id("group-form")
    form.locator("input[name=name]").fill("港澳通行证")
    form.get_by_label(re.compile("往来港澳通行证签发")).check()
    form.get_by_label(re.compile("往来港澳通行证换发")).check()
    form.get_by_role("button", name="添加分组").click()
    expect(page.get_by_test_id("groups")).to_contain_text("往来港澳通行证签发")
    hours = page.get_by_test_id("hours-form")
    hours.locator("select[name=group]").select_option(label="港澳通行证")
    hours.locator("select[name=weekday]").select_option(label="星期三")  # beside the ungrouped counter
    hours.locator("input[name=start]").fill("09:00")
    hours.locator("input[name=end]").fill("10:00")
    hours.locator("input[name=windows]").fill("2")
    hours.get_by_role("button", name="添加开放时间").click()
    expect(page.locator(".alert-success")).to_contain_text("已添加开放时间")
    expect(page.get_by_test_id("hours")).to_contain_text("港澳通行证")
    _fits(page)
    _axe_clean(page)
    screenshot(page, "groups")
    page.get_by_test_id("groups").get_by_role("link", name=re.compile("修改")).click()
    edit = page.get_by_test_id("group-form")
    expect(edit.get_by_label(re.compile("往来港澳通行证签发"))).to_be_checked()
    edit.get_by_label(re.compile("往来港澳通行证签发")).uncheck()
    edit.get_by_label(re.compile("往来港澳通行证换发")).uncheck()
    edit.get_by_role("button", name="保存分组").click()
    expect(page.locator("#items-error")).to_have_text("请至少选择一个事项")
    _fits(page)
    _axe_clean(page)
    page.get_by_test_id("group-form").get_by_label(re.compile("往来港澳通行证签发")).check()
    page.get_by_test_id("group-form").get_by_label(re.compile("往来港澳通行证换发")).check()
    page.get_by_role("button", name="保存分组").click()
    expect(page.locator(".alert-success")).to_contain_text("已保存事项分组")

    with server.app.app_context():
        group = db.session.scalar(select(ItemGroup).where(ItemGroup.name == "港澳通行证"))
        hk_slots = list(
            db.session.scalars(select(Slot).where(Slot.group_id == group.id).order_by(Slot.starts_at))
        )
        assert (
            hk_slots and {s.capacity for s in hk_slots} == {2} and all(s.day.weekday() == 2 for s in hk_slots)
        )
        # a 护照 citizen books the ungrouped Tuesday slots; the admin then deletes Tuesday
        tuesday = next(
            d for d in (local_today() + timedelta(days=n) for n in range(2, 9)) if d.weekday() == 1
        )
        slot = db.session.scalar(
            select(Slot).where(Slot.unit_id == unit(UNIT).id, Slot.day == tuesday, Slot.group_id.is_(None))
        )
        from tests.clerk.helpers import citizen

        appt = ops.book(citizen(), catalog().items["LJ-CR-001"], slot.id)
        commit()
        first = next(s for s in hk_slots if s.day > local_today())
        appt_id, first_id, first_day = appt.id, first.id, first.day
        same_day = len([s for s in hk_slots if s.day == first_day])

    page.get_by_test_id("hours").get_by_role("row").filter(has_text="星期二").filter(
        has_text="未分组"
    ).get_by_role("button", name="删除").click()
    expect(page.locator(".alert-warning")).to_contain_text("有 1 个预约已不在新的开放时间内")
    _fits(page)
    with server.app.app_context():
        assert db.session.get(Appointment, appt_id).status == AppointmentStatus.BOOKED
    page.context.clear_cookies()

    _login(page, base, DEMO_CITIZEN_MOBILE)
    page.goto(f"{base}/items/{HK_ITEM}/book?day={first_day.isoformat()}")
    expect(page.locator("input[name=slot]")).to_have_count(same_day)  # the group's, not the ungrouped
    expect(page.locator(f"#slot-{first_id}")).to_be_attached()
    _fits(page)
