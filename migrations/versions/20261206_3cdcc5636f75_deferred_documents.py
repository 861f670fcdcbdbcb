"""容缺受理 deferrals: one row per document a citizen left out when submitting, with the date it is due
(stored at submission) and when it was given (补交) — issue 17, item 2.

Reviewed: one new table; uq_deferred_documents_application_requirement makes one deferral per document
of an application (its leading column serves the look-ups by application, so no second index); the
rows go with their application (ON DELETE CASCADE) and outlive a removed file row (SET NULL).
Applications submitted before this revision get their rows on their first 补交 (same rule, same date).

Revision ID: 3cdcc5636f75
Revises: ae4a67c3c8a9
Create Date: 2026-12-06 14:30:14.706049

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '3cdcc5636f75'
down_revision = "ae4a67c3c8a9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deferred_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('requirement', sa.Integer(), nullable=False),
    sa.Column('requirement_name', sa.String(length=100), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('fulfilled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_deferred_documents_application_id_applications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['application_documents.id'], name=op.f('fk_deferred_documents_document_id_application_documents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deferred_documents')),
    sa.UniqueConstraint('application_id', 'requirement', name='uq_deferred_documents_application_requirement')
    )


def downgrade():
    op.drop_table('deferred_documents')
