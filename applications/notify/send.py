"""Writing notifications: the message catalogue's text for an application's applicant or any user,
queued in the outbox in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from applications.models import Application
from core.outbox import OutboxMessage, queue_message


def notify(app: Application, kind: str, **params: object) -> OutboxMessage:
    """Queue the applicant's in-site message (and SMS) of ``kind`` from the message catalogue, in this
    transaction. Raises KeyError for an unknown kind or a missing placeholder."""
    return send_to(app.applicant_id, kind, application_id=app.id, **params)


def send_to(
    user_id: int,
    kind: str,
    *,
    application_id: int | None = None,
    created_at: datetime | None = None,
    **params: object,
) -> OutboxMessage:
    """Queue the message of ``kind`` for any user (a principal, a unit lead), in this transaction."""
    return queue_message(
        kind, user_id=user_id, application_id=application_id, created_at=created_at, **params
    )
