"""Calendar arrangements: a year's 放假安排 entered by an admin (calendar_years, one row a year, and
calendar_year_days, one row per holiday or 调休 working day, a date at most once across all years).

Reviewed: two new tables, no data moved; a year's days go with it (ON DELETE CASCADE); the admin who
entered it may be deleted without losing the arrangement (SET NULL).

Revision ID: aef8cde57ee5
Revises: c4407f127a6f
Create Date: 2026-12-06 11:19:30.244124

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "aef8cde57ee5"
down_revision = "c4407f127a6f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["users.id"],
            name=op.f("fk_calendar_years_entered_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )
    op.create_table(
        "calendar_year_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["year"],
            ["calendar_years.year"],
            name=op.f("fk_calendar_year_days_year_calendar_years"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_year_days")),
        sa.UniqueConstraint("day", name=op.f("uq_calendar_year_days_day")),
    )
    with op.batch_alter_table("calendar_year_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_year_days_year"), ["year"], unique=False)


def downgrade():
    with op.batch_alter_table("calendar_year_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_year_days_year"))

    op.drop_table("calendar_year_days")
    op.drop_table("calendar_years")
