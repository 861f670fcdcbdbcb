"""A year's 放假安排 entered by an admin (issue 18, item 9): the form, the file, the refusals, the
due dates it moves (audited, the citizen told), the warning on the admin's and the lead's pages and
in the readiness check."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

import core.clock
from applications.models import Application
from applications.workflow.clock import recompute_due_dates
from applications.workflow.states import State
from core.audit import AuditLog
from core.db import db
from core.outbox import OutboxMessage
from core.workdays.models import CalendarYear, load_calendar
from tests.clerk.helpers import PS_COUNTER_ITEM, insert_submitted, login_staff

LONGER_SPRING_FESTIVAL = "元旦 2027-01-01\n春节 2027-02-05 ~ 2027-02-13\n上班 2027-02-14\n"


@pytest.fixture
def december(monkeypatch):
    """The clock on 6 December 2026, 10:00 in Beijing: next year is not published."""
    monkeypatch.setattr(core.clock, "now", lambda: datetime(2026, 12, 6, 2, 0, tzinfo=UTC))


def _accepted_before_spring_festival(app) -> int:
    """夫妻投靠落户 (promised 5 working days) accepted on Monday 1 February 2027."""
    with app.app_context():
        (aid,) = insert_submitted(1, item_code=PS_COUNTER_ITEM, state=State.ACCEPTED)
        a = db.session.get(Application, aid)
        a.accepted_at = datetime(2027, 2, 1, 2, 0, tzinfo=UTC)
        recompute_due_dates(a)
        db.session.commit()
        return aid


def test_entering_an_arrangement_moves_due_dates_audits_and_tells_the_citizen(world, december):
    app = world
    aid = _accepted_before_spring_festival(app)
    with app.app_context():
        # statutory: Feb 2, 3, 4 | 5–10 off | 11, 12 → the fifth working day is Friday 12 February
        assert db.session.get(Application, aid).promised_due == date(2027, 2, 12)
    client = app.test_client()
    login_staff(client, "admin")
    page = client.get("/admin/calendar/years/2027")
    assert page.status_code == 200 and "按《全国年节及纪念日放假办法》推算" in page.text
    assert "春节 2027-02-05 ~ 2027-02-08" in page.text  # the statutory days offered as a start
    assert "春节（补假） 2027-02-09 ~ 2027-02-10" in page.text

    r = client.post("/admin/calendar/years/2027", data={"text": LONGER_SPRING_FESTIVAL, "note": "国办通知"})
    assert r.status_code == 302
    with app.app_context():
        a = db.session.get(Application, aid)
        # Feb 2, 3, 4 | 5–13 off | Sun 14 (调休上班), Mon 15 → 15 February
        assert a.promised_due == date(2027, 2, 15)
        assert load_calendar().source(2027) == "admin"
        actions = db.session.scalars(select(AuditLog.action)).all()
        assert "calendar.arrangement_set" in actions
        moved = db.session.scalar(
            select(AuditLog).where(
                AuditLog.action == "application.due_dates_recomputed", AuditLog.object_id == str(aid)
            )
        )
        assert moved.details["before"]["promised_due"] == "2027-02-12"
        assert moved.details["after"]["promised_due"] == "2027-02-15"
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "due_date_moved"))
        assert message.user_id == a.applicant_id and "2027-02-15" in message.body
    assert "1 件办件的办结期限已重新计算" in client.get("/admin/calendar/years/2027").text

    # Entering the same arrangement again moves nothing and tells nobody twice.
    client.post("/admin/calendar/years/2027", data={"text": LONGER_SPRING_FESTIVAL, "note": "再次保存"})
    with app.app_context():
        assert (
            len(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "due_date_moved")).all())
            == 1
        )


def test_a_bad_arrangement_is_refused_at_the_field_and_the_text_is_kept(world, december):
    client = world.test_client()
    login_staff(client, "admin")
    bad = "元旦 2027-01-01\n春节 2027-02-30"
    r = client.post("/admin/calendar/years/2027", data={"text": bad, "note": ""})
    assert r.status_code == 422
    assert "第 2 行" in r.text and "不是有效日期" in r.text and "2027-02-30" in r.text
    with world.app_context():
        assert db.session.get(CalendarYear, 2027) is None


def test_an_arrangement_file_can_be_imported(world, december):
    client = world.test_client()
    login_staff(client, "admin")
    data = {
        "text": "",
        "note": "",
        "file": (io.BytesIO(LONGER_SPRING_FESTIVAL.encode("utf-8-sig")), "2027.txt"),
    }
    r = client.post("/admin/calendar/years/2027", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    with world.app_context():
        assert not load_calendar().is_working_day(date(2027, 2, 12))
    binary = {"text": "", "note": "", "file": (io.BytesIO(b"\xff\xfe\x00garbage"), "x.txt")}
    r = client.post("/admin/calendar/years/2028", data=binary, content_type="multipart/form-data")
    assert r.status_code == 422 and "UTF-8" in r.text


@pytest.mark.parametrize("username", ["clerk_ps_dc_01", "lead_dc"])
def test_only_admins_enter_arrangements(world, username):
    client = world.test_client()
    login_staff(client, username)
    assert client.post("/admin/calendar/years/2027", data={"text": LONGER_SPRING_FESTIVAL}).status_code in (
        403,
        404,
    )
    assert client.get("/admin/calendar/years/").status_code in (403, 404)
    with world.app_context():
        assert db.session.get(CalendarYear, 2027) is None


def test_admins_and_leads_are_warned_until_next_year_is_entered(world, december):
    app = world
    admin, lead, clerk = app.test_client(), app.test_client(), app.test_client()
    login_staff(admin, "admin")
    login_staff(lead, "lead_dc")
    login_staff(clerk, "clerk_ps_dc_01")
    assert "2027 年放假安排尚未录入" in admin.get("/admin/calendar/years/").text
    assert "2027 年放假安排尚未录入" in lead.get("/clerk/").text
    assert "放假安排尚未录入" not in clerk.get("/clerk/").text
    assert "calendar" in app.test_client().get("/readyz").json["warnings"][0]
    admin.post("/admin/calendar/years/2027", data={"text": LONGER_SPRING_FESTIVAL})
    assert "放假安排尚未录入" not in lead.get("/clerk/").text
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.json["warnings"] == []


def test_no_warning_before_november(world, monkeypatch):
    monkeypatch.setattr(core.clock, "now", lambda: datetime(2026, 10, 31, 15, 0, tzinfo=UTC))  # 23:00 Beijing
    lead = world.test_client()
    login_staff(lead, "lead_dc")
    assert "放假安排尚未录入" not in lead.get("/clerk/").text
    monkeypatch.setattr(
        core.clock, "now", lambda: datetime(2026, 10, 31, 16, 30, tzinfo=UTC)
    )  # 00:30 on 1 Nov
    assert "2027 年放假安排尚未录入" in lead.get("/clerk/").text
