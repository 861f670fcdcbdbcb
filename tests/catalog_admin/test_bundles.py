"""一件事 in the admin: create, edit (refused when another admin saved first), delete; each audited and
public at once."""

from __future__ import annotations

from sqlalchemy import select

from catalog.models import Bundle, ServiceItem
from core.audit import AuditLog
from core.db import db
from tests.auth.helpers import field_error, form_alert, input_value
from tests.catalog_admin.helpers import admin_client

NEW = {
    "code": "LJ-YJS-101",
    "name": "新生儿落户一件事",
    "aliases": "上户口、报户口",
    "description": "出生登记与身份证明一次办",
    "items": "LJ-HJ-006\nLJ-HJ-001",
    "partners": "卫健：出生医学证明",
}
BUNDLE = "LJ-YJS-001"


def _audit(app, action: str) -> AuditLog | None:
    with app.app_context():
        return db.session.scalar(select(AuditLog).where(AuditLog.action == action))


def _form(client, code=BUNDLE) -> dict:
    page = client.get(f"/admin/catalog/bundles/{code}").text
    fields = ("name", "aliases", "draft")
    return {f: input_value(page, f) or "" for f in fields} | {"items": "LJ-HJ-006", "description": "d"}


def test_an_admin_creates_a_bundle_that_citizens_see_at_once(small):
    client = admin_client(small)
    assert "/admin/catalog/bundles/new" in client.get("/admin/catalog/bundles/").text
    r = client.post("/admin/catalog/bundles/new", data=NEW)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/catalog/bundles/")
    public = client.get("/bundles/LJ-YJS-101")
    assert public.status_code == 200 and "新生儿落户一件事" in public.text
    with small.app_context():
        bundle = db.session.scalar(select(Bundle).where(Bundle.code == "LJ-YJS-101"))
        assert [bi.item.code for bi in bundle.items] == ["LJ-HJ-006", "LJ-HJ-001"]
        assert bundle.aliases == ["上户口", "报户口"] and bundle.partners == ["卫健：出生医学证明"]
    row = _audit(small, "catalog.bundle_create")
    assert row.object_id == "LJ-YJS-101" and row.details["after"]["items"] == ["LJ-HJ-006", "LJ-HJ-001"]


def test_a_bad_new_bundle_is_refused_at_the_field_with_what_was_typed_kept(small):
    client = admin_client(small)
    r = client.post("/admin/catalog/bundles/new", data=NEW | {"code": BUNDLE})
    assert r.status_code == 422
    assert field_error(r.text, "code") == "该编码已被其他一件事使用"
    assert input_value(r.text, "name") == "新生儿落户一件事"
    r = client.post("/admin/catalog/bundles/new", data=NEW | {"items": "LJ-HJ-006\nLJ-NOPE"})
    assert r.status_code == 422 and "LJ-NOPE" in field_error(r.text, "items")
    r = client.post("/admin/catalog/bundles/new", data=NEW | {"code": "yjs 1"})
    assert r.status_code == 422
    assert "由大写字母、数字和连字符组成，如 LJ-YJS-006" in field_error(r.text, "code")
    with small.app_context():
        assert db.session.scalar(select(Bundle).where(Bundle.code == "LJ-YJS-101")) is None
    assert _audit(small, "catalog.bundle_create") is None


def test_deleting_a_bundle_keeps_its_items_and_is_audited(small):
    client = admin_client(small)
    assert client.get(f"/bundles/{BUNDLE}").status_code == 200
    r = client.post(f"/admin/catalog/bundles/{BUNDLE}/delete", data={"draft": _form(client)["draft"]})
    assert r.status_code == 302
    assert "已删除" in client.get("/admin/catalog/bundles/").text
    assert client.get(f"/bundles/{BUNDLE}").status_code == 404
    assert client.get("/items/LJ-HJ-006").status_code == 200
    with small.app_context():
        assert db.session.scalar(select(Bundle).where(Bundle.code == BUNDLE)) is None
        assert db.session.scalar(select(ServiceItem).where(ServiceItem.code == "LJ-HJ-006")) is not None
    row = _audit(small, "catalog.bundle_delete")
    assert row.object_id == BUNDLE and row.details["before"]["name"]


def test_a_stale_bundle_edit_or_delete_is_refused(small):
    a, b = admin_client(small), admin_client(small)
    seen = _form(a)
    r = b.post(f"/admin/catalog/bundles/{BUNDLE}", data=_form(b) | {"name": "乙改的名称"})
    assert r.status_code == 302
    r = a.post(f"/admin/catalog/bundles/{BUNDLE}", data=seen | {"name": "甲改的名称"})
    assert r.status_code == 409
    assert "该一件事在您打开页面后已被其他管理员修改" in form_alert(r.text)
    assert input_value(r.text, "name") == "甲改的名称"
    # what B saved is shown beside what A typed, so A can compare before saving again
    assert "其他管理员保存的内容" in r.text and "乙改的名称" in r.text
    r2 = a.post(f"/admin/catalog/bundles/{BUNDLE}/delete", data={"draft": seen["draft"]})
    assert r2.status_code == 302
    page = a.get(f"/admin/catalog/bundles/{BUNDLE}").text
    assert "该一件事在您打开页面后已被其他管理员修改，本次操作没有执行" in page
    with small.app_context():
        assert db.session.scalar(select(Bundle.name).where(Bundle.code == BUNDLE)) == "乙改的名称"
    # the refused page carries today's token: saving again is deliberate
    again = input_value(r.text, "draft")
    r = a.post(f"/admin/catalog/bundles/{BUNDLE}", data=seen | {"name": "甲改的名称", "draft": again})
    assert r.status_code == 302
    with small.app_context():
        assert db.session.scalar(select(Bundle.name).where(Bundle.code == BUNDLE)) == "甲改的名称"
