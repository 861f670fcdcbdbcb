"""Due dates, pauses, elapsed days and due states over real 2025 periods, each count written out.

Convention (applications.workflow.deadlines): the acceptance day is not counted; a pause covers the dates
after its start date up to and including its end date.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from applications.workflow.deadlines import (
    CALENDAR_DAYS,
    ChineseCalendar,
    Pause,
    due_dates,
    due_state,
    elapsed_working_days,
    local_date,
    used_fraction,
)
from tests.deadlines.helpers import cst

CAL = ChineseCalendar()

# The correction used below: asked Mon 2025-09-29 15:00, answered Fri 2025-10-10 09:00. It covers
# 09-30 … 10-10: working days 09-30 Tue, 10-09 Thu, 10-10 Fri = 3 (10-01..10-08 are holidays);
# calendar days 09-30 … 10-10 = 11.
NATIONAL_DAY_PAUSE = Pause(cst(2025, 9, 29, 15), cst(2025, 10, 10, 9), "补正: 照片不合格")


def due(accepted_at, promised=5, legal=20, kind="working", instant=False, pauses=(), now=None):
    return due_dates(
        CAL,
        accepted_at,
        promised_days=promised,
        legal_days=legal,
        day_kind=kind,
        instant=instant,
        pauses=pauses,
        now=now,
    )


class TestDueDates:
    def test_national_day_week(self):
        # accepted Tue 2025-09-30; promised 5: 10-09(1) 10-10(2) 10-11 Sat 调休(3) 10-13(4) 10-14(5)
        promised, _ = due(cst(2025, 9, 30, 16), promised=5)
        assert promised == date(2025, 10, 14)

    def test_spring_festival_promised_lands_on_make_up_sunday(self):
        # accepted Mon 2025-01-20; promised 5: 01-21(1) 01-22(2) 01-23(3) 01-24(4) 01-26 Sun 调休(5)
        # legal 20: 01-27(6), 01-28..02-04 holiday, 02-05(7) 02-06(8) 02-07(9) 02-08 Sat 调休(10)
        #   02-10..02-14(11-15) 02-17..02-21(16-20)
        assert due(cst(2025, 1, 20), promised=5, legal=20) == (date(2025, 1, 26), date(2025, 2, 21))

    def test_local_date_not_utc_date(self):
        # 2025-10-09 16:30 UTC is Fri 2025-10-10 00:30 in Beijing: 1 working day → 10-11 Sat 调休
        # (reading the UTC date, 10-09, would give 10-10).
        accepted = datetime(2025, 10, 9, 16, 30, tzinfo=UTC)
        assert local_date(accepted) == date(2025, 10, 10)
        assert due(accepted, promised=1, legal=1) == (date(2025, 10, 11), date(2025, 10, 11))

    def test_instant_item_due_the_day_accepted(self):
        assert due(cst(2025, 10, 9, 16), promised=0, legal=0, instant=True) == (
            date(2025, 10, 9),
            date(2025, 10, 9),
        )
        # 即办件 wins over whatever day counts the item carries.
        assert due(cst(2025, 10, 9, 16), promised=1, legal=20, instant=True) == (
            date(2025, 10, 9),
            date(2025, 10, 9),
        )
        # Accepted online at 00:30 on a holiday: still due that day.
        assert due(cst(2025, 10, 1, 0, 30), instant=True) == (date(2025, 10, 1), date(2025, 10, 1))

    def test_instant_item_paused_is_due_the_day_it_restarts(self):
        # accepted Thu 10-09 10:00, correction 11:00 → Mon 10-13 09:00 covers 10-10 Fri, 10-11 Sat 调休,
        # [10-12 Sun], 10-13 Mon = 3 working days: 10-09 + 3 = 10-13, the day the clock restarts.
        pause = Pause(cst(2025, 10, 9, 11), cst(2025, 10, 13, 9), "补正")
        assert due(cst(2025, 10, 9), instant=True, pauses=[pause]) == (date(2025, 10, 13), date(2025, 10, 13))

    def test_calendar_day_item(self):
        # accepted 2025-09-30, 10 and 30 calendar days, the holiday week counted: 10-10 and 10-30
        assert due(cst(2025, 9, 30), promised=10, legal=30, kind="calendar") == (
            date(2025, 10, 10),
            date(2025, 10, 30),
        )

    def test_pause_spanning_the_holiday_adds_only_its_working_days(self):
        # accepted Thu 2025-09-25; promised 5 without pause: 09-26(1) 09-28 Sun 调休(2) 09-29(3) 09-30(4)
        #   10-09(5). The pause adds 3 working days: 10-10(1) 10-11 Sat 调休(2) 10-13 Mon(3) → 10-13.
        # Same by the clock: 09-26, 09-28, 09-29 used (3), stopped to 10-10, then 10-11(4) 10-13(5).
        # legal 20 without pause: … 10-09(5) 10-10(6) 10-11(7) 10-13..17(8-12) 10-20..24(13-17)
        #   10-27(18) 10-28(19) 10-29(20); + 3: 10-30, 10-31, 11-03 Mon.
        accepted = cst(2025, 9, 25, 9)
        assert due(accepted) == (date(2025, 10, 9), date(2025, 10, 29))
        assert due(accepted, pauses=[NATIONAL_DAY_PAUSE]) == (date(2025, 10, 13), date(2025, 11, 3))

    def test_pause_on_a_calendar_day_item_adds_every_day(self):
        # accepted 2025-09-25, 10 calendar days → 10-05; the pause covers 11 days → 10-16.
        # By the clock: 09-26..09-29 used (4), stopped to 10-10, then 10-11..10-16 (6 more).
        accepted = cst(2025, 9, 25, 9)
        assert due(accepted, promised=10, legal=10, kind="calendar")[0] == date(2025, 10, 5)
        assert due(accepted, promised=10, legal=10, kind="calendar", pauses=[NATIONAL_DAY_PAUSE])[0] == date(
            2025, 10, 16
        )

    def test_open_pause_extends_up_to_today(self):
        # the same correction still outstanding on Mon 2025-10-20 noon: it covers 09-30 … 10-20, working
        # days 09-30, 10-09, 10-10, 10-11, 10-13..17, 10-20 = 10. Promised 10-09 + 10:
        #   10-10(1) 10-11(2) 10-13..17(3-7) 10-20(8) 10-21(9) 10-22(10) → 10-22
        #   (3 used before the pause, 2 left after today: 10-21, 10-22).
        # legal 10-29 + 10: 10-30(1) 10-31(2) 11-03..07(3-7) 11-10(8) 11-11(9) 11-12(10) → 11-12.
        open_pause = Pause(cst(2025, 9, 29, 15), None, "补正")
        assert due(cst(2025, 9, 25, 9), pauses=[open_pause], now=cst(2025, 10, 20, 12)) == (
            date(2025, 10, 22),
            date(2025, 11, 12),
        )
        # On the day it opened, nothing is covered yet.
        assert due(cst(2025, 9, 25, 9), pauses=[open_pause], now=cst(2025, 9, 29, 16))[0] == date(2025, 10, 9)

    def test_overlapping_pauses_count_a_day_once(self):
        # 09-29 15:00 → 10-10 09:00 and 10-09 10:00 → 10-13 09:00 cover 09-30 … 10-13 together:
        # working 09-30, 10-09, 10-10, 10-11, 10-13 = 5. 10-09 + 5: 10-10 10-11 10-13 10-14 10-15.
        second = Pause(cst(2025, 10, 9, 10), cst(2025, 10, 13, 9), "补正")
        assert due(cst(2025, 9, 25, 9), pauses=[NATIONAL_DAY_PAUSE, second])[0] == date(2025, 10, 15)

    def test_pause_before_acceptance_does_not_count(self):
        # a correction asked before 受理 (一次性告知 at the counter) does not move the dates.
        before = Pause(cst(2025, 9, 20), cst(2025, 9, 24), "受理前补正")
        assert due(cst(2025, 9, 25, 9), pauses=[before]) == (date(2025, 10, 9), date(2025, 10, 29))

    def test_overrides_apply(self):
        # accepted Fri 2025-05-30, promised 3, 06-03 Tue off and 06-07 Sat worked by override:
        # 05-31..06-02 端午, [06-03], 06-04(1) 06-05(2) 06-06(3); legal 4: 06-07 Sat(4)
        cal = ChineseCalendar({date(2025, 6, 3): False, date(2025, 6, 7): True})
        got = due_dates(
            cal, cst(2025, 5, 30), promised_days=3, legal_days=4, day_kind="working", instant=False, pauses=()
        )
        assert got == (date(2025, 6, 6), date(2025, 6, 7))

    def test_bad_input(self):
        with pytest.raises(ValueError):
            due(datetime(2025, 9, 25, 9))  # naive
        with pytest.raises(ValueError):
            due(cst(2025, 9, 25), kind="lunar")
        with pytest.raises(ValueError):
            due(cst(2025, 9, 25), promised=-1)
        with pytest.raises(ValueError):
            Pause(cst(2025, 9, 25), cst(2025, 9, 24), "backwards")


class TestElapsedWorkingDays:
    def test_pauses_are_excluded(self):
        # accepted Thu 09-25 09:00, decided Tue 10-14 16:00: working days in (09-25, 10-14] are 09-26,
        # 09-28, 09-29, 09-30, 10-09, 10-10, 10-11, 10-13, 10-14 = 9; the pause covers 09-30, 10-09,
        # 10-10 = 3 → 6.
        start, end = cst(2025, 9, 25, 9), cst(2025, 10, 14, 16)
        assert elapsed_working_days(CAL, start, end, []) == 9
        assert elapsed_working_days(CAL, start, end, [NATIONAL_DAY_PAUSE]) == 6

    def test_same_day_and_across_spring_festival(self):
        assert elapsed_working_days(CAL, cst(2025, 3, 4, 9), cst(2025, 3, 4, 17), []) == 0
        # Mon 01-27 → Wed 02-05: 01-28..02-04 holiday, 02-05 = 1
        assert elapsed_working_days(CAL, cst(2025, 1, 27), cst(2025, 2, 5), []) == 1

    def test_open_pause_covers_up_to_end(self):
        # open since 09-29 15:00, measured 10-20: working days (09-25, 10-20] = 13, paused 10 → 3.
        open_pause = Pause(cst(2025, 9, 29, 15), None, "补正")
        assert elapsed_working_days(CAL, cst(2025, 9, 25, 9), cst(2025, 10, 20, 12), [open_pause]) == 3

    def test_calendar_days(self):
        # (09-25, 10-14] = 19 calendar days, less the pause's 11 → 8
        start, end = cst(2025, 9, 25, 9), cst(2025, 10, 14, 16)
        assert elapsed_working_days(CALENDAR_DAYS, start, end, [NATIONAL_DAY_PAUSE]) == 8

    def test_end_before_start_is_refused(self):
        with pytest.raises(ValueError):
            elapsed_working_days(CAL, cst(2025, 3, 5), cst(2025, 3, 4), [])


class TestDueState:
    def test_thresholds_79_80_100_and_over(self):
        # 100 calendar days from 2025-01-01: 01-31 is day 30, 02-28 day 58, 03-31 day 89, 04-11 day 100.
        accepted = cst(2025, 1, 1)
        promised, _ = due(accepted, promised=100, legal=100, kind="calendar")
        assert promised == date(2025, 4, 11)
        cases = [
            (cst(2025, 3, 21), 0.79, "on_time"),  # day 79
            (cst(2025, 3, 22), 0.80, "due_soon"),  # day 80
            (cst(2025, 4, 11, 23, 59), 1.00, "due_soon"),  # day 100: due today, not late yet
            (cst(2025, 4, 12, 0, 1), 1.01, "overdue"),  # day 101
        ]
        for now, fraction, state in cases:
            assert used_fraction(CALENDAR_DAYS, accepted, now, promised, []) == pytest.approx(fraction)
            assert due_state(CALENDAR_DAYS, accepted, now, promised, []) == state, now

    def test_national_day_week(self):
        # accepted Tue 09-30, promised 5 → 10-14 (10-09, 10-10, 10-11, 10-13, 10-14)
        accepted, promised = cst(2025, 9, 30), date(2025, 10, 14)
        cases = [
            (cst(2025, 10, 5), 0 / 5, "on_time"),  # holiday: nothing used
            (cst(2025, 10, 12), 3 / 5, "on_time"),  # 10-09, 10-10, 10-11 used; Sunday adds nothing
            (cst(2025, 10, 13), 4 / 5, "due_soon"),
            (cst(2025, 10, 14), 5 / 5, "due_soon"),
            (cst(2025, 10, 15), 6 / 5, "overdue"),
        ]
        for now, fraction, state in cases:
            assert used_fraction(CAL, accepted, now, promised, []) == pytest.approx(fraction)
            assert due_state(CAL, accepted, now, promised, []) == state, now

    def test_the_day_after_a_friday_due_date_is_overdue(self):
        # accepted Thu 10-16, promised 1 → Fri 10-17. Sat 10-18 uses no working day (1.0) but is late.
        accepted, promised = cst(2025, 10, 16), date(2025, 10, 17)
        assert used_fraction(CAL, accepted, cst(2025, 10, 18), promised, []) == 1.0
        assert due_state(CAL, accepted, cst(2025, 10, 18), promised, []) == "overdue"

    def test_closed_pause(self):
        # stored promised date after the National Day correction closed: 10-13 (see TestDueDates).
        # used = working days since 09-25 less the 3 paused: 10-10 15:00 → 6-3 = 3; 10-11 → 7-3 = 4;
        # 10-13 → 8-3 = 5; 10-14 → 9-3 = 6. The promise is 8 working days to 10-13 less 3 = 5.
        accepted, promised, pauses = cst(2025, 9, 25, 9), date(2025, 10, 13), [NATIONAL_DAY_PAUSE]
        cases = [
            (cst(2025, 10, 10, 15), 3 / 5, "on_time"),
            (cst(2025, 10, 11, 15), 4 / 5, "due_soon"),
            (cst(2025, 10, 13, 15), 5 / 5, "due_soon"),
            (cst(2025, 10, 14, 15), 6 / 5, "overdue"),
        ]
        for now, fraction, state in cases:
            assert used_fraction(CAL, accepted, now, promised, pauses) == pytest.approx(fraction)
            assert due_state(CAL, accepted, now, promised, pauses) == state, now

    def test_open_pause_freezes_the_clock(self):
        # stored date 10-09 (set at 受理); correction open since 09-29 15:00; on 10-20, long past the
        # stored date, 3 of 5 are used (09-26, 09-28, 09-29) and the clock is stopped: on time.
        accepted, promised = cst(2025, 9, 25, 9), date(2025, 10, 9)
        pauses = [Pause(cst(2025, 9, 29, 15), None, "补正")]
        assert used_fraction(CAL, accepted, cst(2025, 10, 20, 12), promised, pauses) == pytest.approx(0.6)
        assert due_state(CAL, accepted, cst(2025, 10, 20, 12), promised, pauses) == "on_time"

    def test_instant_item(self):
        accepted, promised = cst(2025, 10, 9, 10), date(2025, 10, 9)
        assert used_fraction(CAL, accepted, cst(2025, 10, 9, 17), promised, []) == 1.0
        assert due_state(CAL, accepted, cst(2025, 10, 9, 17), promised, []) == "due_soon"
        assert used_fraction(CAL, accepted, cst(2025, 10, 10, 9), promised, []) == math.inf
        assert due_state(CAL, accepted, cst(2025, 10, 10, 9), promised, []) == "overdue"
