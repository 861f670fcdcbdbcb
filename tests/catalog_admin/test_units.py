"""Units administration: add, edit (code and kind fixed), Chinese errors with input kept, audit."""

from __future__ import annotations

from sqlalchemy import select

from auth.models import Unit
from catalog.models import CatalogState
from core.audit import AuditLog
from core.db import db
from tests.catalog_admin.helpers import admin_client


def _unit(app, code):
    with app.app_context():
        return db.session.scalar(select(Unit).where(Unit.code == code))


def _revision(app):
    with app.app_context():
        return db.session.scalar(select(CatalogState.revision)) or 0


def test_admin_adds_a_unit(small):
    client = admin_client(small)
    parent = _unit(small, "LJ-PSB-DC")
    response = client.post(
        "/admin/units/new",
        data={
            "code": "LJ-PS-DC-03",
            "kind": "police_station",
            "name": "临江市公安局东城分局新港派出所",
            "district": "东城区",
            "parent": str(parent.id),
            "address": "新港路1号",
            "phone": "0571-86210199",
            "hours": "周一至周五 9:00-17:00",
        },
    )
    assert response.status_code == 302
    unit = _unit(small, "LJ-PS-DC-03")
    assert unit.name == "临江市公安局东城分局新港派出所" and unit.parent_id == parent.id
    with small.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "unit.create"))
        assert row.object_id == "LJ-PS-DC-03"
    assert "新港派出所" in client.get("/admin/units/").get_data(as_text=True)


def test_bad_input_keeps_what_was_typed(small):
    client = admin_client(small)
    response = client.post(
        "/admin/units/new",
        data={
            "code": "bad code",
            "kind": "police_station",
            "name": "测试派出所",
            "phone": "电话",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "编码只能由大写字母、数字和连字符组成" in html
    assert "电话只能包含数字" in html
    assert 'value="测试派出所"' in html
    assert _unit(small, "bad code") is None


def test_duplicate_code_is_refused(small):
    response = admin_client(small).post(
        "/admin/units/new",
        data={
            "code": "LJ-VO",
            "kind": "vehicle_office",
            "name": "重复的车管所",
        },
    )
    assert response.status_code == 422
    assert "该单位编码已存在" in response.get_data(as_text=True)


def test_edit_records_before_and_after_and_bumps_the_revision(small):
    client = admin_client(small)
    before = _revision(small)
    unit = _unit(small, "LJ-VO")
    response = client.post(
        "/admin/units/LJ-VO",
        data={
            "code": "HACKED",
            "kind": "bureau",
            "name": unit.name,
            "district": "",
            "parent": str(unit.parent_id or ""),
            "address": unit.address or "",
            "phone": "0571-11111111",
            "hours": unit.hours or "",
        },
    )
    assert response.status_code == 302
    after = _unit(small, "LJ-VO")
    assert after.phone == "0571-11111111"
    assert after.code == "LJ-VO" and after.kind.value == "vehicle_office"  # fixed once created
    assert _revision(small) == before + 1
    with small.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "unit.update"))
        assert row.details["before"]["phone"] != "0571-11111111"
        assert row.details["after"]["phone"] == "0571-11111111"


def test_a_unit_cannot_become_its_own_ancestor(small):
    client = admin_client(small)
    bureau = _unit(small, "LJ-PSB")
    branch = _unit(small, "LJ-PSB-DC")
    response = client.post(
        "/admin/units/LJ-PSB",
        data={
            "name": bureau.name,
            "district": "",
            "parent": str(branch.id),
            "address": "",
            "phone": "",
            "hours": "",
        },
    )
    assert response.status_code == 422
    assert "上级单位不能是本单位或其下级单位" in response.get_data(as_text=True)
    assert _unit(small, "LJ-PSB").parent_id is None
