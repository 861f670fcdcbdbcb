"""预约: when the citizen checked in and when the counter called them (叫号/开始办理), and by whom —
the wait at the counter the statistics show.

Revision ID: a1180509a94d
Revises: 4603333686f5
Create Date: 2026-12-06 15:43:14.970018

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a1180509a94d"
down_revision = "4603333686f5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("served_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("served_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_appointments_served_by_id_users", "users", ["served_by_id"], ["id"], ondelete="SET NULL"
        )
    # bookings checked in before this revision: the check-in was their last change
    op.execute("UPDATE appointments SET checked_in_at = changed_at WHERE status = 'checked_in'")


def downgrade():
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_constraint("fk_appointments_served_by_id_users", type_="foreignkey")
        batch_op.drop_column("served_by_id")
        batch_op.drop_column("served_at")
        batch_op.drop_column("checked_in_at")
