"""Foreigners register with a passport (issue 23): users.id_type (``resident_id`` | ``passport``),
nationality (ISO 3166-1 alpha-3), english_name (ciphertext, like real_name) and passport_bidx (the
passport number's blind index without the nationality, for login; not unique); a passport holder's
number lives in the same encrypted id_number column, its unique blind index computed under the
``passport`` scope with the nationality. The register (residents) gains id_type and nationality so
a foreigner in it reaches L2. Existing rows are all 居民身份证 (the server default).

Revision ID: bf32459c458e
Revises: a8d4c0dbbf45
Create Date: 2026-12-06 18:49:08.959362

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "bf32459c458e"
down_revision = "a8d4c0dbbf45"
branch_labels = None
depends_on = None

ID_TYPE_CHECK = "id_type = 'resident_id' OR (id_type = 'passport' AND nationality IS NOT NULL)"


def upgrade():
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("id_type", sa.String(length=16), server_default="resident_id", nullable=False)
        )
        batch_op.add_column(sa.Column("nationality", sa.String(length=3), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("id_type", sa.String(length=16), server_default="resident_id", nullable=False)
        )
        batch_op.add_column(sa.Column("nationality", sa.String(length=3), nullable=True))
        # EncryptedText stores its envelope as text (core.crypto.types)
        batch_op.add_column(sa.Column("english_name", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("passport_bidx", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_passport_bidx"), ["passport_bidx"], unique=False)
        batch_op.create_check_constraint(op.f("ck_users_user_id_type"), ID_TYPE_CHECK)


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_user_id_type"), type_="check")
        batch_op.drop_index(batch_op.f("ix_users_passport_bidx"))
        batch_op.drop_column("passport_bidx")
        batch_op.drop_column("english_name")
        batch_op.drop_column("nationality")
        batch_op.drop_column("id_type")

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("nationality")
        batch_op.drop_column("id_type")
