"""Typed models of 预约: opening templates, exception days, slots and bookings."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, str_enum, utcnow


class ItemGroup(db.Model):
    """An admin-defined group of items inside one hall (出入境: 护照 counters vs 港澳通行证 counters;
    车管所: 驾驶证 vs 机动车). Opening hours, extra hours and slots may belong to a group; an item of a
    group books only that group's slots, an item of no group the hall's ungrouped slots."""

    __tablename__ = "appointment_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))

    members: Mapped[list[ItemGroupMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="ItemGroupMember.item_id"
    )

    __table_args__ = (UniqueConstraint("unit_id", "name", name="uq_appointment_groups_unit_name"),)


class ItemGroupMember(db.Model):
    """An item of a group; an item belongs to at most one group of a unit (the unique (unit, item))."""

    __tablename__ = "appointment_group_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("appointment_groups.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id", ondelete="CASCADE"))

    group: Mapped[ItemGroup] = relationship(back_populates="members")

    __table_args__ = (UniqueConstraint("unit_id", "item_id", name="uq_appointment_group_items_unit_item"),)


class OpeningHours(db.Model):
    """One line of a unit's weekly template: on ``weekday`` (0 = Monday) from ``start`` to ``end``,
    slots of ``slot_minutes`` with ``windows`` places each (the counters serving at once); for the
    items of ``group`` when set, else for the hall's ungrouped items."""

    __tablename__ = "appointment_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    windows: Mapped[int] = mapped_column(Integer)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment_groups.id", ondelete="RESTRICT"), index=True
    )

    group: Mapped[ItemGroup | None] = relationship()

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("slot_minutes BETWEEN 5 AND 240", name="slot_minutes_range"),
        CheckConstraint("windows BETWEEN 1 AND 100", name="windows_range"),
        CheckConstraint('start < "end"', name="start_before_end"),
    )


class ExceptionDay(db.Model):
    """A day that differs from the template: ``closed`` (no slots at all), or extra hours."""

    __tablename__ = "appointment_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    start: Mapped[time | None] = mapped_column(Time)
    end: Mapped[time | None] = mapped_column(Time)
    slot_minutes: Mapped[int | None] = mapped_column(Integer)
    windows: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(100), default="")
    #: Extra hours for one group's items (None: the ungrouped items). A closure closes every group.
    group_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_groups.id", ondelete="RESTRICT"))

    group: Mapped[ItemGroup | None] = relationship()

    __table_args__ = (Index("ix_appointment_exceptions_unit_day", "unit_id", "day"),)


class Slot(db.Model):
    """A materialised slot: ``capacity`` places, ``booked`` of them taken (never more: the booking's
    conditional UPDATE and the CHECK). A closed slot (``open`` false) takes no new bookings. Slots of
    a ``group`` are that group's items' places; ungrouped ones (None) the other items'. One slot per
    (unit, group, start): two unique indexes, since NULL never equals NULL in a unique constraint."""

    __tablename__ = "appointment_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("appointment_groups.id", ondelete="RESTRICT"))

    unit = relationship("Unit")
    group: Mapped[ItemGroup | None] = relationship()

    __table_args__ = (
        Index(
            "uq_appointment_slots_unit_start",
            "unit_id",
            "starts_at",
            unique=True,
            sqlite_where=db.text("group_id IS NULL"),
            postgresql_where=db.text("group_id IS NULL"),
        ),
        UniqueConstraint("unit_id", "group_id", "starts_at", name="uq_appointment_slots_unit_group_start"),
        Index("ix_appointment_slots_unit_day", "unit_id", "day"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
    )

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.booked)


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"


class Appointment(db.Model):
    """A citizen's booking of one place in a slot for one item (and, when made in the application
    flow, that application). One *booked* appointment per citizen and item (partial unique index)."""

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id", ondelete="RESTRICT"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slots.id", ondelete="RESTRICT"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[AppointmentStatus] = mapped_column(
        str_enum(AppointmentStatus, "appointment_status"), default=AppointmentStatus.BOOKED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: When the citizen checked in at the counter (the start of the wait the statistics measure).
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When a clerk called the citizen to the counter (叫号/开始办理): the end of the wait.
    served_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    served_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    slot: Mapped[Slot] = relationship()
    user = relationship("User", foreign_keys=[user_id])
    unit = relationship("Unit")
    item = relationship("ServiceItem")
    application = relationship("Application")

    __table_args__ = (
        Index(
            "uq_appointments_one_active",
            "user_id",
            "item_id",
            unique=True,
            sqlite_where=db.text("status = 'booked'"),
            postgresql_where=db.text("status = 'booked'"),
        ),
    )
