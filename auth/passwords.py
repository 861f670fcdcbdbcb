"""Argon2id password hashing (argon2-cffi), parameters from the app config."""

from __future__ import annotations

from contextlib import suppress

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# A fixed hash to verify against when the account does not exist, so both answers cost the same.
_DUMMY_PASSWORD = "not-a-real-password-0"  # noqa: S105 - verified against, never accepted


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    key = (cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])
    ext = current_app.extensions.setdefault("argon2", {})
    if key not in ext:
        ext[key] = PasswordHasher(time_cost=key[0], memory_cost=key[1], parallelism=key[2])
    return ext[key]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check ``password``; with ``stored_hash=None`` burn the same time and answer False."""
    hasher = _hasher()
    if stored_hash is None:
        ext = current_app.extensions.setdefault("argon2_dummy", {})
        dummy = ext.get("hash") or ext.setdefault("hash", hasher.hash(_DUMMY_PASSWORD))
        with suppress(VerificationError):
            hasher.verify(dummy, password)
        return False
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)
