"""Database base: declarative ``Base`` with a naming convention, ``db`` and ``utcnow``.

SQLite gets WAL, a busy timeout and foreign keys on every connection. Write transactions begin with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing with "database is
locked" when one upgrades a stale read snapshot; safe-method requests (GET/HEAD) keep a deferred
``BEGIN`` so readers never wait for the write lock.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from flask import current_app, has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (use as a *callable* default)."""
    return datetime.now(UTC)


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
