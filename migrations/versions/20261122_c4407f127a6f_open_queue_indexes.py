"""Open-queue indexes: the clerk's open tabs read in order, their counts index-only.

ix_applications_open (accepting unit) and ix_applications_approving_open (approving unit) hold only the
open applications (submitted, accepted, correction_requested, resubmitted), keyed by the queues' order,
coalesce(promised_due, '9999-12-31') then id; on PostgreSQL they INCLUDE the columns the tabs filter on,
so the navigation counts never read the table. ix_applications_queue (unit, state, holder, due, id over
every row) is dropped: the open tabs were its only readers, and it cost a write on every change of state.

Reviewed: both new indexes are partial on the open states (about 1 % of a mature table), so building
them reads the table once and writes little; the text of the predicate is the one the queries repeat
(applications.models.OPEN_STATES_SQL, frozen here).

Revision ID: c4407f127a6f
Revises: e64a443693ab
Create Date: 2026-11-22 05:11:36.066034

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4407f127a6f'
down_revision = 'e64a443693ab'
branch_labels = None
depends_on = None

OPEN = "state IN ('submitted', 'accepted', 'correction_requested', 'resubmitted')"
DUE = sa.text("coalesce(promised_due, '9999-12-31')")


def upgrade():
    op.create_index(
        'ix_applications_open', 'applications', ['unit_id', DUE, 'id'], unique=False,
        postgresql_include=['state', 'claimed_by_id', 'promised_due', 'due_soon_on'],
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )
    op.create_index(
        'ix_applications_approving_open', 'applications', ['approving_unit_id', DUE, 'id'], unique=False,
        postgresql_include=['state', 'claimed_by_id', 'promised_due', 'due_soon_on', 'unit_id'],
        postgresql_where=sa.text(f"approving_unit_id IS NOT NULL AND {OPEN}"),
        sqlite_where=sa.text(f"approving_unit_id IS NOT NULL AND {OPEN}"),
    )
    op.drop_index('ix_applications_queue', table_name='applications')


def downgrade():
    op.create_index(
        'ix_applications_queue', 'applications', ['unit_id', 'state', 'claimed_by_id', 'promised_due', 'id'],
        unique=False,
    )
    op.drop_index('ix_applications_approving_open', table_name='applications')
    op.drop_index('ix_applications_open', table_name='applications')
