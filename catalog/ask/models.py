"""The questions 智能咨询 could not answer (or answered without confidence), kept for admins.

Only the question with personal data taken out is stored (see :mod:`catalog.ask.privacy`), once per
distinct text with a count — never who asked, never an address or a session."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import UTCDateTime, db, str_enum, utcnow


class QuestionKind(enum.StrEnum):
    UNANSWERED = "unanswered"  # no item scored high enough
    LOW_CONFIDENCE = "low_confidence"  # an item was shown, with little evidence


class QuestionStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # added to an item as an alias or FAQ (in its draft)
    DISMISSED = "dismissed"


class AskQuestion(db.Model):
    __tablename__ = "ask_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    #: sha256 of the normalised text: one row per distinct question
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[QuestionKind] = mapped_column(str_enum(QuestionKind, "ask_question_kind"))
    asked: Mapped[int] = mapped_column(Integer, default=1)
    best_code: Mapped[str | None] = mapped_column(String(40))
    best_score: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[QuestionStatus] = mapped_column(
        str_enum(QuestionStatus, "ask_question_status"), default=QuestionStatus.OPEN
    )
    first_asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_code: Mapped[str | None] = mapped_column(String(40))
    resolved_as: Mapped[str | None] = mapped_column(String(8))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        Index("ix_ask_questions_status_last", "status", "last_asked_at"),
        Index("ix_ask_questions_best_code", "best_code", "last_asked_at"),
    )
