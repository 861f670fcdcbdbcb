"""Completed applications made through the clerk's real operations, and logins."""

from __future__ import annotations

from datetime import datetime

from applications.clerk import operations as clerk_ops
from applications.models import Application
from applications.workflow.states import State
from auth.models import User
from core.db import db
from tests.auth.helpers import login
from tests.clerk.helpers import DEMO_CITIZEN_MOBILE, DEMO_PASSWORD, citizen, insert_submitted, user

#: 无犯罪记录证明 at 东城派出所 (LJ-PS-DC-01: clerk_ps_dc_01, lead_dc).
ITEM = "LJ-HJ-021"
UNIT = "LJ-PS-DC-01"
CLERK = "clerk_ps_dc_01"
LEAD = "lead_dc"


def completed(
    *,
    unit_code: str = UNIT,
    clerk: str = CLERK,
    item_code: str = ITEM,
    applicant: User | None = None,
    outcome: str = "approve",
    completed_at: datetime | None = None,
) -> Application:
    """A submitted application claimed, accepted and decided by the unit's clerk (flushed)."""
    (aid,) = insert_submitted(1, unit_code=unit_code, item_code=item_code, applicant=applicant or citizen())
    app = db.session.get(Application, aid)
    staff = user(clerk)
    clerk_ops.claim(app, staff)
    clerk_ops.accept(app, staff)
    if outcome == "approve":
        clerk_ops.approve(app, staff, delivery="mail", carrier="EMS", tracking="1234567890")
    elif outcome == "refuse":
        clerk_ops.refuse(app, staff, reason="不符合条件")
    db.session.flush()
    if completed_at is not None:
        app.completed_at = completed_at
    return app


def accepted(**kw) -> Application:
    return completed(outcome="none", **kw)


def citizen_login(client, identifier: str = DEMO_CITIZEN_MOBILE, password: str = DEMO_PASSWORD):
    response = login(client, identifier, password)
    assert response.status_code == 302, response.text
    return client


def staff_login(client, username: str):
    response = login(client, username, DEMO_PASSWORD)
    assert response.status_code == 302, response.text
    return client


def one_completed(app, **kw) -> int:
    with app.app_context():
        a = completed(**kw)
        db.session.commit()
        aid = a.id
        assert a.state in (State.APPROVED, State.REFUSED)
        db.session.remove()
        return aid
