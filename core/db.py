"""Database base: declarative ``Base`` with a naming convention, ``db`` and ``utcnow``.

SQLite gets WAL, a busy timeout and foreign keys on every connection. Write transactions begin with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing with "database is
locked" when one upgrades a stale read snapshot; safe-method requests (GET/HEAD) keep a deferred
``BEGIN`` so readers never wait for the write lock.
"""

from __future__ import annotations

import enum
import functools
import re
from datetime import UTC, datetime
from typing import Any

from flask import current_app, has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData, Select, bindparam, event, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapper
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator

from core import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (use as a *callable* default): :func:`core.clock.now`."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use core.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(enum_cls: type[enum.Enum], name: str, length: int = 32) -> Enum:
    """An enum stored as its string *values* in a VARCHAR, with a named CHECK constraint."""
    return Enum(
        enum_cls,
        native_enum=False,
        values_callable=lambda cls: [m.value for m in cls],
        length=length,
        create_constraint=True,
        name=name,
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):  # pragma: no cover - exercised via SQLite
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    # Let SQLAlchemy (not pysqlite) emit BEGIN, so we can choose IMMEDIATE.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def writes_on_get(view):
    """Mark a GET view that writes (an audited document view, an audited export) so its SQLite
    transaction starts as a writer (``BEGIN IMMEDIATE``) like a POST's."""
    view.writes_on_get = True
    return view


def _wants_immediate() -> bool:
    if has_request_context():
        if request.method not in {"GET", "HEAD", "OPTIONS"}:
            return True
        view = current_app.view_functions.get(request.endpoint or "")
        return bool(getattr(view, "writes_on_get", False))
    return True


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):  # pragma: no cover - exercised via SQLite
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if _wants_immediate() else "BEGIN")


def is_postgres() -> bool:
    """True when the bound database is PostgreSQL."""
    return db.engine.dialect.name == "postgresql"


# Read-only requests end in COMMIT on PostgreSQL ----------------------------------------------------------

_READS = re.compile(r"\s*SELECT\b", re.IGNORECASE)


@event.listens_for(Engine, "begin")
def _reads_only_so_far(conn) -> None:
    conn.info["wrote"] = False


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    if not _READS.match(statement):
        conn.info["wrote"] = True


def init_read_only_commit(app) -> None:
    """End a PostgreSQL request that only read with COMMIT rather than the session's ROLLBACK.

    psycopg prepares a statement on a connection once it has run five times, and drops every prepared
    statement on ROLLBACK (one prepared inside the rolled-back transaction would be gone on the server).
    A read-only page view ended in ROLLBACK, so the portal's statements were parsed and planned anew on
    every request — a queue page's four statements spent more time there than running. A transaction
    that ran nothing but SELECTs (``_note_writes`` watches every statement) and holds no unflushed
    change commits exactly as it would roll back, so this after-request hook commits it. Anything else
    — a write, a pending change, an error response, a streamed body still to read the database — is
    left to the usual teardown rollback.
    """

    @app.after_request
    def _commit_read_only(response):
        if response.status_code >= 500 or response.is_streamed or db.engine.dialect.name != "postgresql":
            return response
        session = db.session()  # this request's session (not the scoped proxy)
        if not session.in_transaction() or session.new or session.dirty or session.deleted:
            return response
        if session.connection().info.get("wrote", True):
            return response
        try:
            session.commit()
        except Exception:  # noqa: BLE001 - leave it to the teardown rollback; the answer stands
            session.rollback()
        return response


@functools.cache
def _children_statement(mapper: Mapper, name: str) -> tuple[Select, str]:
    """The statement that loads relationship ``name`` of ``mapper``'s objects (a one-to-many on one
    foreign key, in the relationship's order) with the parent's key as parameter ``parent``, and the
    parent's attribute that holds that key: built once."""
    relation = mapper.relationships[name]
    ((parent_column, child_column),) = relation.local_remote_pairs
    statement = select(relation.mapper).where(child_column == bindparam("parent"))
    if relation.order_by:
        statement = statement.order_by(*relation.order_by)
    return statement, mapper.get_property_by_column(parent_column).key


def load_collections(obj: Any, *names: str) -> None:
    """Load the one-to-many collections ``names`` of ``obj`` that are not loaded yet, each through a
    statement built once per worker — what a lazy load would find, without building that statement and
    its cache key again on every access (the application pages read three to five collections per
    view). A collection already loaded, or changed in this session, is left as it is."""
    state = inspect(obj)
    for name in names:
        if name in state.unloaded:
            statement, parent = _children_statement(state.mapper, name)
            rows = db.session.scalars(statement, {"parent": getattr(obj, parent)}).all()
            set_committed_value(obj, name, list(rows))
