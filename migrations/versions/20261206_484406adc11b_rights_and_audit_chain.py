"""Citizens' rights and a tamper-evident audit trail (issue 18 item 6).

- ``users.deleted_at``: the holder deleted the account (PIPL §47); the row stays, anonymised, so
  applications, statistics and audit rows keep pointing at it.
- ``audit_log.prev_hash`` / ``audit_log.row_hash``: each row's sha256 over a canonical JSON of its
  fields and the previous row's hash (see core.audit). New rows get theirs on insert.

Rows already present are chained here, in id order. The append-only triggers refuse every UPDATE,
so this migration **drops the triggers, fills the two columns, and creates the same triggers again**,
all in the migration's transaction (PostgreSQL has transactional DDL: nobody ever sees the table
unguarded; on SQLite the migration runs while the portal is stopped). The other choice — a trigger
that lets ``row_hash`` go from NULL to a value — would leave a permanent way to write into audit
rows (insert a row without a hash, "complete" it later), and the trigger is the one thing that must
stay simple. The hash function is copied here rather than imported: a migration must keep doing
what it did when the application code changes; tests/core/test_audit_chain.py checks that a trail
chained by this migration verifies with core.audit.

Downgrade drops the columns (SQLite: a batch table copy, which would lose the triggers, so they are
dropped and recreated around it there too).

Revision ID: 484406adc11b
Revises: 3cdcc5636f75
Create Date: 2026-12-06 14:29:16.912149

"""
import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '484406adc11b'
down_revision = "3cdcc5636f75"
branch_labels = None
depends_on = None

CHAIN_LOCK = 0x415544495443484E
HASHED_FIELDS = ("at", "actor_id", "actor_label", "actor_role", "action", "object_type", "object_id", "ip", "details")

AUDIT_GUARD_PG = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
"""


def _drop_guards():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")


def _create_guards():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
        op.execute(AUDIT_GUARD_PG)
    else:
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )


def _at_text(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _hash(row, prev):
    body = {name: row[name] for name in HASHED_FIELDS}
    body["at"] = _at_text(body["at"])
    details = body["details"]
    body["details"] = json.loads(details) if isinstance(details, str) else (details or {})
    body["prev_hash"] = prev
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _backfill():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    columns = ", ".join(("id", *HASHED_FIELDS))
    prev, after = None, 0
    while True:
        rows = bind.execute(
            sa.text(f"SELECT {columns} FROM audit_log WHERE id > :after ORDER BY id LIMIT 2000"),
            {"after": after},
        ).mappings().all()
        if not rows:
            return
        for row in rows:
            digest = _hash(row, prev)
            bind.execute(
                sa.text("UPDATE audit_log SET prev_hash = :prev, row_hash = :hash WHERE id = :id"),
                {"prev": prev, "hash": digest, "id": row["id"]},
            )
            prev = digest
        after = rows[-1]["id"]


def upgrade():
    _drop_guards()
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
    _backfill()
    _create_guards()

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')

    _drop_guards()
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('row_hash')
        batch_op.drop_column('prev_hash')
    _create_guards()
