"""Completion (准予 or 不予许可) invites the applicant to rate: one in-site message + SMS, audited."""

from __future__ import annotations

from sqlalchemy import func, select

from applications.ratings.operations import INVITE_KIND, invite_rating
from core.audit import AuditLog
from core.db import db
from core.outbox import OutboxMessage

from .helpers import accepted, completed


def _invites(aid: int) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.application_id == aid, OutboxMessage.kind == INVITE_KIND
            )
        )
    )


def test_approve_and_refuse_invite_once(world):
    with world.app_context():
        approved = completed()
        refused = completed(outcome="refuse")
        db.session.commit()
        for app in (approved, refused):
            (msg,) = _invites(app.id)
            assert msg.user_id == app.applicant_id
            assert app.reference in msg.body and msg.sms_text and "评价" in msg.title
        # delivery is not a second invitation, nor is an explicit call
        from applications.clerk import operations as clerk_ops
        from tests.clerk.helpers import user

        clerk_ops.mark_delivered(approved, user("clerk_ps_dc_01"))
        assert invite_rating(approved) is None
        db.session.commit()
        assert len(_invites(approved.id)) == 1
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "rating.invite")
            )
            == 2
        )


def test_no_invitation_before_completion(world):
    with world.app_context():
        app = accepted()
        db.session.commit()
        assert _invites(app.id) == []


def test_invitation_rolls_back_with_the_decision(world):
    with world.app_context():
        app = accepted()
        db.session.commit()
        aid = app.id
        from applications.clerk import operations as clerk_ops
        from tests.clerk.helpers import user

        clerk_ops.approve(app, user("clerk_ps_dc_01"), delivery="mail", carrier="EMS", tracking="1")
        db.session.flush()
        assert len(_invites(aid)) == 1
        db.session.rollback()
        assert _invites(aid) == []
