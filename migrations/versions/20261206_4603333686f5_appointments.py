"""预约 appointments (issue 20): a unit's weekly opening hours and exception days, the materialised
slots and the citizens' bookings.

Reviewed: four new tables. ck_appointment_slots_booked_within_capacity backs the booking's conditional
UPDATE (booked < capacity); uq_appointments_one_active (partial, status = 'booked') makes one active
booking per citizen and item; uq_appointment_slots_unit_start keeps ``flask appointments open``
idempotent. A booking keeps its slot (RESTRICT); a unit's hours and slots go with the unit (CASCADE).

Revision ID: 4603333686f5
Revises: 484406adc11b
Create Date: 2026-12-06 14:42:51.831682

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "4603333686f5"
down_revision = "484406adc11b"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "appointment_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("start", sa.Time(), nullable=True),
        sa.Column("end", sa.Time(), nullable=True),
        sa.Column("slot_minutes", sa.Integer(), nullable=True),
        sa.Column("windows", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_appointment_exceptions_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_exceptions")),
    )
    with op.batch_alter_table("appointment_exceptions", schema=None) as batch_op:
        batch_op.create_index("ix_appointment_exceptions_unit_day", ["unit_id", "day"], unique=False)

    op.create_table(
        "appointment_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start", sa.Time(), nullable=False),
        sa.Column("end", sa.Time(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("windows", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "slot_minutes BETWEEN 5 AND 240", name=op.f("ck_appointment_hours_slot_minutes_range")
        ),
        sa.CheckConstraint('start < "end"', name=op.f("ck_appointment_hours_start_before_end")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_appointment_hours_weekday_range")),
        sa.CheckConstraint("windows BETWEEN 1 AND 100", name=op.f("ck_appointment_hours_windows_range")),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_appointment_hours_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_hours")),
    )
    with op.batch_alter_table("appointment_hours", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointment_hours_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "appointment_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "booked >= 0 AND booked <= capacity", name=op.f("ck_appointment_slots_booked_within_capacity")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_appointment_slots_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_slots")),
        sa.UniqueConstraint("unit_id", "starts_at", name="uq_appointment_slots_unit_start"),
    )
    with op.batch_alter_table("appointment_slots", schema=None) as batch_op:
        batch_op.create_index("ix_appointment_slots_unit_day", ["unit_id", "day"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "booked",
                "cancelled",
                "checked_in",
                "no_show",
                name="appointment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_appointments_application_id_applications"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["checked_in_by_id"],
            ["users.id"],
            name=op.f("fk_appointments_checked_in_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["service_items.id"],
            name=op.f("fk_appointments_item_id_service_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["appointment_slots.id"],
            name=op.f("fk_appointments_slot_id_appointment_slots"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_appointments_unit_id_units"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_appointments_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("code", name=op.f("uq_appointments_code")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointments_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_slot_id"), ["slot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "uq_appointments_one_active",
            ["user_id", "item_id"],
            unique=True,
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )


def downgrade():
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_appointments_one_active",
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )
        batch_op.drop_index(batch_op.f("ix_appointments_user_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_slot_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_application_id"))

    op.drop_table("appointments")
    with op.batch_alter_table("appointment_slots", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_slots_unit_day")

    op.drop_table("appointment_slots")
    with op.batch_alter_table("appointment_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_hours_unit_id"))

    op.drop_table("appointment_hours")
    with op.batch_alter_table("appointment_exceptions", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_exceptions_unit_day")

    op.drop_table("appointment_exceptions")
