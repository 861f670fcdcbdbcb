"""Verifying: the public page, the JSON API and the offline command; revocation by the admin."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from applications.ecert.payload import decode
from core.audit import AuditLog
from core.clock import SHANGHAI, travel
from core.db import db
from tests.auth.helpers import login_as
from tests.ecert.helpers import cert, issue

GARBAGE = [
    "",
    " ",
    "LJ1:",
    "hello world",
    "LJ1:%%%%",
    "LJ1:" + "Z" * 4000,
    "LJ1:" + "A" * 10000,
    "\x00\x01\x02",
    "<script>alert(1)</script>",
    "LJ1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEMWK4MI$IW/F+I4",
]


def _payload(app, number: str) -> str:
    with app.app_context():
        return cert(number).payload


def _api(client, body):
    return client.post("/api/v1/ecert/verify", json=body)


def test_the_page_shows_a_genuine_certificate_with_the_masked_id(world):
    (number,) = issue(world)
    text = _payload(world, number)
    r = world.test_client().post("/verify", data={"payload": text})
    assert r.status_code == 200
    assert 'data-reason="ok"' in r.text and "真实有效" in r.text and number in r.text
    masked = decode(text).claims["id"]
    assert masked in r.text and "*" in masked


def test_the_page_explains_a_tampered_payload(world):
    (number,) = issue(world)
    text = _payload(world, number)
    forged = text[:-8] + ("00000000" if not text.endswith("00000000") else "11111111")
    r = world.test_client().post("/verify", data={"payload": forged})
    assert r.status_code == 200 and "核验未通过" in r.text
    assert 'data-reason="ok"' not in r.text


def test_an_empty_form_gets_the_message_at_the_field(world):
    r = world.test_client().post("/verify", data={"payload": "  "})
    assert r.status_code == 422 and "请粘贴或扫描电子证照二维码的内容" in r.text


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_is_never_a_500_on_the_page_or_the_api(world, text):
    client = world.test_client()
    page = client.post("/verify", data={"payload": text})
    assert page.status_code in (200, 422)
    api = _api(client, {"payload": text})
    assert api.status_code in (200, 400)
    if api.status_code == 200:
        assert api.get_json()["valid"] is False and api.get_json()["reason"] == "malformed"


@pytest.mark.parametrize(
    "body", [None, "text", [], {"payload": 5}, {"payload": None}, {"payload": ["LJ1:"]}, {"other": "x"}]
)
def test_the_api_refuses_a_body_that_is_not_a_payload_with_400(world, body):
    client = world.test_client()
    if body is None:
        r = client.post("/api/v1/ecert/verify", data="not json", content_type="application/json")
    else:
        r = _api(client, body)
    assert r.status_code == 400 and r.get_json()["error"] == "bad_request"


def test_the_api_answers_genuine_unknown_key_and_bad_signature(world):
    (number,) = issue(world)
    text = _payload(world, number)
    client = world.test_client()
    body = _api(client, {"payload": text}).get_json()
    assert body["valid"] is True and body["reason"] == "ok" and body["claims"]["number"] == number
    assert body["claims"]["id"].count("*") >= 8
    # the same claims signed by a key the portal never published
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from applications.ecert.payload import encode
    from applications.ecert.signing import Ed25519Signer, kid_for

    stranger = Ed25519PrivateKey.generate()
    claims = decode(text).claims
    other = encode(claims, Ed25519Signer(kid_for(stranger.public_key()), stranger))
    assert _api(client, {"payload": other}).get_json()["reason"] == "unknown_key"
    forged = encode(claims, Ed25519Signer(decode(text).kid, stranger))
    body = _api(client, {"payload": forged}).get_json()
    assert body["reason"] == "bad_signature" and body["claims"] is None


def test_expired_certificates_are_refused_as_expired(world):
    (number,) = issue(world)
    with world.app_context():
        text, until = cert(number).payload, cert(number).valid_until
    with travel(datetime.combine(until + timedelta(days=1), time(9), SHANGHAI)):
        body = _api(world.test_client(), {"payload": text}).get_json()
    assert body["valid"] is False and body["reason"] == "expired"


def test_revocation_by_the_admin_is_audited_and_checked_online(world):
    (number,) = issue(world)
    with world.app_context():
        c = cert(number)
        cid, text, wallet_id = c.id, c.payload, c.wallet_document_id
    admin = world.test_client()
    login_as(world, admin, "admin")
    assert admin.get("/admin/ecerts/").status_code == 200
    r = admin.post(f"/admin/ecerts/{cid}/revoke", data={"reason": ""})
    assert r.status_code == 422 and "请选择撤销原因" in r.text
    r = admin.post(f"/admin/ecerts/{cid}/revoke", data={"reason": "error", "note": "签发对象有误"})
    assert r.status_code == 302
    again = admin.post(f"/admin/ecerts/{cid}/revoke", data={"reason": "cancelled"})
    assert again.status_code == 422 and "已撤销" in again.text
    with world.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "ecert.revoke"))
        assert row.details["reason"] == "error"
        from applications.models import WalletDocument

        assert db.session.get(WalletDocument, wallet_id).rejected_at is not None  # not offered for reuse
    body = _api(world.test_client(), {"payload": text}).get_json()
    assert body["reason"] == "revoked" and body["revoked"]["reason"] == "error"
    page = world.test_client().post("/verify", data={"payload": text})
    assert "已被签发单位撤销" in page.text and "误发" in page.text
    assert admin.post("/admin/ecerts/999999/revoke", data={"reason": "error"}).status_code == 404
    online = world.test_cli_runner().invoke(args=["ecert", "verify", text])  # online: the revocation list
    assert online.exit_code == 1 and online.output.startswith("revoked")


def test_offline_cli_verifies_with_the_key_set_file_only(world, tmp_path):
    (number,) = issue(world)
    text = _payload(world, number)
    jwks = world.test_client().get("/.well-known/ecert-keys.json").get_json()
    keyfile = tmp_path / "keys.json"
    keyfile.write_text(json.dumps(jwks))
    runner = world.test_cli_runner()
    ok = runner.invoke(args=["ecert", "verify", "--keys", str(keyfile), text])
    assert ok.exit_code == 0 and ok.output.startswith("ok") and number in ok.output
    assert runner.invoke(args=["ecert", "verify", text]).exit_code == 0  # online, this portal's keys
    bad = runner.invoke(args=["ecert", "verify", "--keys", str(keyfile), text[:-6] + "AAAAAA"])
    assert bad.exit_code == 1 and not bad.output.startswith("ok")
    junk = runner.invoke(args=["ecert", "verify", "--keys", str(keyfile), "garbage"])
    assert junk.exit_code == 1 and junk.output.startswith("malformed")
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"keys": []}))
    unknown = runner.invoke(args=["ecert", "verify", "--keys", str(empty), text])
    assert unknown.exit_code == 1 and unknown.output.startswith("unknown_key")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert runner.invoke(args=["ecert", "verify", "--keys", str(broken), text]).exit_code == 1
    stdin = runner.invoke(args=["ecert", "verify", "--keys", str(keyfile), "-"], input=text + "\n")
    assert stdin.exit_code == 0


def test_a_new_certificate_of_the_same_type_replaces_the_earlier_one(world):
    first, second = issue(world, n=2)
    client = world.test_client()
    with world.app_context():
        old, new = cert(first), cert(second)
        assert old.revoked_reason.value == "replaced" and second in old.revoked_note
        assert new.revoked_at is None
        old_text, new_text = old.payload, new.payload
    assert _api(client, {"payload": old_text}).get_json()["revoked"]["reason"] == "replaced"
    assert _api(client, {"payload": new_text}).get_json()["valid"] is True
