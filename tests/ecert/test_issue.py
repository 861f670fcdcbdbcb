"""Issuing at completion: keys, the register, the PDF with its QR seal, 我的材料, the key set."""

from __future__ import annotations

import io
import json
import stat

import pypdf
import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image
from sqlalchemy import func, select

from applications.ecert import keys
from applications.ecert.models import Certificate, SigningKey
from applications.ecert.payload import decode
from applications.ecert.signing import b64url_decode
from applications.models import Application, TrustLevel, WalletDocument
from applications.workflow.states import State
from core.audit import AuditLog
from core.db import db
from core.storage import get_storage
from core.transaction import commit
from tests.auth.helpers import login_as
from tests.clerk.helpers import citizen, insert_submitted, login_staff, user
from tests.ecert.helpers import cert, issue, login_citizen


def _cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["ecert", *args], input=input)


def test_keys_create_writes_a_private_file_0600_and_publishes_the_public_half(world):
    result = _cli(world, "keys", "create")
    assert result.exit_code == 0, result.output
    with world.app_context():
        (row,) = keys.all_keys()
        path = keys.key_dir() / f"{row.kid}.pem"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert b"PRIVATE KEY" in path.read_bytes()
        assert "PRIVATE" not in row.public_key and row.issuer == ""
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "ecert.key_create"))
    body = world.test_client().get("/.well-known/ecert-keys.json").get_json()
    (jwk,) = body["keys"]
    assert jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "kid": row.kid,
        "x": row.public_key,
        "use": "sig",
        "alg": "EdDSA",
    }


def test_the_jwk_set_verifies_a_certificate_with_cryptography_alone(world):
    """An independent check: cryptography's Ed25519 key from the published JWK, the RFC 9052
    Sig_structure rebuilt by hand — no code of ours."""
    (number,) = issue(world)
    jwks = world.test_client().get("/.well-known/ecert-keys.json").get_json()
    with world.app_context():
        text = cert(number).payload
    decoded = decode(text)
    jwk = next(k for k in jwks["keys"] if k["kid"] == decoded.kid)
    public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    import cbor2

    public.verify(decoded.signature, cbor2.dumps(["Signature1", decoded.protected, b"", decoded.payload]))


def test_completion_issues_register_row_pdf_with_qr_and_wallet_document_at_a(world):
    (number,) = issue(world)
    with world.app_context():
        c = cert(number)
        holder = citizen()
        assert c.holder_id == holder.id and c.cert_type == "无犯罪记录证明" and c.item_code == "LJ-HJ-021"
        assert c.valid_until > c.issued_on and c.revoked_at is None
        claims = decode(c.payload).claims
        assert claims["id"] == holder.masked_id_number and "*" in claims["id"]
        assert holder.id_number not in c.payload and holder.id_number not in json.dumps(claims)
        wallet = db.session.get(WalletDocument, c.wallet_document_id)
        assert wallet.trust_level == TrustLevel.A and wallet.owner_id == holder.id
        assert wallet.expires_on == c.valid_until
        data = get_storage().open(c.storage_key)
        payload = c.payload
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "ecert.issue"))
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = reader.pages[0].extract_text()
    assert "无犯罪记录证明" in text and number in text and "有效期" in text
    (image,) = reader.pages[0].images
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == [payload]  # the QR printed on the PDF carries the signed payload


def test_first_issue_without_a_key_creates_the_bureau_key(world):
    issue(world, n=2)
    with world.app_context():
        (key,) = keys.all_keys()
        assert key.issuer == "" and key.retired_at is None


def test_without_a_key_and_auto_create_off_the_clerk_is_told_and_nothing_changes(world):
    world.config["ECERT_KEY_AUTO_CREATE"] = False
    with world.app_context():
        clerk = user("clerk_ps_dc_01")
        (aid,) = insert_submitted(1, state=State.ACCEPTED, claimed_by_id=clerk.id, delivery_method="ecert")
        commit()
        version = db.session.get(Application, aid).row_version
    client = world.test_client()
    login_staff(client, "clerk_ps_dc_01")
    r = client.post(
        f"/clerk/applications/{aid}/approve",
        data={"version": version, "delivery": "ecert"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "flask ecert keys create" in r.text
    with world.app_context():
        assert db.session.get(Application, aid).state == State.ACCEPTED
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_a_missing_private_key_file_is_a_clear_refusal(world):
    assert _cli(world, "keys", "create").exit_code == 0
    with world.app_context():
        (row,) = keys.all_keys()
        (keys.key_dir() / f"{row.kid}.pem").unlink()
        with pytest.raises(keys.NoSigningKey):
            keys.signer_for("LJ-PS-DC-01")


def test_rotation_keeps_earlier_certificates_valid_and_signs_new_ones_with_the_new_key(world):
    assert _cli(world, "keys", "create").exit_code == 0
    (old_number,) = issue(world)
    assert _cli(world, "keys", "create").exit_code == 0
    from tests.factories import CitizenFactory

    with world.app_context():
        other_id = CitizenFactory().id  # another holder: a second certificate of hers would replace the first
        commit()
    (new_number,) = issue(world, applicant_id=other_id)
    client = world.test_client()
    with world.app_context():
        old, new = cert(old_number), cert(new_number)
        assert old.kid != new.kid
        retired = db.session.get(SigningKey, old.kid)
        assert retired.retired_at is not None
        old_payload, new_payload = old.payload, new.payload
    kids = {k["kid"] for k in client.get("/.well-known/ecert-keys.json").get_json()["keys"]}
    assert kids == {old.kid, new.kid}
    for payload in (old_payload, new_payload):
        assert client.post("/api/v1/ecert/verify", json={"payload": payload}).get_json()["reason"] == "ok"


def test_a_unit_with_its_own_key_signs_with_it(world):
    assert _cli(world, "keys", "create").exit_code == 0
    assert _cli(world, "keys", "create", "--issuer", "LJ-PS-DC-01").exit_code == 0
    (number,) = issue(world)
    with world.app_context():
        assert db.session.get(SigningKey, cert(number).kid).issuer == "LJ-PS-DC-01"


def test_the_wallet_lists_the_certificate_and_shows_its_qr_large(world):
    (number,) = issue(world)
    client = world.test_client()
    login_citizen(client)
    page = client.get("/me/wallet")
    assert page.status_code == 200 and "出示二维码" in page.text and number in page.text
    with world.app_context():
        c = cert(number)
        cid, payload = c.id, c.payload
    shown = client.get(f"/me/ecerts/{cid}")
    assert shown.status_code == 200 and number in shown.text
    png = client.get(f"/me/ecerts/{cid}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == [payload]


def test_someone_elses_certificate_is_404(world):
    (number,) = issue(world)
    with world.app_context():
        cid = cert(number).id
    client = world.test_client()
    login_as(world, client, "citizen")
    assert client.get(f"/me/ecerts/{cid}").status_code == 404
    assert client.get(f"/me/ecerts/{cid}/qr.png").status_code == 404
    assert client.get("/me/ecerts/999999").status_code == 404


def test_deleting_the_wallet_copy_keeps_the_registers_pdf(world):
    (number,) = issue(world)
    client = world.test_client()
    login_citizen(client)
    with world.app_context():
        c = cert(number)
        wallet_id, key = c.wallet_document_id, c.storage_key
    assert client.post(f"/me/wallet/{wallet_id}/delete").status_code == 302
    with world.app_context():
        assert db.session.get(WalletDocument, wallet_id) is None
        assert get_storage().open(key).startswith(b"%PDF")  # still there for the register
        from applications.submission.operations import referenced_storage_keys

        assert key in referenced_storage_keys()  # and the orphan sweeper leaves it alone


def test_showing_or_sharing_needs_real_name_verification(world):
    from tests.auth.helpers import login
    from tests.factories import CitizenFactory

    with world.app_context():
        weak = CitizenFactory(assurance=1)
        commit()
        weak_id, mobile = weak.id, weak.mobile
    (number,) = issue(world, applicant_id=weak_id)
    with world.app_context():
        cid = cert(number).id
    client = world.test_client()
    assert login(client, mobile).status_code == 302
    assert "出示二维码" in client.get("/me/wallet").text  # listed, but …
    shown = client.get(f"/me/ecerts/{cid}")
    assert shown.status_code == 302 and shown.headers["Location"].endswith("/me/wallet")
    assert "须实名认证（L2）" in client.get("/me/wallet").text
    assert client.get(f"/me/ecerts/{cid}/qr.png").status_code == 403
    assert client.post(f"/me/ecerts/{cid}/share").status_code == 302
    with world.app_context():
        from applications.ecert.models import ShareLink

        assert db.session.scalar(select(ShareLink)) is None
