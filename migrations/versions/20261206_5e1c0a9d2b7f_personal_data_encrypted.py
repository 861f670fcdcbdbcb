"""Personal data encrypted at rest (issue 19): the data-key register, blind indexes for the numbers
people are found by, and every existing name, ID number, mobile and form answer encrypted in place.

- ``data_keys`` holds the data keys wrapped by the master key (core.crypto.keyring); this revision
  creates the master key file (0600) if there is none and the database has no data key yet, and one
  data key per purpose.
- users.mobile / users.id_number / residents.id_number lose their plaintext unique constraints; the
  uniqueness moves to ``*_bidx`` (HMAC of the normalised value), filled here before the constraints go on.
  applications.principal_id_number_bidx (indexed, not unique) lets a clerk find proxy cases by the
  principal's ID number.
- The columns become TEXT (ciphertext is longer); applications.form_data becomes one encrypted
  document (PostgreSQL: ``USING form_data::text``).
- verification_codes keep only the mobile's blind index; the codes alive at upgrade time (5 minutes
  at most) are dropped rather than converted.
- The values are encrypted in batches by the same walk ``flask keys rotate`` uses: a value already
  under the active key is skipped, so a run that died half-way is simply run again (on PostgreSQL the
  whole revision is one transaction anyway).

Downgrade decrypts everything back to plaintext and restores the old constraints.

Revision ID: 5e1c0a9d2b7f
Revises: a1180509a94d
Create Date: 2026-12-06 17:50:00

"""

import json

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = "5e1c0a9d2b7f"
down_revision = "a1180509a94d"
branch_labels = None
depends_on = None

# The columns as they are at this revision (frozen here: later models may differ).
FIELDS = (
    ("users", "real_name", "name", False, None, None),
    ("users", "mobile", "contact", False, "mobile_bidx", "mobile"),
    ("users", "id_number", "identity", False, "id_number_bidx", "id_number"),
    ("residents", "id_number", "identity", False, "id_number_bidx", "id_number"),
    ("residents", "name", "name", False, None, None),
    ("applications", "contact_mobile", "contact", False, None, None),
    ("applications", "principal_name", "name", False, None, None),
    ("applications", "principal_id_number", "identity", False, "principal_id_number_bidx", "id_number"),
    ("applications", "form_data", "form", True, None, None),
    ("outbox", "to_mobile", "contact", False, None, None),
)


# SQLite's batch mode copies the table and recreates only the indexes SQLAlchemy can reflect, which
# skips expression indexes (see e64a443693ab): these three are dropped before the copy and built again
# after it, exactly as their revisions define them. PostgreSQL alters the columns in place.
OPEN = "state IN ('submitted', 'accepted', 'correction_requested', 'resubmitted')"
DUE = sa.text("coalesce(promised_due, '9999-12-31')")
CLAIMABLE = "state IN ('submitted', 'resubmitted') AND claimed_by_id IS NULL"


def _drop_expression_indexes():
    if op.get_bind().dialect.name != "sqlite":
        return False
    for name in ("ix_applications_open", "ix_applications_approving_open", "ix_applications_claimable"):
        op.drop_index(name, table_name="applications", if_exists=True)
    return True


def _create_expression_indexes():
    op.create_index(
        "ix_applications_open",
        "applications",
        ["unit_id", DUE, "id"],
        unique=False,
        sqlite_where=sa.text(OPEN),
    )
    op.create_index(
        "ix_applications_approving_open",
        "applications",
        ["approving_unit_id", DUE, "id"],
        unique=False,
        sqlite_where=sa.text(f"approving_unit_id IS NOT NULL AND {OPEN}"),
    )
    op.create_index(
        "ix_applications_claimable",
        "applications",
        ["unit_id", sa.text("(promised_due IS NULL)"), "promised_due", "submitted_at", "id"],
        unique=False,
        sqlite_where=sa.text(CLAIMABLE),
    )


def _fields():
    from core.crypto.backfill import Field

    return [Field(t, c, p, json=j, index_column=i, index_scope=s) for t, c, p, j, i, s in FIELDS]


def upgrade():
    from core.crypto import backfill

    op.create_table(
        "data_keys",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("master_id", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_keys")),
    )
    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.create_index(
            "uq_data_keys_active_purpose",
            ["purpose"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )

    bind = op.get_bind()
    keyring = current_app.extensions["keyring"]
    keyring.ensure(bind)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mobile_bidx", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("id_number_bidx", sa.String(length=64), nullable=True))
        batch_op.drop_constraint("uq_users_mobile", type_="unique")
        batch_op.drop_constraint("uq_users_id_number", type_="unique")
        batch_op.alter_column(
            "real_name", existing_type=sa.String(length=50), type_=sa.Text(), existing_nullable=False
        )
        batch_op.alter_column(
            "mobile", existing_type=sa.String(length=11), type_=sa.Text(), existing_nullable=True
        )
        batch_op.alter_column(
            "id_number", existing_type=sa.String(length=18), type_=sa.Text(), existing_nullable=True
        )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_number_bidx", sa.String(length=64), nullable=True))
        batch_op.drop_constraint("uq_residents_id_number", type_="unique")
        batch_op.alter_column(
            "id_number", existing_type=sa.String(length=18), type_=sa.Text(), existing_nullable=False
        )
        batch_op.alter_column(
            "name", existing_type=sa.String(length=50), type_=sa.Text(), existing_nullable=False
        )
    sqlite = _drop_expression_indexes()
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("principal_id_number_bidx", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_applications_principal_id_number_bidx", ["principal_id_number_bidx"], unique=False
        )
        batch_op.alter_column("contact_mobile", existing_type=sa.String(length=11), type_=sa.Text())
        batch_op.alter_column("principal_name", existing_type=sa.String(length=50), type_=sa.Text())
        batch_op.alter_column("principal_id_number", existing_type=sa.String(length=18), type_=sa.Text())
        batch_op.alter_column(
            "form_data",
            existing_type=sa.JSON(),
            type_=sa.Text(),
            existing_nullable=False,
            postgresql_using="form_data::text",
        )
    if sqlite:
        _create_expression_indexes()
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("to_mobile", existing_type=sa.String(length=11), type_=sa.Text())

    op.execute("DELETE FROM verification_codes")
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_codes_mobile")
        batch_op.drop_column("mobile")
        batch_op.add_column(sa.Column("mobile_bidx", sa.String(length=64), nullable=False))
        batch_op.create_index(
            "ix_verification_codes_mobile", ["mobile_bidx", "purpose", "created_at"], unique=False
        )

    with keyring.using(bind):
        for _ in backfill.walk(bind, keyring, _fields(), batch=500):
            pass

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_users_mobile_bidx", ["mobile_bidx"])
        batch_op.create_unique_constraint("uq_users_id_number_bidx", ["id_number_bidx"])
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.alter_column("id_number_bidx", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_residents_id_number_bidx", ["id_number_bidx"])


def downgrade():
    from core.crypto.keyring import TOKEN_PREFIX

    bind = op.get_bind()
    keyring = current_app.extensions["keyring"]
    with keyring.using(bind):
        for table, column, purpose, is_json, _index, _scope in FIELDS:
            t = sa.table(table, sa.column("id"), sa.column(column, sa.Text))
            rows = bind.execute(
                sa.select(t.c.id, t.c[column]).where(t.c[column].like(f"{TOKEN_PREFIX}%"))
            ).all()
            for pk, raw in rows:
                plain = keyring.decrypt(purpose, raw)
                if is_json:
                    plain = json.dumps(json.loads(plain), ensure_ascii=False)
                bind.execute(sa.update(t).where(t.c.id == pk).values({column: plain}))

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_residents_id_number_bidx", type_="unique")
        batch_op.drop_column("id_number_bidx")
        batch_op.alter_column(
            "name", existing_type=sa.Text(), type_=sa.String(length=50), existing_nullable=False
        )
        batch_op.alter_column(
            "id_number", existing_type=sa.Text(), type_=sa.String(length=18), existing_nullable=False
        )
        batch_op.create_unique_constraint("uq_residents_id_number", ["id_number"])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_id_number_bidx", type_="unique")
        batch_op.drop_constraint("uq_users_mobile_bidx", type_="unique")
        batch_op.drop_column("id_number_bidx")
        batch_op.drop_column("mobile_bidx")
        batch_op.alter_column(
            "id_number", existing_type=sa.Text(), type_=sa.String(length=18), existing_nullable=True
        )
        batch_op.alter_column(
            "mobile", existing_type=sa.Text(), type_=sa.String(length=11), existing_nullable=True
        )
        batch_op.alter_column(
            "real_name", existing_type=sa.Text(), type_=sa.String(length=50), existing_nullable=False
        )
        batch_op.create_unique_constraint("uq_users_id_number", ["id_number"])
        batch_op.create_unique_constraint("uq_users_mobile", ["mobile"])
    sqlite = _drop_expression_indexes()
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.alter_column(
            "form_data",
            existing_type=sa.Text(),
            type_=sa.JSON(),
            existing_nullable=False,
            postgresql_using="form_data::json",
        )
        batch_op.alter_column("principal_id_number", existing_type=sa.Text(), type_=sa.String(length=18))
        batch_op.alter_column("principal_name", existing_type=sa.Text(), type_=sa.String(length=50))
        batch_op.alter_column("contact_mobile", existing_type=sa.Text(), type_=sa.String(length=11))
        batch_op.drop_index("ix_applications_principal_id_number_bidx")
        batch_op.drop_column("principal_id_number_bidx")
    if sqlite:
        _create_expression_indexes()
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("to_mobile", existing_type=sa.Text(), type_=sa.String(length=11))

    op.execute("DELETE FROM verification_codes")
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_codes_mobile")
        batch_op.drop_column("mobile_bidx")
        batch_op.add_column(sa.Column("mobile", sa.String(length=11), nullable=False))
        batch_op.create_index(
            "ix_verification_codes_mobile", ["mobile", "purpose", "created_at"], unique=False
        )

    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_data_keys_active_purpose", sqlite_where=sa.text("active"), postgresql_where=sa.text("active")
        )
    op.drop_table("data_keys")
