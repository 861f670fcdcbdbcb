"""A bad rating opens a follow-up for the unit, due in 15 working days; the unit lead closes it with
an outcome; leads see their own units only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from applications.ratings import operations as ops
from applications.ratings.models import FollowUpStatus, Rating, RatingFollowUp
from core.audit import AuditLog
from core.db import db
from core.errors import FieldError, NotFound
from core.outbox import OutboxMessage
from tests.clerk.helpers import citizen, unit, user

from .helpers import LEAD, citizen_login, completed, one_completed, staff_login

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_bad_rating_due_15_working_days_across_national_day_2025(world):
    """Rated on Friday 2025-09-26: Sunday 09-28 is a 调休 working day, 10-01…10-08 are holidays,
    Saturday 10-11 is a working day again. The 15 working days are 09-28, 29, 30, 10-09, 10, 11,
    13, 14, 15, 16, 17, 20, 21, 22, 23 → due 2025-10-23."""
    moment = datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)
    with world.app_context():
        app = completed(completed_at=moment - timedelta(days=1))
        rating = ops.rate(app, citizen(), level=1, reasons=["办理慢", "服务态度"], comment="太慢", at=moment)
        db.session.commit()
        follow_up = db.session.scalar(select(RatingFollowUp).where(RatingFollowUp.rating_id == rating.id))
        assert follow_up.due_on == date(2025, 10, 23)
        assert follow_up.unit_id == unit("LJ-PS-DC-01").id == rating.unit_id
        assert follow_up.status == FollowUpStatus.OPEN
        note = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "rating_follow_up"))
        assert note.user_id == user(LEAD).id and "2025-10-23" in note.body
        actions = set(db.session.scalars(select(AuditLog.action)))
        assert {"rating.create", "rating.follow_up_open"} <= actions


def test_levels_three_to_five_open_nothing(world):
    with world.app_context():
        for level in (3, 4, 5):
            ops.rate(completed(), citizen(), level=level)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(RatingFollowUp)) == 0


def test_bad_rating_through_the_page_opens_a_follow_up(world):
    aid = one_completed(world)
    client = citizen_login(world.test_client())
    response = client.post(
        f"/applications/{aid}/rate", data={"level": "2", "reasons": ["材料重复提交"], "comment": "要交两次"}
    )
    assert response.status_code == 302
    with world.app_context():
        follow_up = db.session.scalar(select(RatingFollowUp))
        assert follow_up is not None and follow_up.due_on > date.today()


def _follow_up(unit_code: str, clerk: str, *, level: int = 1, at: datetime | None = None) -> int:
    app = completed(unit_code=unit_code, clerk=clerk)
    rating = ops.rate(app, citizen(), level=level, reasons=["其他"], at=at)
    db.session.flush()
    return db.session.scalar(select(RatingFollowUp.id).where(RatingFollowUp.rating_id == rating.id))


def test_lead_sees_own_units_open_first_overdue_highlighted_and_must_give_an_outcome(world):
    with world.app_context():
        old = _follow_up("LJ-PS-DC-01", "clerk_ps_dc_01", at=datetime.now(SHANGHAI) - timedelta(days=40))
        fresh = _follow_up("LJ-PS-DC-02", "clerk_ps_dc_02", level=2)
        foreign = _follow_up("LJ-PS-XC-01", "clerk_ps_xc_01")
        db.session.commit()
        refs = {
            fid: db.session.scalar(
                select(RatingFollowUp).where(RatingFollowUp.id == fid)
            ).rating.application_id
            for fid in (old, fresh, foreign)
        }
        from applications.models import Application

        refs = {fid: db.session.get(Application, aid).reference for fid, aid in refs.items()}
    lead = staff_login(world.test_client(), LEAD)
    page = lead.get("/ratings/follow-ups")
    assert page.status_code == 200
    assert refs[old] in page.text and refs[fresh] in page.text
    assert refs[foreign] not in page.text
    assert page.text.index(refs[old]) < page.text.index(refs[fresh])  # earliest due first
    assert f'class="table-danger" data-testid="follow-up-{old}"' in page.text
    assert f'class="table-danger" data-testid="follow-up-{fresh}"' not in page.text
    assert lead.get(f"/ratings/follow-ups/{foreign}").status_code == 404
    assert lead.post(f"/ratings/follow-ups/{foreign}", data={"outcome": "x"}).status_code == 404

    empty = lead.post(f"/ratings/follow-ups/{old}", data={"outcome": "   "})
    assert empty.status_code == 422 and "请填写核实整改情况" in empty.text
    done = lead.post(f"/ratings/follow-ups/{old}", data={"outcome": "已回访，窗口增派人手"})
    assert done.status_code == 302
    with world.app_context():
        closed = db.session.get(RatingFollowUp, old)
        assert closed.status == FollowUpStatus.CLOSED and closed.outcome == "已回访，窗口增派人手"
        assert closed.closed_by_id == user(LEAD).id and closed.closed_at is not None
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "rating.follow_up_close"))
        assert row.object_id == str(old) and row.actor_id == user(LEAD).id
    page = lead.get("/ratings/follow-ups").text
    assert page.index(refs[fresh]) < page.index(refs[old])  # open before closed
    again = lead.post(f"/ratings/follow-ups/{old}", data={"outcome": "再来一次"}, follow_redirects=True)
    assert "该差评跟进已办结" in again.text


def test_only_unit_leads_reach_the_follow_up_pages(world):
    with world.app_context():
        fid = _follow_up("LJ-PS-DC-01", "clerk_ps_dc_01")
        db.session.commit()
    clerk = staff_login(world.test_client(), "clerk_ps_dc_01")
    assert clerk.get("/ratings/follow-ups").status_code == 403
    assert clerk.get(f"/ratings/follow-ups/{fid}").status_code == 403
    anonymous = world.test_client().get("/ratings/follow-ups")
    assert anonymous.status_code == 302
    owner = citizen_login(world.test_client())
    assert owner.get("/ratings/follow-ups").status_code == 403


def test_close_rules_in_the_operation(world):
    with world.app_context():
        fid = _follow_up("LJ-PS-DC-01", "clerk_ps_dc_01")
        follow_up = db.session.get(RatingFollowUp, fid)
        try:
            ops.close_follow_up(follow_up, user(LEAD), outcome="")
        except FieldError as exc:
            assert exc.field == "outcome"
        else:  # pragma: no cover
            raise AssertionError("an empty outcome closed the follow-up")
        try:
            ops.close_follow_up(follow_up, user("clerk_ps_dc_01"), outcome="我来关")
        except NotFound:
            pass
        else:  # pragma: no cover
            raise AssertionError("a clerk closed the follow-up")
        assert follow_up.status == FollowUpStatus.OPEN
        assert db.session.scalar(select(func.count()).select_from(Rating)) == 1
