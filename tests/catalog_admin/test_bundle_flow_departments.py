"""The external departments register (/admin/catalog/departments): list, add, edit. The push address is
https (a local receiver on 127.0.0.1/localhost may use http in development); a department a published
一件事 flow hands steps to cannot be deactivated; a mistake keeps what was typed."""

from __future__ import annotations

from sqlalchemy import select

from catalog.admin.flow_forms import endpoint_problem
from catalog.models import ExternalDepartment
from core.audit import AuditLog
from core.db import db
from tests.auth.helpers import field_error, input_value, login_as
from tests.catalog_admin.helpers import admin_client

NEW = {
    "code": "gjj",
    "name": "住房公积金管理中心",
    "english_name": "Housing Provident Fund Centre",
    "endpoint_url": "https://exchange.gjj.example.gov.cn/handoffs",
    "contract": "housing-fund-v1",
    "active": "y",
}


def _dept(app, code: str) -> ExternalDepartment | None:
    with app.app_context():
        dept = db.session.scalar(select(ExternalDepartment).where(ExternalDepartment.code == code))
        if dept is not None:
            db.session.expunge(dept)
        return dept


def _audits(app, action: str) -> list[AuditLog]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_the_register_lists_departments_with_the_flows_using_them(small):
    client = admin_client(small)
    assert "/admin/catalog/departments/" in client.get("/admin/catalog/bundles/").text
    page = client.get("/admin/catalog/departments/").text
    assert "市卫生健康委员会" in page and "开发环境本地接收器" in page
    assert "出生一件事" in page  # wsjk, ybj and rsj take steps of the published 出生一件事 flow


def test_an_admin_adds_a_department(small):
    client = admin_client(small)
    r = client.post("/admin/catalog/departments/new", data=NEW)
    assert r.status_code == 302
    dept = _dept(small, "gjj")
    assert dept.name == "住房公积金管理中心" and dept.active and dept.contract == "housing-fund-v1"
    assert dept.endpoint_url == NEW["endpoint_url"] and dept.english_name == "Housing Provident Fund Centre"
    (row,) = _audits(small, "catalog.department_create")
    assert row.object_type == "department" and row.object_id == "gjj" and row.details["after"]["name"]


def test_mistakes_are_shown_at_the_field_and_what_was_typed_is_kept(small):
    client = admin_client(small)
    r = client.post(
        "/admin/catalog/departments/new", data=NEW | {"endpoint_url": "http://gjj.example.gov.cn/in"}
    )
    assert r.status_code == 422
    assert "推送地址须使用 https" in field_error(r.text, "endpoint_url")
    assert input_value(r.text, "name") == "住房公积金管理中心"
    assert input_value(r.text, "endpoint_url") == "http://gjj.example.gov.cn/in"
    r = client.post("/admin/catalog/departments/new", data=NEW | {"code": "wsjk"})
    assert r.status_code == 422 and field_error(r.text, "code") == "该部门编码已存在"
    r = client.post("/admin/catalog/departments/new", data=NEW | {"code": "GJJ 1", "name": ""})
    assert r.status_code == 422
    assert "小写字母" in field_error(r.text, "code") and field_error(r.text, "name") == "请填写部门名称"
    r = client.post("/admin/catalog/departments/new", data=NEW | {"contract": "住房 v1"})
    assert r.status_code == 422 and "小写字母、数字、点和连字符" in field_error(r.text, "contract")
    assert _dept(small, "gjj") is None and _audits(small, "catalog.department_create") == []


def test_only_https_or_a_local_receiver_may_take_hand_offs():
    assert endpoint_problem("") is None
    assert endpoint_problem("https://exchange.example.gov.cn/x") is None
    assert endpoint_problem("http://127.0.0.1:8001/receive") is None
    assert endpoint_problem("http://localhost/receive") is None
    assert endpoint_problem("http://example.gov.cn/receive")
    assert endpoint_problem("http://localhost.evil.example/receive")  # not the local host
    assert endpoint_problem("http://127.0.0.1.evil.example/")
    assert endpoint_problem("ftp://example.gov.cn/")
    assert endpoint_problem("https://")
    assert endpoint_problem("javascript:alert(1)")


def test_editing_keeps_the_code_and_a_department_in_a_published_flow_cannot_be_deactivated(small):
    client = admin_client(small)
    page = client.get("/admin/catalog/departments/wsjk").text
    assert input_value(page, "name") == "市卫生健康委员会" and "出生一件事" in page
    data = {"code": "other", "name": "市卫健委", "english_name": "", "endpoint_url": "", "contract": "x-v1"}
    r = client.post("/admin/catalog/departments/wsjk", data=data)  # no "active": unticked
    assert r.status_code == 422
    assert "出生一件事（LJ-YJS-001）" in field_error(r.text, "active")
    assert input_value(r.text, "name") == "市卫健委"  # typed value kept
    dept = _dept(small, "wsjk")
    assert dept.active and dept.name == "市卫生健康委员会"
    # still active, a new name and address are saved; the code never changes
    r = client.post(
        "/admin/catalog/departments/wsjk",
        data=data | {"active": "y", "endpoint_url": "https://wsjk.example.gov.cn/in"},
    )
    assert r.status_code == 302
    dept = _dept(small, "wsjk")
    assert dept.name == "市卫健委" and dept.endpoint_url == "https://wsjk.example.gov.cn/in"
    assert _dept(small, "other") is None
    (row,) = _audits(small, "catalog.department_update")
    assert row.details["before"]["name"] == "市卫生健康委员会" and row.details["after"]["name"] == "市卫健委"


def test_a_department_no_published_flow_uses_can_be_deactivated(small):
    client = admin_client(small)
    client.post("/admin/catalog/departments/new", data=NEW)
    r = client.post("/admin/catalog/departments/gjj", data=NEW | {"active": ""})
    assert r.status_code == 302 and not _dept(small, "gjj").active
    assert client.get("/admin/catalog/departments/nope").status_code == 404


def test_other_roles_cannot_use_the_register(small):
    client = small.test_client()
    login_as(small, client, "auditor")
    assert client.get("/admin/catalog/departments/").status_code == 403
    assert client.post("/admin/catalog/departments/new", data=NEW).status_code == 403
    assert _dept(small, "gjj") is None
