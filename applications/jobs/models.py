"""What the reminder jobs have sent: one row per (kind, key), so a reminder goes out once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, utcnow


class ReminderSent(db.Model):
    """A reminder that went out. ``key`` says for what: ``<user>:<day>`` for a clerk's or lead's daily
    digest, ``<application>:<deadline>`` for a citizen's deadline reminder. UNIQUE (kind, key): a second
    worker or a second run inserting the same reminder fails and sends nothing."""

    __tablename__ = "reminders_sent"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "key", name="uq_reminders_sent_kind_key"),)
