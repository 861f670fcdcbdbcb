"""Repeated no-shows limit new bookings: APPOINTMENT_NO_SHOW_LIMIT 未到 within
APPOINTMENT_NO_SHOW_DAYS block new bookings for APPOINTMENT_BLOCK_DAYS from the day of the no-show
that reached the limit; the booking page says so before the citizen tries, booking is refused with a
clear message, and the block ends when it should."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from applications.appointments import operations as ops
from applications.appointments import queries
from applications.appointments.models import Appointment, AppointmentStatus
from core.clock import travel
from core.db import db
from core.transaction import commit
from tests.appointments.helpers import ITEM, MONDAY, MORNING, at, item, open_weekdays, slot_at
from tests.clerk.helpers import DEMO_CITIZEN_MOBILE, citizen, login_staff

#: Mondays of late 2026 with slots (opened from 2 November)
NOV_2 = date(2026, 11, 2)


def _missed(*days: date) -> None:
    """The demo citizen booked and did not come on each of ``days`` (09:00), marked 未到 after."""
    me = citizen()
    for day in days:
        with travel(at(day, 7)):
            ops.book(me, item(), slot_at(at(day, 9)).id)
            commit()
        with travel(at(day, 12)):
            ops.mark_no_shows()
            commit()


def _setup(*days: date) -> None:
    with travel(at(NOV_2, 7)):
        open_weekdays(today=NOV_2, days=90)  # to 30 January 2027
        commit()
    _missed(*days)


def test_three_no_shows_within_90_days_block_booking_for_30_days(world):
    with world.app_context():
        _setup(date(2026, 12, 7), date(2026, 12, 14), date(2026, 12, 21))
        me = citizen()
        with travel(MORNING):
            assert queries.blocked_until(me.id) == date(2027, 1, 20)  # 21 December + 30 days
            with pytest.raises(ops.NoShowBlocked, match="多次预约后未到场，2027-01-20 前暂不能在网上预约"):
                ops.book(me, item(), slot_at(at(MONDAY, 10)).id)
        with travel(at(date(2027, 1, 19), 7)), pytest.raises(ops.NoShowBlocked):
            ops.book(me, item(), slot_at(at(date(2027, 1, 19), 10)).id)
        with travel(at(date(2027, 1, 20), 7)):
            assert queries.blocked_until(me.id) is None
            assert (
                ops.book(me, item(), slot_at(at(date(2027, 1, 20), 10)).id).status == AppointmentStatus.BOOKED
            )


def test_two_no_shows_or_three_spread_out_do_not_block(world):
    with world.app_context():
        _setup(date(2026, 12, 14), date(2026, 12, 21))
        me = citizen()
        with travel(MORNING):
            assert queries.blocked_until(me.id) is None
            assert ops.book(me, item(), slot_at(at(MONDAY, 10)).id).id


def test_the_rule_is_configurable(world):
    world.config["APPOINTMENT_NO_SHOW_DAYS"] = 30
    with world.app_context():
        # 2 November is more than 30 days before 21 December: only two count
        _setup(NOV_2 + timedelta(days=7), date(2026, 12, 14), date(2026, 12, 21))
        me = citizen()
        with travel(MORNING):
            assert queries.blocked_until(me.id) is None
        world.config["APPOINTMENT_NO_SHOW_LIMIT"] = 2
        with travel(MORNING):
            assert queries.blocked_until(me.id) == date(2027, 1, 20)
        world.config["APPOINTMENT_NO_SHOW_LIMIT"] = 0  # switched off
        with travel(MORNING):
            assert queries.blocked_until(me.id) is None
            assert ops.book(me, item(), slot_at(at(MONDAY, 10)).id).id


def test_cancelled_and_kept_bookings_do_not_count(world):
    with world.app_context():
        _setup(date(2026, 12, 7), date(2026, 12, 14))
        me = citizen()
        with travel(at(date(2026, 12, 21), 7)):
            appt = ops.book(me, item(), slot_at(at(date(2026, 12, 21), 10)).id)
            ops.cancel(appt, me)
            commit()
        with travel(MORNING):
            assert queries.blocked_until(me.id) is None


def test_the_booking_page_states_the_rule_and_the_block_before_the_citizen_tries(world):
    with world.app_context():
        _setup(date(2026, 12, 7), date(2026, 12, 14))
        slot = slot_at(at(MONDAY, 10)).id
    client = world.test_client()
    login_staff(client, DEMO_CITIZEN_MOBILE)
    with travel(MORNING):
        page = client.get(f"/items/{ITEM}/book")
        assert (
            'data-testid="no-show-rule"' in page.text
            and "90天内预约未到3次的，30天内不能在网上预约" in page.text
        )
        assert 'data-testid="no-show-blocked"' not in page.text
    with world.app_context():
        _missed(date(2026, 12, 21))
    with travel(MORNING):
        page = client.get(f"/items/{ITEM}/book")
        assert page.status_code == 200
        assert 'data-testid="no-show-blocked"' in page.text and "2027-01-20 前暂不能在网上预约" in page.text
        refused = client.post(f"/items/{ITEM}/book", data={"slot": slot, "day": MONDAY.isoformat()})
        assert refused.status_code == 422
        assert "多次预约后未到场" in refused.text
    with world.app_context():
        assert db.session.query(Appointment).filter_by(status=AppointmentStatus.BOOKED).count() == 0
