"""Properties of add_working_days over the library's years and the Monday–Friday fallback years."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from applications.workflow.deadlines import ChineseCalendar, add_working_days

DAYS = st.dates(min_value=date(2003, 6, 1), max_value=date(2028, 6, 30))
OVERRIDES = st.dictionaries(DAYS, st.booleans(), max_size=30)


@settings(max_examples=300, deadline=None)
@given(start=DAYS, n=st.integers(min_value=1, max_value=250), overrides=OVERRIDES)
def test_lands_on_a_working_day_and_is_monotonic(start, n, overrides):
    cal = ChineseCalendar(overrides)
    due = add_working_days(cal, start, n)
    assert cal.is_working_day(due)
    assert due > start
    assert add_working_days(cal, start, n + 1) > due
    assert add_working_days(cal, start, n - 1) < due
    # exactly n working days in (start, due]
    span = (due - start).days
    assert sum(cal.is_working_day(start + timedelta(days=i)) for i in range(1, span + 1)) == n


@given(start=DAYS)
def test_zero_is_identity(start):
    assert add_working_days(ChineseCalendar(), start, 0) == start
