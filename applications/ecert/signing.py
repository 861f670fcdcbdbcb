"""The seal's signer and verifier behind a small interface, so another algorithm (SM2 with SM3, the
national standard GB/T 32918, once a maintained library is pinned) can be added without touching the
payload format: COSE names the algorithm in the protected header and the verifier dispatches on it.

Only Ed25519 is implemented (COSE ``alg`` -8, EdDSA; RFC 8032 via ``cryptography``)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

#: COSE algorithm identifiers (IANA "COSE Algorithms" registry)
COSE_EDDSA = -8


class Signer(Protocol):
    """Signs bytes with a private key known by ``kid``."""

    kid: str
    cose_alg: int

    def sign(self, data: bytes) -> bytes: ...


class Verifier(Protocol):
    """Checks a signature with a public key; ``verify`` returns False rather than raising."""

    cose_alg: int

    def verify(self, signature: bytes, data: bytes) -> bool: ...


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kid_for(public: Ed25519PublicKey) -> str:
    """The key id: the first 8 bytes of SHA-256 of the raw public key, base64url (as the EU DCC
    derives its kid from the signing certificate) — stable, short, and unique in practice."""
    return b64url(hashlib.sha256(raw_public(public)).digest()[:8])


@dataclass
class Ed25519Signer:
    kid: str
    private_key: Ed25519PrivateKey
    cose_alg: int = COSE_EDDSA

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


@dataclass
class Ed25519Verifier:
    public_key: Ed25519PublicKey
    cose_alg: int = COSE_EDDSA

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self.public_key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


def verifier_from_jwk(jwk: dict) -> Ed25519Verifier:
    """A verifier from one JWK of the published set (``kty`` OKP, ``crv`` Ed25519); raises
    ``ValueError`` for anything else."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
        raise ValueError("not an Ed25519 OKP key")
    return Ed25519Verifier(Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"])))


def jwk_for(kid: str, public_x: str) -> dict:
    return {"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": public_x, "use": "sig", "alg": "EdDSA"}
