"""Capacity per item group inside a hall: LJ-EE serves 护照 and 港澳通行证 at separate counters. A
group's items book only the group's slots (its own windows), the hall's other items its ungrouped
slots; the public API answers per item; the admin's group form and its mistakes."""

from __future__ import annotations

import re
from datetime import time

import pytest
from sqlalchemy import func, select

from applications.appointments import operations as ops
from applications.appointments import queries
from applications.appointments.models import Appointment, AppointmentStatus, ItemGroup, OpeningHours, Slot
from catalog.queries import catalog
from core.clock import travel
from core.db import db
from core.errors import DomainError, FieldError, NotFound
from core.transaction import commit
from tests.appointments.helpers import ITEM, MONDAY, MORNING, UNIT, at, item
from tests.auth.helpers import field_error
from tests.clerk.helpers import DEMO_CITIZEN_MOBILE, login_staff, unit
from tests.factories import CitizenFactory

#: 往来港澳通行证签发 (LJ-EE too): the other counters.
HK_ITEM = "LJ-CR-005"
#: 往来台湾通行证签发: in no group, books the hall's ungrouped slots.
TW_ITEM = "LJ-CR-008"
URL = "/api/v1/appointments/slots"


def _groups():
    """护照 (1 window) and 港澳 (2 windows), Monday 09:00–10:00; ungrouped 3 windows 09:00–10:00."""
    ee = unit(UNIT)
    passport = ops.add_group(ee, name="护照", item_codes=[ITEM, "LJ-CR-002"])
    hk = ops.add_group(ee, name="港澳通行证", item_codes=[HK_ITEM])
    for group, windows in ((passport, 1), (hk, 2), (None, 3)):
        ops.add_hours(
            ee,
            weekday=0,
            start=time(9, 0),
            end=time(10, 0),
            slot_minutes=30,
            windows=windows,
            group_id=group.id if group else None,
        )
    ops.open_slots(7, today=MONDAY, unit_ids=[ee.id])
    return passport, hk


def _slot(group, hour: int, minute: int = 0) -> Slot:
    gid = group.id if group is not None else None
    return db.session.scalar(
        select(Slot).where(
            Slot.unit_id == unit(UNIT).id,
            Slot.starts_at == at(MONDAY, hour, minute),
            Slot.group_id.is_(None) if gid is None else Slot.group_id == gid,
        )
    )


def test_each_group_gets_its_own_slots_and_windows(world):
    with world.app_context(), travel(MORNING):
        passport, hk = _groups()
        slots = list(db.session.scalars(select(Slot).where(Slot.unit_id == unit(UNIT).id)))
        assert len(slots) == 6  # 2 starts × (护照, 港澳, ungrouped)
        assert {(s.group_id, s.capacity) for s in slots} == {(passport.id, 1), (hk.id, 2), (None, 3)}
        assert ops.open_slots(7, today=MONDAY, unit_ids=[unit(UNIT).id]) == 0  # idempotent per group


def test_an_item_of_one_group_cannot_take_another_groups_places(world):
    with world.app_context(), travel(MORNING):
        passport, hk = _groups()
        hk_item = catalog().items[HK_ITEM]
        with pytest.raises(FieldError) as wrong:
            ops.book(CitizenFactory(), item(), _slot(hk, 9).id)
        assert wrong.value.field == "slot" and "其他业务" in wrong.value.message
        with pytest.raises(FieldError):
            ops.book(CitizenFactory(), item(), _slot(None, 9).id)  # nor the ungrouped ones
        ops.book(CitizenFactory(), item(), _slot(passport, 9).id)
        with pytest.raises(ops.SlotFull):  # 护照's one window is taken, though 港澳 has room
            ops.book(CitizenFactory(), item(), _slot(passport, 9).id)
        ops.book(CitizenFactory(), hk_item, _slot(hk, 9).id)
        ops.book(CitizenFactory(), hk_item, _slot(hk, 9).id)
        with pytest.raises(ops.SlotFull):
            ops.book(CitizenFactory(), hk_item, _slot(hk, 9).id)
        commit()
        assert (_slot(passport, 9).booked, _slot(hk, 9).booked, _slot(None, 9).booked) == (1, 2, 0)

        ids = [unit(UNIT).id]
        free = queries.free_slots(ids, MONDAY, MONDAY, item_id=item().id)
        assert [s.id for s in free] == [_slot(passport, 9, 30).id]
        assert {s.group_id for s in queries.free_slots(ids, MONDAY, MONDAY, item_id=hk_item.id)} == {hk.id}
        assert queries.free_days(ids, MONDAY, MONDAY, item_id=item().id) == [MONDAY]


def test_items_of_no_group_keep_the_ungrouped_slots(world):
    with world.app_context(), travel(MORNING):
        passport, _hk = _groups()
        tw = catalog().items[TW_ITEM]
        free = queries.free_slots([unit(UNIT).id], MONDAY, MONDAY, item_id=tw.id)
        assert {s.group_id for s in free} == {None} and len(free) == 2
        appt = ops.book(CitizenFactory(), tw, _slot(None, 9).id)
        assert appt.status == AppointmentStatus.BOOKED
        with pytest.raises(FieldError):
            ops.book(CitizenFactory(), tw, _slot(passport, 9, 30).id)


def test_moving_into_another_groups_slot_is_refused(world):
    with world.app_context(), travel(MORNING):
        passport, hk = _groups()
        citizen = CitizenFactory()
        appt = ops.book(citizen, item(), _slot(passport, 9).id)
        with pytest.raises(FieldError):
            ops.move(appt, citizen, _slot(hk, 9, 30).id)
        ops.move(appt, citizen, _slot(passport, 9, 30).id)
        assert (_slot(passport, 9).booked, _slot(passport, 9, 30).booked) == (0, 1)


def test_the_public_api_answers_per_group(world):
    with world.app_context(), travel(MORNING):
        passport, _hk = _groups()
        ops.book(CitizenFactory(), item(), _slot(passport, 9).id)
        commit()
    client = world.test_client()
    with travel(at(MONDAY, 7)):
        answers = {
            code: client.get(f"{URL}?item={code}&from=2027-01-04&to=2027-01-04&unit={UNIT}").get_json()[
                "slots"
            ]
            for code in (ITEM, HK_ITEM, TW_ITEM)
        }
    assert [(s["start"][11:16], s["capacity"], s["remaining"]) for s in answers[ITEM]] == [
        ("09:00", 1, 0),
        ("09:30", 1, 1),
    ]
    assert [(s["capacity"], s["remaining"]) for s in answers[HK_ITEM]] == [(2, 2), (2, 2)]
    assert [(s["capacity"], s["remaining"]) for s in answers[TW_ITEM]] == [(3, 3), (3, 3)]


def test_group_mistakes_are_refused(world):
    with world.app_context(), travel(MORNING):
        ee = unit(UNIT)
        ops.add_group(ee, name="护照", item_codes=[ITEM])
        with pytest.raises(FieldError) as twice:
            ops.add_group(ee, name="护照2", item_codes=[ITEM])
        assert twice.value.field == "items" and "普通护照签发" in twice.value.message
        with pytest.raises(FieldError) as same_name:
            ops.add_group(ee, name="护照", item_codes=["LJ-CR-002"])
        assert same_name.value.field == "name"
        with pytest.raises(FieldError) as elsewhere:
            ops.add_group(ee, name="车驾管", item_codes=["LJ-CJ-001"])  # served by LJ-VO, not here
        assert elsewhere.value.field == "items" and "LJ-CJ-001" in elsewhere.value.message
        with pytest.raises(FieldError):
            ops.add_group(ee, name="空", item_codes=[])
        with pytest.raises(FieldError):
            ops.add_group(ee, name="  ", item_codes=[HK_ITEM])
        vo_group = ops.add_group(unit("LJ-VO"), name="机动车", item_codes=["LJ-CJ-001"])
        with pytest.raises(FieldError) as foreign:
            ops.add_hours(
                ee, weekday=0, start=time(9), end=time(10), slot_minutes=30, windows=1, group_id=vo_group.id
            )
        assert foreign.value.field == "group"
        with pytest.raises(NotFound):
            ops.remove_group(ee, vo_group.id)


def test_a_group_in_use_cannot_be_removed_until_its_hours_are(world):
    with world.app_context(), travel(MORNING):
        passport, _hk = _groups()
        ee = unit(UNIT)
        with pytest.raises(DomainError):
            ops.remove_group(ee, passport.id)
        line = db.session.scalar(select(OpeningHours).where(OpeningHours.group_id == passport.id))
        result = ops.remove_hours(ee, line.id)
        assert result.removed == 2  # its unbooked future slots went with the line
        ops.remove_group(ee, passport.id)
        commit()
        assert db.session.get(ItemGroup, passport.id) is None
        # 护照 now books the hall's ungrouped slots
        assert queries.group_for(ee.id, item().id) is None
        assert ops.book(CitizenFactory(), item(), _slot(None, 9).id).slot.group_id is None


def test_admin_sets_groups_and_their_hours(world):
    admin = world.test_client()
    login_staff(admin, "admin")
    with travel(MORNING):
        page = admin.get(f"/admin/appointments/{UNIT}").text
        assert "往来港澳通行证签发" in page and 'data-testid="group-form"' in page
        empty = admin.post(f"/admin/appointments/{UNIT}/groups", data={"name": "", "items": []})
        assert empty.status_code == 422 and field_error(empty.text, "name") == "请填写分组名称"
        no_items = admin.post(f"/admin/appointments/{UNIT}/groups", data={"name": "港澳"})
        assert no_items.status_code == 422 and field_error(no_items.text, "items") == "请至少选择一个事项"
        assert 'value="港澳"' in no_items.text  # what was typed stays
        data = {"name": "港澳", "items": [HK_ITEM, "LJ-CR-006"]}
        ok = admin.post(f"/admin/appointments/{UNIT}/groups", data=data)
        assert ok.status_code == 302
        again = admin.post(f"/admin/appointments/{UNIT}/groups", data=data)  # double submit
        assert again.status_code == 422 and field_error(again.text, "name") == "本单位已有同名分组"
    with world.app_context():
        group_id = db.session.scalar(select(ItemGroup.id).where(ItemGroup.name == "港澳"))
        vo_group = ops.add_group(unit("LJ-VO"), name="机动车", item_codes=["LJ-CJ-001"])
        commit()
        vo_group_id = vo_group.id
    with travel(MORNING):
        hours = {"weekday": "0", "start": "09:00", "end": "10:00", "slot_minutes": "30", "windows": "2"}
        assert (
            admin.post(f"/admin/appointments/{UNIT}", data={**hours, "group": str(group_id)}).status_code
            == 302
        )
        # the same time for the ungrouped items: other counters, no overlap
        assert admin.post(f"/admin/appointments/{UNIT}", data={**hours, "group": "0"}).status_code == 302
        overlap = admin.post(f"/admin/appointments/{UNIT}", data={**hours, "group": str(group_id)})
        assert overlap.status_code == 422 and field_error(overlap.text, "start") == "与该日已有的开放时间重叠"
        foreign = admin.post(f"/admin/appointments/{UNIT}", data={**hours, "group": str(vo_group_id)})
        assert foreign.status_code == 422 and field_error(foreign.text, "group") == "请选择本单位的事项分组"
        page = admin.get(f"/admin/appointments/{UNIT}").text
        assert "港澳" in page and "往来港澳通行证换发、补发" in page
        assert admin.post(f"/admin/appointments/{UNIT}/groups/{vo_group_id}/delete").status_code == 404
        assert admin.post(f"/admin/appointments/{UNIT}/groups/999999/delete").status_code == 404
        busy = admin.post(f"/admin/appointments/{UNIT}/groups/{group_id}/delete", follow_redirects=True)
        assert "不能删除" in busy.text
    with world.app_context():
        slots = db.session.execute(
            select(Slot.group_id, func.count()).where(Slot.unit_id == unit(UNIT).id).group_by(Slot.group_id)
        ).all()
        assert {g for g, _ in slots} == {group_id, None}
        assert db.session.get(ItemGroup, group_id) is not None


def test_the_booking_page_offers_only_the_items_group(world):
    with world.app_context(), travel(MORNING):
        passport, hk = _groups()
        commit()
        mine = {_slot(passport, 9).id, _slot(passport, 9, 30).id}
        theirs = _slot(hk, 9, 30).id
    client = world.test_client()
    login_staff(client, DEMO_CITIZEN_MOBILE)
    with travel(at(MONDAY, 7)):
        page = client.get(f"/items/{ITEM}/book?day=2027-01-04").text
        offered = {int(v) for v in re.findall(r'name="slot"[^>]*value="(\d+)"', page)}
        assert offered == mine
        wrong = client.post(f"/items/{ITEM}/book", data={"slot": theirs, "day": "2027-01-04"})
        assert wrong.status_code == 422 and "其他业务" in wrong.text and 'id="slot-error"' in wrong.text
    with world.app_context():
        assert db.session.scalar(select(func.count(Appointment.id))) == 0


def test_admin_changes_a_groups_items_and_name(world):
    with world.app_context(), travel(MORNING):
        passport, hk = _groups()
        booked = ops.book(CitizenFactory(), item(), _slot(passport, 9).id)
        vo_group = ops.add_group(unit("LJ-VO"), name="机动车", item_codes=["LJ-CJ-001"])
        commit()
        ids = (passport.id, hk.id, vo_group.id, booked.id)
    passport_id, _hk_id, vo_id, booked_id = ids
    admin = world.test_client()
    login_staff(admin, "admin")
    url = f"/admin/appointments/{UNIT}/groups/{passport_id}"
    with travel(MORNING):
        page = admin.get(url)
        assert page.status_code == 200
        assert re.search(rf'value="{ITEM}" checked', page.text) and 'value="护照"' in page.text
        taken = admin.post(url, data={"name": "护照", "items": [ITEM, HK_ITEM]})
        assert taken.status_code == 422 and "往来港澳通行证签发" in field_error(taken.text, "items")
        clash = admin.post(url, data={"name": "港澳通行证", "items": [ITEM]})
        assert clash.status_code == 422 and field_error(clash.text, "name") == "本单位已有同名分组"
        assert admin.get(f"/admin/appointments/{UNIT}/groups/{vo_id}").status_code == 404
        assert admin.post(f"/admin/appointments/LJ-VO/groups/{passport_id}", data={}).status_code == 404
        ok = admin.post(url, data={"name": "护照（首次）", "items": [ITEM]})  # LJ-CR-002 taken out
        assert ok.status_code == 302
    with world.app_context():
        group = db.session.get(ItemGroup, passport_id)
        assert group.name == "护照（首次）"
        assert queries.group_for(unit(UNIT).id, catalog().items["LJ-CR-002"].id) is None  # ungrouped now
        assert queries.group_for(unit(UNIT).id, item().id) == passport_id
        assert db.session.get(Appointment, booked_id).status == AppointmentStatus.BOOKED
        from core.audit import AuditLog

        assert db.session.scalar(select(AuditLog.id).where(AuditLog.action == "appointment.group_changed"))
