"""Catalog items in English (issue 23): item_versions.english holds the English content (name,
aliases, description, conditions, FAQ, documents, situations, form labels; catalog.english) and
foreigner_facing marks the items whose publishing warns when English is missing; bundles.english
holds a 一件事's English name, aliases, description and partners.

Revision ID: a8d4c0dbbf45
Revises: 591b5cecd7b7
Create Date: 2026-12-06 17:51:28.342216

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a8d4c0dbbf45'
down_revision = "591b5cecd7b7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('foreigner_facing', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('english', sa.JSON(), server_default='{}', nullable=False))

    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('english', sa.JSON(), server_default='{}', nullable=False))



def downgrade():
    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.drop_column('english')

    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.drop_column('english')
        batch_op.drop_column('foreigner_facing')

