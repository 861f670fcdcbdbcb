"""The departments' callback: signed by the department, within the time window, about one of its own
messages, shaped as its contract says — anything else is refused and changes nothing; a repeat is
answered and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from applications.bundles import gateway
from core.audit import AuditLog
from core.db import db, utcnow
from tests.bundles.exchange_helpers import BIRTH, department, dumps, part, signed, statuses, submitted_bundle
from tests.clerk.helpers import load_world


@pytest.fixture
def world(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)  # the callback needs no CSRF token: it is machine to machine
    with app.app_context():
        load_world()
        bundle = submitted_bundle(BIRTH)
        db.session.commit()
        app.bundle_id = bundle.id
        app.vaccination_id = part(bundle.id, "vaccination").id
        app.insurance_id = part(bundle.id, "insurance").id
        db.session.remove()
    return app


def _post(app, code: str, body: dict, *, secret: bytes | None = None, at=None, raw: bytes | None = None):
    with app.app_context():
        secret = secret if secret is not None else gateway.department_secret(department(code))
        db.session.rollback()
    data, headers = signed(secret, body, at=at, raw=raw)
    return app.test_client().post(f"/api/v1/exchange/{code}/callback", data=data, headers=headers)


def _callbacks_audited(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).where(AuditLog.action == "bundle.callback"))
        db.session.rollback()
        return n


def _state(app) -> dict[str, str]:
    with app.app_context():
        out = statuses(app.bundle_id)
        db.session.rollback()
        return out


def test_received_then_done_with_the_contracts_result_and_repeats_change_nothing(world):
    message = f"handoff:{world.vaccination_id}"
    first = _post(world, "wsjk", {"message_id": message, "status": "received", "external_ref": "WJ-1"})
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"message_id": message, "status": "received", "changed": True}
    again = _post(world, "wsjk", {"message_id": message, "status": "received", "external_ref": "WJ-1"})
    assert again.get_json() == {"message_id": message, "status": "received", "changed": False}
    done = {"message_id": message, "status": "done", "result": {"vaccination_cert_no": "YJ-2026-0001"}}
    assert _post(world, "wsjk", done).get_json()["changed"] is True
    assert _post(world, "wsjk", done).get_json() == {
        "message_id": message,
        "status": "done",
        "changed": False,
    }
    # a late "returned" after done changes nothing either
    late = _post(world, "wsjk", {"message_id": message, "status": "returned", "note": "材料不全"})
    assert late.status_code == 200 and late.get_json()["status"] == "done"
    with world.app_context():
        p = part(world.bundle_id, "vaccination")
        assert p.result == {"vaccination_cert_no": "YJ-2026-0001"} and p.external_ref == "WJ-1"
        db.session.rollback()
    assert _callbacks_audited(world) == 5  # every callback is in the audit trail, changed or not


@pytest.mark.parametrize(
    "tamper",
    [
        "wrong_secret",
        "body_changed_after_signing",
        "old_timestamp",
        "future_timestamp",
        "no_signature",
    ],
)
def test_a_callback_not_signed_by_the_department_now_is_refused_and_changes_nothing(world, tamper):
    body = {"message_id": f"handoff:{world.vaccination_id}", "status": "received"}
    client = world.test_client()
    if tamper == "wrong_secret":
        response = _post(world, "wsjk", body, secret=b"x" * 32)
    elif tamper == "body_changed_after_signing":
        with world.app_context():
            secret = gateway.department_secret(department("wsjk"))
            db.session.rollback()
        _raw, headers = signed(secret, body)
        response = client.post(
            "/api/v1/exchange/wsjk/callback", data=dumps({**body, "status": "returned"}), headers=headers
        )
    elif tamper == "old_timestamp":
        response = _post(world, "wsjk", body, at=utcnow() - timedelta(minutes=6))
    elif tamper == "future_timestamp":
        response = _post(world, "wsjk", body, at=utcnow() + timedelta(minutes=6))
    else:
        response = client.post("/api/v1/exchange/wsjk/callback", json=body)
    assert response.status_code == 401
    answer = response.get_json()
    assert answer["error"] == "unauthorized" and answer["field"] in ("X-Signature", "X-Timestamp")
    assert _state(world)["vaccination"] == "pushed"
    assert _callbacks_audited(world) == 0


def test_a_rotated_secret_refuses_the_old_one(world):
    with world.app_context():
        old = gateway.department_secret(department("wsjk"))
        department("wsjk").secret_generation += 1
        db.session.commit()
    body = {"message_id": f"handoff:{world.vaccination_id}", "status": "received"}
    assert _post(world, "wsjk", body, secret=old).status_code == 401
    assert _post(world, "wsjk", body).status_code == 200


def test_unknown_ids_and_other_departments_messages_are_404_and_change_nothing(world):
    unknown = _post(world, "wsjk", {"message_id": "handoff:999999", "status": "received"})
    assert unknown.status_code == 404 and unknown.get_json()["field"] == "message_id"
    # 医保 (correctly signed by ybj) reports on 卫健's message: not its own
    other = _post(world, "ybj", {"message_id": f"handoff:{world.vaccination_id}", "status": "done"})
    assert other.status_code == 404
    # its own step, but not pushed yet (it waits for 出生登记): nothing was sent to answer
    waiting = _post(world, "ybj", {"message_id": f"handoff:{world.insurance_id}", "status": "received"})
    assert waiting.status_code == 404
    # a department that does not exist (or is inactive) cannot sign anything
    assert (
        _post(world, "nobody", {"message_id": "handoff:1", "status": "received"}, secret=b"k").status_code
        == 401
    )
    assert _state(world) == {
        "hukou": "started",
        "vaccination": "pushed",
        "insurance": "waiting",
        "sscard": "waiting",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message_id": "{id}", "status": "finished"}, "status"),
        ({"message_id": "{id}"}, "status"),
        ({"message_id": "42", "status": "received"}, "message_id"),
        ({"message_id": "{id}", "status": "done"}, "result.vaccination_cert_no"),
        (
            {"message_id": "{id}", "status": "done", "result": {"insurance_number": "YB-1234"}},
            "result.vaccination_cert_no",
        ),
        (
            {"message_id": "{id}", "status": "done", "result": {"vaccination_cert_no": "<script>"}},
            "result.vaccination_cert_no",
        ),
        ({"message_id": "{id}", "status": "returned"}, "note"),
        ({"message_id": "{id}", "status": "received", "result": {"vaccination_cert_no": "YJ-1"}}, "result"),
        ({"message_id": "{id}", "status": "received", "extra": 1}, "extra"),
        ({"message_id": "{id}", "status": "received", "note": "长" * 301}, "note"),
    ],
)
def test_a_body_not_shaped_as_the_contract_is_422_naming_the_field(world, body, field):
    body = {
        k: (v.format(id=f"handoff:{world.vaccination_id}") if k == "message_id" else v)
        for k, v in body.items()
    }
    response = _post(world, "wsjk", body)
    assert response.status_code == 422, response.get_json()
    answer = response.get_json()
    assert answer["field"] == field and answer["message"]
    assert _state(world)["vaccination"] == "pushed"


def test_a_body_that_is_not_json_is_422(world):
    response = _post(world, "wsjk", {}, raw=b"not json at all")
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_body"
    assert "JSON" in response.get_json()["message"]


def test_the_contracts_page_documents_every_contract(world):
    page = world.test_client().get("/exchange/contracts")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for name, result in [
        ("birth-vaccination-v1", "vaccination_cert_no"),
        ("birth-insurance-v1", "insurance_number"),
        ("sscard-v1", "card_no"),
        ("vehicle-tax-v1", "tax_certificate_no"),
    ]:
        assert f'data-contract="{name}"' in text and result in text
    doc = world.test_client().get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/api/v1/exchange/{department}/callback"]["post"]
    assert {"401", "404", "422"} <= set(operation["responses"])
    assert "X-Signature" in operation["description"]
