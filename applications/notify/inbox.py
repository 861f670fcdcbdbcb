"""The citizen's 消息 inbox: what is unread, and reading it."""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy import func, select, update

from auth.sessioncache import per_session
from core.clock import now
from core.db import db
from core.outbox import OutboxMessage


def unread_count() -> int:
    """Unread in-site messages of the logged-in user (the 消息 link's badge), asked once per
    ``SESSION_CHECK_SECONDS`` in a worker (auth.sessioncache.per_session: reading them shows at once)."""
    return per_session("unread_messages", _count_unread)


def _count_unread() -> int:
    return (
        db.session.scalar(
            select(func.count()).where(
                OutboxMessage.user_id == current_user.id, OutboxMessage.read_at.is_(None)
            )
        )
        or 0
    )


def mark_read(user_id: int, ids: list[int]) -> None:
    """The user has seen these messages (flushes; the caller commits)."""
    if ids:
        db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.user_id == user_id, OutboxMessage.id.in_(ids), OutboxMessage.read_at.is_(None)
            )
            .values(read_at=now())
            .execution_options(synchronize_session=False)
        )
