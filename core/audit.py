"""The append-only audit trail: who did what to which object, when and from where.

Rows are only ever inserted (:func:`record`). The ORM refuses updates and deletes of loaded rows, and
the migration adds database triggers that refuse ``UPDATE``/``DELETE`` on both SQLite and PostgreSQL,
so no route — and no bug — can rewrite history.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import JSON, BigInteger, Index, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow
from core.masking import mask_value

log = logging.getLogger("portal.audit")


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_label: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_id_at", "actor_id", "at"),
        Index("ix_audit_log_object", "object_type", "object_id"),
        Index("ix_audit_log_action_at", "action", "at"),
    )


class AuditImmutable(RuntimeError):
    """Raised when code tries to change or delete an audit row."""


@event.listens_for(AuditLog, "before_update")
def _refuse_update(mapper, connection, target):  # pragma: no cover - guard
    raise AuditImmutable("audit rows are append-only")


@event.listens_for(AuditLog, "before_delete")
def _refuse_delete(mapper, connection, target):  # pragma: no cover - guard
    raise AuditImmutable("audit rows are append-only")


def _current_actor() -> tuple[int | None, str | None, str | None]:
    if not has_request_context():
        return None, None, None
    from flask_login import current_user  # local: login may not be initialised in scripts

    if current_user and getattr(current_user, "is_authenticated", False):
        return current_user.id, current_user.audit_label, current_user.role_value
    return None, None, None


def record(
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    details: dict[str, Any] | None = None,
    actor: Any = None,
) -> AuditLog:
    """Add an audit row to the current transaction (the caller commits with its own work).

    ``actor`` defaults to the logged-in user; pass a user explicitly for events such as a login,
    or ``None`` outside a request (CLI). Details are masked before they are stored, and the event is
    also written to the ``portal.audit`` log (masked; the table stays the record of truth).
    """
    if actor is not None:
        actor_id, label, role = actor.id, actor.audit_label, actor.role_value
    else:
        actor_id, label, role = _current_actor()
    ip = None
    if has_request_context():
        ip = request.remote_addr
    row = AuditLog(
        actor_id=actor_id,
        actor_label=label,
        actor_role=role,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        ip=ip,
        details=mask_value(details or {}),
    )
    db.session.add(row)
    log.info(
        "audit %s",
        action,
        extra={"actor": label, "object": f"{object_type}:{row.object_id}", "details": row.details, "ip": ip},
    )
    return row
