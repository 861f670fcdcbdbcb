"""Correction sign-offs: a second correction request waits for a unit lead's approval in the lead's
own session (issue 16: the lead's password is no longer typed on the clerk's screen).

Reviewed: one new table; uq_correction_signoffs_pending (partial, status = 'pending') makes one
waiting request per application; applications keep their sign-offs (ON DELETE CASCADE with them).

Revision ID: 3da37f132bcc
Revises: 1c6650fa1412
Create Date: 2026-12-06 12:16:58.529024

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '3da37f132bcc'
down_revision = '1c6650fa1412'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('correction_signoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_correction_signoffs_signoff_status')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_correction_signoffs_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_correction_signoffs_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_correction_signoffs_requested_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_correction_signoffs_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction_signoffs'))
    )
    with op.batch_alter_table('correction_signoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_signoffs_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_correction_signoffs_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index('uq_correction_signoffs_pending', ['application_id'], unique=True, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))



def downgrade():
    with op.batch_alter_table('correction_signoffs', schema=None) as batch_op:
        batch_op.drop_index('uq_correction_signoffs_pending', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_correction_signoffs_unit_id'))
        batch_op.drop_index(batch_op.f('ix_correction_signoffs_application_id'))

    op.drop_table('correction_signoffs')
