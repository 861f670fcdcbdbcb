"""The append-only audit trail: who did what to which object, when and from where.

Rows are only ever inserted (:func:`record`). The ORM refuses updates and deletes of loaded rows, and
the migration adds database triggers that refuse ``UPDATE``/``DELETE`` on both SQLite and PostgreSQL,
so no route — and no bug — can rewrite history.

**Tamper evidence.** Someone with the database owner's rights can still drop the triggers. So every
row also carries ``row_hash`` = sha256 over a canonical JSON of its fields (:func:`canonical`) and the
previous row's hash (``prev_hash``, in id order): editing, deleting or reordering a row breaks the
chain at that row, and ``flask audit verify`` (:func:`verify_chain`) names it. The hash is computed in
the mapper's ``before_insert`` — part of writing the row, like a column default, so every ORM insert
(``record`` or a test's own ``AuditLog(...)``) is chained — with ``batch=False`` so each row is inserted
before the next one's hash is computed. The chain must be linear, so computing a hash and inserting
its row is serialised: on PostgreSQL by a transaction-scoped advisory lock (:data:`CHAIN_LOCK`) taken
before the last hash is read and held to the commit (a concurrent transaction waits, then reads the
row just committed — READ COMMITTED gives each statement a fresh snapshot); on SQLite by its single
writer (every write transaction starts ``BEGIN IMMEDIATE``, :mod:`core.db`; a read transaction that
tries to write after another writer committed fails with SQLITE_BUSY instead of forking the chain).
The lock is taken at the flush that inserts the row — usually the commit's — so it is held briefly.
Removing the *newest* rows cannot be seen from inside the chain: ``verify`` prints the head hash and
the count so an operator can keep them elsewhere (a log, a ticket) and compare later.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import JSON, BigInteger, Connection, Index, Integer, String, event, select, text
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
    #: The previous row's ``row_hash`` (None for the first row of the chain).
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    #: sha256 (hex) of :func:`canonical` of this row, chained to ``prev_hash``; set on insert.
    row_hash: Mapped[str | None] = mapped_column(String(64))

    # one row at a time: each row's hash needs the previous row inserted first (see the module docstring)
    __mapper_args__ = {"batch": False}
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


#: The PostgreSQL advisory lock key that serialises the chain (any fixed 64-bit number; "AUDITCHN").
CHAIN_LOCK = 0x415544495443484E
#: The fields a row's hash covers, in this order (the id is not among them: the chain orders rows).
HASHED_FIELDS = (
    "at",
    "actor_id",
    "actor_label",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "ip",
    "details",
)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _at_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # a raw-SQL read on SQLite
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(fields: dict[str, Any], prev_hash: str | None) -> str:
    """The text a row's hash is taken over: its :data:`HASHED_FIELDS` and the previous hash, as JSON
    with sorted keys and no spaces (``at`` as UTC ISO 8601 with microseconds)."""
    body = {name: fields.get(name) for name in HASHED_FIELDS}
    body["at"] = _at_text(body["at"])
    details = body["details"]
    body["details"] = json.loads(details) if isinstance(details, str) else (details or {})
    body["prev_hash"] = prev_hash
    return _json(body)


def row_hash(fields: dict[str, Any], prev_hash: str | None) -> str:
    return hashlib.sha256(canonical(fields, prev_hash).encode("utf-8")).hexdigest()


def lock_chain(connection: Connection) -> None:
    """Serialise chain writers until this transaction ends (PostgreSQL; SQLite has one writer)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})


def last_hash(connection: Connection) -> str | None:
    table = AuditLog.__table__
    return connection.execute(select(table.c.row_hash).order_by(table.c.id.desc()).limit(1)).scalar()


@event.listens_for(AuditLog, "before_insert")
def _chain(mapper, connection, target: AuditLog) -> None:
    """Give the row its place in the chain just before it is inserted (``batch=False``: one at a time)."""
    if target.at is None:
        target.at = utcnow()
    # stored as JSON, read back as JSON: hash what a later read will see (tuples → lists, keys → text)
    # (key order kept: the audit viewer shows fields in the order the operation wrote them; the hash
    # sorts keys itself)
    target.details = json.loads(json.dumps(target.details or {}, ensure_ascii=False))
    lock_chain(connection)
    prev = last_hash(connection)
    target.prev_hash = prev
    target.row_hash = row_hash({name: getattr(target, name) for name in HASHED_FIELDS}, prev)


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found: ``broken_at`` is the first row id that does not fit (None: OK)."""

    count: int
    head: str | None
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(connection: Connection, *, chunk: int = 5000) -> ChainReport:
    """Walk every row in id order, recompute its hash and check it links to the row before.

    A row whose own fields were edited fails its hash; a deleted row makes the next row's
    ``prev_hash`` point at nothing it follows; swapped rows fail both. Rows are read ``chunk`` at a
    time (keyset on id), so memory stays flat on a trail of millions of rows, each chunk in a short
    transaction of its own (on SQLite every transaction outside a request is a writer's, and a walk
    over the whole trail must not hold the portal's writers up); rows appended meanwhile are walked too.
    """
    table = AuditLog.__table__
    columns = [table.c.id, *(table.c[name] for name in HASHED_FIELDS), table.c.prev_hash, table.c.row_hash]
    prev: str | None = None
    count = 0
    after = 0
    while True:
        rows = connection.execute(
            select(*columns).where(table.c.id > after).order_by(table.c.id).limit(chunk)
        ).all()
        if connection.in_transaction():
            connection.commit()
        if not rows:
            return ChainReport(count=count, head=prev)
        for row in rows:
            fields = row._mapping
            if fields["row_hash"] is None:
                return ChainReport(count, prev, row.id, "no hash")
            if fields["prev_hash"] != prev:
                return ChainReport(count, prev, row.id, "does not follow the previous row")
            if row_hash(dict(fields), prev) != fields["row_hash"]:
                return ChainReport(count, prev, row.id, "content does not match its hash")
            prev = fields["row_hash"]
            count += 1
        after = rows[-1].id


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
