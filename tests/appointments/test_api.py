"""GET /api/v1/appointments/slots: every serving unit's open, future slots with places; Chinese 400s."""

from __future__ import annotations

from core.clock import travel
from core.db import db
from core.transaction import commit
from tests.appointments.helpers import ITEM, MONDAY, MORNING, UNIT, at, open_weekdays, slot_at
from tests.clerk.helpers import unit

URL = "/api/v1/appointments/slots"


def _prepare(app):
    with app.app_context(), travel(MORNING):
        open_weekdays(windows=2)
        slot_at(at(MONDAY, 9, 30)).booked = 2  # full
        slot_at(at(MONDAY, 10)).booked = 1
        slot_at(at(MONDAY, 10, 30)).open = False  # closed
        commit()


def test_slots_of_every_serving_unit_in_local_time(world):
    _prepare(world)
    client = world.test_client()
    with travel(at(MONDAY, 8, 10)):  # 09:00 is within the 60-minute cut-off
        response = client.get(f"{URL}?item={ITEM}&from=2027-01-04&to=2027-01-05")
    assert response.status_code == 200
    slots = response.get_json()["slots"]
    monday = [s for s in slots if s["start"].startswith("2027-01-04")]
    assert monday == [
        {
            "unit": UNIT,
            "start": "2027-01-04T09:30:00+08:00",
            "end": "2027-01-04T10:00:00+08:00",
            "capacity": 2,
            "remaining": 0,
        },
        {
            "unit": UNIT,
            "start": "2027-01-04T10:00:00+08:00",
            "end": "2027-01-04T10:30:00+08:00",
            "capacity": 2,
            "remaining": 1,
        },
    ]
    assert len([s for s in slots if s["start"].startswith("2027-01-05")]) == 4
    # with the unit given
    with travel(at(MONDAY, 8, 10)):
        same = client.get(f"{URL}?item={ITEM}&from=2027-01-04&to=2027-01-05&unit={UNIT}").get_json()
    assert same["slots"] == slots


def test_bad_ranges_answer_400_in_chinese(world):
    client = world.test_client()
    cases = {
        f"{URL}?item={ITEM}&from=2027-01-04": "YYYY-MM-DD",
        f"{URL}?item={ITEM}&from=2027-13-01&to=2027-01-05": "YYYY-MM-DD",
        f"{URL}?item={ITEM}&from=2027-01-05&to=2027-01-04": "结束日期不能早于开始日期",
        f"{URL}?item={ITEM}&from=2027-01-01&to=2027-02-01": "一次最多查询31天",
        f"{URL}?item={ITEM}&from=2027-01-04&to=2027-01-05&unit=LJ-PS-DC-01": "该单位不办理此事项",
    }
    for url, text in cases.items():
        response = client.get(url)
        assert response.status_code == 400, url
        assert text in response.get_json()["message"], url
    assert client.get(f"{URL}?item=2027-01-01&from=2027-01-01&to=2027-01-31").status_code == 404
    # exactly 31 days is fine
    assert client.get(f"{URL}?item={ITEM}&from=2027-01-01&to=2027-01-31").status_code == 200


def test_item_without_a_visit_has_no_slots(world):
    from catalog.queries import catalog

    _prepare(world)
    with world.app_context():
        zero = next(i for i in catalog().items.values() if i.visits == 0 and i.unit_kind == "exit_entry")
        assert unit(UNIT) is not None
        db.session.remove()
    with travel(MORNING):
        response = world.test_client().get(f"{URL}?item={zero.code}&from=2027-01-04&to=2027-01-05")
    assert response.status_code == 200 and response.get_json() == {"slots": []}
