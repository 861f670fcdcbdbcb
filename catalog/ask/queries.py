"""Read helpers of 智能咨询 shared by the admin pages and the guide-fixes list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from catalog.ask.models import AskQuestion, QuestionStatus
from core.db import db


def open_questions(limit: int = 200) -> list[AskQuestion]:
    """Open questions, most asked first."""
    return list(
        db.session.scalars(
            select(AskQuestion)
            .where(AskQuestion.status == QuestionStatus.OPEN)
            .order_by(AskQuestion.asked.desc(), AskQuestion.last_asked_at.desc(), AskQuestion.id)
            .limit(limit)
        )
    )


def questions_about(code: str, since: datetime, until: datetime, limit: int = 20) -> list[AskQuestion]:
    """Open unanswered or low-confidence questions whose best guess was item ``code``, last asked in
    [since, until), most asked first."""
    return list(
        db.session.scalars(
            select(AskQuestion)
            .where(
                AskQuestion.best_code == code,
                AskQuestion.status == QuestionStatus.OPEN,
                AskQuestion.last_asked_at >= since,
                AskQuestion.last_asked_at < until,
            )
            .order_by(AskQuestion.asked.desc(), AskQuestion.id)
            .limit(limit)
        )
    )
