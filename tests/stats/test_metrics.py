"""Each metric on a hand-built set whose answers are worked out here (DESIGN §4).

Period 2025-09-01 … 2025-10-31. The 2025 National Day + Mid-Autumn holiday runs 1–8 October
(8 days off), with 调休 working days on Sunday 28 September and Saturday 11 October.

====  ===========  =======  ======  ==================  ====  ======  ====  ======  =====================
app   state        channel  visits  accepted→completed  due   days    cc    rating  note
====  ===========  =======  ======  ==================  ====  ======  ====  ======  =====================
a1    approved     online   0       09-30 → 10-09       10-09 1       0     5       holiday week: only 10-09
a2    refused      counter  1       09-26 → 09-29       09-26 2       1     4       walk-in; Sun 09-28 is 调休
a3    delivered    online   2       09-15 → 09-19       09-22 2       2     2       pause 09-16→09-18 excluded
a4    withdrawn    online   0       —                   —     —       0     —       not completed
a5    not_accepted counter  0       — (completed_at set) —    —       0     —       not completed
a6    approved     online   0       never accepted      —     —       1     3       10-01 07:00 local = Oct
a7    approved     online   0       10-13 → 10-15       10-14 2       0     1       another unit (XC), late
a8    approved     online   0       10-31 → 11-05       11-06 —       0     —       completed after period
====  ===========  =======  ======  ==================  ====  ======  ====  ======  =====================
"""

from __future__ import annotations

from datetime import date

import pytest

from applications.models import Channel
from applications.stats import metrics
from applications.stats.metrics import Period
from applications.workflow.deadlines import ChineseCalendar
from applications.workflow.states import State
from core.transaction import commit
from tests.clerk.helpers import unit
from tests.stats.helpers import add_app, sh

PERIOD = Period(date(2025, 9, 1), date(2025, 10, 31))


def build() -> dict[str, int]:
    a = {}
    a["a1"] = add_app(
        submitted=sh(2025, 9, 29),
        accepted=sh(2025, 9, 30, 9),
        completed=sh(2025, 10, 9),
        due=date(2025, 10, 9),
        rating=5,
    )
    a["a2"] = add_app(
        state=State.REFUSED,
        channel=Channel.COUNTER,
        submitted=sh(2025, 9, 25),
        accepted=sh(2025, 9, 26),
        completed=sh(2025, 9, 29),
        due=date(2025, 9, 26),
        corrections=1,
        visits=1,
        rating=4,
        correction_targets=["居民身份证"],
    )
    a["a3"] = add_app(
        state=State.DELIVERED,
        submitted=sh(2025, 9, 12),
        accepted=sh(2025, 9, 15),
        completed=sh(2025, 9, 19),
        due=date(2025, 9, 22),
        corrections=2,
        visits=2,
        rating=2,
        reasons=["办事指南不准确"],
        pauses=[(sh(2025, 9, 16), sh(2025, 9, 18))],
        correction_targets=["居民身份证", "照片"],
    )
    a["a4"] = add_app(state=State.WITHDRAWN, submitted=sh(2025, 9, 10))
    a["a5"] = add_app(
        state=State.NOT_ACCEPTED,
        channel=Channel.COUNTER,
        submitted=sh(2025, 9, 11),
        completed=sh(2025, 9, 12),
    )
    a["a6"] = add_app(submitted=sh(2025, 9, 15), completed=sh(2025, 10, 1, 7), corrections=1, rating=3)
    a["a7"] = add_app(
        item="LJ-CJ-006",
        unit_code="LJ-PS-XC-01",
        submitted=sh(2025, 10, 12),
        accepted=sh(2025, 10, 13),
        completed=sh(2025, 10, 15),
        due=date(2025, 10, 14),
        rating=1,
    )
    a["a8"] = add_app(
        submitted=sh(2025, 10, 30),
        accepted=sh(2025, 10, 31),
        completed=sh(2025, 11, 5),
        due=date(2025, 11, 6),
    )
    commit()
    return {k: v.id for k, v in a.items()}


@pytest.fixture
def hand(world):
    with world.app_context():
        ids = build()
    return ids


def test_the_calendar_knows_the_2025_holiday_week():
    cal = ChineseCalendar()
    assert not any(cal.is_working_day(date(2025, 10, d)) for d in range(1, 9))
    assert cal.is_working_day(date(2025, 9, 28)) and cal.is_working_day(date(2025, 10, 11))


def test_totals(world, hand):
    with world.app_context():
        t = metrics.compute(PERIOD).totals
    assert t.completed == 5  # a1 a2 a3 a6 a7: refused and delivered count; withdrawn, not_accepted, a8 don't
    assert (t.zero_visit, t.zero_visit_rate) == (3, 0.6)  # a1 a6 a7; a2's walk-in is a visit
    assert (t.at_most_once, t.at_most_once_rate) == (4, 0.8)  # all but a3 (2 visits)
    assert (t.submitted, t.online, t.online_rate) == (8, 6, 0.75)  # by submission date; a2 a5 at the counter
    assert (t.with_due, t.on_time, t.on_time_rate) == (4, 2, 0.5)  # a1 a3 on time; a2 a7 late; a6 no due
    assert t.duration_count == 4 and t.avg_working_days == 1.75  # (1 + 2 + 2 + 2) / 4
    assert (t.corrected, t.corrected_once, t.one_time_rate) == (3, 2, 0.6667)  # a2 a6 once, a3 twice
    assert (t.rated, t.satisfied, t.satisfaction) == (5, 2, 0.4)  # levels 5 4 3 2 1


def test_each_duration(world, hand):
    """One application per completion date, so a one-day period isolates each duration."""
    with world.app_context():
        for done, days in {
            date(2025, 10, 9): 1,
            date(2025, 9, 29): 2,
            date(2025, 9, 19): 2,
            date(2025, 10, 15): 2,
        }.items():
            totals = metrics.compute(Period(done, done)).totals
            assert (totals.duration_count, totals.avg_working_days) == (1, days), done


def test_month_uses_the_local_completion_date(world, hand):
    with world.app_context():
        rows = {r.key: r for r in metrics.compute(PERIOD, "month").rows}
    assert rows["2025-09"].completed == 2  # a2 a3
    assert rows["2025-10"].completed == 3  # a1, a6 (01:00 local on 1 October is 30 September in UTC), a7
    # 网办率 by month of submission: September a1 a2 a3 a4 a5 a6, October a7 a8
    assert (rows["2025-09"].submitted, rows["2025-09"].online) == (6, 4)
    assert (rows["2025-10"].submitted, rows["2025-10"].online) == (2, 2)


def test_unit_and_category_and_declared_vs_measured(world, hand):
    with world.app_context():
        units = {r.key: r for r in metrics.compute(PERIOD, "unit").rows}
        cats = {r.key: r for r in metrics.compute(PERIOD, "category").rows}
        items = {r.key: r for r in metrics.compute(PERIOD, "item").rows}
        exceeding = metrics.declared_vs_measured(PERIOD)
    assert units["LJ-PS-DC-01"].completed == 4 and units["LJ-PS-XC-01"].completed == 1
    assert cats["huji"].completed == 4 and sum(r.completed for r in cats.values()) == 5
    hj = items["LJ-HJ-021"]
    assert hj.declared_visits == 0 and hj.mean_visits == 0.75 and hj.exceeds_declared  # 3 visits / 4
    assert not items["LJ-CJ-006"].exceeds_declared
    assert [r.key for r in exceeding] == ["LJ-HJ-021"] and metrics.excess_visits(exceeding[0]) == 3


def test_visibility_restricts_rows_and_drill_downs(world, hand):
    with world.app_context():
        mine = frozenset({unit("LJ-PS-DC-01").id, unit("LJ-PS-DC-02").id})
        stats = metrics.compute(PERIOD, "unit", mine)
        drill = metrics.drill_down("completed", "all", PERIOD, mine)
        foreign = metrics.drill_down("completed", "LJ-PS-XC-01", PERIOD, mine, by="unit")
    assert [r.key for r in stats.rows] == ["LJ-PS-DC-01"] and stats.totals.completed == 4
    assert {r.id for r in drill.rows} == {hand[k] for k in ("a1", "a2", "a3", "a6")}
    assert foreign.total == 0 and foreign.rows == []


@pytest.mark.parametrize(
    ("metric", "by", "key", "expected"),
    [
        ("completed", "none", "all", {"a1", "a2", "a3", "a6", "a7"}),
        ("zero_visit", "none", "all", {"a1", "a6", "a7"}),
        ("late", "none", "all", {"a2", "a7"}),
        ("no_due", "none", "all", {"a6"}),
        ("corrected", "item", "LJ-HJ-021", {"a2", "a3", "a6"}),
        ("over_declared", "item", "LJ-HJ-021", {"a2", "a3"}),
        ("bad_rating", "none", "all", {"a3", "a7"}),
        ("counter", "none", "all", {"a2", "a5"}),
        ("completed", "month", "2025-10", {"a1", "a6", "a7"}),
        ("completed", "item", "NO-SUCH", set()),
    ],
)
def test_drill_down_lists_the_applications_behind_a_number(world, hand, metric, by, key, expected):
    with world.app_context():
        result = metrics.drill_down(metric, key, PERIOD, by=by)
    assert {r.id for r in result.rows} == {hand[k] for k in expected}
    assert result.total == len(expected)


def test_reform_list(world, hand):
    with world.app_context():
        reform = metrics.reform_list(PERIOD)
    assert [r.key for r in reform.visits] == ["LJ-HJ-021"]
    guide = {g.row.key: g for g in reform.guide}
    assert guide["LJ-HJ-021"].guide_complaints == 1 and guide["LJ-HJ-021"].score == 4  # 3 corrected + 1
    assert guide["LJ-HJ-021"].top_targets[0] == ("居民身份证", 2)
    assert [(r.key, r.late) for r in reform.on_time] == [("LJ-CJ-006", 1), ("LJ-HJ-021", 1)] or [
        (r.key, r.late) for r in reform.on_time
    ] == [("LJ-HJ-021", 1), ("LJ-CJ-006", 1)]


def test_empty_period_gives_undefined_rates_not_zero(world):
    with world.app_context():
        t = metrics.compute(PERIOD).totals
    assert t.completed == 0 and t.zero_visit_rate is None and t.satisfaction is None


def test_public_cases_show_no_names(world, hand):
    with world.app_context():
        cases = metrics.recent_completed()
    assert [c.approved for c in cases][:2] == [True, True]  # a8 then a7
    assert any(not c.approved for c in cases)  # a2 refused
    assert len(cases) == 6
