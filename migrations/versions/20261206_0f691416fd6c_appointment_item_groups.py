"""预约 capacity per item group inside a hall (出入境: 护照 counters vs 港澳通行证 counters): an
admin-defined group of items per unit; opening hours, extra hours and slots may belong to one. The
slot's uniqueness becomes (unit, group, start), with a partial unique index for the ungrouped slots
(NULL never equals NULL in a unique constraint), keeping the old name for them.

Revision ID: 0f691416fd6c
Revises: ed7ace4d9786
Create Date: 2026-12-06 17:44:33.006385

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0f691416fd6c"
down_revision = "ed7ace4d9786"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "appointment_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_appointment_groups_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_groups")),
        sa.UniqueConstraint("unit_id", "name", name="uq_appointment_groups_unit_name"),
    )
    with op.batch_alter_table("appointment_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointment_groups_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "appointment_group_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["appointment_groups.id"],
            name=op.f("fk_appointment_group_items_group_id_appointment_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["service_items.id"],
            name=op.f("fk_appointment_group_items_item_id_service_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_appointment_group_items_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_group_items")),
        sa.UniqueConstraint("unit_id", "item_id", name="uq_appointment_group_items_unit_item"),
    )
    with op.batch_alter_table("appointment_group_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointment_group_items_group_id"), ["group_id"], unique=False)

    with op.batch_alter_table("appointment_exceptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_appointment_exceptions_group_id_appointment_groups"),
            "appointment_groups",
            ["group_id"],
            ["id"],
            ondelete="RESTRICT",
        )

    with op.batch_alter_table("appointment_hours", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_appointment_hours_group_id"), ["group_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_appointment_hours_group_id_appointment_groups"),
            "appointment_groups",
            ["group_id"],
            ["id"],
            ondelete="RESTRICT",
        )

    with op.batch_alter_table("appointment_slots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_appointment_slots_unit_start"), type_="unique")
        batch_op.create_index(
            "uq_appointment_slots_unit_start",
            ["unit_id", "starts_at"],
            unique=True,
            sqlite_where=sa.text("group_id IS NULL"),
            postgresql_where=sa.text("group_id IS NULL"),
        )
        batch_op.create_unique_constraint(
            "uq_appointment_slots_unit_group_start", ["unit_id", "group_id", "starts_at"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_appointment_slots_group_id_appointment_groups"),
            "appointment_groups",
            ["group_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade():
    with op.batch_alter_table("appointment_slots", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_appointment_slots_group_id_appointment_groups"), type_="foreignkey"
        )
        batch_op.drop_constraint("uq_appointment_slots_unit_group_start", type_="unique")
        batch_op.drop_index(
            "uq_appointment_slots_unit_start",
            sqlite_where=sa.text("group_id IS NULL"),
            postgresql_where=sa.text("group_id IS NULL"),
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_appointment_slots_unit_start"), ["unit_id", "starts_at"]
        )
        batch_op.drop_column("group_id")

    with op.batch_alter_table("appointment_hours", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_appointment_hours_group_id_appointment_groups"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_appointment_hours_group_id"))
        batch_op.drop_column("group_id")

    with op.batch_alter_table("appointment_exceptions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_appointment_exceptions_group_id_appointment_groups"), type_="foreignkey"
        )
        batch_op.drop_column("group_id")

    with op.batch_alter_table("appointment_group_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_group_items_group_id"))

    op.drop_table("appointment_group_items")
    with op.batch_alter_table("appointment_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_groups_unit_id"))

    op.drop_table("appointment_groups")
