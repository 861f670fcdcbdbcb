"""预约 pages: book from the item page and from an application, the confirmation with QR code and
.ics, a slot that filled meanwhile, cancel (confirmation page) and move; the clerk's 今日预约 and
check-in; the admin's opening hours with their mistakes; the demo's hours."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from applications.appointments.models import Appointment, AppointmentStatus, OpeningHours, Slot
from applications.models import Visit
from auth.models import User
from core.clock import travel
from core.db import db
from core.transaction import commit
from tests.appointments.helpers import ITEM, MONDAY, MORNING, UNIT, at, open_weekdays, slot_at
from tests.auth.helpers import field_error
from tests.clerk.helpers import DEMO_CITIZEN_MOBILE, citizen, insert_submitted, login_staff, unit
from tests.factories import CitizenFactory


def _open(app, windows: int = 3):
    with app.app_context(), travel(MORNING):
        open_weekdays(windows=windows)
        commit()


def _slot_id(app, moment) -> int:
    with app.app_context():
        return slot_at(moment).id


def _citizen_client(app):
    client = app.test_client()
    login_staff(client, DEMO_CITIZEN_MOBILE)
    return client


def test_book_from_the_item_page_then_move_then_cancel(world):
    _open(world)
    client = _citizen_client(world)
    with travel(MORNING):
        item_page = client.get(f"/items/{ITEM}").text
        assert f"/items/{ITEM}/book" in item_page
        page = client.get(f"/items/{ITEM}/book")
        assert page.status_code == 200 and "2027-01-04" in page.text
        assert "01-05" in page.text  # the next days are offered
        response = client.post(
            f"/items/{ITEM}/book", data={"slot": _slot_id(world, at(MONDAY, 10)), "day": "2027-01-04"}
        )
        assert response.status_code == 302
        detail = client.get(response.headers["Location"])
        code = re.search(r'data-testid="code">(\w+)<', detail.text).group(1)
        assert "<svg" in detail.text and "2027-01-04 10:00" in detail.text
        appt_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
        ics = client.get(f"/me/appointments/{appt_id}/calendar.ics")
        assert ics.mimetype == "text/calendar"
        assert b"DTSTART;TZID=Asia/Shanghai:20270104T100000" in ics.data and code.encode() in ics.data
        # booking the same item again leads to the booking
        again = client.get(f"/items/{ITEM}/book")
        assert again.status_code == 302 and f"/me/appointments/{appt_id}" in again.headers["Location"]
        # move to Tuesday 09:00
        moved = client.post(
            f"/me/appointments/{appt_id}/move",
            data={"slot": _slot_id(world, at(date(2027, 1, 5), 9)), "day": "2027-01-05"},
        )
        assert moved.status_code == 302
        assert "2027-01-05 09:00" in client.get(f"/me/appointments/{appt_id}").text
        # cancel: a confirmation page first (works without JavaScript), then the POST
        confirm = client.get(f"/me/appointments/{appt_id}/cancel")
        assert confirm.status_code == 200 and "确认取消" in confirm.text
        assert client.post(f"/me/appointments/{appt_id}/cancel").status_code == 302
    with world.app_context():
        appt = db.session.get(Appointment, appt_id)
        assert appt.status == AppointmentStatus.CANCELLED and appt.code == code
        assert db.session.scalar(select(func.sum(Slot.booked))) == 0


def test_a_slot_that_filled_while_the_page_was_open_says_so_and_shows_the_free_ones(world):
    _open(world, windows=1)
    full = _slot_id(world, at(MONDAY, 10))
    with world.app_context(), travel(MORNING):
        from applications.appointments import operations as ops
        from tests.appointments.helpers import item

        ops.book(CitizenFactory(), item(), full)
        commit()
    client = _citizen_client(world)
    with travel(MORNING):
        response = client.post(f"/items/{ITEM}/book", data={"slot": full, "day": "2027-01-04"})
    assert response.status_code == 422
    assert "该时段已约满，请选择其他时段。" in response.text and "以下时段仍可预约" in response.text
    assert f'id="slot-{full}"' not in response.text
    assert f'id="slot-{_slot_id(world, at(MONDAY, 10, 30))}"' in response.text
    with travel(MORNING):
        empty = client.post(f"/items/{ITEM}/book", data={"day": "2027-01-04"})
    assert empty.status_code == 422 and "请选择预约时段" in empty.text
    with travel(MORNING):
        typed = client.post(f"/items/{ITEM}/book", data={"slot": "abc", "day": "2027-01-04"})
    assert typed.status_code == 422 and "请选择预约时段" in typed.text


def test_book_from_an_application_links_it_and_the_counter_records_the_visit(world):
    _open(world)
    with world.app_context():
        (app_id,) = insert_submitted(1, unit_code=UNIT, item_code=ITEM, applicant=citizen())
        db.session.commit()
    client = _citizen_client(world)
    with travel(MORNING):
        detail = client.get(f"/applications/{app_id}").text
        assert f"/items/{ITEM}/book?application={app_id}" in detail
        page = client.get(f"/items/{ITEM}/book?application={app_id}")
        assert f'name="application" value="{app_id}"' in page.text
        done = client.post(
            f"/items/{ITEM}/book", data={"slot": _slot_id(world, at(MONDAY, 10)), "application": app_id}
        )
        assert done.status_code == 302
        # someone else's application number answers 404
        assert client.get(f"/items/{ITEM}/book?application=999999").status_code == 404
    with world.app_context():
        appt = db.session.scalar(select(Appointment))
        assert appt.application_id == app_id
        code = appt.code
    clerk = world.test_client()
    login_staff(clerk, "clerk_ee")
    with travel(at(MONDAY, 9, 50)):
        today = clerk.get("/clerk/appointments/")
        assert today.status_code == 200 and f"appointment-{code}" in today.text
        name = "演示用户"
        with world.app_context():
            name = db.session.scalar(select(User.real_name).where(User.mobile_is(DEMO_CITIZEN_MOBILE)))
        assert name not in today.text and name[0] + "*" in today.text  # masked
        wrong = clerk.post("/clerk/appointments/check-in", data={"code": "ZZZZ9999"})
        assert wrong.status_code == 422
        assert "未找到该预约码" in field_error(wrong.text, "code")
        assert 'value="ZZZZ9999"' in wrong.text  # what was typed is kept
        ok = clerk.post("/clerk/appointments/check-in", data={"code": code})
        assert ok.status_code == 302
        assert "已签到" in clerk.get("/clerk/appointments/").text
    with world.app_context():
        assert db.session.scalar(select(func.count(Visit.id)).where(Visit.application_id == app_id)) == 1


def test_other_citizens_bookings_answer_404(world):
    _open(world)
    with world.app_context(), travel(MORNING):
        from applications.appointments import operations as ops
        from tests.appointments.helpers import item

        theirs = ops.book(CitizenFactory(), item(), slot_at(at(MONDAY, 10)).id)
        commit()
        theirs_id = theirs.id
    client = _citizen_client(world)
    for url in ("", "/calendar.ics", "/cancel", "/move"):
        assert client.get(f"/me/appointments/{theirs_id}{url}").status_code == 404
    assert client.post(f"/me/appointments/{theirs_id}/cancel").status_code == 404


def test_clerk_marks_no_shows(world):
    _open(world)
    with world.app_context(), travel(MORNING):
        from applications.appointments import operations as ops
        from tests.appointments.helpers import item

        ops.book(citizen(), item(), slot_at(at(MONDAY, 9)).id)
        commit()
    clerk = world.test_client()
    login_staff(clerk, "clerk_ee")
    with travel(at(MONDAY, 9, 45)):
        response = clerk.post("/clerk/appointments/no-shows")
        assert response.status_code == 302
        assert "未到" in clerk.get("/clerk/appointments/").text
    with world.app_context():
        assert db.session.scalar(select(Appointment.status)) == AppointmentStatus.NO_SHOW


def test_admin_sets_hours_with_messages_at_the_fields(world):
    admin = world.test_client()
    login_staff(admin, "admin")
    with travel(MORNING):
        assert UNIT in admin.get("/admin/appointments/").text
        bad = admin.post(
            f"/admin/appointments/{UNIT}",
            data={"weekday": "0", "start": "11:00", "end": "09:00", "slot_minutes": "30", "windows": "2"},
        )
        assert bad.status_code == 422
        assert field_error(bad.text, "end") == "结束时间须晚于开始时间"
        typo = admin.post(
            f"/admin/appointments/{UNIT}",
            data={"weekday": "0", "start": "9点", "end": "11:00", "slot_minutes": "0", "windows": "2"},
        )
        assert typo.status_code == 422
        assert "每个时段5至240分钟" in field_error(typo.text, "slot_minutes")
        assert field_error(typo.text, "start") == "请按 时:分 填写时间，例如 09:00"
        ok = admin.post(
            f"/admin/appointments/{UNIT}",
            data={"weekday": "0", "start": "09:00", "end": "11:00", "slot_minutes": "30", "windows": "2"},
        )
        assert ok.status_code == 302
        closed = admin.post(
            f"/admin/appointments/{UNIT}/exceptions", data={"day": "2027-01-11", "kind": "closed"}
        )
        assert closed.status_code == 302
        past = admin.post(
            f"/admin/appointments/{UNIT}/exceptions", data={"day": "2026-12-01", "kind": "closed"}
        )
        assert past.status_code == 422 and field_error(past.text, "day") == "不能设置已过去的日期"
        extra = admin.post(
            f"/admin/appointments/{UNIT}/exceptions", data={"day": "2027-01-09", "kind": "extra"}
        )
        assert extra.status_code == 422 and "增开时请填写" in field_error(extra.text, "start")
    with world.app_context():
        ee = unit(UNIT)
        days = set(db.session.scalars(select(Slot.day).where(Slot.unit_id == ee.id, Slot.open.is_(True))))
        assert MONDAY in days and date(2027, 1, 11) not in days
        assert db.session.scalar(select(func.count(OpeningHours.id))) == 1
        from core.audit import AuditLog

        actions = set(db.session.scalars(select(AuditLog.action)))
        assert {"appointment.hours_added", "appointment.exception_added"} <= actions
        from applications.appointments.models import ExceptionDay

        closed_id = db.session.scalar(select(ExceptionDay.id))
        hours_id = db.session.scalar(select(OpeningHours.id))
    with travel(MORNING):
        page = admin.get(f"/admin/appointments/{UNIT}").text
        assert "设备检修" not in page and "2027-01-11" in page
        assert admin.post(f"/admin/appointments/{UNIT}/exceptions/{closed_id}/delete").status_code == 302
        assert admin.post(f"/admin/appointments/{UNIT}/hours/{hours_id}/delete").status_code == 302
        assert admin.post(f"/admin/appointments/{UNIT}/hours/{hours_id}/delete").status_code == 404
    with world.app_context():
        reopened = db.session.scalars(select(Slot.open).where(Slot.day == date(2027, 1, 11)))
        assert all(reopened)
        assert db.session.scalar(select(func.count(OpeningHours.id))) == 0
        # the only line gone: the future slots nobody booked go with it (issue 20: no stale places)
        assert db.session.scalar(select(func.count(Slot.id))) == 0


def test_demo_opens_hours_for_every_unit_serving_an_item_with_a_visit_once(world):
    from demo.appointments import ensure_demo_hours

    with world.app_context(), travel(MORNING):
        lines, slots = ensure_demo_hours()
        commit()
        assert lines and slots
        units = set(db.session.scalars(select(OpeningHours.unit_id)))
        assert unit("LJ-EE").id in units and unit("LJ-VO").id in units and unit("LJ-PS-DC-01").id in units
        assert ensure_demo_hours() == (0, 0)
        # every item with a visit can be booked somewhere, in its own group's slots at LJ-EE
        from applications.appointments import queries
        from catalog.queries import catalog

        week = (MONDAY, MONDAY + timedelta(days=4))
        for it in catalog().items.values():
            if it.visits >= 1:
                ids = [u.id for u in queries.serving_units(it)]
                assert queries.free_slots(ids, *week, item_id=it.id), it.code
        ee = unit("LJ-EE").id
        passport = queries.free_slots([ee], *week, item_id=catalog().items[ITEM].id)
        hk = queries.free_slots([ee], *week, item_id=catalog().items["LJ-CR-005"].id)
        other = queries.free_slots([ee], *week, item_id=catalog().items["LJ-CR-010"].id)
        assert {(s.group.name, s.capacity) for s in passport} == {("护照", 2)}
        assert {(s.group.name, s.capacity) for s in hk} == {("港澳台通行证", 2)}
        assert {(s.group_id, s.capacity) for s in other} == {(None, 1)}
