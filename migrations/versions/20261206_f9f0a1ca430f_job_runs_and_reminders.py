"""Scheduled jobs (issue 18 item 4): job_runs — one row per (job, period), UNIQUE, the claim that lets
a job run at most once per period with several workers — and reminders_sent — one row per reminder,
UNIQUE (kind, key), so each reminder goes out once.

Reviewed: two new tables, named constraints; reminders go with their user or application (CASCADE).

Revision ID: f9f0a1ca430f
Revises: 3da37f132bcc
Create Date: 2026-12-06 14:31:12.314920

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f9f0a1ca430f'
down_revision = '3da37f132bcc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=64), nullable=False),
    sa.Column('worker', sa.String(length=64), nullable=False),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.Column('triggered_by', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('job', 'period', name='uq_job_runs_job_period')
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_job_started', ['job', 'started_at'], unique=False)

    op.create_table('reminders_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_reminders_sent_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reminders_sent_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders_sent')),
    sa.UniqueConstraint('kind', 'key', name='uq_reminders_sent_kind_key')
    )
    with op.batch_alter_table('reminders_sent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminders_sent_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_sent_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('reminders_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminders_sent_user_id'))
        batch_op.drop_index(batch_op.f('ix_reminders_sent_application_id'))

    op.drop_table('reminders_sent')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_job_started')

    op.drop_table('job_runs')
