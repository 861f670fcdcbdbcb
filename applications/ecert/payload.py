"""The QR payload, as the EU Digital COVID Certificate defines it: CBOR claims → COSE_Sign1 (RFC 9052)
→ zlib → base45 (RFC 9285) → prefix ``LJ1:``. Pure functions, no Flask, no database.

COSE_Sign1 is built with cbor2 and signed by :mod:`applications.ecert.signing` (the cryptography
package): the structure is four CBOR items, and the bytes signed are the RFC's ``Sig_structure``
(``["Signature1", protected, external_aad, payload]``). pycose would do the same but pulls in ecdsa and
certvalidator for algorithms we do not use.

Claims: the CWT registered claims ``iss`` (1), ``exp`` (4), ``iat`` (6) as epoch seconds, and the
certificate itself under the private claim ``-70001`` as a map with text keys (``type``, ``number``,
``holder``, ``id``, ``issued``, ``valid_until``, ``issuer``, ``item``), ``id`` being the masked ID.

:func:`verify` answers every input — a forged, truncated, foreign or random text — with a
:class:`Verdict`, never an exception.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import base45
import cbor2

from applications.ecert.signing import Signer, Verifier

PREFIX = "LJ1:"
COSE_SIGN1_TAG = 18
HDR_ALG = 1
HDR_KID = 4
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT = 1, 4, 6
CLAIM_CERT = -70001
CLAIM_KEYS = ("type", "number", "holder", "id", "issued", "valid_until", "issuer", "item")
#: a payload longer than this is refused before decoding (a QR code holds < 3 KB)
MAX_TEXT = 4096
MAX_INFLATED = 16384
_CST = timezone(timedelta(hours=8))


class Reason(enum.StrEnum):
    OK = "ok"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"


class Malformed(ValueError):
    """The text is not a well-formed LJ1 payload."""


@dataclass
class Decoded:
    kid: str
    alg: int | None
    protected: bytes
    payload: bytes
    signature: bytes
    claims: dict

    def to_be_signed(self) -> bytes:
        return sig_structure(self.protected, self.payload)


@dataclass
class Verdict:
    reason: Reason
    claims: dict = field(default_factory=dict)
    kid: str = ""
    detail: str = ""

    @property
    def genuine(self) -> bool:
        return self.reason is Reason.OK


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _epoch(day: date, *, end: bool = False) -> int:
    moment = datetime.combine(day, time.max if end else time.min, _CST)
    return int(moment.timestamp())


def build_claims(cert: Mapping[str, str]) -> dict:
    """The CBOR claims map of a certificate given as text fields (``issued``/``valid_until`` ISO dates)."""
    missing = [k for k in CLAIM_KEYS if k not in cert]
    if missing:
        raise ValueError(f"missing claims {missing}")
    return {
        CLAIM_ISS: cert["issuer"],
        CLAIM_IAT: _epoch(date.fromisoformat(cert["issued"])),
        CLAIM_EXP: _epoch(date.fromisoformat(cert["valid_until"]), end=True),
        CLAIM_CERT: {k: str(cert[k]) for k in CLAIM_KEYS},
    }


def encode(cert: Mapping[str, str], signer: Signer) -> str:
    """Sign ``cert`` and return the ``LJ1:`` text for the QR code."""
    protected = cbor2.dumps({HDR_ALG: signer.cose_alg, HDR_KID: signer.kid.encode("ascii")})
    payload = cbor2.dumps(build_claims(cert))
    signature = signer.sign(sig_structure(protected, payload))
    sign1 = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return PREFIX + base45.b45encode(zlib.compress(sign1, 9)).decode("ascii")


def decode(text: str) -> Decoded:
    """Undo the layers without checking the signature; raises :class:`Malformed` on anything odd."""
    if not isinstance(text, str):
        raise Malformed("not text")
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise Malformed("too long")
    if not text.startswith(PREFIX):
        raise Malformed("prefix")
    try:
        compressed = base45.b45decode(text[len(PREFIX) :])
        inflater = zlib.decompressobj()
        raw = inflater.decompress(compressed, MAX_INFLATED)
        if inflater.unconsumed_tail:
            raise Malformed("too large")
        item = cbor2.loads(raw)
    except Malformed:
        raise
    except Exception as exc:  # base45, zlib and cbor2 raise a variety of errors on garbage
        raise Malformed(type(exc).__name__) from exc
    if isinstance(item, cbor2.CBORTag):
        if item.tag != COSE_SIGN1_TAG:
            raise Malformed("tag")
        item = item.value
    if not (isinstance(item, (list, tuple)) and len(item) == 4):
        raise Malformed("structure")
    protected, _unprotected, payload, signature = item
    if not all(isinstance(x, bytes) for x in (protected, payload, signature)):
        raise Malformed("structure")
    try:
        header = cbor2.loads(protected) if protected else {}
        claims = cbor2.loads(payload)
    except Exception as exc:
        raise Malformed(type(exc).__name__) from exc
    if not isinstance(header, Mapping) or not isinstance(claims, Mapping):
        raise Malformed("structure")
    kid = header.get(HDR_KID)
    if not isinstance(kid, bytes):
        raise Malformed("kid")
    cert = claims.get(CLAIM_CERT)
    if not isinstance(cert, Mapping) or any(not isinstance(cert.get(k), str) for k in CLAIM_KEYS):
        raise Malformed("claims")
    try:
        kid_text = kid.decode("ascii")
        date.fromisoformat(cert["issued"])
        date.fromisoformat(cert["valid_until"])
    except ValueError as exc:
        raise Malformed("claims") from exc
    alg = header.get(HDR_ALG)
    return Decoded(
        kid=kid_text,
        alg=alg if isinstance(alg, int) else None,
        protected=protected,
        payload=payload,
        signature=signature,
        claims={k: cert[k] for k in CLAIM_KEYS},
    )


def verify(
    text: str,
    keys: Mapping[str, Verifier],
    *,
    today: date,
    is_revoked: Callable[[str], bool] | None = None,
) -> Verdict:
    """Decode and check ``text``: well-formed, known key, signature, then (online only, when
    ``is_revoked`` is given) the revocation list, then the validity dates. The first failure is the reason."""
    try:
        decoded = decode(text)
    except Malformed as exc:
        return Verdict(Reason.MALFORMED, detail=str(exc))
    verifier = keys.get(decoded.kid)
    if verifier is None:
        return Verdict(Reason.UNKNOWN_KEY, kid=decoded.kid)
    if decoded.alg != verifier.cose_alg or not verifier.verify(decoded.signature, decoded.to_be_signed()):
        return Verdict(Reason.BAD_SIGNATURE, kid=decoded.kid)
    claims = decoded.claims
    verdict = Verdict(Reason.OK, claims=claims, kid=decoded.kid)
    if is_revoked is not None and is_revoked(claims["number"]):
        verdict.reason = Reason.REVOKED
    elif today < date.fromisoformat(claims["issued"]):
        verdict.reason = Reason.NOT_YET_VALID
    elif today > date.fromisoformat(claims["valid_until"]):
        verdict.reason = Reason.EXPIRED
    return verdict
