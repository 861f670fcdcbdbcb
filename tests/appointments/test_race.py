"""Never overbooked: 200 citizens press 确认预约 on one 10-place slot at once (SQLite here; the same
test runs on PostgreSQL with TEST_DATABASE_URL). Exactly 10 bookings, 190 clear refusals, and the
slot's count equals its bookings."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from applications.appointments import operations as ops
from applications.appointments.models import Appointment, AppointmentStatus, Slot
from auth.models import User
from core.clock import travel
from core.db import db
from core.errors import DomainError
from core.transaction import commit
from tests.appointments.helpers import MONDAY, MORNING, at, item, open_weekdays, slot_at
from tests.clerk.helpers import run_threads
from tests.factories import CitizenFactory

N = 200
CAPACITY = 10


def test_two_hundred_citizens_one_ten_place_slot(world):
    app = world
    with app.app_context(), travel(MORNING):
        open_weekdays(windows=CAPACITY)
        slot_id = slot_at(at(MONDAY, 10)).id
        people = [CitizenFactory().id for _ in range(N)]
        db.session.commit()
        db.session.remove()

    booked: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(N)

    def work(i: int) -> None:
        with app.app_context(), travel(MORNING):
            person = db.session.get(User, people[i])
            what = item()
            db.session.commit()  # end the read before the start line (SQLite: no lock held)
            start.wait()
            try:
                appt = ops.book(person, what, slot_id)
                commit()
                with lock:
                    booked.append(appt.code)
            except DomainError as exc:
                db.session.rollback()
                with lock:
                    refused.append(str(exc))
            finally:
                db.session.remove()

    errors = run_threads(N, work)
    assert errors == [], errors[:3]
    assert not any(isinstance(e, OperationalError) for e in errors)
    assert len(booked) == CAPACITY
    assert len(refused) == N - CAPACITY
    assert set(refused) == {"该时段已约满，请选择其他时段。"}
    with app.app_context():
        slot = db.session.get(Slot, slot_id)
        rows = db.session.scalar(
            select(func.count(Appointment.id)).where(
                Appointment.slot_id == slot_id, Appointment.status == AppointmentStatus.BOOKED
            )
        )
        assert slot.booked == CAPACITY == rows
        assert len(set(booked)) == CAPACITY


def test_two_tabs_cancelling_at_once_give_the_place_back_once(world):
    app = world
    with app.app_context(), travel(MORNING):
        open_weekdays(windows=3)
        slot_id = slot_at(at(MONDAY, 10)).id
        person = CitizenFactory()
        other = CitizenFactory()
        mine = ops.book(person, item(), slot_id).id
        ops.book(other, item(), slot_id)
        commit()
        person_id = person.id
        db.session.remove()
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def work(i: int) -> None:
        with app.app_context(), travel(MORNING):
            appt = db.session.get(Appointment, mine)
            who = db.session.get(User, person_id)
            _ = appt.slot
            db.session.commit()
            start.wait()
            try:
                ops.cancel(appt, who)
                commit()
                outcomes.append("ok")
            except DomainError as exc:
                db.session.rollback()
                outcomes.append(str(exc))
            finally:
                db.session.remove()

    assert run_threads(2, work) == []
    assert sorted(outcomes)[0] == "ok" and len(outcomes) == 2
    assert outcomes.count("ok") == 1
    with app.app_context():
        assert db.session.get(Slot, slot_id).booked == 1
