"""``flask demo simulate``: a small run makes a consistent, believable history with the real operations."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import func, select

import demo.simulate  # noqa: F401 - registers `flask demo simulate`
from applications.models import Application, ApplicationDocument, Channel, StatusEvent, Visit
from applications.ratings.models import Rating, RatingFollowUp
from applications.workflow.deadlines import local_date
from applications.workflow.states import COMPLETED
from catalog.queries import catalog
from core.db import db, utcnow
from core.outbox import OutboxMessage
from demo.simulate import simulate

DONE = {s.value for s in COMPLETED}


def test_small_run_is_consistent_and_believable(world):
    with world.app_context():
        started = utcnow()
        stats = simulate(days=10, per_day=5, seed=1)
        assert stats.submitted > 20 and stats.citizens > 0
        apps = db.session.scalars(select(Application)).all()
        assert len(apps) == stats.submitted
        done = [a for a in apps if a.state.value in DONE]
        open_ = [a for a in apps if a.state.value not in DONE]
        assert len({a.item_id for a in done}) >= 5
        assert len({a.unit_id for a in done}) >= 3
        assert open_, "the last days' applications stay open"
        assert db.session.scalar(select(func.count()).select_from(Rating)) > 0

        visits = defaultdict(list)
        for v in db.session.scalars(select(Visit)):
            visits[v.application_id].append(v)
        items = {i.id: i for i in catalog().items.values()}
        share: dict[str, list[bool]] = {"star5": [], "declared": []}
        for a in done:
            key = "star5" if items[a.item_id].online_depth == 5 else "declared"
            share[key].append(not visits[a.id])
        assert share["star5"] and share["declared"]
        zero = {k: sum(v) / len(v) for k, v in share.items()}
        assert zero["star5"] > zero["declared"], zero

        references = [a.reference for a in apps]
        assert len(set(references)) == len(references)
        first_day = local_date(started) - timedelta(days=9)
        for a in apps:
            assert a.submitted_at is not None and a.submitted_at <= started
            assert first_day <= local_date(a.submitted_at)
            assert a.reference[2:10] == f"{local_date(a.submitted_at):%Y%m%d}"
            assert a.created_at <= a.submitted_at
            if a.state.value in DONE:
                assert a.submitted_at <= a.accepted_at <= a.completed_at <= started, a.reference
                assert a.promised_due is not None
            if a.channel == Channel.COUNTER:
                assert visits[a.id], "a walk-in is a visit"
            for v in visits[a.id]:
                assert a.submitted_at <= v.at <= started
            events = db.session.scalars(
                select(StatusEvent).where(StatusEvent.application_id == a.id).order_by(StatusEvent.id)
            ).all()
            times = [e.at for e in events]
            assert times == sorted(times) and times[-1] <= started
            assert events[-1].to_state == a.state.value
        # Every row the run wrote carries a simulated time, not the real one.
        for model, column in (
            (OutboxMessage, OutboxMessage.created_at),
            (ApplicationDocument, ApplicationDocument.created_at),
            (Rating, Rating.created_at),
            (RatingFollowUp, RatingFollowUp.created_at),
        ):
            assert db.session.scalar(select(func.count()).select_from(model).where(column >= started)) == 0
        assert (
            db.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
            )
            == 0
        )
        invited = db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "rating_invite")
        )
        assert invited == sum(1 for a in done)
        docs = db.session.scalars(select(ApplicationDocument)).all()
        assert docs and all(d.size > 0 and d.kind in ("jpg", "png", "pdf") for d in docs)


def test_running_twice_with_one_seed_does_not_clash(world):
    with world.app_context():
        first = simulate(days=3, per_day=3, seed=7)
        second = simulate(days=3, per_day=3, seed=7)
        total = db.session.scalar(select(func.count()).select_from(Application))
        assert total == first.submitted + second.submitted
        from auth.models import User

        mobiles = db.session.scalars(select(User.mobile).where(User.mobile.is_not(None))).all()
        assert len(mobiles) == len(set(mobiles))


def test_cli_prints_what_it_did_and_skips_when_not_empty(world):
    runner = world.test_cli_runner()
    result = runner.invoke(args=["demo", "simulate", "--days", "2", "--per-day", "3", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "提交申请" in result.output and "用时" in result.output
    skipped = runner.invoke(args=["demo", "simulate", "--days", "2", "--per-day", "3", "--if-empty"])
    assert skipped.exit_code == 0 and "跳过" in skipped.output
    with world.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) > 0
