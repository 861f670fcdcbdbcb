"""The working calendar: chinese-calendar's data against the State Council's published schedules,
admin overrides, and the Monday–Friday fallback for years the library does not know."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from applications.workflow.deadlines import (
    CALENDAR_DAYS,
    ChineseCalendar,
    add_calendar_days,
    add_working_days,
)

# 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号): the weekdays off and the
# weekend days worked (调休).
OFF_2025 = {
    date(2025, 1, 1),  # 元旦 (Wed)
    *(date(2025, 1, d) for d in (28, 29, 30, 31)),  # 春节 01-28..02-04
    date(2025, 2, 3),
    date(2025, 2, 4),
    date(2025, 4, 4),  # 清明 (Fri)
    date(2025, 5, 1),  # 劳动节 05-01..05-05
    date(2025, 5, 2),
    date(2025, 5, 5),
    date(2025, 6, 2),  # 端午 (Mon)
    *(date(2025, 10, d) for d in (1, 2, 3, 6, 7, 8)),  # 国庆·中秋 10-01..10-08
}
WORKED_2025 = {
    date(2025, 1, 26),  # Sun, before 春节
    date(2025, 2, 8),  # Sat, after 春节
    date(2025, 4, 27),  # Sun, before 劳动节
    date(2025, 9, 28),  # Sun, before 国庆
    date(2025, 10, 11),  # Sat, after 国庆
}

# 国务院办公厅关于2026年部分节假日安排的通知.
OFF_2026 = {
    date(2026, 1, 1),  # 元旦 01-01..01-03 (Thu–Sat)
    date(2026, 1, 2),
    *(date(2026, 2, d) for d in (16, 17, 18, 19, 20, 23)),  # 春节 02-15..02-23
    date(2026, 4, 6),  # 清明 04-04..04-06
    date(2026, 5, 1),  # 劳动节 05-01..05-05
    date(2026, 5, 4),
    date(2026, 5, 5),
    date(2026, 6, 19),  # 端午 06-19..06-21
    date(2026, 9, 25),  # 中秋 09-25..09-27
    *(date(2026, 10, d) for d in (1, 2, 5, 6, 7)),  # 国庆 10-01..10-07
}
WORKED_2026 = {
    date(2026, 1, 4),  # Sun
    date(2026, 2, 14),  # Sat
    date(2026, 2, 28),  # Sat
    date(2026, 5, 9),  # Sat
    date(2026, 9, 20),  # Sun
    date(2026, 10, 10),  # Sat
}


def _days(year: int):
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


@pytest.mark.parametrize(
    ("year", "off", "worked"), [(2025, OFF_2025, WORKED_2025), (2026, OFF_2026, WORKED_2026)]
)
def test_library_matches_the_published_schedule(year, off, worked):
    cal = ChineseCalendar()
    assert all(d.weekday() < 5 for d in off) and all(d.weekday() >= 5 for d in worked)
    for d in _days(year):
        expected = (d.weekday() < 5 and d not in off) or d in worked
        assert cal.is_working_day(d) is expected, d


def test_library_stops_at_2026_and_2027_falls_back_to_the_statutory_holidays():
    cal = ChineseCalendar()
    assert cal.covered_years == (2004, 2026)
    assert cal.covers(date(2026, 12, 31)) and not cal.covers(date(2027, 1, 1))
    # 2027-01-01 is a Friday: 元旦, a holiday even though nobody has entered 2027 yet …
    assert cal.is_working_day(date(2027, 1, 1)) is False
    assert cal.is_working_day(date(2027, 1, 2)) is False  # Saturday
    assert cal.is_working_day(date(2027, 1, 4)) is True  # Monday
    # … and an override still wins.
    assert ChineseCalendar({date(2027, 1, 1): True}).is_working_day(date(2027, 1, 1)) is True


def test_overrides_win_both_ways():
    cal = ChineseCalendar({date(2025, 6, 3): False, date(2025, 6, 7): True, date(2025, 10, 11): False})
    assert cal.is_working_day(date(2025, 6, 3)) is False  # a Tuesday made a holiday
    assert cal.is_working_day(date(2025, 6, 7)) is True  # a Saturday made a working day
    assert cal.is_working_day(date(2025, 10, 11)) is False  # a 调休 Saturday cancelled
    assert cal.is_working_day(date(2025, 6, 4)) is True  # the rest untouched


def test_overrides_are_a_snapshot():
    overrides = {date(2025, 6, 3): False}
    cal = ChineseCalendar(overrides)
    overrides[date(2025, 6, 3)] = True
    assert cal.is_working_day(date(2025, 6, 3)) is False
    with pytest.raises(TypeError):
        cal.overrides[date(2025, 6, 4)] = False  # type: ignore[index]


class TestAddWorkingDays:
    cal = ChineseCalendar()

    def test_zero_is_the_same_day(self):
        assert add_working_days(self.cal, date(2025, 10, 1), 0) == date(2025, 10, 1)

    def test_plain_week(self):
        # Tue 2025-03-04 + 5: 03-05 W(1) 03-06 T(2) 03-07 F(3) [Sat, Sun] 03-10 M(4) 03-11 T(5)
        assert add_working_days(self.cal, date(2025, 3, 4), 5) == date(2025, 3, 11)

    def test_national_day_week_2025(self):
        # Tue 2025-09-30 + 5: 10-01..10-08 holiday, 10-09 Thu(1) 10-10 Fri(2) 10-11 Sat 调休(3)
        # [10-12 Sun] 10-13 Mon(4) 10-14 Tue(5)
        assert add_working_days(self.cal, date(2025, 9, 30), 5) == date(2025, 10, 14)

    def test_national_day_make_up_sunday_before(self):
        # Fri 2025-09-26 + 3: [09-27 Sat] 09-28 Sun 调休(1) 09-29 Mon(2) 09-30 Tue(3)
        assert add_working_days(self.cal, date(2025, 9, 26), 3) == date(2025, 9, 30)
        # + 5: … 09-30(3), holiday 10-01..10-08, 10-09(4) 10-10(5)
        assert add_working_days(self.cal, date(2025, 9, 26), 5) == date(2025, 10, 10)

    def test_spring_festival_2025(self):
        # Fri 2025-01-24 + 3: [01-25 Sat] 01-26 Sun 调休(1) 01-27 Mon(2), 01-28..02-04 holiday, 02-05 Wed(3)
        assert add_working_days(self.cal, date(2025, 1, 24), 3) == date(2025, 2, 5)
        # Wed 2025-02-05 + 3: 02-06 Thu(1) 02-07 Fri(2) 02-08 Sat 调休(3)
        assert add_working_days(self.cal, date(2025, 2, 5), 3) == date(2025, 2, 8)
        # Mon 2025-01-27 + 5: holiday to 02-04, 02-05(1) 02-06(2) 02-07(3) 02-08 Sat(4) [Sun] 02-10 Mon(5)
        assert add_working_days(self.cal, date(2025, 1, 27), 5) == date(2025, 2, 10)

    def test_spring_festival_2026(self):
        # Fri 2026-02-13 + 6: 02-14 Sat 调休(1), 02-15..02-23 holiday, 02-24 Tue(2) 02-25(3) 02-26(4)
        # 02-27 Fri(5) 02-28 Sat 调休(6)
        assert add_working_days(self.cal, date(2026, 2, 13), 5) == date(2026, 2, 27)
        assert add_working_days(self.cal, date(2026, 2, 13), 6) == date(2026, 2, 28)

    def test_national_day_2026(self):
        # Wed 2026-09-30 + 3: 10-01..10-07 holiday, 10-08 Thu(1) 10-09 Fri(2) 10-10 Sat 调休(3)
        assert add_working_days(self.cal, date(2026, 9, 30), 3) == date(2026, 10, 10)

    def test_start_on_a_non_working_day(self):
        # Sat 2025-03-08 (a counter open on Saturday) + 1: [Sun] 03-10 Mon(1)
        assert add_working_days(self.cal, date(2025, 3, 8), 1) == date(2025, 3, 10)

    def test_override_weekday_off_and_saturday_on(self):
        # Fri 2025-05-30 + 3 with no override: 05-31..06-02 端午, 06-03 Tue(1) 06-04(2) 06-05(3)
        assert add_working_days(self.cal, date(2025, 5, 30), 3) == date(2025, 6, 5)
        cal = ChineseCalendar({date(2025, 6, 3): False, date(2025, 6, 7): True})
        # 06-03 now off: 06-04 Wed(1) 06-05 Thu(2) 06-06 Fri(3) 06-07 Sat, now worked (4)
        assert add_working_days(cal, date(2025, 5, 30), 3) == date(2025, 6, 6)
        assert add_working_days(cal, date(2025, 5, 30), 4) == date(2025, 6, 7)
        assert add_working_days(self.cal, date(2025, 5, 30), 4) == date(2025, 6, 6)

    def test_negative_is_refused(self):
        with pytest.raises(ValueError):
            add_working_days(self.cal, date(2025, 1, 1), -1)


def test_calendar_days():
    # 2025-09-30 + 10 calendar days, holidays included: 10-10; + 30: 10-30
    assert add_calendar_days(date(2025, 9, 30), 10) == date(2025, 10, 10)
    assert add_calendar_days(date(2025, 9, 30), 30) == date(2025, 10, 30)
    assert add_working_days(CALENDAR_DAYS, date(2025, 9, 30), 30) == date(2025, 10, 30)
    assert add_calendar_days(date(2025, 9, 30), 0) == date(2025, 9, 30)
