"""智能咨询 (issue 24): the questions the assistant could not answer (or answered with little
evidence), personal data taken out, one row per distinct text with a count, for the admins' list
and the per-item guide fixes.

Reviewed: named constraints (naming convention), batch operations for SQLite, indexes named; the
downgrade drops what the upgrade adds.

Revision ID: 8a79f124a2aa
Revises: 0f691416fd6c
Create Date: 2026-12-06 17:50:54.446392

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8a79f124a2aa'
down_revision = '0f691416fd6c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ask_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.Enum('unanswered', 'low_confidence', name='ask_question_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('asked', sa.Integer(), nullable=False),
    sa.Column('best_code', sa.String(length=40), nullable=True),
    sa.Column('best_score', sa.Float(), nullable=False),
    sa.Column('status', sa.Enum('open', 'resolved', 'dismissed', name='ask_question_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('first_asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_code', sa.String(length=40), nullable=True),
    sa.Column('resolved_as', sa.String(length=8), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_ask_questions_resolved_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ask_questions')),
    sa.UniqueConstraint('digest', name=op.f('uq_ask_questions_digest'))
    )
    with op.batch_alter_table('ask_questions', schema=None) as batch_op:
        batch_op.create_index('ix_ask_questions_best_code', ['best_code', 'last_asked_at'], unique=False)
        batch_op.create_index('ix_ask_questions_status_last', ['status', 'last_asked_at'], unique=False)



def downgrade():
    with op.batch_alter_table('ask_questions', schema=None) as batch_op:
        batch_op.drop_index('ix_ask_questions_status_last')
        batch_op.drop_index('ix_ask_questions_best_code')

    op.drop_table('ask_questions')
