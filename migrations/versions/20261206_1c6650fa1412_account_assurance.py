"""Account assurance (issue 16): SMS codes, the population register, L0/L1/L2 on accounts, frozen
(disputed) accounts, the assurance an item needs, and outbox SMS to a bare number.

Reviewed:
- users.assurance is added with server default 0: every existing account starts at L0 (its mobile
  was never proven); the holder proves it with an SMS code (password reset or mobile change) and
  reaches L2 by 人口信息核验 or at a counter. ck_users_citizen_identity now lets a frozen citizen
  account lose its ID number (released to the person who proved it); ck_users_assurance_level
  bounds the level.
- outbox.user_id becomes nullable with ck_outbox_outbox_has_recipient: a row has a user or a number;
  outbox.leased_by names the worker holding a send lease (a restarted worker takes its own back).
- item_versions.min_assurance defaults to 1 (server default, so every existing version gets it).
- On SQLite every altered table is copied by batch mode; none of them has an expression index.

Revision ID: 1c6650fa1412
Revises: aef8cde57ee5
Create Date: 2026-12-06 12:00:33.513404

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '1c6650fa1412'
down_revision = 'aef8cde57ee5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('residents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('district', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residents')),
    sa.UniqueConstraint('id_number', name=op.f('uq_residents_id_number'))
    )
    op.create_table('verification_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('mobile', sa.String(length=11), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('ip_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_codes'))
    )
    with op.batch_alter_table('verification_codes', schema=None) as batch_op:
        batch_op.create_index('ix_verification_codes_ip', ['ip_hash', 'created_at'], unique=False)
        batch_op.create_index('ix_verification_codes_mobile', ['mobile', 'purpose', 'created_at'], unique=False)

    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_assurance', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('to_mobile', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('leased_by', sa.String(length=64), nullable=True))
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_check_constraint(
            op.f('ck_outbox_outbox_has_recipient'), "user_id IS NOT NULL OR to_mobile IS NOT NULL"
        )

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assurance', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('identity_source', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('identity_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('frozen_reason', sa.String(length=200), nullable=True))
        batch_op.drop_constraint(op.f('ck_users_citizen_identity'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_users_citizen_identity'),
            "role <> 'citizen' OR (mobile IS NOT NULL AND (id_number IS NOT NULL OR frozen_at IS NOT NULL))",
        )
        batch_op.create_check_constraint(op.f('ck_users_assurance_level'), "assurance BETWEEN 0 AND 2")



def downgrade():
    op.execute("DELETE FROM users WHERE role = 'citizen' AND id_number IS NULL")  # frozen, released
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_assurance_level'), type_='check')
        batch_op.drop_constraint(op.f('ck_users_citizen_identity'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_users_citizen_identity'),
            "role <> 'citizen' OR (mobile IS NOT NULL AND id_number IS NOT NULL)",
        )
        batch_op.drop_column('frozen_reason')
        batch_op.drop_column('frozen_at')
        batch_op.drop_column('identity_verified_at')
        batch_op.drop_column('identity_source')
        batch_op.drop_column('assurance')

    op.execute("DELETE FROM outbox WHERE user_id IS NULL")  # SMS codes to bare numbers
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_outbox_has_recipient'), type_='check')
        batch_op.drop_column('leased_by')
        batch_op.alter_column('user_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('to_mobile')

    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.drop_column('min_assurance')

    with op.batch_alter_table('verification_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_verification_codes_mobile')
        batch_op.drop_index('ix_verification_codes_ip')

    op.drop_table('verification_codes')
    op.drop_table('residents')
