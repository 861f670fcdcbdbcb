"""The clerk's 我的 count reads a partial index of the open applications each clerk holds.

我的 used to be counted in the same index-only scan as the unit's other tabs. Those counts are now worked
out once per unit for all its clerks (clerk.queues.tab_counts), and 我的 on its own, per clerk: through
ix_applications_claimed_by_id it read a heap page for every application the clerk had ever held open
(1,668 pages, 4–7 ms, at 10,000,000 rows). ix_applications_claimed_open holds only the open applications
that someone holds and carries the unit columns and the state (INCLUDE, PostgreSQL), so the count is an
index-only scan of the clerk's own few entries.

Reviewed: partial on held open applications (well under 1 % of a mature table), so building it reads the
table once and writes little, and a claim, release or decision updates one small entry. The predicate's
text is applications.models.OPEN_STATES_SQL, frozen here. ix_applications_claimed_by_id stays: deleting an
account sets claimed_by_id to NULL through it.

Revision ID: 5c1d2e3f4a5b
Revises: 3b2204ab851e
Create Date: 2026-12-07 15:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5c1d2e3f4a5b'
down_revision = '3b2204ab851e'
branch_labels = None
depends_on = None

HELD_OPEN = (
    "claimed_by_id IS NOT NULL AND "
    "state IN ('submitted', 'accepted', 'correction_requested', 'resubmitted')"
)


def upgrade():
    op.create_index(
        'ix_applications_claimed_open', 'applications', ['claimed_by_id'], unique=False,
        postgresql_include=['unit_id', 'approving_unit_id', 'state'],
        postgresql_where=sa.text(HELD_OPEN),
        sqlite_where=sa.text(HELD_OPEN),
    )


def downgrade():
    op.drop_index('ix_applications_claimed_open', table_name='applications')
