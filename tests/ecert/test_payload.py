"""The seal as pure functions: sign → encode → decode → verify, and every way a payload is refused."""

from __future__ import annotations

import zlib
from datetime import date

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from applications.ecert import payload
from applications.ecert.payload import Reason, decode, encode, verify
from applications.ecert.signing import Ed25519Signer, Ed25519Verifier, kid_for

CERT = {
    "type": "无犯罪记录证明",
    "number": "LJZZ20261206ABCDEF01",
    "holder": "张三",
    "id": "330102********4214",
    "issued": "2026-12-06",
    "valid_until": "2027-12-05",
    "issuer": "临江市公安局东城派出所",
    "item": "LJ-HJ-021",
}
TODAY = date(2026, 12, 7)


def _signer() -> Ed25519Signer:
    key = Ed25519PrivateKey.generate()
    return Ed25519Signer(kid=kid_for(key.public_key()), private_key=key)


def _keys(*signers: Ed25519Signer) -> dict:
    return {s.kid: Ed25519Verifier(s.private_key.public_key()) for s in signers}


def test_round_trip():
    signer = _signer()
    text = encode(CERT, signer)
    assert text.startswith("LJ1:")
    assert set(text[4:]) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")  # QR alphanumeric
    verdict = verify(text, _keys(signer), today=TODAY)
    assert verdict.reason is Reason.OK and verdict.genuine
    assert verdict.claims == CERT and verdict.kid == signer.kid


def test_the_structure_is_a_tagged_cose_sign1_with_eddsa_and_cwt_claims():
    signer = _signer()
    raw = zlib.decompress(base45.b45decode(encode(CERT, signer)[4:]))
    item = cbor2.loads(raw)
    assert isinstance(item, cbor2.CBORTag) and item.tag == 18
    protected, unprotected, body, signature = item.value
    assert cbor2.loads(protected) == {1: -8, 4: signer.kid.encode()}
    assert unprotected == {} and len(signature) == 64
    claims = cbor2.loads(body)
    assert claims[1] == CERT["issuer"] and claims[6] < claims[4]
    assert claims[-70001]["id"] == "330102********4214"
    # the signature covers the RFC 9052 Sig_structure, checkable without our code
    signer.private_key.public_key().verify(signature, cbor2.dumps(["Signature1", protected, b"", body]))


def _flip(text: str, index: int) -> str:
    """Flip one bit of the signed COSE bytes and re-wrap (the damage a forger would do)."""
    raw = bytearray(zlib.decompress(base45.b45decode(text[4:])))
    raw[index] ^= 0x01
    return "LJ1:" + base45.b45encode(zlib.compress(bytes(raw))).decode()


def test_a_flipped_byte_in_the_claims_is_a_bad_signature():
    signer = _signer()
    text = encode(CERT, signer)
    raw = zlib.decompress(base45.b45decode(text[4:]))
    at = raw.index("张三".encode())  # change the holder's name by one bit
    verdict = verify(_flip(text, at), _keys(signer), today=TODAY)
    assert verdict.reason is Reason.BAD_SIGNATURE
    assert verdict.claims == {}  # forged claims are never shown as if they were the certificate's


def test_a_flipped_byte_in_the_signature_is_a_bad_signature():
    signer = _signer()
    text = encode(CERT, signer)
    raw = zlib.decompress(base45.b45decode(text[4:]))
    assert verify(_flip(text, len(raw) - 1), _keys(signer), today=TODAY).reason is Reason.BAD_SIGNATURE


def test_signed_by_another_key_under_a_known_kid_is_a_bad_signature():
    genuine, forger = _signer(), _signer()
    forged = encode(CERT, Ed25519Signer(kid=genuine.kid, private_key=forger.private_key))
    assert verify(forged, _keys(genuine), today=TODAY).reason is Reason.BAD_SIGNATURE


def test_an_unpublished_key_is_unknown():
    genuine, other = _signer(), _signer()
    verdict = verify(encode(CERT, other), _keys(genuine), today=TODAY)
    assert verdict.reason is Reason.UNKNOWN_KEY and verdict.kid == other.kid


def test_expired_and_not_yet_valid():
    signer = _signer()
    text = encode(CERT, signer)
    assert verify(text, _keys(signer), today=date(2027, 12, 5)).reason is Reason.OK  # last day counts
    assert verify(text, _keys(signer), today=date(2027, 12, 6)).reason is Reason.EXPIRED
    assert verify(text, _keys(signer), today=date(2026, 12, 5)).reason is Reason.NOT_YET_VALID


def test_revoked_is_checked_when_a_revocation_lookup_is_given():
    signer = _signer()
    text = encode(CERT, signer)
    asked = []
    verdict = verify(text, _keys(signer), today=TODAY, is_revoked=lambda n: asked.append(n) or True)
    assert verdict.reason is Reason.REVOKED and asked == [CERT["number"]]
    assert verify(text, _keys(signer), today=TODAY, is_revoked=lambda n: False).reason is Reason.OK


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "LJ1:",
        "LJ1:!!!!",
        "LJ1:" + "A" * 30,
        "HC1:NCFOXN%TS3DH",
        "LJ1:" + base45.b45encode(b"not zlib").decode(),
        "LJ1:" + base45.b45encode(zlib.compress(b"\xff\xff")).decode(),
        "LJ1:" + base45.b45encode(zlib.compress(cbor2.dumps([1, 2, 3]))).decode(),
        "LJ1:" + base45.b45encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(98, [])))).decode(),
        "LJ1:" + base45.b45encode(zlib.compress(cbor2.dumps([b"", {}, b"", b""]))).decode(),
        "LJ1:" + base45.b45encode(zlib.compress(b"\0" * 100000)).decode(),  # a zip bomb in small
        "LJ1:" + "0" * 5000,
    ],
)
def test_malformed_input_is_refused_as_malformed(text):
    assert verify(text, _keys(_signer()), today=TODAY).reason is Reason.MALFORMED


def test_claims_without_the_certificate_fields_are_malformed():
    signer = _signer()
    protected = cbor2.dumps({1: -8, 4: signer.kid.encode()})
    body = cbor2.dumps({1: "x", -70001: {"type": "x"}})
    sig = signer.sign(payload.sig_structure(protected, body))
    text = (
        "LJ1:"
        + base45.b45encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, body, sig])))).decode()
    )
    assert verify(text, _keys(signer), today=TODAY).reason is Reason.MALFORMED


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gets_a_verdict_never_an_exception(text):
    verdict = verify("LJ1:" + text, {}, today=TODAY)
    assert verdict.reason in (Reason.MALFORMED, Reason.UNKNOWN_KEY)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=7))
def test_any_single_bit_flip_of_the_text_is_refused_or_is_the_same_signed_certificate(position, bit):
    """A flip is refused — unless it only touched the padding bits after deflate's last block (the
    last characters of the text), which zlib ignores: then the text still inflates to the very same
    signed certificate, byte for byte. No flip yields a different certificate that verifies."""
    signer = _signer_fixed
    text = _text_fixed
    i = 4 + position % (len(text) - 4)
    flipped = text[:i] + chr(ord(text[i]) ^ (1 << bit)) + text[i + 1 :]
    if flipped == text:
        return
    if verify(flipped, _keys(signer), today=TODAY).reason is Reason.OK:
        assert decode(flipped) == decode(text)
        assert i >= len(text) - 12  # the deflate stream's last byte: within the last few characters


def test_a_flip_in_deflates_padding_bits_still_reads_as_the_same_certificate():
    """Found by the property above (one run in a few hundred): the unused bits of the deflate stream's
    last byte. Every such text verifies as the original, and no other flip verifies at all."""
    signer = _signer()
    text = encode(CERT, signer)
    passed = []
    for i in range(4, len(text)):
        for bit in range(8):
            flipped = text[:i] + chr(ord(text[i]) ^ (1 << bit)) + text[i + 1 :]
            if verify(flipped, _keys(signer), today=TODAY).reason is Reason.OK:
                assert decode(flipped) == decode(text)
                passed.append(i)
    assert all(i >= len(text) - 12 for i in passed)


_signer_fixed = _signer()
_text_fixed = encode(CERT, _signer_fixed)


def test_decode_exposes_the_kid():
    signer = _signer()
    assert decode(encode(CERT, signer)).kid == signer.kid
