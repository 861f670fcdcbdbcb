"""The working-day calendar for a year the State Council has not published yet (issue 18, item 9):
the statutory holidays of 《全国年节及纪念日放假办法》 (2024) with 补假, an admin's arrangement, and
the warning from 1 November. Expected dates are written out by hand from the lunar calendar."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from core.workdays.rules import (
    Arrangement,
    ArrangementError,
    ChineseCalendar,
    format_arrangement,
    missing_arrangement_year,
    parse_arrangement,
    statutory_holidays,
    year_arrangement,
)


def test_2027_new_year_and_spring_festival_are_not_working_days_with_no_overrides():
    cal = ChineseCalendar()
    assert cal.source(2027) == "statutory"
    assert not cal.is_working_day(date(2027, 1, 1))  # 元旦, a Friday
    # 春节 2027: 除夕 Fri 5 Feb, 初一 Sat 6 Feb … 初三 Mon 8 Feb; Sat and Sun made up on Tue 9 and Wed 10.
    for d in range(5, 11):
        assert not cal.is_working_day(date(2027, 2, d)), d
    assert cal.is_working_day(date(2027, 2, 4)) and cal.is_working_day(date(2027, 2, 11))


def test_2027_statutory_holidays_written_out():
    expected = {
        date(2027, 1, 1): "元旦",
        date(2027, 2, 5): "春节",
        date(2027, 2, 6): "春节",
        date(2027, 2, 7): "春节",
        date(2027, 2, 8): "春节",
        date(2027, 2, 9): "春节（补假）",
        date(2027, 2, 10): "春节（补假）",
        date(2027, 4, 5): "清明节",
        date(2027, 5, 1): "劳动节",
        date(2027, 5, 2): "劳动节",
        date(2027, 5, 3): "劳动节（补假）",
        date(2027, 5, 4): "劳动节（补假）",
        date(2027, 6, 9): "端午节",
        date(2027, 9, 15): "中秋节",
        date(2027, 10, 1): "国庆节",
        date(2027, 10, 2): "国庆节",
        date(2027, 10, 3): "国庆节",
        date(2027, 10, 4): "国庆节（补假）",
        date(2027, 10, 5): "国庆节（补假）",
    }
    assert dict(statutory_holidays(2027)) == expected


@pytest.mark.parametrize("year", [2025, 2026])
def test_statutory_days_are_holidays_in_the_published_arrangements(year):
    """The years published under the 2024 rules: every statutory day (not a 补假, which the State
    Council arranges its own way) is a holiday in the published arrangement."""
    days = [d for d, name in statutory_holidays(year).items() if "补假" not in name]
    assert len(days) == 13
    assert all(chinese_calendar.is_holiday(d) for d in days), [
        d for d in days if not chinese_calendar.is_holiday(d)
    ]


def test_a_spring_festival_eve_in_the_year_before_is_not_lost():
    # 2028's 春节 is 26 January (除夕 the 25th); 2029's is 13 February: nothing of 2029's falls in 2028.
    days = statutory_holidays(2028)
    assert [d for d, n in days.items() if n == "春节"] == [date(2028, 1, d) for d in (25, 26, 27, 28)]
    assert days[date(2028, 1, 3)] == "元旦（补假）"  # 1 January 2028 is a Saturday


def test_an_admin_arrangement_replaces_the_statute_and_an_override_still_wins():
    arrangement = parse_arrangement("春节 2027-02-05 ~ 2027-02-13\n上班 2027-02-14\n", 2027)
    cal = ChineseCalendar({date(2027, 2, 15): False}, {2027: arrangement})
    assert cal.source(2027) == "admin"
    assert cal.is_working_day(date(2027, 2, 14))  # a Sunday made a working day
    assert not cal.is_working_day(date(2027, 2, 12))
    assert cal.is_working_day(date(2027, 1, 1))  # the arrangement says nothing of 元旦
    assert not cal.is_working_day(date(2027, 2, 15))  # the override


def test_parse_reads_ranges_separators_and_comments():
    a = parse_arrangement(
        "# 国办通知\n元旦 2027-01-01\n春节，2027年2月5日至2027年2月11日\n\n调休上班 2027/02/14\n",
        2027,
    )
    assert a.holidays[date(2027, 1, 1)] == "元旦"
    assert [d for d, n in a.holidays.items() if n == "春节"] == [
        date(2027, 2, 5) + timedelta(i) for i in range(7)
    ]
    assert a.workdays == {date(2027, 2, 14)}
    assert parse_arrangement(format_arrangement(a), 2027) == a


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("元旦 2027-01-01\n春节 二月五日", 2, "格式"),
        ("元旦 2026-12-31", 1, "不在 2027 年内"),
        ("春节 2027-02-11 ~ 2027-02-05", 1, "早于"),
        ("春节 2027-02-30", 1, "不是有效日期"),
        ("春节 2027-02-01 ~ 2027-02-20", 1, "最长"),
        ("春节 2027-02-05\n上班 2027-02-05", 2, "已登记为假日"),
        ("上班 2027-02-14", 1, "没有找到任何假日"),
        ("", 1, "没有找到任何假日"),
    ],
)
def test_parse_names_the_bad_line(text, line, words):
    with pytest.raises(ArrangementError) as exc:
        parse_arrangement(text, 2027)
    assert exc.value.line == line and words in str(exc.value)


def test_the_warning_starts_on_1_november_and_stops_once_next_year_is_known():
    assert missing_arrangement_year(date(2026, 10, 31), frozenset()) is None
    assert missing_arrangement_year(date(2026, 11, 1), frozenset()) == 2027
    assert missing_arrangement_year(date(2026, 12, 31), frozenset({2027})) is None
    assert missing_arrangement_year(date(2025, 11, 15), frozenset()) is None  # 2026 is published


def test_year_arrangement_is_the_published_one_where_there_is_one():
    published = year_arrangement(2026)
    assert published.holidays[date(2026, 2, 17)] == "春节" and date(2026, 2, 14) in published.workdays
    assert year_arrangement(2027) == Arrangement(year=2027, holidays=statutory_holidays(2027))
