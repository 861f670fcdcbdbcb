"""An admin closes a day that already has bookings: each booking of that unit and day is cancelled
(the places are not given back — the slots close), each citizen is told once with a link to book the
item again, the booking page offers a new time; other days are untouched; closing twice sends
nothing new; audited."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select

from applications.appointments import operations as ops
from applications.appointments.models import AppointmentStatus
from core.audit import AuditLog
from core.clock import travel
from core.db import db
from core.outbox import OutboxMessage
from core.transaction import commit
from tests.appointments.helpers import ITEM, MONDAY, MORNING, UNIT, at, item, open_weekdays, slot_at, slots_on
from tests.clerk.helpers import DEMO_CITIZEN_MOBILE, citizen, login_staff, unit
from tests.factories import CitizenFactory

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)


def _closed_messages() -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "appointment_closed").order_by(OutboxMessage.id)
        )
    )


def _book_three():
    open_weekdays()
    mine = ops.book(citizen(), item(), slot_at(at(TUESDAY, 10)).id)
    other = ops.book(CitizenFactory(), item(), slot_at(at(TUESDAY, 9)).id)
    kept = ops.book(CitizenFactory(), item(), slot_at(at(WEDNESDAY, 9)).id)
    return mine, other, kept


def test_closing_a_day_cancels_its_bookings_and_tells_each_citizen_once(world):
    with world.app_context(), travel(MORNING):
        mine, other, kept = _book_three()
        self_cancelled = ops.book(CitizenFactory(), item(), slot_at(at(TUESDAY, 9, 30)).id)
        ops.cancel(self_cancelled, self_cancelled.user)
        commit()
        before = [m.id for m in db.session.scalars(select(OutboxMessage))]
        booked_before = {s.id: s.booked for s in slots_on(TUESDAY)}

        ops.add_exception(unit(UNIT), day=TUESDAY, closed=True, note="系统升级")
        commit()

        assert mine.status == AppointmentStatus.CANCELLED and other.status == AppointmentStatus.CANCELLED
        assert kept.status == AppointmentStatus.BOOKED  # another day: untouched
        sent = _closed_messages()
        assert sorted(m.user_id for m in sent) == sorted([mine.user_id, other.user_id])
        msg = next(m for m in sent if m.user_id == mine.user_id)
        assert "2027-01-05" in msg.body and mine.code in msg.body and f"/items/{ITEM}/book" in msg.body
        assert msg.sms_text.startswith("【临江公安】") and "重新预约" in msg.sms_text
        # the slots close; nothing is given back to book
        assert all(not s.open for s in slots_on(TUESDAY))
        assert {s.id: s.booked for s in slots_on(TUESDAY)} == booked_before
        # nothing else was sent (the closure's messages only; the self-cancelled citizen hears nothing new)
        new = [m for m in db.session.scalars(select(OutboxMessage)) if m.id not in before]
        assert {m.kind for m in new} == {"appointment_closed"}
        audited = list(
            db.session.scalars(select(AuditLog).where(AuditLog.action == "appointment.closed_cancelled"))
        )
        assert sorted(a.object_id for a in audited) == sorted([mine.code, other.code])

        # closing the same day again (a second exception row): nothing new
        ops.add_exception(unit(UNIT), day=TUESDAY, closed=True)
        commit()
        assert len(_closed_messages()) == 2
        assert kept.status == AppointmentStatus.BOOKED


def test_adding_hours_to_a_day_cancels_nothing(world):
    with world.app_context(), travel(MORNING):
        mine, other, kept = _book_three()
        commit()
        ops.add_exception(
            unit(UNIT), day=TUESDAY, closed=False, start=time(14), end=time(15), slot_minutes=30, windows=1
        )
        commit()
        assert mine.status == other.status == kept.status == AppointmentStatus.BOOKED
        assert _closed_messages() == []


def test_admin_closes_the_day_on_the_page_and_the_citizen_is_offered_a_new_time(world):
    with world.app_context(), travel(MORNING):
        mine, _other, _kept = _book_three()
        commit()
        mine_id = mine.id
    admin = world.test_client()
    login_staff(admin, "admin")
    with travel(MORNING):
        response = admin.post(
            f"/admin/appointments/{UNIT}/exceptions",
            data={"day": TUESDAY.isoformat(), "kind": "closed", "note": "停电"},
        )
        assert response.status_code == 302
        # the admin is told what the closure did
        page = admin.get(response.headers["Location"]).text
        assert "已保存例外日期；已取消 2 个预约并通知群众" in page
        # a second click (closing the same day again) cancels nothing more, and says so
        again = admin.post(
            f"/admin/appointments/{UNIT}/exceptions",
            data={"day": TUESDAY.isoformat(), "kind": "closed", "note": "停电"},
            follow_redirects=True,
        )
        assert "已取消 0 个预约" in again.text
        extra = admin.post(
            f"/admin/appointments/{UNIT}/exceptions",
            data={
                "day": WEDNESDAY.isoformat(),
                "kind": "extra",
                "start": "14:00",
                "end": "15:00",
                "slot_minutes": "30",
                "windows": "1",
            },
            follow_redirects=True,
        )
        assert "已保存例外日期。" in extra.text and "已取消" not in extra.text
    with world.app_context():
        assert len(_closed_messages()) == 2
    client = world.test_client()
    login_staff(client, DEMO_CITIZEN_MOBILE)
    with travel(MORNING):
        page = client.get(f"/items/{ITEM}/book")
        assert page.status_code == 200
        assert 'data-testid="closed-notice"' in page.text and "请重新选择时间" in page.text
        mine_page = client.get(f"/me/appointments/{mine_id}")
        assert mine_page.status_code == 200 and 'data-testid="closed-notice"' in mine_page.text
        assert f'href="/items/{ITEM}/book" data-testid="rebook"' in mine_page.text
        # the citizen books again: the new booking takes a free place of another day
        with world.app_context():
            slot = slot_at(at(WEDNESDAY, 10)).id
        again = client.post(f"/items/{ITEM}/book", data={"slot": slot, "day": WEDNESDAY.isoformat()})
        assert again.status_code == 302
        # booked again: the old one no longer offers 重新预约
        assert 'data-testid="rebook"' not in client.get(f"/me/appointments/{mine_id}").text


def test_a_citizen_without_a_closed_booking_sees_no_notice(world):
    with world.app_context(), travel(MORNING):
        open_weekdays()
        mine = ops.book(citizen(), item(), slot_at(at(TUESDAY, 10)).id)
        ops.cancel(mine, mine.user)  # cancelled by the citizen, not by a closure
        commit()
        mine_id = mine.id
    client = world.test_client()
    login_staff(client, DEMO_CITIZEN_MOBILE)
    with travel(MORNING):
        page = client.get(f"/items/{ITEM}/book")
        detail = client.get(f"/me/appointments/{mine_id}")
    assert page.status_code == 200 and 'data-testid="closed-notice"' not in page.text
    assert 'data-testid="closed-notice"' not in detail.text and 'data-testid="rebook"' in detail.text


def test_closing_today_leaves_the_bookings_that_already_started_to_the_counter(world):
    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            started = ops.book(CitizenFactory(), item(), slot_at(at(MONDAY, 9, 30)).id)
            ahead = ops.book(CitizenFactory(), item(), slot_at(at(MONDAY, 10, 30)).id)
            commit()
        with travel(at(MONDAY, 9, 40)):
            ops.add_exception(unit(UNIT), day=MONDAY, closed=True, note="停电")
            commit()
        assert started.status == AppointmentStatus.BOOKED  # the no-show job or the counter decides
        assert ahead.status == AppointmentStatus.CANCELLED
        assert [m.user_id for m in _closed_messages()] == [ahead.user_id]
