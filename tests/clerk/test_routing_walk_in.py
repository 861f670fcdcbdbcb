"""Routing rules edited by admins decide the queue (and an approving unit sees it too); walk-in
(counter) applications registered by a clerk."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from applications.clerk import operations as ops
from applications.clerk import queues
from applications.models import Application, ApplicationDocument, Channel, RoutingRule
from applications.submission.operations import start_application, submit
from applications.submission.reference import is_valid_reference
from applications.workflow.states import State
from auth.models import User
from catalog.guide import build_guide
from catalog.models import Category
from catalog.queries import catalog
from core.audit import AuditLog
from core.db import db
from core.outbox import OutboxMessage
from tests.auth.helpers import field_error, input_value, make_id_number
from tests.clerk.helpers import PS_ITEM, VO_ITEM, citizen, login_staff, scan, unit, user, walk_in_data


def _submit_complete(item_code: str, district: str) -> Application:
    """A complete draft of ``item_code`` by the demo citizen in ``district``, submitted (flushed)."""
    item = catalog().items[item_code]
    app = start_application(citizen(), item, {}, secrets.token_urlsafe(16))
    guide = build_guide(item, app.answers or {})
    values = {"mobile": "13912345678", "date": "2026-01-05", "id_number": make_id_number()}
    app.form_data = {
        f.key: f.options[0]
        if f.type == "select"
        else (True if f.type == "checkbox" else values.get(f.type, "测试内容"))
        for f in guide.fields
    }
    app.district = district
    app.delivery_method = "mail" if "mail" in item.delivery else item.delivery[0]
    app.delivery_address = {
        "recipient": "张晓明",
        "mobile": "13800000001",
        "district": district,
        "address": "滨江路8号",
    }
    for d in guide.to_bring:
        if d.requirement == "required":
            app.documents.append(
                ApplicationDocument(
                    requirement=d.position,
                    requirement_name=d.name,
                    storage_key=f"x/{d.position}.pdf",
                    kind="pdf",
                    mimetype="application/pdf",
                    size=10,
                    sha256=f"{d.position:064d}",
                    display_name="x.pdf",
                )
            )
    db.session.flush()
    return submit(app, citizen())


def _admin(app):
    client = app.test_client()
    login_staff(client, "admin")
    return client


def test_an_admin_rule_routes_vehicle_items_from_jiangnan_to_the_branch_office(world):
    app = world
    with app.app_context():
        vehicle = db.session.scalar(select(Category.id).where(Category.code == "vehicle"))
        vo_jn = unit("LJ-VO-JN").id
    client = _admin(app)
    r = client.post(
        "/admin/routing/",
        data={
            "position": "1",
            "category": str(vehicle),
            "district": "江南区",
            "unit": str(vo_jn),
            "note": "江南车管",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    with app.app_context():
        rule = db.session.scalar(select(RoutingRule))
        assert (rule.category_id, rule.district, rule.unit_id, rule.item_id) == (
            vehicle,
            "江南区",
            vo_jn,
            None,
        )
        assert db.session.scalar(
            select(AuditLog).where(AuditLog.action == "routing.rule_create")
        ).object_id == str(rule.id)
        a = _submit_complete(VO_ITEM, "江南区")
        b = _submit_complete(VO_ITEM, "东城区")
        db.session.commit()
        assert a.unit_id == vo_jn and a.routing_rule.startswith(f"规则#{rule.id}：vehicle × 江南区")
        assert b.unit_id == unit("LJ-VO").id and not b.routing_rule.startswith("规则#")
        assert [x.id for x in queues.queue_page(user("clerk_vo_jn"), "pending")] == [a.id]
        assert [x.id for x in queues.queue_page(user("clerk_vo"), "pending")] == [b.id]
    listing = client.get("/admin/routing/").get_data(as_text=True)
    with app.app_context():
        category_name = db.session.get(Category, vehicle).name
    assert (
        f"<td>1</td><td>{category_name}</td><td>江南区</td><td>临江市公安局交通警察支队车辆管理所江南分所</td>"
        in listing
    )


def test_a_rule_with_an_approving_unit_lets_that_units_clerks_see_it(world):
    app = world
    with app.app_context():
        item_id = catalog().items[PS_ITEM].id
        jn01, dc01 = unit("LJ-PS-JN-01").id, unit("LJ-PS-DC-01").id
    client = _admin(app)
    r = client.post(
        "/admin/routing/",
        data={
            "position": "5",
            "item": str(item_id),
            "district": "江南区",
            "unit": str(jn01),
            "approving_unit": str(dc01),
        },
    )
    assert r.status_code == 302
    with app.app_context():
        a = _submit_complete(PS_ITEM, "江南区")
        db.session.commit()
        assert (a.unit_id, a.approving_unit_id) == (jn01, dc01)
        assert a.routing_rule.startswith("规则#")
        aid, ref = a.id, a.reference
        # The accepting unit claims it; the approving unit sees it in its queues but cannot claim-next it.
        assert ops.claim_next(user("clerk_ps_dc_01")) is None
        db.session.rollback()
    for username in ("clerk_ps_jn_01", "clerk_ps_dc_01"):
        c = app.test_client()
        login_staff(c, username)
        assert c.get(f"/clerk/applications/{aid}").status_code == 200
        assert ref in c.get("/clerk/?tab=pending").get_data(as_text=True)
    c = app.test_client()
    login_staff(c, "clerk_ps_dc_02")
    assert c.get(f"/clerk/applications/{aid}").status_code == 404


def test_a_bad_rule_gets_a_chinese_error_at_the_field_and_non_admins_403(world):
    app = world
    client = _admin(app)
    r = client.post("/admin/routing/", data={"position": "1", "district": "江南区", "unit": ""})
    assert r.status_code == 422
    assert field_error(r.get_data(as_text=True), "unit") == "请选择受理单位"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RoutingRule)) == 0
    for username in ("clerk_vo", "lead_dc", "auditor"):
        c = app.test_client()
        login_staff(c, username)
        assert c.get("/admin/routing/").status_code == 403
        assert c.post("/admin/routing/", data={"position": "1", "unit": "1"}).status_code == 403
    anonymous = app.test_client()
    assert anonymous.get("/admin/routing/").status_code in (302, 401)


def test_walk_in_for_a_new_person_creates_the_account_and_a_counter_application(world):
    app = world
    client = app.test_client()
    login_staff(client, "clerk_ps_dc_01")
    assert client.get("/clerk/walk-in").status_code == 200
    number = make_id_number("330102", "19750101", 555)
    r = client.post(
        "/clerk/walk-in",
        data=walk_in_data(real_name="陈小芳", id_number=number, mobile="13955550001", **{"doc-0": scan()}),
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    aid = int(r.headers["Location"].split("/")[-2])  # …/<id>/receipt
    with app.app_context():
        person = db.session.scalar(select(User).where(User.id_number_is(number)))
        assert person is not None and person.real_name == "陈小芳" and person.mobile == "13955550001"
        a = db.session.get(Application, aid)
        assert a.applicant_id == person.id and a.channel == Channel.COUNTER
        assert a.state == State.SUBMITTED and is_valid_reference(a.reference)
        assert a.claimed_by_id == user("clerk_ps_dc_01").id and a.unit_id == unit("LJ-PS-DC-01").id
        assert len(a.visits) == 1 and a.visits[0].recorded_by_id == user("clerk_ps_dc_01").id
        assert db.session.scalar(
            select(AuditLog).where(AuditLog.action == "account.counter_create")
        ).object_id == str(person.id)
        # checked face to face: real-name verified, and told how to set a password on their own phone
        assert person.assurance == 2 and person.identity_source == "counter"
        activation = db.session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.user_id == person.id, OutboxMessage.kind == "account_activation"
            )
        )
        assert "忘记密码" in activation.sms_text


def test_walk_in_for_a_known_id_number_uses_that_account(world):
    app = world
    with app.app_context():
        known = citizen()
        known_id, number = known.id, known.id_number
        users_before = db.session.scalar(select(func.count()).select_from(User))
    client = app.test_client()
    login_staff(client, "clerk_ps_dc_01")
    r = client.post("/clerk/walk-in", data=walk_in_data(id_number=number, **{"doc-0": scan()}))
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    aid = int(r.headers["Location"].split("/")[-2])  # …/<id>/receipt
    with app.app_context():
        a = db.session.get(Application, aid)
        assert a.applicant_id == known_id and a.channel == Channel.COUNTER and len(a.visits) == 1
        assert db.session.scalar(select(func.count()).select_from(User)) == users_before


def _walk_in(client, **overrides):
    return client.post("/clerk/walk-in", data=walk_in_data(**{"doc-0": scan(), **overrides}))


def test_walk_in_needs_the_id_card_checked_face_to_face(world):
    client = world.test_client()
    login_staff(client, "clerk_ps_dc_01")
    with world.app_context():
        before = db.session.scalar(select(func.count()).select_from(Application))
    r = _walk_in(
        client,
        identity_checked=None,
        real_name="陈小芳",
        id_number=make_id_number("330102", "19750101", 556),
        mobile="13955550002",
    )
    assert (
        r.status_code == 422 and field_error(r.text, "identity_checked") == "请先当面核验申请人的身份证件原件"
    )
    assert input_value(r.text, "real_name") == "陈小芳"
    with world.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == before


def test_a_known_id_number_with_another_name_is_not_attached(world):
    """Typing someone else's ID number must not put the application on their account."""
    client = world.test_client()
    login_staff(client, "clerk_ps_dc_01")
    with world.app_context():
        before = db.session.scalar(select(func.count()).select_from(Application))
    r = _walk_in(client, real_name="王冒名")
    assert r.status_code == 422
    assert "姓名与该身份证号码已登记的账号不一致" in field_error(r.text, "real_name")
    assert "张晓明" not in r.text  # the holder's name is never shown
    with world.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == before
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "account.counter_attach")) is None


def test_attaching_a_known_account_is_audited_with_the_clerk(world):
    client = world.test_client()
    login_staff(client, "clerk_ps_dc_01")
    assert _walk_in(client).status_code == 302
    with world.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "account.counter_attach"))
        assert row.actor_id == user("clerk_ps_dc_01").id and row.object_id == str(citizen().id)
