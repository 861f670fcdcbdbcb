"""Order and completion end to end: a clerk's decision on a police item and a department's callback
each start what waits for them, a returned part holds its dependents, the bundle is complete when every
part is done — and the clerk sees the bundle beside their item, read-only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from applications.bundles import contracts, gateway
from applications.bundles.models import BundleApplication, BundlePart, BundleState
from applications.clerk import operations as clerk_ops
from applications.models import Application
from applications.submission.operations import withdraw
from applications.workflow.states import State
from core.db import db
from core.outbox import OutboxMessage
from tests.bundles.exchange_helpers import (
    BIRTH,
    CAR,
    approve_item,
    clerk_of,
    department,
    part,
    signed,
    statuses,
    submitted_bundle,
)
from tests.clerk.helpers import citizen, load_world, login_staff


@pytest.fixture
def world(app):
    with app.app_context():
        load_world()
        db.session.remove()
    return app


def _callback(app, code: str, body: dict):
    with app.app_context():
        secret = gateway.department_secret(department(code))
        db.session.rollback()
    raw, headers = signed(secret, body)
    response = app.test_client().post(f"/api/v1/exchange/{code}/callback", data=raw, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _handoff(part_id: int) -> dict:
    """The exchange message body queued for a part, checked against its documented contract."""
    outbox_id = db.session.get(BundlePart, part_id).outbox_id
    body = db.session.get(OutboxMessage, outbox_id).payload
    contracts.Envelope.model_validate(body)
    assert contracts.data_problems(body["contract"], body["data"]) == [], body
    return body


def _messages(user_id: int, kind: str) -> int:
    return len(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.user_id == user_id, OutboxMessage.kind == kind)
        ).all()
    )


def test_birth_bundle_runs_to_completion_each_step_starting_when_its_prerequisites_are_done(world):
    with world.app_context():
        bundle = submitted_bundle(BIRTH)
        bundle_id, applicant_id = bundle.id, bundle.applicant_id
        hukou_app = db.session.get(Application, part(bundle_id, "hukou").application_id)
        assert hukou_app.state == State.SUBMITTED and hukou_app.unit_id is not None
        assert statuses(bundle_id) == {
            "hukou": "started",
            "vaccination": "pushed",
            "insurance": "waiting",
            "sscard": "waiting",
        }
        # the clerk approves 出生登记: 医保 is pushed at once with the 户口 reference
        approve_item(hukou_app)
        hukou_reference = hukou_app.reference
        db.session.commit()
        assert statuses(bundle_id)["insurance"] == "pushed"
        assert statuses(bundle_id)["sscard"] == "waiting"  # still needs 医保's number
        insurance = part(bundle_id, "insurance")
        body = _handoff(insurance.id)
        assert body["data"]["hukou_reference"] == hukou_reference and body["contract"] == "birth-insurance-v1"
        insurance_id, vaccination_id = insurance.id, part(bundle_id, "vaccination").id
        db.session.rollback()

    _callback(world, "ybj", {"message_id": f"handoff:{insurance_id}", "status": "received"})
    _callback(
        world,
        "ybj",
        {
            "message_id": f"handoff:{insurance_id}",
            "status": "done",
            "result": {"insurance_number": "YB-3301-0042"},
        },
    )
    with world.app_context():
        assert statuses(bundle_id)["sscard"] == "pushed"
        sscard = part(bundle_id, "sscard")
        body = _handoff(sscard.id)
        assert body["data"]["insurance_number"] == "YB-3301-0042"
        assert body["data"]["hukou_reference"] == hukou_reference
        sscard_id = sscard.id
        assert db.session.get(BundleApplication, bundle_id).state == BundleState.SUBMITTED
        db.session.rollback()

    _callback(
        world,
        "wsjk",
        {
            "message_id": f"handoff:{vaccination_id}",
            "status": "done",
            "result": {"vaccination_cert_no": "YJ-0001"},
        },
    )
    with world.app_context():
        assert (
            db.session.get(BundleApplication, bundle_id).state == BundleState.SUBMITTED
        )  # 社保卡 still open
        db.session.rollback()
    _callback(
        world,
        "rsj",
        {"message_id": f"handoff:{sscard_id}", "status": "done", "result": {"card_no": "SB-20261206-0001"}},
    )
    with world.app_context():
        bundle = db.session.get(BundleApplication, bundle_id)
        assert bundle.state == BundleState.COMPLETED and bundle.completed_at is not None
        assert set(statuses(bundle_id).values()) == {"done"}
        assert _messages(applicant_id, "bundle_completed") == 1
        db.session.rollback()


def test_a_dependent_police_item_held_as_a_draft_is_submitted_and_routed_when_the_tax_is_done(world):
    with world.app_context():
        bundle = submitted_bundle(CAR)
        bundle_id = bundle.id
        registration = db.session.get(Application, part(bundle_id, "registration").application_id)
        assert registration.state == State.DRAFT and registration.reference is None  # held
        assert statuses(bundle_id) == {"tax": "pushed", "temp_plate": "started", "registration": "waiting"}
        registration_id, tax_id = registration.id, part(bundle_id, "tax").id
        db.session.commit()
    _callback(
        world,
        "tax",
        {
            "message_id": f"handoff:{tax_id}",
            "status": "done",
            "result": {"tax_certificate_no": "WS-2026-000123"},
        },
    )
    with world.app_context():
        registration = db.session.get(Application, registration_id)
        assert registration.state == State.SUBMITTED
        assert registration.reference and registration.unit_id is not None and registration.routing_rule
        assert statuses(bundle_id)["registration"] == "started"
        db.session.rollback()


def test_a_refused_item_returns_its_part_and_holds_what_waits_for_it(world):
    with world.app_context():
        bundle = submitted_bundle(BIRTH)
        bundle_id, applicant_id = bundle.id, bundle.applicant_id
        app = db.session.get(Application, part(bundle_id, "hukou").application_id)
        clerk = clerk_of(app)
        app.claimed_by_id = clerk.id
        clerk_ops.accept(app, clerk)
        clerk_ops.refuse(app, clerk, reason="出生医学证明与户口簿信息不一致")
        db.session.commit()
        assert statuses(bundle_id) == {
            "hukou": "returned",
            "vaccination": "pushed",
            "insurance": "waiting",
            "sscard": "waiting",
        }
        assert db.session.get(BundleApplication, bundle_id).state == BundleState.SUBMITTED
        assert part(bundle_id, "hukou").note == "办结（不予许可）：出生医学证明与户口簿信息不一致"
        assert _messages(applicant_id, "bundle_part_returned") == 1
        db.session.rollback()


def test_a_department_returning_its_step_holds_the_steps_after_it(world):
    with world.app_context():
        bundle = submitted_bundle(BIRTH)
        bundle_id = bundle.id
        approve_item(db.session.get(Application, part(bundle_id, "hukou").application_id))
        db.session.commit()
        insurance_id = part(bundle_id, "insurance").id
        db.session.rollback()
    _callback(
        world, "ybj", {"message_id": f"handoff:{insurance_id}", "status": "returned", "note": "户口信息不符"}
    )
    with world.app_context():
        assert statuses(bundle_id)["insurance"] == "returned"
        assert statuses(bundle_id)["sscard"] == "waiting"
        assert part(bundle_id, "insurance").note == "户口信息不符"
        db.session.rollback()


def test_a_citizen_withdrawing_a_bundle_item_returns_its_part(world):
    with world.app_context():
        bundle = submitted_bundle(CAR)
        bundle_id = bundle.id
        temp_plate = db.session.get(Application, part(bundle_id, "temp_plate").application_id)
        withdraw(temp_plate, citizen(), reason="不办了")
        db.session.commit()
        assert statuses(bundle_id)["temp_plate"] == "returned"
        assert part(bundle_id, "temp_plate").note == "已撤回：不办了"
        db.session.rollback()


def test_the_clerk_sees_the_bundle_read_only_beside_their_item(world):
    with world.app_context():
        bundle = submitted_bundle(BIRTH)
        app = db.session.get(Application, part(bundle.id, "hukou").application_id)
        app_id, username, reference = app.id, clerk_of(app).username, bundle.reference
        db.session.commit()
    client = world.test_client()
    login_staff(client, username)
    page = client.get(f"/clerk/applications/{app_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-testid="bundle-panel"' in text and reference in text
    assert text.count('data-testid="bundle-part"') == 4
    for shown in ("出生登记（报户口）", "本件", "市卫生健康委员会", "已推送", "等待前序事项", "市医疗保障局"):
        assert shown in text
    assert "<form" not in text.split('data-testid="bundle-panel"')[1].split("</section>")[0]  # read-only


def test_an_application_of_its_own_has_no_bundle_panel(world):
    from tests.clerk.helpers import insert_submitted

    with world.app_context():
        (app_id,) = insert_submitted(1)
        db.session.commit()
    client = world.test_client()
    login_staff(client, "clerk_ps_dc_01")
    page = client.get(f"/clerk/applications/{app_id}")
    assert page.status_code == 200 and 'data-testid="bundle-panel"' not in page.get_data(as_text=True)


def test_every_demo_hand_off_is_sent_as_its_contract_says(world):
    """The flows' payload maps fill each contract's required data (the page the departments read)."""
    with world.app_context():
        for code in (BIRTH, CAR):
            bundle = submitted_bundle(code)
            for p in bundle.parts:
                if p.payload.get("payload_map") is not None:
                    name = department(p.department_code).contract
                    assert contracts.unmapped_fields(name, set(p.payload["payload_map"])) == [], (
                        code,
                        p.step_key,
                    )
        assert contracts.data_problems("vehicle-tax-v1", {"vin": "X"}) != []  # the check itself bites
        assert contracts.unmapped_fields("sscard-v1", {"baby_name", "colour"}) == [
            "缺少 hukou_reference",
            "缺少 insurance_number",
            "缺少 mobile",
            "契约没有 colour",
        ]
        db.session.rollback()
