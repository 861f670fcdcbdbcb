"""The departments' side of the exchange: who they are, where their messages go, how both sides sign.

:mod:`core.outbox` delivers exchange messages but knows no department: :func:`directory` (registered as
``app.extensions["exchange_directory"]`` by :func:`applications.bundles.exchange.init_exchange`) turns a
department code into an :class:`core.outbox.Endpoint`. A department's shared secret is not stored: it is
derived from the keyring with the label ``exchange:<code>:<secret_generation>``
(:func:`core.crypto.derived_secret`), so every machine derives the same one; raising
``secret_generation`` rotates it. ``flask exchange secret <code>`` prints it for the operator to hand to
the department.

Signature (both directions): ``X-Signature`` = hex HMAC-SHA256 of ``<X-Timestamp>.<raw body>`` under the
secret, ``X-Timestamp`` in Unix seconds (:func:`core.outbox.sign`).
"""

from __future__ import annotations

import hmac

from sqlalchemy import select

from catalog.models import ExternalDepartment
from core.crypto import derived_secret
from core.db import db
from core.outbox import Endpoint, sign


def secret_label(code: str, generation: int) -> str:
    return f"exchange:{code}:{generation}"


def department_secret(department: ExternalDepartment) -> bytes:
    """The department's current shared secret (derived, never stored)."""
    return derived_secret(secret_label(department.code, department.secret_generation))


def secret_text(department: ExternalDepartment) -> str:
    """The secret as the operator hands it over (hex; the department uses the bytes it encodes)."""
    return department_secret(department).hex()


def find(code: str, *, active_only: bool = True) -> ExternalDepartment | None:
    stmt = select(ExternalDepartment).where(ExternalDepartment.code == code)
    if active_only:
        stmt = stmt.where(ExternalDepartment.active.is_(True))
    return db.session.scalar(stmt)


def directory(code: str) -> Endpoint | None:
    """The department's endpoint for the outbox worker (None: unknown or inactive). Runs between the
    worker's claim and record commits, so it ends its own read transaction (SQLite locks otherwise)."""
    try:
        department = find(code)
        if department is None:
            return None
        return Endpoint(
            code=department.code, url=department.endpoint_url or "", secret=department_secret(department)
        )
    finally:
        db.session.rollback()


def verify(department: ExternalDepartment, timestamp: str, raw: bytes, signature: str) -> bool:
    """Whether ``signature`` is the department's signature of ``timestamp`` and ``raw``."""
    expected = sign(department_secret(department), timestamp, raw)
    return hmac.compare_digest(expected, (signature or "").strip().lower())
