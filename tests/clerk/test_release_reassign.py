"""A clerk gives a claimed application back to the queue (退回队列) and a unit lead hands one to a
colleague (改派): only the holder releases, only a lead of the unit reassigns, only to a clerk of the
application's unit; another unit's staff get 404; every change audited, every refusal changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from applications.clerk import queues
from applications.models import Application
from applications.workflow.states import State
from auth.models import Role
from auth.operations import create_staff
from core.audit import AuditLog
from core.db import db
from tests.auth.helpers import field_error
from tests.clerk.helpers import DEMO_PASSWORD, insert_submitted, login_staff, user

HOLDER = "clerk_ps_dc_01"  # LJ-PS-DC-01
COLLEAGUE = "clerk_ps_dc_01b"  # a second clerk of LJ-PS-DC-01, made below
OTHER_UNIT_CLERK = "clerk_ps_dc_02"  # LJ-PS-DC-02: under the same lead, not this application's unit
NOT_HOLDER = "请先领取该申请再办理（可能已被其他人领取）。"
ONLY_OWN_UNIT = "只能改派给本单位的工作人员。"
STALE = "该申请已被其他人处理或已更新，请刷新页面查看最新状态后再操作。"


@pytest.fixture
def office(world):
    """A pending application of LJ-PS-DC-01 and a second clerk of that unit; the application's id."""
    app = world
    with app.app_context():
        create_staff(
            username=COLLEAGUE,
            real_name="钱多多",
            role=Role.CLERK,
            password=DEMO_PASSWORD,
            unit_codes=["LJ-PS-DC-01"],
        )
        (aid,) = insert_submitted(1, unit_code="LJ-PS-DC-01")
        db.session.commit()
    return aid


def _client(app, username: str):
    client = app.test_client()
    login_staff(client, username)
    return client


def _row(app, aid: int) -> Application:
    with app.app_context():
        row = db.session.get(Application, aid)
        db.session.expunge(row)
        return row


def _holder(app, aid: int) -> str | None:
    with app.app_context():
        row = db.session.get(Application, aid)
        return row.claimed_by.username if row.claimed_by else None


def _audit(app, action: str, aid: int) -> list[AuditLog]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditLog).where(AuditLog.action == action, AuditLog.object_id == str(aid))
            )
        )


def _flash(client, aid: int) -> str:
    return client.get(f"/clerk/applications/{aid}").get_data(as_text=True)


def _user_id(app, username: str) -> int:
    with app.app_context():
        return user(username).id


# 退回队列 -----------------------------------------------------------------------------------------


def test_only_the_holder_releases_and_the_application_goes_back_to_the_queue(world, office):
    app, aid = world, office
    holder, colleague = _client(app, HOLDER), _client(app, COLLEAGUE)
    assert holder.post(f"/clerk/applications/{aid}/claim").status_code == 302
    assert _holder(app, aid) == HOLDER
    assert "退回队列" in _flash(holder, aid) and "退回队列" not in _flash(colleague, aid)

    # A colleague of the same unit who does not hold it: refused with a message, nothing changes.
    response = colleague.post(f"/clerk/applications/{aid}/release")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clerk/applications/{aid}")
    assert f'<div class="alert alert-danger">{NOT_HOLDER}</div>' in _flash(colleague, aid)
    assert _holder(app, aid) == HOLDER and _audit(app, "application.release", aid) == []

    # A clerk of another unit, even under the same lead: 404, nothing changes.
    assert _client(app, OTHER_UNIT_CLERK).post(f"/clerk/applications/{aid}/release").status_code == 404
    assert _holder(app, aid) == HOLDER and _audit(app, "application.release", aid) == []

    # The holder releases: back to the unit's queue, unclaimed, audited.
    version = _row(app, aid).row_version
    response = holder.post(f"/clerk/applications/{aid}/release")
    assert response.status_code == 302 and response.headers["Location"].endswith("/clerk/")
    row = _row(app, aid)
    assert (row.claimed_by_id, row.claimed_at, row.state) == (None, None, State.SUBMITTED)
    assert row.row_version == version + 1
    (released,) = _audit(app, "application.release", aid)
    assert released.actor_id == _user_id(app, HOLDER)

    # Releasing again: the former holder holds nothing now.
    holder.post(f"/clerk/applications/{aid}/release")
    assert NOT_HOLDER in _flash(holder, aid)
    assert len(_audit(app, "application.release", aid)) == 1

    # The colleague takes it from the queue and may work it; the former holder may not.
    response = colleague.post("/clerk/claim-next")
    assert response.headers["Location"].endswith(f"/clerk/applications/{aid}")
    assert _holder(app, aid) == COLLEAGUE
    holder.post(f"/clerk/applications/{aid}/accept", data={"version": _row(app, aid).row_version})
    assert _row(app, aid).state == State.SUBMITTED
    colleague.post(f"/clerk/applications/{aid}/accept", data={"version": _row(app, aid).row_version})
    assert _row(app, aid).state == State.ACCEPTED


def test_release_of_an_unclaimed_application_is_refused(world, office):
    app, aid = world, office
    holder = _client(app, HOLDER)
    assert holder.post(f"/clerk/applications/{aid}/release").status_code == 302
    assert NOT_HOLDER in _flash(holder, aid)
    assert _row(app, aid).claimed_by_id is None and _audit(app, "application.release", aid) == []


# 改派 ---------------------------------------------------------------------------------------------


def _reassign(client, aid: int, to_user: int | str, version: int):
    return client.post(
        f"/clerk/applications/{aid}/reassign", data={"to_user": str(to_user), "version": version}
    )


def test_a_lead_reassigns_only_to_a_clerk_of_the_applications_unit(world, office):
    app, aid = world, office
    assert _client(app, HOLDER).post(f"/clerk/applications/{aid}/claim").status_code == 302
    lead = _client(app, "lead_dc")
    version = _row(app, aid).row_version
    colleague_id = _user_id(app, COLLEAGUE)

    # A plain clerk may not reassign (by role, before any look-up); a lead of another unit gets 404.
    assert _reassign(_client(app, COLLEAGUE), aid, colleague_id, version).status_code == 403
    assert _reassign(_client(app, "lead_vo"), aid, colleague_id, version).status_code == 404
    assert _holder(app, aid) == HOLDER

    # To people who are not clerks of LJ-PS-DC-01: a clerk of another unit (even one of the lead's
    # own units), a lead of another unit, the admin. Refused at the field, nothing changes.
    for outsider in (OTHER_UNIT_CLERK, "clerk_vo", "lead_vo", "admin"):
        response = _reassign(lead, aid, _user_id(app, outsider), version)
        assert response.status_code == 422, outsider
        assert field_error(response.get_data(as_text=True), "reassign-to_user") == ONLY_OWN_UNIT, outsider
    # No one chosen, or an id that is no user.
    for nobody, message in (("", "请选择工作人员"), ("999999", "不是有效的选择。")):
        response = _reassign(lead, aid, nobody, version)
        assert response.status_code == 422, nobody
        assert field_error(response.get_data(as_text=True), "reassign-to_user") == message, nobody
    assert _holder(app, aid) == HOLDER and _row(app, aid).row_version == version
    assert _audit(app, "application.reassign", aid) == []

    # A stale form (someone acted meanwhile): refused with the stale message.
    response = _reassign(lead, aid, colleague_id, version - 1)
    assert response.status_code == 302
    assert STALE in _flash(lead, aid) and _holder(app, aid) == HOLDER

    # To a clerk of the unit: done and audited; the new holder works it, the old one no longer can.
    before = _row(app, aid).claimed_at
    response = _reassign(lead, aid, colleague_id, version)
    assert response.status_code == 302
    assert "已改派。" in _flash(lead, aid)
    row = _row(app, aid)
    assert row.claimed_by_id == colleague_id and row.claimed_at >= before
    (reassigned,) = _audit(app, "application.reassign", aid)
    assert reassigned.actor_id == _user_id(app, "lead_dc")
    assert reassigned.details == {"from_user": _user_id(app, HOLDER), "to_user": colleague_id}
    with app.app_context():
        assert [a.id for a in queues.queue_page(user(COLLEAGUE), "mine")] == [aid]
        assert queues.queue_page(user(HOLDER), "mine") == []
    old = _client(app, HOLDER)
    assert old.post(f"/clerk/applications/{aid}/release").status_code == 302
    assert NOT_HOLDER in _flash(old, aid) and _holder(app, aid) == COLLEAGUE


def test_the_reassign_list_offers_only_staff_of_the_unit(world, office):
    app, aid = world, office
    page = _client(app, "lead_dc").get(f"/clerk/applications/{aid}").get_data(as_text=True)
    section = page.split('name="to_user"', 1)[1].split("</select>", 1)[0]
    assert f"（{HOLDER}）" in section and f"（{COLLEAGUE}）" in section and "（lead_dc）" in section
    for outsider in (OTHER_UNIT_CLERK, "clerk_vo", "lead_vo", "admin"):
        assert f"（{outsider}）" not in section, outsider
    # A plain clerk sees no reassign form at all.
    assert "改派（科室负责人）" not in _client(app, HOLDER).get(f"/clerk/applications/{aid}").get_data(
        as_text=True
    )
