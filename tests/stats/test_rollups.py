"""The roll-up tables equal the raw-table SQL after every kind of change (issue 6): a late visit, a
rating given, changed or withdrawn, a reopened and re-completed application, a transfer, a changed
item, a pause, a calendar override added and removed, a deletion, rolled-back work — and under
concurrent completions. The expected tables are computed here from rows read with plain SQL and
aggregated in Python; durations straight from chinese-calendar. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from sqlalchemy import select, text

from applications.clerk import operations as ops
from applications.models import Application, ClockPause, StatusEvent, Visit
from applications.ratings.models import Rating
from applications.stats import metrics, rollup
from applications.stats.metrics import Period
from applications.stats.models import MEASURES
from applications.workflow.states import State
from auth.models import User
from catalog.queries import catalog
from core.db import db
from core.transaction import commit
from core.workdays.models import CalendarOverride, note_day_changed
from tests.clerk.helpers import insert_submitted, run_threads, unit, user
from tests.stats.helpers import SHANGHAI, sh
from tests.stats.test_against_sql import generate

DONE = ("approved", "refused", "delivered")


# The expectation, independent of the module --------------------------------------------------------


def _d(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _local(value) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).date()


def expected_daily(postgres: bool) -> dict[tuple, dict[str, int]]:
    """(day, item, category, unit, approving unit) → counts, from plain SQL rows summed in Python."""

    def day(col: str) -> str:
        return (
            f"CAST(a.{col} AT TIME ZONE 'Asia/Shanghai' AS DATE)"
            if postgres
            else f"date(a.{col}, '+8 hours')"
        )

    out: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    rows = db.session.execute(
        text(f"""
        SELECT {day("completed_at")}, a.item_id, iv.category_id, a.unit_id, a.approving_unit_id,
               (SELECT COUNT(*) FROM visits v WHERE v.application_id = a.id), a.promised_due,
               a.correction_count, a.working_days, r.level
        FROM applications a JOIN item_versions iv ON iv.id = a.version_id
        LEFT JOIN ratings r ON r.application_id = a.id
        WHERE a.state IN ('approved', 'refused', 'delivered') AND a.completed_at IS NOT NULL""")
    )
    for done, item, cat, unit_id, appr, nv, due, cc, wd, level in rows:
        e = out[(_d(done), item, cat, unit_id or 0, appr or 0)]
        e["completed"] += 1
        e["zero_visit"] += nv == 0
        e["at_most_once"] += nv <= 1
        e["visits_total"] += nv
        e["with_due"] += due is not None
        e["on_time"] += due is not None and _d(done) <= _d(due)
        e["corrected"] += cc >= 1
        e["corrected_once"] += cc == 1
        e["rated"] += level is not None
        e["satisfied"] += level is not None and level >= 4
        e["duration_count"] += wd is not None
        e["duration_sum"] += wd or 0
    rows = db.session.execute(
        text(f"""
        SELECT {day("submitted_at")}, a.item_id, iv.category_id, a.unit_id, a.approving_unit_id, a.channel
        FROM applications a JOIN item_versions iv ON iv.id = a.version_id WHERE a.submitted_at IS NOT NULL""")
    )
    for sub, item, cat, unit_id, appr, channel in rows:
        e = out[(_d(sub), item, cat, unit_id or 0, appr or 0)]
        e["submitted"] += 1
        e["online"] += channel == "online"
    return dict(out)


def stored(table: str) -> dict[tuple, dict[str, int]]:
    cols = ", ".join(MEASURES)
    key = "day" if table == "stats_daily" else "month"
    rows = db.session.execute(
        text(f"SELECT {key}, item_id, category_id, unit_id, approving_unit_id, {cols} FROM {table}")
    )
    return {(_d(r[0]), *r[1:5]): dict(zip(MEASURES, (int(x) for x in r[5:]), strict=True)) for r in rows}


def expected_working_days() -> dict[int, int | None]:
    """Every application's duration, from chinese-calendar and the override rows directly."""
    overrides = {
        _d(d): bool(w) for d, w in db.session.execute(text("SELECT day, working FROM calendar_overrides"))
    }
    pauses = defaultdict(list)
    for app_id, start, end in db.session.execute(
        text("SELECT application_id, started_at, ended_at FROM clock_pauses")
    ):
        pauses[app_id].append((_local(start), _local(end) if end else None))
    out = {}
    for app_id, state, accepted, completed in db.session.execute(
        text("SELECT id, state, accepted_at, completed_at FROM applications")
    ):
        if state not in DONE or accepted is None or completed is None:
            out[app_id] = None
            continue
        first, last = _local(accepted), _local(completed)
        paused = set()
        for ps, pe in pauses[app_id]:
            d = max(ps, first) + timedelta(days=1)
            while d <= (pe or last):
                paused.add(d)
                d += timedelta(days=1)
        days, d = 0, first + timedelta(days=1)
        while d <= last:
            working = overrides[d] if d in overrides else chinese_calendar.is_workday(d)
            days += d not in paused and working
            d += timedelta(days=1)
        out[app_id] = days
    return out


def expected_reasons(postgres: bool) -> dict[tuple, int]:
    """(day, item, unit, approving unit, kind, reason) → count: the 补正 targets named for completed
    applications and the reasons of their bad ratings (level ≤ 2), from the raw events and ratings."""
    day = (
        "CAST(a.completed_at AT TIME ZONE 'Asia/Shanghai' AS DATE)"
        if postgres
        else "date(a.completed_at, '+8 hours')"
    )
    keys = f"{day}, a.item_id, COALESCE(a.unit_id, 0), COALESCE(a.approving_unit_id, 0)"
    done = "a.state IN ('approved', 'refused', 'delivered') AND a.completed_at IS NOT NULL"
    out: dict[tuple, int] = defaultdict(int)
    for d, item, unit_id, appr, details in db.session.execute(
        text(f"""SELECT {keys}, e.details FROM applications a JOIN status_events e ON e.application_id = a.id
                 WHERE e.action = 'request_correction' AND {done}""")
    ):
        details = json.loads(details) if isinstance(details, str) else details
        for entry in details.get("items", []):
            if entry.get("target"):
                out[(_d(d), item, unit_id, appr, "correction", entry["target"])] += 1
    for d, item, unit_id, appr, reasons in db.session.execute(
        text(f"""SELECT {keys}, r.reasons FROM applications a JOIN ratings r ON r.application_id = a.id
                 WHERE r.level <= 2 AND {done}""")
    ):
        reasons = json.loads(reasons) if isinstance(reasons, str) else reasons
        out[(_d(d), item, unit_id, appr, "bad_rating", "")] += 1
        if any("指南" in r for r in reasons):
            out[(_d(d), item, unit_id, appr, "guide", "")] += 1
        for r in reasons:
            out[(_d(d), item, unit_id, appr, "bad_reason", r)] += 1
    return dict(out)


def stored_reasons() -> dict[tuple, int]:
    rows = db.session.execute(
        text("SELECT day, item_id, unit_id, approving_unit_id, kind, reason, n FROM stats_reasons")
    )
    return {(_d(r[0]), *r[1:6]): r[6] for r in rows}


def assert_true_to_raw(postgres: bool) -> dict[tuple, dict[str, int]]:
    """The stored durations and every roll-up table equal what the raw tables say."""
    db.session.expire_all()
    got_days = dict(db.session.execute(text("SELECT id, working_days FROM applications")).all())
    assert got_days == expected_working_days()
    daily = expected_daily(postgres)
    assert stored("stats_daily") == daily
    monthly: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for (day, *rest), counts in daily.items():
        acc = monthly[(day.replace(day=1), *rest)]
        for m in MEASURES:
            acc[m] += counts[m]
    assert stored("stats_monthly") == dict(monthly)
    assert stored_reasons() == expected_reasons(postgres)
    return daily


# Fixtures and helpers -------------------------------------------------------------------------------


@pytest.fixture
def generated(world):
    with world.app_context():
        generate(seed=7, n=120)
    return world


def _completed(**where) -> Application:
    q = select(Application).where(Application.state.in_(DONE), Application.accepted_at.is_not(None))
    for name, value in where.items():
        q = q.where(getattr(Application, name) == value)
    return db.session.scalars(q.order_by(Application.id)).first()


def _zero_visit_app() -> Application:
    has_visit = select(Visit.application_id)
    return db.session.scalars(
        select(Application)
        .where(Application.state.in_(DONE), Application.id.not_in(has_visit))
        .order_by(Application.id)
    ).first()


def _totals() -> metrics.StatRow:
    return metrics.compute(Period(date(2025, 8, 1), date(2025, 12, 31))).totals


# The changes ---------------------------------------------------------------------------------------


def test_generated_history_is_rolled_up_exactly(generated, is_postgres):
    with generated.app_context():
        daily = assert_true_to_raw(is_postgres)
        assert sum(c["completed"] for c in daily.values()) > 50
        assert sum(c["duration_count"] for c in daily.values()) > 30
        assert len({k[0].month for k in daily}) >= 3  # several months: the monthly table matters


def test_a_late_visit_and_its_removal(generated, is_postgres):
    with generated.app_context():
        target = _zero_visit_app()
        before = _totals()
        db.session.add(
            Visit(
                application_id=target.id,
                at=target.completed_at + timedelta(days=3),
                place="窗口",
                purpose="领取结果",
            )
        )
        rollup.changing(target)
        commit()
        assert_true_to_raw(is_postgres)
        after = _totals()
        assert after.zero_visit == before.zero_visit - 1
        assert after.visits_total == before.visits_total + 1
        db.session.delete(db.session.scalars(select(Visit).where(Visit.application_id == target.id)).one())
        rollup.changing(target)
        commit()
        assert_true_to_raw(is_postgres)
        assert _totals().zero_visit == before.zero_visit


def test_a_rating_given_changed_and_withdrawn(generated, is_postgres):
    with generated.app_context():
        rated = select(Rating.application_id)
        target = db.session.scalars(
            select(Application)
            .where(Application.state.in_(DONE), Application.id.not_in(rated))
            .order_by(Application.id)
        ).first()
        before = _totals()
        rating = Rating(
            application_id=target.id,
            user_id=target.applicant_id,
            unit_id=target.unit_id,
            item_id=target.item_id,
            level=5,
            reasons=[],
        )
        db.session.add(rating)
        rollup.changing(target)
        commit()
        assert_true_to_raw(is_postgres)
        assert (_totals().rated, _totals().satisfied) == (before.rated + 1, before.satisfied + 1)
        rating.level = 1
        rollup.changing(target)
        commit()
        assert_true_to_raw(is_postgres)
        assert _totals().satisfied == before.satisfied
        db.session.delete(rating)
        rollup.changing(target)
        commit()
        assert_true_to_raw(is_postgres)


def test_correction_targets_and_bad_rating_reasons(generated, is_postgres):
    with generated.app_context():
        target = _completed()
        db.session.add(
            StatusEvent(
                application_id=target.id,
                from_state="accepted",
                to_state="correction_requested",
                action="request_correction",
                details={
                    "items": [{"target": "照片", "note": "背景不对"}, {"target": "户口簿", "note": "缺页"}]
                },
            )
        )
        rollup.changing(target)
        commit()
        assert_true_to_raw(is_postgres)
        assert any(k[4] == "correction" and k[5] == "照片" for k in stored_reasons())
        rated = select(Rating.application_id)
        other = db.session.scalars(
            select(Application)
            .where(Application.state.in_(DONE), Application.id.not_in(rated))
            .order_by(Application.id.desc())
        ).first()
        day = other.completed_at.astimezone(SHANGHAI).date()
        rating = Rating(
            application_id=other.id,
            user_id=other.applicant_id,
            unit_id=other.unit_id,
            item_id=other.item_id,
            level=1,
            reasons=["办事指南不准确", "办理慢"],
        )
        db.session.add(rating)
        rollup.changing(other)
        commit()
        assert_true_to_raw(is_postgres)
        reform = metrics.reform_list(Period(day, day))
        row = next(g for g in reform.guide if g.row.key == catalog().by_version(other.version_id).code)
        assert row.guide_complaints >= 1 and ("办理慢", 1) in row.top_reasons
        rating.reasons = ["服务态度"]
        rollup.changing(other)
        commit()
        assert_true_to_raw(is_postgres)


def test_a_reopened_application_leaves_its_day_and_comes_back_on_another(generated, is_postgres):
    with generated.app_context():
        target = _completed()
        old_day = target.completed_at.astimezone(SHANGHAI).date()
        before = metrics.compute(Period(old_day, old_day)).totals
        rollup.changing(target)
        target.state = State.ACCEPTED
        target.completed_at = None
        commit()
        assert_true_to_raw(is_postgres)
        assert metrics.compute(Period(old_day, old_day)).totals.completed == before.completed - 1
        assert db.session.get(Application, target.id).working_days is None
        target.state = State.APPROVED
        target.completed_at = sh(2025, 10, 30, 15)
        rollup.changing(target)  # after the change works as well as before it (until a flush)
        commit()
        assert_true_to_raw(is_postgres)
        assert db.session.get(Application, target.id).working_days is not None


def test_a_transfer_and_a_changed_item(generated, is_postgres):
    with generated.app_context():
        target = _completed()
        target.unit_id = unit("LJ-PS-JN-01").id
        target.approving_unit_id = unit("LJ-PS-DC-01").id
        rollup.changing(target)
        commit()
        assert_true_to_raw(is_postgres)
        other = (
            catalog().items["LJ-CJ-006"]
            if catalog().items["LJ-HJ-021"].id == target.item_id
            else catalog().items["LJ-HJ-021"]
        )
        rollup.changing(target)
        target.item_id, target.version_id = other.id, other.version_id
        commit()
        assert_true_to_raw(is_postgres)


def test_a_moved_completion_date_and_submission_date(generated, is_postgres):
    with generated.app_context():
        target = _completed()
        target.completed_at = target.completed_at + timedelta(days=40)
        target.submitted_at = target.submitted_at - timedelta(days=3)
        rollup.changing(target)
        commit()
        assert_true_to_raw(is_postgres)


def test_a_pause_changes_the_duration(generated, is_postgres):
    with generated.app_context():
        target = db.session.scalars(
            select(Application)
            .where(Application.state.in_(DONE), Application.working_days >= 3)
            .order_by(Application.id)
        ).first()
        days = target.working_days
        start = target.accepted_at + timedelta(hours=1)
        db.session.add(
            ClockPause(
                application_id=target.id,
                started_at=start,
                ended_at=target.completed_at - timedelta(hours=1),
                reason="补正",
            )
        )
        rollup.changing(target)
        commit()
        assert_true_to_raw(is_postgres)
        assert db.session.get(Application, target.id).working_days < days


def test_a_calendar_override_added_and_removed(generated, is_postgres):
    with generated.app_context():
        target = db.session.scalars(
            select(Application)
            .where(Application.state.in_(DONE), Application.working_days >= 2)
            .order_by(Application.id)
        ).first()
        days = target.working_days
        first = target.accepted_at.astimezone(SHANGHAI).date() + timedelta(days=1)
        while not chinese_calendar.is_workday(first):
            first += timedelta(days=1)
        override = CalendarOverride(day=first, working=False, note="临时闭馆")
        db.session.add(override)
        note_day_changed(db.session, first)
        commit()
        assert_true_to_raw(is_postgres)
        paused_now = db.session.get(Application, target.id).working_days
        # the day may be inside a pause of this application, else it no longer counts
        assert paused_now in (days, days - 1)
        db.session.delete(override)
        note_day_changed(db.session, first)
        commit()
        assert_true_to_raw(is_postgres)
        assert db.session.get(Application, target.id).working_days == days


def test_a_deleted_application(generated, is_postgres):
    with generated.app_context():
        target = _completed()
        rollup.changing(target)
        db.session.delete(target)
        commit()
        assert_true_to_raw(is_postgres)


def test_rolled_back_work_leaves_the_roll_ups_alone(generated, is_postgres):
    with generated.app_context():
        target = _zero_visit_app()
        db.session.add(
            Visit(application_id=target.id, at=target.completed_at, place="窗口", purpose="核验原件")
        )
        db.session.flush()
        db.session.rollback()
        assert_true_to_raw(is_postgres)
        # a rolled-back savepoint inside a committed transaction
        other = _completed()
        with db.session.begin_nested() as nested:
            db.session.add(
                Visit(application_id=target.id, at=target.completed_at, place="窗口", purpose="核验原件")
            )
            db.session.flush()
            nested.rollback()
        other.correction_count = 1
        rollup.changing(other)
        commit()
        assert_true_to_raw(is_postgres)


def test_rebuild_gives_the_same_tables(generated, is_postgres):
    with generated.app_context():
        daily = stored("stats_daily")
        monthly = stored("stats_monthly")
        db.session.execute(text("UPDATE applications SET working_days = NULL"))
        figures = rollup.rebuild(db.session.connection())
        commit()
        assert figures["working_days_changed"] > 30
        assert stored("stats_daily") == daily
        assert stored("stats_monthly") == monthly
        assert_true_to_raw(is_postgres)


def test_the_grouped_figures_read_across_months_and_edge_days(generated, is_postgres):
    """A period starting and ending mid-month (edges from the daily table, whole months from the
    monthly table) gives the sums of the day-by-day figures."""
    with generated.app_context():
        period = Period(date(2025, 8, 25), date(2025, 10, 12))
        whole = metrics.compute(period, "month")
        by_day = defaultdict(int)
        d = period.start
        while d <= period.end:
            for row in metrics.compute(Period(d, d), "month").rows:
                by_day[row.key] += row.completed
            d += timedelta(days=1)
        assert {r.key: r.completed for r in whole.rows} == dict(by_day)
        assert whole.totals.completed == sum(by_day.values()) > 0


# Real operations and concurrency -------------------------------------------------------------------


def _accepted_today(n: int, holder: User) -> list[int]:
    now = datetime.now(UTC)
    ids = insert_submitted(
        n,
        state=State.ACCEPTED,
        claimed_by_id=holder.id,
        accepted_at=now - timedelta(minutes=30),
        submitted_at=now - timedelta(hours=1),
        promised_due=(now + timedelta(days=10)).date(),
    )
    rollup.mark_applications(db.session, ids)  # a bulk insert names what it wrote
    return ids


def _approve(app_id: int, clerk: User) -> None:
    target = db.session.get(Application, app_id)
    delivery = "mail" if "mail" in catalog().by_version(target.version_id).delivery else "counter"
    ops.approve(target, clerk, delivery=delivery, carrier="EMS", tracking="1234567890123")


def test_the_clerk_operations_keep_them_true(world, is_postgres):
    with world.app_context():
        clerk = user("clerk_ps_dc_01")
        ids = _accepted_today(3, clerk)
        commit()
        assert_true_to_raw(is_postgres)
        _approve(ids[0], clerk)
        commit()
        ops.refuse(db.session.get(Application, ids[1]), clerk, reason="材料不符合法定形式")
        commit()
        ops.record_visit(
            db.session.get(Application, ids[0]),
            clerk,
            at=datetime.now(UTC),
            place="东城派出所",
            purpose="领取结果",
        )
        commit()
        daily = assert_true_to_raw(is_postgres)
        today = datetime.now(UTC).astimezone(SHANGHAI).date()
        assert sum(c["completed"] for k, c in daily.items() if k[0] == today) == 2
        assert metrics.compute(Period(today, today)).totals.completed == 2


def test_concurrent_completions_of_one_item_on_one_day_are_all_counted(world, is_postgres):
    app = world
    n = 8
    with app.app_context():
        holder = user("clerk_ps_dc_01")
        holder_id = holder.id
        ids = _accepted_today(n, holder)
        commit()
    start = threading.Barrier(n)

    def work(i: int) -> None:
        with app.app_context():
            clerk = db.session.get(User, holder_id)
            db.session.get(Application, ids[i])
            commit()
            start.wait()
            _approve(ids[i], clerk)
            commit()
            db.session.remove()

    errors = run_threads(n, work)
    assert errors == []
    with app.app_context():
        daily = assert_true_to_raw(is_postgres)
        today = datetime.now(UTC).astimezone(SHANGHAI).date()
        assert sum(c["completed"] for k, c in daily.items() if k[0] == today) == n


def test_transfer_correction_and_rating_through_their_operations_keep_them_true(world, is_postgres):
    """Each operation names what it changed (``rollup.changing``): a transfer moves the counts to
    another unit, a 补正 request counts a correction, a rating counts as rated and satisfied."""
    from applications.ratings.operations import rate

    with world.app_context():
        clerk = user("clerk_ps_dc_01")
        ids = _accepted_today(3, clerk)
        commit()
        ops.transfer(db.session.get(Application, ids[0]), clerk, to_unit=unit("LJ-PS-JN-01"), reason="属地")
        commit()
        assert_true_to_raw(is_postgres)
        ops.request_correction(
            db.session.get(Application, ids[1]), clerk, [{"target": "照片", "note": "背景不是白色"}]
        )
        commit()
        assert_true_to_raw(is_postgres)
        _approve(ids[2], clerk)
        commit()
        done = db.session.get(Application, ids[2])
        rate(done, db.session.get(User, done.applicant_id), level=5, reasons=[], comment="")
        commit()
        daily = assert_true_to_raw(is_postgres)
        today = datetime.now(UTC).astimezone(SHANGHAI).date()
        assert sum(c["rated"] for k, c in daily.items() if k[0] == today) == 1
        assert sum(c["satisfied"] for k, c in daily.items() if k[0] == today) == 1


def test_nothing_refreshes_behind_an_operations_back(generated, is_postgres):
    """No ORM listener: a raw change that does not say ``rollup.changing`` leaves the roll-ups as
    they were (which is why every operation says it), and saying it afterwards repairs them."""
    with generated.app_context():
        target = _zero_visit_app()
        before = _totals()
        db.session.add(
            Visit(application_id=target.id, at=target.completed_at, place="窗口", purpose="核验原件")
        )
        commit()
        assert _totals().zero_visit == before.zero_visit
        rollup.changing(target)
        commit()
        assert_true_to_raw(is_postgres)
        assert _totals().zero_visit == before.zero_visit - 1
