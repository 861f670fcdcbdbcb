"""Signing keys: the private half in a file of the key folder (``ECERT_KEY_DIR``, default
``INSTANCE_DIR/ecert-keys``, folder 0700, files 0600, never in the database or the repository), the
public half in :class:`~applications.ecert.models.SigningKey`. Creating a key for an issuer retires
its previous key, which stays published (old certificates keep verifying) but signs nothing more.

An HSM later replaces :func:`signer_for` (it only has to return a :class:`~.signing.Signer`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy import select

from applications.ecert.models import SigningKey
from applications.ecert.signing import (
    Ed25519Signer,
    Ed25519Verifier,
    Signer,
    Verifier,
    b64url,
    b64url_decode,
    jwk_for,
    kid_for,
    raw_public,
    verifier_from_jwk,
)
from core import audit
from core.db import db, utcnow
from core.errors import DomainError
from core.i18n import N_


class NoSigningKey(DomainError):
    """No usable key: ``flask ecert keys create`` has not been run (or its file is missing here)."""


def key_dir() -> Path:
    configured = current_app.config.get("ECERT_KEY_DIR") or os.environ.get("ECERT_KEY_DIR")
    return Path(configured or Path(current_app.config["INSTANCE_DIR"]) / "ecert-keys")


def _private_path(kid: str) -> Path:
    return key_dir() / f"{kid}.pem"


def _write_private(path: Path, pem: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())


def active_key(issuer: str = "") -> SigningKey | None:
    """The issuer's current key, newest first."""
    return db.session.scalar(
        select(SigningKey)
        .where(SigningKey.issuer == issuer, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc())
        .limit(1)
    )


def create_key(issuer: str = "") -> SigningKey:
    """A new Ed25519 key for ``issuer`` (a unit code, or "" for the bureau-wide key): private file
    written 0600, public row added, the issuer's previous key retired; audited ``ecert.key_create``."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    kid = kid_for(public)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(_private_path(kid), pem)
    now = utcnow()
    for old in db.session.scalars(
        select(SigningKey).where(SigningKey.issuer == issuer, SigningKey.retired_at.is_(None))
    ):
        old.retired_at = now
    row = SigningKey(kid=kid, issuer=issuer, public_key=b64url(raw_public(public)), created_at=now)
    db.session.add(row)
    db.session.flush()
    audit.record("ecert.key_create", object_type="ecert_key", object_id=kid, details={"issuer": issuer})
    return row


def signer_for(issuer_code: str) -> Signer:
    """The signer of a unit: its own active key, else the bureau-wide one. With none and
    ``ECERT_KEY_AUTO_CREATE`` (default on, like the generated secret key: right for one machine,
    wrong for several) the bureau key is created now; otherwise :class:`NoSigningKey`."""
    key = active_key(issuer_code) or active_key("")
    if key is None:
        if not current_app.config.get("ECERT_KEY_AUTO_CREATE", True):
            raise NoSigningKey(N_("尚未配置电子证照签名密钥，请管理员执行 flask ecert keys create。"))
        key = create_key("")
    try:
        pem = _private_path(key.kid).read_bytes()
    except OSError as exc:
        raise NoSigningKey(N_("电子证照签名密钥文件缺失，请联系管理员。")) from exc
    private = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise NoSigningKey(N_("电子证照签名密钥类型不正确，请联系管理员。"))
    return Ed25519Signer(kid=key.kid, private_key=private)


def all_keys() -> list[SigningKey]:
    return list(db.session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.kid)))


def verifiers() -> dict[str, Verifier]:
    """Every published key (current and retired) by kid."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return {
        k.kid: Ed25519Verifier(Ed25519PublicKey.from_public_bytes(b64url_decode(k.public_key)))
        for k in all_keys()
    }


def jwks() -> dict:
    """The public JWK set (RFC 7517 / RFC 8037 OKP keys) of every key, retired ones included."""
    return {"keys": [jwk_for(k.kid, k.public_key) for k in all_keys()]}


def verifiers_from_jwks(text: str) -> dict[str, Verifier]:
    """The verifiers of a JWK set file (offline verification); keys that are not Ed25519 are skipped;
    raises ``ValueError`` when the text is not a JWK set."""
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("not a JWK set")
    found: dict[str, Verifier] = {}
    for jwk in data["keys"]:
        if isinstance(jwk, dict) and isinstance(jwk.get("kid"), str):
            try:
                found[jwk["kid"]] = verifier_from_jwk(jwk)
            except ValueError:
                continue
    return found
