"""Which local dates are working days (pure Python: no Flask, no I/O).

Sources, most specific first (:meth:`ChineseCalendar.is_working_day`):

1. an admin **override** of one date (a local closure, a 调休 the library lacks) — always wins;
2. a year's **arrangement** entered by an admin (the State Council's 放假安排 for a year the library
   does not know yet: holiday ranges and 调休 make-up working days);
3. **chinese-calendar**'s published arrangements (1.11.0 knows 2004–2026);
4. for any other year, the **statutory holidays** of 《全国年节及纪念日放假办法》 as revised by 国务院令
   第 793 号 (2024): 元旦 1 day, 春节 4 days from 除夕, 清明节 1, 劳动节 2, 端午节 1, 中秋节 1, 国庆节 3
   (第二条), with 第六条's 补假: a holiday for all citizens that falls on a Saturday or Sunday is made up
   on the next working day. Lunar dates and the 清明 solar term come from lunar-python. No 调休
   make-up working days are assumed: those exist only once the State Council publishes them.

So 2027's 元旦 and Spring Festival are holidays even before anyone enters 2027's arrangement, and a
deadline computed into January 2027 today is already right to within the unpublished 调休.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Literal, Protocol

import chinese_calendar
from chinese_calendar.constants import holidays as _CC_HOLIDAYS
from chinese_calendar.constants import workdays as _CC_WORKDAYS
from lunar_python import Lunar

_ONE_DAY = timedelta(days=1)

YearSource = Literal["published", "admin", "statutory"]

#: The years chinese-calendar carries the State Council's arrangement for.
LIBRARY_YEARS: tuple[int, int] = (min(_CC_HOLIDAYS).year, max(_CC_HOLIDAYS).year)

#: From this month on, a missing arrangement for next year is warned about (issue 18: 1 November).
WARN_FROM_MONTH = 11


class WorkCalendar(Protocol):
    """Anything that can say whether a local date is a working day."""

    def is_working_day(self, d: date) -> bool: ...


@dataclass(frozen=True)
class Arrangement:
    """One year's 放假安排: the holiday dates (with the holiday's name) and the 调休 working days."""

    year: int
    holidays: Mapping[date, str] = field(default_factory=dict)
    workdays: frozenset[date] = frozenset()

    def is_working_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5


class ChineseCalendar:
    """Chinese working days: see the module docstring for the order of the sources.

    ``overrides`` maps a date to ``True`` (a working day) or ``False`` (not one); ``arrangements`` maps a
    year to the :class:`Arrangement` an admin entered for it. Both are copied: the calendar is a snapshot.
    """

    covered_years: tuple[int, int] = LIBRARY_YEARS

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        arrangements: Mapping[int, Arrangement] | None = None,
    ) -> None:
        self.overrides: Mapping[date, bool] = MappingProxyType(dict(overrides or {}))
        self.arrangements: Mapping[int, Arrangement] = MappingProxyType(dict(arrangements or {}))

    def covers(self, d: date) -> bool:
        """True when chinese-calendar has the published arrangement for ``d``'s year."""
        return self.covered_years[0] <= d.year <= self.covered_years[1]

    def source(self, year: int) -> YearSource:
        """Where the year's holidays come from: an admin's entry, the library, or the statute alone."""
        if year in self.arrangements:
            return "admin"
        if self.covered_years[0] <= year <= self.covered_years[1]:
            return "published"
        return "statutory"

    def is_working_day(self, d: date) -> bool:
        if d in self.overrides:
            return self.overrides[d]
        arrangement = self.arrangements.get(d.year)
        if arrangement is not None:
            return arrangement.is_working_day(d)
        if self.covers(d):
            return _library_workday(d)
        return d.weekday() < 5 and d not in statutory_holidays(d.year)

    def __repr__(self) -> str:
        return f"ChineseCalendar(overrides={len(self.overrides)}, arrangements={sorted(self.arrangements)})"


@functools.lru_cache(maxsize=16384)
def _library_workday(d: date) -> bool:
    """chinese-calendar's answer, memoised: its ``is_workday`` validates the date against the min and
    max of its whole holiday table on every call, which dominated the scoreboard's duration metric."""
    return chinese_calendar.is_workday(d)


@functools.lru_cache(maxsize=64)
def statutory_holidays(year: int) -> Mapping[date, str]:
    """The days off that 《全国年节及纪念日放假办法》 (2024) gives everyone in ``year``, with 补假.

    第二条: 元旦 1 January; 春节 除夕 to 正月初三 (4 days); 清明节 the 清明 solar term; 劳动节 1–2 May;
    端午节 五月初五; 中秋节 八月十五; 国庆节 1–3 October. 第六条: a day of these that falls on a
    Saturday or Sunday is made up (补假) on the next weekday that is not itself a holiday. The 除夕 of a
    Spring Festival in early January belongs to the year before, so it is looked up from both sides.
    """
    days: dict[date, str] = {}

    def add(d: date, name: str) -> None:
        if d.year == year:
            days.setdefault(d, name)

    add(date(year, 1, 1), "元旦")
    for lunar_year in (year, year + 1):
        new_year = _solar(Lunar.fromYmd(lunar_year, 1, 1))
        for offset in range(-1, 3):
            add(new_year + timedelta(days=offset), "春节")
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    add(date(qingming.getYear(), qingming.getMonth(), qingming.getDay()), "清明节")
    add(date(year, 5, 1), "劳动节")
    add(date(year, 5, 2), "劳动节")
    add(_solar(Lunar.fromYmd(year, 5, 5)), "端午节")
    add(_solar(Lunar.fromYmd(year, 8, 15)), "中秋节")
    for day in (1, 2, 3):
        add(date(year, 10, day), "国庆节")
    # 第六条 补假, in date order so that two weekend days of one holiday take two following weekdays.
    made_up: dict[date, str] = {}
    for d, name in sorted(days.items()):
        if d.weekday() >= 5:
            n = d + _ONE_DAY
            while n.weekday() >= 5 or n in days or n in made_up:
                n += _ONE_DAY
            if n.year == year:
                made_up[n] = f"{name}（补假）"
    days.update(made_up)
    return MappingProxyType(dict(sorted(days.items())))


_CC_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def year_arrangement(year: int) -> Arrangement:
    """The arrangement in force for ``year`` without admin input: the published one (chinese-calendar,
    weekends inside a holiday run included) or, for other years, the statutory holidays."""
    if LIBRARY_YEARS[0] <= year <= LIBRARY_YEARS[1]:
        return Arrangement(
            year=year,
            holidays={
                d: _CC_NAMES.get(str(n), str(n)) for d, n in sorted(_CC_HOLIDAYS.items()) if d.year == year
            },
            workdays=frozenset(d for d in _CC_WORKDAYS if d.year == year),
        )
    return Arrangement(year=year, holidays=statutory_holidays(year))


def _solar(lunar: Lunar) -> date:
    s = lunar.getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


def missing_arrangement_year(today: date, known: set[int] | frozenset[int]) -> int | None:
    """Next year, when it is 1 November or later and next year has neither a published arrangement
    (the library) nor one an admin entered (``known``); otherwise None. Dashboards warn about it."""
    if today.month < WARN_FROM_MONTH:
        return None
    nxt = today.year + 1
    if LIBRARY_YEARS[0] <= nxt <= LIBRARY_YEARS[1] or nxt in known:
        return None
    return nxt


# Parsing an arrangement ---------------------------------------------------------------------------

_DATE = r"(\d{4})[-./年](\d{1,2})[-./月](\d{1,2})日?"
_LINE = re.compile(
    rf"^(?P<name>[^\d\s,，:：]+)[\s,，:：]+(?P<start>{_DATE})"
    rf"(?:\s*(?:~|～|-|—|至|到|,|，)\s*(?P<end>{_DATE}))?$"
)
#: Names that mark 调休 make-up working days rather than a holiday.
WORKDAY_NAMES = frozenset({"上班", "调休上班", "补班", "调休"})
MAX_HOLIDAY_SPAN = 10


class ArrangementError(ValueError):
    """A line of an arrangement that cannot be read; ``line`` is 1-based, the message Chinese."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"第 {line} 行：{message}")
        self.line = line
        self.message = message


def parse_arrangement(text: str, year: int) -> Arrangement:
    """Read a year's arrangement, one line each, e.g. ::

        元旦 2027-01-01
        春节 2027-02-05 ~ 2027-02-11
        上班 2027-02-14

    A line is a name and a date or a range (``~``, ``至``, ``-``); a line named 上班 / 调休上班 / 补班
    lists make-up working days. Blank lines and lines starting with ``#`` are skipped. Every date must
    lie in ``year``; a holiday range may span at most :data:`MAX_HOLIDAY_SPAN` days; a date may not be
    both a holiday and a working day. Raises :class:`ArrangementError` naming the first bad line, and
    also when the text names no holiday at all.
    """
    holidays: dict[date, str] = {}
    workdays: set[date] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().replace("\u3000", " ")
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ArrangementError(
                number, "格式应为“名称 日期”或“名称 起始日期 ~ 结束日期”，如“春节 2027-02-05 ~ 2027-02-11”"
            )
        name = match["name"]
        start = _parse_date(match["start"], number)
        end = _parse_date(match["end"], number) if match["end"] else start
        if end < start:
            raise ArrangementError(number, "结束日期早于起始日期")
        if start.year != year or end.year != year:
            raise ArrangementError(number, f"日期不在 {year} 年内")
        if (end - start).days + 1 > MAX_HOLIDAY_SPAN:
            raise ArrangementError(number, f"一段假期最长 {MAX_HOLIDAY_SPAN} 天，请检查日期")
        d = start
        while d <= end:
            if name in WORKDAY_NAMES:
                if d in holidays:
                    raise ArrangementError(number, f"{d.isoformat()} 已登记为假日，不能同时为上班日")
                workdays.add(d)
            else:
                if d in workdays:
                    raise ArrangementError(number, f"{d.isoformat()} 已登记为上班日，不能同时为假日")
                holidays[d] = name[:20]
            d += _ONE_DAY
    if not holidays:
        raise ArrangementError(1, "没有找到任何假日，请至少填写一行，如“元旦 2027-01-01”")
    return Arrangement(
        year=year, holidays=MappingProxyType(dict(sorted(holidays.items()))), workdays=frozenset(workdays)
    )


def _parse_date(text: str, line: int) -> date:
    m = re.match(_DATE, text)
    assert m is not None  # the line pattern matched it
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ArrangementError(line, f"“{text}”不是有效日期") from None


def format_arrangement(arrangement: Arrangement) -> str:
    """The text :func:`parse_arrangement` reads back: holiday runs by name, then the working days."""
    lines: list[str] = []
    run: list[date] = []
    names = arrangement.holidays

    def flush() -> None:
        if run:
            a, b = run[0], run[-1]
            lines.append(f"{names[a]} {a.isoformat()}" + (f" ~ {b.isoformat()}" if b != a else ""))

    for d in sorted(names):
        if run and (d - run[-1] != _ONE_DAY or names[d] != names[run[0]]):
            flush()
            run = []
        run.append(d)
    flush()
    lines.extend(f"上班 {d.isoformat()}" for d in sorted(arrangement.workdays))
    return "\n".join(lines)
