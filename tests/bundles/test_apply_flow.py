"""The citizen's 一件事 application end to end through the pages: one form, shared documents once,
check your answers, one submit that fans out into every part (出生一件事, 新车上牌一件事)."""

from __future__ import annotations

from sqlalchemy import func, select

from applications.bundles.models import BundleApplication, BundleState, PartKind, PartStatus
from applications.models import Application, ApplicationDocument
from applications.submission.reference import BUNDLE_PREFIX, is_valid_reference
from applications.workflow.states import State
from core.audit import AuditLog
from core.db import db
from core.outbox import OutboxMessage

from .apply_helpers import (  # noqa: F401
    BIRTH,
    citizen_client_fixture,
    citizen_fixture,
    demo_fixture,
    ready_birth,
    ready_car,
)


def test_birth_bundle_end_to_end(app, citizen_client):
    page = citizen_client.get(f"/bundles/{BIRTH}").text
    assert "在线一次申请" in page and f"/bundles/{BIRTH}/apply" in page
    bid = ready_birth(citizen_client)
    review = citizen_client.get(f"/bundle-applications/{bid}/review")
    assert review.status_code == 200
    assert "还差以下内容" not in review.text
    assert "王小宝" in review.text and "户口簿.pdf" in review.text
    r = citizen_client.post(f"/bundle-applications/{bid}/submit")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/bundle-applications/{bid}/done")
    done = citizen_client.get(f"/bundle-applications/{bid}/done").text
    with app.app_context():
        bundle = db.session.get(BundleApplication, bid)
        assert bundle.state == BundleState.SUBMITTED
        assert is_valid_reference(bundle.reference, prefix=BUNDLE_PREFIX)
        assert bundle.reference in done
        parts = {p.step_key: p for p in bundle.parts}
        assert [p.step_key for p in bundle.parts] == ["hukou", "vaccination", "insurance", "sscard"]
        hukou = db.session.get(Application, parts["hukou"].application_id)
        # the police item: submitted at once, routed, pinned, mapped
        assert hukou.state == State.SUBMITTED and hukou.reference and hukou.unit_id
        assert parts["hukou"].status == PartStatus.STARTED
        assert hukou.answers["marriage"] == "married" and hukou.answers["applicant"] == "self"
        assert hukou.form_data["baby_name"] == "王小宝"
        assert hukou.district == "东城区" and hukou.delivery_method == "mail"
        assert hukou.delivery_address["address"] == "东城区解放路100号1幢201室"
        names = {d.requirement_name for d in hukou.documents}
        assert names == {"随迁方居民户口簿", "父母双方居民身份证"}
        shared = {d.doc_key: d.storage_key for d in bundle.documents}
        assert {d.storage_key for d in hukou.documents} == {shared["hukou_book"], shared["parents_id"]}
        # the department steps: 预防接种证 pushed now, the others wait for 出生登记
        assert (
            parts["vaccination"].kind == PartKind.HANDOFF and parts["vaccination"].status == PartStatus.PUSHED
        )
        assert (
            parts["insurance"].status == PartStatus.WAITING and parts["sscard"].status == PartStatus.WAITING
        )
        handoff = db.session.get(OutboxMessage, parts["vaccination"].outbox_id)
        assert handoff.destination == "wsjk" and handoff.payload["data"]["baby_name"] == "王小宝"
        kinds = set(
            db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.user_id == bundle.applicant_id))
        )
        assert "bundle_submitted" in kinds
        assert db.session.scalar(select(func.count()).where(AuditLog.action == "bundle.submit")) == 1
    for p in ("出生登记（报户口）", "预防接种证", "社会保障卡申领"):
        assert p in done


def test_car_bundle_end_to_end_holds_registration_until_tax(app, citizen_client):
    bid = ready_car(citizen_client)
    assert "还差以下内容" not in citizen_client.get(f"/bundle-applications/{bid}/review").text
    assert citizen_client.post(f"/bundle-applications/{bid}/submit").status_code == 302
    with app.app_context():
        bundle = db.session.get(BundleApplication, bid)
        parts = {p.step_key: p for p in bundle.parts}
        assert [p.step_key for p in bundle.parts] == ["tax", "temp_plate", "registration"]
        temp = db.session.get(Application, parts["temp_plate"].application_id)
        reg = db.session.get(Application, parts["registration"].application_id)
        assert temp.state == State.SUBMITTED and temp.form_data["route"] == "临江市—杭州市"
        assert temp.answers["purpose"] == "new_car"
        # held: created, complete, pinned, but not submitted until 购置税 is done
        assert reg.state == State.DRAFT and reg.reference is None
        assert reg.form_data["plate_choice"] == "互联网选号" and reg.form_data["vin"] == "LSVAU2180N2123456"
        assert reg.answers["origin"] == "domestic" and reg.answers["owner"] == "person"
        assert parts["registration"].status == PartStatus.WAITING
        assert parts["tax"].status == PartStatus.PUSHED
        # one upload, attached to both items that need it (the same stored file)
        owner = next(d for d in bundle.documents if d.doc_key == "owner_id")
        rows = db.session.scalars(
            select(ApplicationDocument).where(ApplicationDocument.storage_key == owner.storage_key)
        ).all()
        assert {r.application_id for r in rows} == {temp.id, reg.id}
        assert {r.requirement_name for r in rows} == {
            "机动车所有人身份证明",
            "机动车所有人居民身份证（非本市户籍的另附居住证）",
        }
