"""Nothing is claimed or decided twice (DESIGN §5): the claim race and the decision race, on SQLite
and on PostgreSQL (the suite runs both ways)."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from applications.clerk import operations as ops
from applications.models import Application, StatusEvent
from applications.workflow.states import InvalidTransition, State
from auth.models import User
from core.audit import AuditLog
from core.db import db
from tests.clerk.helpers import insert_submitted, login_staff, run_threads, unit, user
from tests.factories import StaffFactory

STALE_MESSAGE = "该申请已被其他人处理"


def test_twenty_clerks_claim_two_hundred_applications_each_exactly_once(world):
    app = world
    with app.app_context():
        ids = set(insert_submitted(200))
        dc01 = unit("LJ-PS-DC-01")
        clerks = [StaffFactory(units=[dc01]).id for _ in range(20)]
        db.session.commit()

    claimed: dict[int, list[int]] = {cid: [] for cid in clerks}
    start = threading.Barrier(20)

    def work(i: int) -> None:
        with app.app_context():
            clerk = db.session.get(User, clerks[i])
            units = [u.id for u in clerk.units]
            assert units
            db.session.commit()  # end the read (on SQLite it holds the write lock) before the start line
            start.wait()
            while True:
                got = ops.claim_next(clerk)
                db.session.commit()
                if got is None:
                    break
                claimed[clerks[i]].append(got)
            db.session.remove()

    errors = run_threads(20, work)
    assert errors == [], errors
    assert not any(isinstance(e, OperationalError) for e in errors)
    every = [aid for got in claimed.values() for aid in got]
    assert len(every) == 200
    assert Counter(every).most_common(1)[0][1] == 1, "an application was claimed twice"
    assert set(every) == ids
    with app.app_context():
        holders = dict(db.session.execute(select(Application.id, Application.claimed_by_id)).all())
        for cid, got in claimed.items():
            assert all(holders[aid] == cid for aid in got)
        audit_claims = db.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "application.claim")
        )
        assert audit_claims == 200
        assert ops.claim_next(user("clerk_ps_dc_01")) is None


def test_two_decisions_on_one_application_exactly_one_wins_each_round(world):
    app = world
    rounds = 100
    with app.app_context():
        holder_id = user("clerk_ps_dc_01").id
        ids = insert_submitted(rounds, claimed_by_id=holder_id)
        db.session.commit()
        versions = dict(db.session.execute(select(Application.id, Application.row_version)).all())

    losers: list[BaseException] = []
    for aid in ids:
        seen = versions[aid]
        start = threading.Barrier(2)
        outcome: dict[int, str] = {}

        def decide(i: int, aid=aid, seen=seen, start=start, outcome=outcome) -> None:
            with app.app_context():
                try:
                    start.wait()
                    holder = db.session.get(User, holder_id)
                    application = ops.get_for_staff(holder, aid)
                    if i == 0:
                        ops.accept(application, holder, seen_version=seen)
                    else:
                        ops.not_accept(
                            application,
                            holder,
                            reason="材料不属于本单位受理范围",
                            legal_basis="《行政许可法》第三十二条",
                            seen_version=seen,
                        )
                    db.session.commit()
                    outcome[i] = "won"
                except (ops.StaleDecision, InvalidTransition, StaleDataError) as exc:
                    db.session.rollback()
                    outcome[i] = "lost"
                    losers.append(exc)
                finally:
                    db.session.remove()

        errors = run_threads(2, decide)
        assert errors == [], errors
        assert sorted(outcome.values()) == ["lost", "won"], (aid, outcome)

    assert len(losers) == rounds
    with app.app_context():
        states = Counter(db.session.scalars(select(Application.state).where(Application.id.in_(ids))))
        assert sum(states.values()) == rounds
        assert set(states) <= {State.ACCEPTED, State.NOT_ACCEPTED}
        decisions = db.session.execute(
            select(StatusEvent.application_id, func.count())
            .where(StatusEvent.action.in_(["accept", "not_accept"]), StatusEvent.application_id.in_(ids))
            .group_by(StatusEvent.application_id)
        ).all()
        assert len(decisions) == rounds and all(n == 1 for _aid, n in decisions)
        audited = db.session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action.in_(["application.accept", "application.not_accept"]))
        )
        assert audited == rounds


def test_the_loser_of_a_decision_race_through_the_pages_sees_the_message(world):
    app = world
    with app.app_context():
        holder = user("clerk_ps_dc_01")
        (aid,) = insert_submitted(1, claimed_by_id=holder.id)
        db.session.commit()
        seen = db.session.get(Application, aid).row_version

    clients = [app.test_client(), app.test_client()]
    for c in clients:
        login_staff(c, "clerk_ps_dc_01")
        assert c.get(f"/clerk/applications/{aid}").status_code == 200
    start = threading.Barrier(2)
    pages: dict[int, str] = {}

    def post(i: int) -> None:
        start.wait()
        if i == 0:
            r = clients[0].post(
                f"/clerk/applications/{aid}/accept", data={"version": seen}, follow_redirects=True
            )
        else:
            r = clients[1].post(
                f"/clerk/applications/{aid}/not-accept",
                data={"version": seen, "reason": "不属于受理范围", "legal_basis": "《行政许可法》第三十二条"},
                follow_redirects=True,
            )
        pages[i] = r.get_data(as_text=True)

    assert run_threads(2, post) == []
    won = [i for i, text in pages.items() if STALE_MESSAGE not in text]
    lost = [i for i, text in pages.items() if STALE_MESSAGE in text]
    assert len(won) == 1 and len(lost) == 1, {i: t[:200] for i, t in pages.items()}
    with app.app_context():
        state = db.session.get(Application, aid).state
        assert state == (State.ACCEPTED if won == [0] else State.NOT_ACCEPTED)
