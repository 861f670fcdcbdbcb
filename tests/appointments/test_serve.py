"""叫号/开始办理 at the counter: the checked-in bookings wait in check-in order, the clerk of the
booking's unit calls the next one (``served_at``/``served_by``, audited once however often the button
is pressed); another unit's or a missing booking answers 404, a booking not checked in is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from applications.appointments import operations as ops
from applications.appointments import queries
from applications.appointments.models import Appointment, AppointmentStatus
from core.audit import AuditLog
from core.clock import travel
from core.db import db
from core.errors import DomainError, NotFound
from core.transaction import commit
from tests.appointments.helpers import MONDAY, MORNING, at, item, open_weekdays, slot_at
from tests.clerk.helpers import citizen, login_staff, unit, user
from tests.factories import CitizenFactory


def _served_audits() -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "appointment.served")
    )


def _two_checked_in(app) -> tuple[int, int, int, str, str]:
    """Two bookings of 10:00: the second booked checks in first. (first id, second id, an unchecked
    booking's id, their codes)."""
    with app.app_context():
        with travel(MORNING):
            open_weekdays()
            first = ops.book(citizen(), item(), slot_at(at(MONDAY, 10)).id)
            second = ops.book(CitizenFactory(real_name="王小明"), item(), slot_at(at(MONDAY, 10)).id)
            waiting = ops.book(CitizenFactory(), item(), slot_at(at(MONDAY, 10, 30)).id)
            commit()
        with travel(at(MONDAY, 9, 50)):
            ops.check_in(user("clerk_ee"), second.code)
            commit()
        with travel(at(MONDAY, 9, 55)):
            ops.check_in(user("clerk_ee"), first.code)
            commit()
        return first.id, second.id, waiting.id, first.code, second.code


def test_serve_records_the_call_once_in_check_in_order_and_is_audited(world):
    first_id, second_id, not_checked_in, _, _ = _two_checked_in(world)
    with world.app_context(), travel(at(MONDAY, 10, 7)):
        ee = unit("LJ-EE")
        assert [a.id for a in queries.waiting([ee.id], MONDAY)] == [second_id, first_id]
        clerk = user("clerk_ee")
        appt, called = ops.serve(clerk, second_id)
        commit()
        assert called and appt.served_by_id == clerk.id
        assert appt.served_at == at(MONDAY, 10, 7) and appt.checked_in_at == at(MONDAY, 9, 50)
        assert appt.status == AppointmentStatus.CHECKED_IN
        assert _served_audits() == 1
        event = db.session.scalar(select(AuditLog).where(AuditLog.action == "appointment.served"))
        assert event.object_id == appt.code and event.details["waited_minutes"] == 17.0
        assert [a.id for a in queries.waiting([ee.id], MONDAY)] == [first_id]
        # the double click: nothing changes, no second audit row
        again, called_again = ops.serve(clerk, second_id)
        commit()
        assert not called_again and again.served_at == at(MONDAY, 10, 7)
        assert _served_audits() == 1
        # another unit's clerk, a missing booking: not found
        with pytest.raises(NotFound):
            ops.serve(user("clerk_ps_dc_01"), first_id)
        with pytest.raises(NotFound):
            ops.serve(clerk, 999999)
        # a booking not checked in cannot be called
        with pytest.raises(DomainError, match="尚未签到"):
            ops.serve(clerk, not_checked_in)
        db.session.rollback()
        assert db.session.get(Appointment, not_checked_in).served_at is None


def test_the_counter_page_shows_the_queue_and_calls_the_next(world):
    first_id, second_id, not_checked_in, first_code, second_code = _two_checked_in(world)
    clerk = world.test_client()
    login_staff(clerk, "clerk_ee")
    with travel(at(MONDAY, 10, 1)):
        page = clerk.get("/clerk/appointments/").text
        queue = page.split('data-testid="waiting"')[1].split("</section>")[0]
        # check-in order: the second booking checked in first and is the next to call
        assert queue.index(f"waiting-{second_code}") < queue.index(f"waiting-{first_code}")
        assert "下一位" in queue.split(f"waiting-{first_code}")[0]
        assert "王小明" not in page and "王**" in page  # masked
        assert f"/clerk/appointments/{second_id}/serve" in queue
        called = clerk.post(f"/clerk/appointments/{second_id}/serve", follow_redirects=True)
        assert called.status_code == 200 and "已叫号" in called.text
        twice = clerk.post(f"/clerk/appointments/{second_id}/serve", follow_redirects=True)
        assert twice.status_code == 200 and "无需重复" in twice.text
        refused = clerk.post(f"/clerk/appointments/{not_checked_in}/serve", follow_redirects=True)
        assert refused.status_code == 200 and "尚未签到" in refused.text
        queue = (
            clerk.get("/clerk/appointments/").text.split('data-testid="waiting"')[1].split("</section>")[0]
        )
        assert f"waiting-{second_code}" not in queue and f"waiting-{first_code}" in queue
    other = world.test_client()
    login_staff(other, "clerk_ps_dc_01")
    assert other.post(f"/clerk/appointments/{first_id}/serve").status_code == 404
    assert other.post("/clerk/appointments/999999/serve").status_code == 404
    citizen_client = world.test_client()
    login_staff(citizen_client, "13800000001")
    assert citizen_client.post(f"/clerk/appointments/{first_id}/serve").status_code == 403
    with world.app_context():
        assert db.session.get(Appointment, first_id).served_at is None
        assert db.session.get(Appointment, second_id).served_at == at(MONDAY, 10, 1)
        assert _served_audits() == 1


def test_serve_needs_the_csrf_token(world):
    first_id, *_ = _two_checked_in(world)
    clerk = world.test_client()
    login_staff(clerk, "clerk_ee")
    world.config["WTF_CSRF_ENABLED"] = True
    assert clerk.post(f"/clerk/appointments/{first_id}/serve").status_code == 400
    with world.app_context():
        assert db.session.get(Appointment, first_id).served_at is None
