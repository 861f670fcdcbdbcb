"""The rating page: citizen only, own completed application only, one rating, Chinese messages."""

from __future__ import annotations

import re
import threading

from sqlalchemy import func, select

from applications.ratings.models import Rating
from core.audit import AuditLog
from core.db import db
from tests.auth.helpers import login, make_account

from .helpers import accepted, citizen_login, completed, one_completed, staff_login


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_good_rating_is_saved_and_audited(world):
    aid = one_completed(world)
    client = citizen_login(world.test_client())
    page = client.get(f"/applications/{aid}/rate")
    assert page.status_code == 200
    for label in ("非常满意", "满意", "基本满意", "不满意", "非常不满意", "办事指南不准确", "系统不好用"):
        assert label in page.text
    response = client.post(
        f"/applications/{aid}/rate", data={"level": "5", "reasons": [], "comment": "很方便，没跑腿"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/applications/{aid}")
    with world.app_context():
        rating = db.session.scalar(select(Rating).where(Rating.application_id == aid))
        assert (rating.level, rating.reasons, rating.comment) == (5, [], "很方便，没跑腿")
        assert rating.unit_id is not None and rating.item_id
        assert rating.follow_up is None
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "rating.create"))
        assert audit.object_id == str(aid) and audit.details["level"] == 5
    again = client.get(f"/applications/{aid}/rate")
    assert "您已评价过该办件" in again.text and "非常满意" in again.text


def test_validation_in_chinese_keeps_the_input(world):
    aid = one_completed(world)
    client = citizen_login(world.test_client())
    response = client.post(
        f"/applications/{aid}/rate", data={"reasons": ["办理慢", "服务态度"], "comment": "窗口排队太久"}
    )
    assert response.status_code == 422
    assert "请选择满意程度" in response.text
    assert "窗口排队太久" in response.text
    assert response.text.count("checked") == 2
    long = client.post(f"/applications/{aid}/rate", data={"level": "2", "comment": "慢" * 501})
    assert long.status_code == 422 and "意见建议最多500字" in long.text
    assert re.search(r'<input checked[^>]*name="level"[^>]*value="2"', long.text)
    bad_reason = client.post(f"/applications/{aid}/rate", data={"level": "3", "reasons": ["随便"]})
    assert bad_reason.status_code == 422 and "请从列表中选择原因" in bad_reason.text
    bad_level = client.post(f"/applications/{aid}/rate", data={"level": "9"})
    assert bad_level.status_code == 422
    with world.app_context():
        assert _count(Rating) == 0


def test_second_rating_gets_a_friendly_message(world):
    aid = one_completed(world)
    client = citizen_login(world.test_client())
    assert client.post(f"/applications/{aid}/rate", data={"level": "4"}).status_code == 302
    second = client.post(f"/applications/{aid}/rate", data={"level": "1"}, follow_redirects=True)
    assert second.status_code == 200
    assert "您已评价过该办件" in second.text
    with world.app_context():
        assert _count(Rating) == 1
        assert db.session.scalar(select(Rating.level)) == 4


def test_concurrent_double_post_makes_one_rating(world):
    aid = one_completed(world)
    clients = [citizen_login(world.test_client()) for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    results: list = [None] * len(clients)

    def run(i, client):
        barrier.wait()
        try:
            results[i] = client.post(f"/applications/{aid}/rate", data={"level": str(1 + i % 5)})
        except Exception as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for r in results:
        assert not isinstance(r, Exception), r
        assert r.status_code == 302, r.status_code
    with world.app_context():
        assert _count(Rating) == 1
        assert _count(AuditLog, AuditLog.action == "rating.create") == 1


def test_someone_elses_or_unfinished_application_is_404(world):
    aid = one_completed(world)
    with world.app_context():
        open_id = accepted().id
        db.session.commit()
    other = make_account(world, "citizen")
    stranger = world.test_client()
    assert login(stranger, other.login).status_code == 302
    assert stranger.get(f"/applications/{aid}/rate").status_code == 404
    assert stranger.post(f"/applications/{aid}/rate", data={"level": "5"}).status_code == 404
    owner = citizen_login(world.test_client())
    assert owner.get(f"/applications/{open_id}/rate").status_code == 404
    assert owner.post(f"/applications/{open_id}/rate", data={"level": "5"}).status_code == 404
    assert owner.get("/applications/999999/rate").status_code == 404
    with world.app_context():
        assert _count(Rating) == 0


def test_staff_and_anonymous_cannot_rate(world):
    aid = one_completed(world)
    anonymous = world.test_client().get(f"/applications/{aid}/rate")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    clerk = staff_login(world.test_client(), "clerk_ps_dc_01")
    assert clerk.get(f"/applications/{aid}/rate").status_code == 403


def test_refused_and_delivered_can_be_rated(world):
    with world.app_context():
        refused = completed(outcome="refuse")
        db.session.commit()
        rid = refused.id
    client = citizen_login(world.test_client())
    assert client.post(f"/applications/{rid}/rate", data={"level": "3"}).status_code == 302
