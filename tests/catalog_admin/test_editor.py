"""The editor through the test client: drafts, parts, 422 with values kept, preview, publish
(refused with every problem, nothing half-saved; or live at once across workers), versions, diff,
retire, pinning, audit with before/after."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from catalog.admin import operations as ops
from catalog.models import ItemStatus, ItemVersion, ServiceItem, VersionState
from core.audit import AuditLog
from core.db import db
from tests.auth.helpers import field_error, input_value, login_as
from tests.catalog_admin.helpers import admin_client, draft_state, item_form_data

CODE = "LJ-HJ-001"
NEW_DOC = {
    "name": "学校在读证明",
    "form": "original",
    "copies": "1",
    "requirement": "required",
    "source": "applicant",
    "notes": "未满十六周岁在校学生提供",
    "accept": ["jpg", "pdf"],
    "when": "age=minor",
}


def _versions(app, code=CODE):
    with app.app_context():
        return [
            (v.version, v.state.value)
            for v in db.session.scalars(
                select(ItemVersion)
                .join(ServiceItem)
                .where(ServiceItem.code == code)
                .order_by(ItemVersion.version)
            )
        ]


def test_first_edit_creates_a_draft_copying_everything(small):
    client = admin_client(small)
    r = client.post(f"/admin/catalog/items/{CODE}/documents/new", data=NEW_DOC)
    assert r.status_code == 302 and r.headers["Location"].endswith("#doc-4")
    assert _versions(small) == [(1, "published"), (2, "draft")]
    with small.app_context():
        item = ops.get_item(CODE)
        draft, pub = ops.version_in(item, VersionState.DRAFT), ops.version_in(item, VersionState.PUBLISHED)
        assert [d.name for d in draft.documents] == [d.name for d in pub.documents] + ["学校在读证明"]
        assert draft.documents[-1].condition == {"age": ["minor"]}
        assert [(s.key, [o.value for o in s.options]) for s in draft.situations] == [
            (s.key, [o.value for o in s.options]) for s in pub.situations
        ]
        assert [f.key for f in draft.fields] == [f.key for f in pub.fields]
    # the public page still shows the published version
    assert "学校在读证明" not in client.get(f"/items/{CODE}").text


def test_bad_input_422_in_chinese_with_values_kept(small):
    client = admin_client(small)
    r = client.post(
        f"/admin/catalog/items/{CODE}/documents/new", data={**NEW_DOC, "when": "age minor", "copies": "99"}
    )
    assert r.status_code == 422
    assert "情形键=选项值" in field_error(r.text, "when")
    assert "0 到 20" in field_error(r.text, "copies")
    assert input_value(r.text, "name") == "学校在读证明"
    data = item_form_data(small, CODE, promised_days="90", name="居民身份证首次申领（新）")
    r = client.post(f"/admin/catalog/items/{CODE}", data=data)
    assert r.status_code == 422
    assert field_error(r.text, "promised_days") == "承诺时限不能长于法定时限"
    assert input_value(r.text, "name") == "居民身份证首次申领（新）"
    assert draft_state(small, CODE) is None  # nothing saved


def test_item_fields_saved_to_draft_and_audited_with_before_after(small):
    client = admin_client(small)
    r = client.post(
        f"/admin/catalog/items/{CODE}", data=item_form_data(small, CODE, promised_days="10", fee="25")
    )
    assert r.status_code == 302
    with small.app_context():
        draft = draft_state(small, CODE)
        assert draft.promised_days == 10 and str(draft.fee) == "25.00"
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "catalog.item_update"))
        assert row.object_type == "service_item" and row.object_id == CODE
        assert row.details["before"] == {"promised_days": 15, "fee": 20}
        assert row.details["after"] == {"promised_days": 10, "fee": 25}


def test_situation_with_options_and_fee_override_and_reorder_and_remove(small):
    client = admin_client(small)
    r = client.post(
        f"/admin/catalog/items/{CODE}/situations/new",
        data={"key": "urgent", "question": "是否加急？", "options": "yes|加急|40\nno|不加急"},
    )
    assert r.status_code == 302
    with small.app_context():
        sit = draft_state(small, CODE).situations[-1]
        assert [(o.value, o.label, o.fee and str(o.fee)) for o in sit.options] == [
            ("yes", "加急", "40.00"),
            ("no", "不加急", None),
        ]
    assert (
        client.post(f"/admin/catalog/items/{CODE}/situations/1/move", data={"direction": "up"}).status_code
        == 302
    )
    with small.app_context():
        assert [s.key for s in draft_state(small, CODE).situations] == ["urgent", "age"]
    assert client.post(f"/admin/catalog/items/{CODE}/documents/0/delete").status_code == 302
    with small.app_context():
        docs = draft_state(small, CODE).documents
        assert docs[0].name.startswith("数码照相回执") and [d.position for d in docs] == list(
            range(len(docs))
        )
        actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.object_id == CODE)))
        assert {"catalog.situations_add", "catalog.situations_reorder", "catalog.documents_remove"} <= actions


def test_form_field_editor(small):
    client = admin_client(small)
    r = client.post(
        f"/admin/catalog/items/{CODE}/fields/new",
        data={"key": "school", "label": "就读学校", "type": "select", "options": "", "when": "age=minor"},
    )
    assert r.status_code == 422 and field_error(r.text, "options") == "下拉字段至少需要两个选项"
    r = client.post(
        f"/admin/catalog/items/{CODE}/fields/new",
        data={"key": "mobile", "label": "重复", "type": "text"},
    )
    assert r.status_code == 422 and "不能重复" in field_error(r.text, "key")
    r = client.post(
        f"/admin/catalog/items/{CODE}/fields/new",
        data={"key": "school", "label": "就读学校", "type": "text", "required": "y", "when": "age=minor"},
    )
    assert r.status_code == 302
    form = client.get(f"/admin/catalog/items/{CODE}/preview/form?age=minor")
    assert form.status_code == 200 and "就读学校" in form.text
    assert "就读学校" not in client.get(f"/admin/catalog/items/{CODE}/preview/form?age=adult").text
    r = client.post(f"/admin/catalog/items/{CODE}/preview/form?age=minor", data={})
    assert r.status_code == 422 and "请填写就读学校" in r.text


def test_preview_renders_the_citizen_page_from_the_draft(small):
    client = admin_client(small)
    client.post(f"/admin/catalog/items/{CODE}/documents/new", data=NEW_DOC)
    page = client.get(f"/admin/catalog/items/{CODE}/preview?age=minor")
    assert page.status_code == 200
    assert (
        "学校在读证明" in page.text and "第 2 版" in page.text and 'data-testid="preview-banner"' in page.text
    )
    assert f'hx-get="/admin/catalog/items/{CODE}/preview/documents?v=2"' in page.text
    assert "学校在读证明" not in client.get(f"/admin/catalog/items/{CODE}/preview?age=adult").text
    frag = client.get(f"/admin/catalog/items/{CODE}/preview/documents?v=2&age=minor")
    assert "学校在读证明" in frag.text
    old = client.get(f"/admin/catalog/items/{CODE}/preview?v=1&age=minor")
    assert "学校在读证明" not in old.text and "第 1 版" in old.text


def test_publish_refused_lists_every_problem_and_saves_nothing(small):
    client = admin_client(small)
    data = item_form_data(small, CODE, online_depth="5", delivery=["mail", "ecert"])
    assert client.post(f"/admin/catalog/items/{CODE}", data=data).status_code == 302
    with small.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditLog))
    r = client.post(f"/admin/catalog/items/{CODE}/publish")
    assert r.status_code == 422
    assert "★5 全程网办的事项到现场次数应为 0" in r.text
    assert "结果不是电子证照，不能选择电子证照送达" in r.text
    assert 'href="#online_depth"' in r.text and 'href="#delivery"' in r.text
    assert _versions(small) == [(1, "published"), (2, "draft")]
    with small.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditLog)) == before


def test_publish_goes_live_at_once_in_every_worker(make_app, small):
    from tests.catalog_admin.conftest import wire

    other = wire(make_app(CATALOG_CHECK_SECONDS=0))
    reader = other.test_client()
    assert "学校在读证明" not in reader.get(f"/items/{CODE}?age=minor").text  # worker 2 caches v1
    client = admin_client(small)
    client.post(f"/admin/catalog/items/{CODE}/documents/new", data=NEW_DOC)
    r = client.post(f"/admin/catalog/items/{CODE}/publish")
    assert r.status_code == 302
    assert _versions(small) == [(1, "superseded"), (2, "published")]
    page = reader.get(f"/items/{CODE}?age=minor").text
    assert "学校在读证明" in page and "第 2 版" in page
    api = reader.get(f"/api/v1/items/{CODE}").get_json()
    assert "学校在读证明" in str(api)
    with small.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "catalog.publish"))
        assert row.details["before"] == {"version": 1} and row.details["after"]["version"] == 2


def test_diff_of_two_versions(small):
    client = admin_client(small)
    client.post(f"/admin/catalog/items/{CODE}/documents/new", data=NEW_DOC)
    client.post(f"/admin/catalog/items/{CODE}", data=item_form_data(small, CODE, promised_days="10"))
    page = client.get(f"/admin/catalog/items/{CODE}/diff?a=1&b=2")
    assert page.status_code == 200
    assert "学校在读证明" in page.text and "承诺时限" in page.text and "新增" in page.text
    assert client.get(f"/admin/catalog/items/{CODE}/diff?a=1&b=9").status_code == 404


def test_discard_draft(small):
    client = admin_client(small)
    client.post(f"/admin/catalog/items/{CODE}/documents/new", data=NEW_DOC)
    assert client.post(f"/admin/catalog/items/{CODE}/discard").status_code == 302
    assert _versions(small) == [(1, "published")]


def _file_application(app, version_number: int, code: str = CODE) -> int:
    from applications.models import Application
    from tests.factories import CitizenFactory

    with app.app_context():
        citizen = CitizenFactory()
        item = ops.get_item(code)
        version = ops.version_number(item, version_number)
        application = Application(
            start_token=f"tok-{version_number}-{citizen.id}",
            applicant_id=citizen.id,
            item_id=item.id,
            version_id=version.id,
            answers={"age": "minor"},
        )
        db.session.add(application)
        db.session.commit()
        return application.id


def test_an_application_stays_pinned_to_its_version(small):
    from applications.models import Application
    from applications.submission.operations import pinned_item
    from catalog.guide import build_guide

    app_id = _file_application(small, 1)
    client = admin_client(small)
    client.post(f"/admin/catalog/items/{CODE}/documents/new", data=NEW_DOC)
    client.post(f"/admin/catalog/items/{CODE}/documents/2/delete")  # 监护人居民身份证
    assert client.post(f"/admin/catalog/items/{CODE}/publish").status_code == 302
    with small.test_request_context():
        application = db.session.get(Application, app_id)
        view = pinned_item(application)
        names = [d.name for d in build_guide(view, application.answers).documents]
        assert view.version == 1
        assert "监护人居民身份证" in names and "学校在读证明" not in names


def test_retire_hides_the_item_and_keeps_filed_applications(small):
    from applications.models import Application
    from applications.submission.operations import pinned_item

    app_id = _file_application(small, 1)
    client = admin_client(small)
    assert client.post(f"/admin/catalog/items/{CODE}/retire").status_code == 302
    assert client.get(f"/items/{CODE}").status_code == 404
    assert "居民身份证首次申领" not in client.get("/search?q=身份证").text
    citizen = small.test_client()
    login_as(small, citizen, "citizen")
    assert citizen.get(f"/apply/{CODE}").status_code == 404
    with small.test_request_context():
        application = db.session.get(Application, app_id)
        assert application.version_id is not None and pinned_item(application).version == 1
        assert ops.get_item(CODE).status == ItemStatus.RETIRED
    assert client.post(f"/admin/catalog/items/{CODE}/reinstate").status_code == 302
    assert client.get(f"/items/{CODE}").status_code == 200


def test_new_item_then_publish(small):
    client = admin_client(small)
    data = item_form_data(small, "LJ-HJ-002", name="临时身份证明开具", aliases="临时证明", code="LJ-HJ-099")
    data["proxy_allowed"] = None
    data.pop("proxy_allowed", None)
    r = client.post("/admin/catalog/new", data=data)
    assert r.status_code == 302, r.text
    r = client.post("/admin/catalog/items/LJ-HJ-099/publish")
    assert r.status_code == 422 and "至少需要一份申请材料" in r.text
    client.post("/admin/catalog/items/LJ-HJ-099/documents/new", data={**NEW_DOC, "when": ""})
    r = client.post("/admin/catalog/items/LJ-HJ-099/publish")
    assert r.status_code == 302
    assert client.get("/items/LJ-HJ-099").status_code == 200
    again = client.post("/admin/catalog/new", data={**data, "name": "别的"})
    assert again.status_code == 422 and "已存在" in again.text


def test_list_and_filters(small):
    client = admin_client(small)
    client.post(f"/admin/catalog/items/{CODE}/documents/new", data=NEW_DOC)
    assert CODE in client.get("/admin/catalog/").text
    drafted = client.get("/admin/catalog/?draft=1").text
    assert CODE in drafted and "LJ-HJ-002" not in drafted
    assert CODE not in client.get("/admin/catalog/?q=换领").text
    assert CODE not in client.get("/admin/catalog/?category=vehicle").text
    assert CODE not in client.get("/admin/catalog/?depth=5").text
    assert CODE not in client.get("/admin/catalog/?status=retired").text
    # the database filters now: the draft is the working version, text is matched literally
    undrafted = client.get("/admin/catalog/?draft=0").text
    assert CODE not in undrafted and "LJ-HJ-002" in undrafted
    assert CODE in client.get(f"/admin/catalog/?q={CODE.lower()}").text
    assert "LJ-HJ" not in client.get("/admin/catalog/?q=%25").text  # % is a character, not a wildcard


def test_bundle_edit(small):
    client = admin_client(small)
    page = client.get("/admin/catalog/bundles/")
    assert "LJ-YJS-001" in page.text
    r = client.post(
        "/admin/catalog/bundles/LJ-YJS-001",
        data={"name": "出生一件事", "aliases": "孩子出生", "description": "d", "items": "LJ-HJ-006\nLJ-NOPE"},
    )
    assert r.status_code == 422 and "LJ-NOPE" in r.text
    r = client.post(
        "/admin/catalog/bundles/LJ-YJS-001",
        data={
            "name": "出生一件事",
            "aliases": "孩子出生",
            "description": "d",
            "items": "LJ-HJ-006\nLJ-HJ-001",
        },
    )
    assert r.status_code == 302
    assert "居民身份证首次申领" in client.get("/bundles/LJ-YJS-001").text


def test_calendar_overrides(small):
    from core.workdays.models import CalendarOverride, load_calendar

    monday, saturday = date(2027, 1, 4), date(2027, 1, 9)
    with small.app_context():
        # an ordinary Monday works and an ordinary Saturday does not, before any override
        assert load_calendar().is_working_day(monday) is True
        assert load_calendar().is_working_day(saturday) is False
    client = admin_client(small)
    r = client.post("/admin/calendar/", data={"day": "2027-01-04", "working": "0", "note": "临时放假"})
    assert r.status_code == 302
    assert "2027-01-04" in client.get("/admin/calendar/").text
    dup = client.post("/admin/calendar/", data={"day": "2027-01-04", "working": "1"})
    assert dup.status_code == 422 and "已有调整" in dup.text
    r = client.post("/admin/calendar/", data={"day": "2027-01-09", "working": "1", "note": "调休上班"})
    assert r.status_code == 302

    with small.app_context():
        row = db.session.scalar(select(CalendarOverride).where(CalendarOverride.day == monday))
        assert (row.working, row.note) == (False, "临时放假")
        calendar = load_calendar()
        assert calendar.is_working_day(monday) is False  # the day off the admin set
        assert calendar.is_working_day(saturday) is True  # the Saturday the admin made a working day
        assert calendar.is_working_day(date(2027, 1, 5)) is True  # the days around are untouched
    assert client.post(f"/admin/calendar/{row.id}/delete").status_code == 302
    assert "2027-01-04" not in client.get("/admin/calendar/").text
    with small.app_context():
        assert load_calendar().is_working_day(monday) is True  # deleted: a working day again
        assert load_calendar().is_working_day(saturday) is True


def test_auditor_reads_the_item_history(small):
    client = admin_client(small)
    client.post(f"/admin/catalog/items/{CODE}/documents/new", data=NEW_DOC)
    client.post(f"/admin/catalog/items/{CODE}/publish")
    auditor = small.test_client()
    login_as(small, auditor, "auditor")
    page = auditor.get(f"/audit/service_item/{CODE}")
    assert page.status_code == 200
    assert "catalog.documents_add" in page.text or "学校在读证明" in page.text
    assert client.get(f"/audit/service_item/{CODE}").status_code == 403


def test_saving_without_changes_keeps_the_delivery_order_and_writes_no_audit_row(small):
    """Every save used to reorder 送达方式 (the form lists them in its own order): diff and audit noise."""
    with small.app_context():
        v = ops.working_version(ops.get_item(CODE))
        v.delivery = ["ecert", "mail"]  # not the form's order
        db.session.commit()
    client = admin_client(small)
    data = item_form_data(small, CODE, delivery=["mail", "ecert"])  # as the browser posts the checkboxes
    assert client.post(f"/admin/catalog/items/{CODE}", data=data).status_code == 302
    with small.app_context():
        assert ops.working_version(ops.get_item(CODE)).delivery == ["ecert", "mail"]
        assert not db.session.scalar(select(func.count()).where(AuditLog.action == "catalog.item_update"))
    data = item_form_data(small, CODE, delivery=["mail", "counter", "ecert"])
    client.post(f"/admin/catalog/items/{CODE}", data=data)
    with small.app_context():
        assert ops.working_version(ops.get_item(CODE)).delivery == ["ecert", "mail", "counter"]
