"""Typed models for 好差评 ratings and their follow-ups."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, str_enum, utcnow


class RatingLevel(enum.IntEnum):
    """Five levels, 5 = 非常满意 … 1 = 非常不满意 (满意度 counts 4 and 5)."""

    VERY_SATISFIED = 5
    SATISFIED = 4
    BASIC = 3
    DISSATISFIED = 2
    VERY_DISSATISFIED = 1


#: 满意度 counts a rating of this level or better (满意 and 非常满意).
SATISFIED_FROM = RatingLevel.SATISFIED
#: A rating of this level or worse is a 差评 (不满意 and 非常不满意): it opens a follow-up.
BAD_UP_TO = RatingLevel.DISSATISFIED


class FollowUpStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Rating(db.Model):
    """One rating per application, by its applicant, after completion."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id", ondelete="RESTRICT"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    follow_up: Mapped[RatingFollowUp | None] = relationship(back_populates="rating", uselist=False)

    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
        Index("ix_ratings_created", "created_at"),
    )


class RatingFollowUp(db.Model):
    """A bad rating (不满意 / 非常不满意) opens a follow-up for the unit lead, due in 15 working days."""

    __tablename__ = "rating_follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id", ondelete="CASCADE"), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    status: Mapped[FollowUpStatus] = mapped_column(
        str_enum(FollowUpStatus, "follow_up_status"), default=FollowUpStatus.OPEN
    )
    due_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Text, default="")
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    rating: Mapped[Rating] = relationship(back_populates="follow_up")

    __table_args__ = (Index("ix_rating_follow_ups_unit_status", "unit_id", "status", "due_on"),)
