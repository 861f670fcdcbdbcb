"""Working-day arithmetic for 承诺时限 and 法定时限 (pure Python: no Flask, no I/O).

DESIGN §3 "Deadlines". Every date here is a local date in Asia/Shanghai; every ``datetime`` passed in
must be timezone-aware (what ``core.db.UTCDateTime`` reads back) and is converted to that zone first.

Counting convention (``add_working_days``): a period of *n* working days counts from the working day
*after* the start day — the start day itself is never counted. This is how the rules are written and
applied: 《行政许可法》第四十二条 "应当自受理行政许可申请之日起二十日内作出行政许可决定" with
第八十二条 "本法规定的行政机关实施行政许可的期限以工作日计算，不含法定节假日", and 《民法典》
第二百零一条 "按照年、月、日计算期间的，开始的当日不计入，自下一日开始计算". So "自受理之日起 5 个
工作日" for an application accepted on a Tuesday before a plain week ends on the next Tuesday.

Pauses (补正): a pause from ``start`` to ``end`` *covers* the local dates after its start date up to
and including its end date, ``(start_date, end_date]`` — the day the clock stops still counts (work was
possible), the day it restarts does not (just like the acceptance day). The due dates move on by the
working (or calendar) days the pauses cover, so a pause over a holiday adds only the working days in
it; overlapping pauses count each date once; dates before the acceptance date never count.

The calendar is an interface (:class:`core.workdays.rules.WorkCalendar`, re-exported here with
:class:`~core.workdays.rules.ChineseCalendar`, the real one: published holidays and 调休 make-up working
days, admin arrangements and overrides, and the statutory holidays for a year nobody has published).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from core import clock
from core.clock import SHANGHAI, local_date
from core.workdays.rules import ChineseCalendar, WorkCalendar

# re-exported: the arithmetic and its callers share them
__all__ = ["SHANGHAI", "ChineseCalendar", "WorkCalendar", "local_date"]


DayKind = Literal["working", "calendar"]
DueState = Literal["on_time", "due_soon", "overdue"]

#: 即将超期 from this share of the promise used (DESIGN §3: ≥ 80 %).
DUE_SOON_AT = 0.8

_ONE_DAY = timedelta(days=1)


class CalendarDays:
    """Every day counts: the calendar for items whose time limit is in calendar days (自然日)."""

    def is_working_day(self, d: date) -> bool:
        return True


CALENDAR_DAYS = CalendarDays()


def counting_calendar(cal: WorkCalendar, day_kind: DayKind) -> WorkCalendar:
    """The calendar that counts ``day_kind`` days: ``cal`` for working days, every day for calendar days."""
    if day_kind == "working":
        return cal
    if day_kind == "calendar":
        return CALENDAR_DAYS
    raise ValueError(f"unknown day kind {day_kind!r}")


@dataclass(frozen=True)
class Pause:
    """A stretch with the clock stopped (a correction outstanding). ``end`` None: still stopped."""

    start: datetime
    end: datetime | None
    reason: str

    def __post_init__(self) -> None:
        _aware(self.start)
        if self.end is not None and _aware(self.end) < self.start:
            raise ValueError("a pause cannot end before it starts")


def add_working_days(cal: WorkCalendar, start: date, n: int) -> date:
    """The date of the ``n``-th working day after ``start`` (``start`` itself is not counted).

    自受理之日起 n 个工作日: counting begins with the next working day, whatever ``start`` is (a
    Saturday counter acceptance counts from Monday). ``n == 0`` gives ``start`` unchanged. Raises
    ValueError for a negative ``n``.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    d = start
    while n:
        d += _ONE_DAY
        if cal.is_working_day(d):
            n -= 1
    return d


def add_calendar_days(start: date, n: int) -> date:
    """``start`` plus ``n`` calendar days (自然日; the start day not counted, as for working days)."""
    if n < 0:
        raise ValueError("n must not be negative")
    return start + timedelta(days=n)


def due_dates(
    cal: WorkCalendar,
    accepted_at: datetime,
    *,
    promised_days: int,
    legal_days: int,
    day_kind: DayKind,
    instant: bool,
    pauses: Sequence[Pause],
    now: datetime | None = None,
) -> tuple[date, date]:
    """The promised (承诺) and legal (法定) due dates, as Asia/Shanghai local dates.

    Counted from the local date of ``accepted_at`` in ``day_kind`` days (see the module docstring for
    the convention); a 即办件 (``instant``) is due the day it is accepted, both dates. Each date then
    moves on by the days the ``pauses`` cover after the acceptance date — working days only for a
    working-day item, so a pause over a holiday adds nothing for the holiday.

    An open pause (``end`` None) means the clock is stopped now: it covers dates up to the local date
    of ``now`` (default: the current time), so the dates returned are those as of today and move on
    by one each working day the pause stays open. Store them again when the pause closes.

    Raises ValueError for negative day counts, an unknown ``day_kind`` or a naive datetime.
    """
    counting = counting_calendar(cal, day_kind)
    if promised_days < 0 or legal_days < 0:
        raise ValueError("day counts must not be negative")
    accepted = local_date(accepted_at)
    today = local_date(now if now is not None else clock.now())
    extra = sum(1 for d in _paused_dates(pauses, after=accepted, today=today) if counting.is_working_day(d))
    if instant:
        promised_days = legal_days = 0
    return (
        add_working_days(counting, accepted, promised_days + extra),
        add_working_days(counting, accepted, legal_days + extra),
    )


def elapsed_working_days(cal: WorkCalendar, start: datetime, end: datetime, pauses: Sequence[Pause]) -> int:
    """Whole working days used between ``start`` and ``end``, pauses excluded (办理时长).

    Counts the working days in ``(start_date, end_date]`` that no pause covers — the same days the due
    date arithmetic counts, so an application decided on its acceptance day took 0 days and one
    decided on its promised due date with no pause took exactly the promised days. Pass
    ``CALENDAR_DAYS`` as ``cal`` for calendar-day items. An open pause covers up to ``end``.
    Raises ValueError if ``end`` is before ``start``.
    """
    first, last = local_date(start), local_date(end)
    if end < start:
        raise ValueError("end is before start")
    paused = _paused_dates(pauses, after=first, today=last)
    return sum(1 for d in _dates_after(first, last) if d not in paused and cal.is_working_day(d))


def used_fraction(
    cal: WorkCalendar,
    accepted_at: datetime,
    now: datetime,
    promised_due: date,
    pauses: Sequence[Pause],
) -> float:
    """Share of the promise used by ``now``: elapsed working days / the promise in working days.

    ``promised_due`` is the stored date: what :func:`due_dates` gave for the *closed* pauses (the
    operations store it at 受理 and again when a pause closes). The promise is recovered from it as
    the working days up to it less those the closed pauses added, so an open pause neither spends nor
    shrinks it. 1.0 on the due date, above 1.0 once a working day past it has been used. A 即办件 (a
    promise of 0) is at 1.0 on its day and ``math.inf`` once a working day has gone by. Pass
    ``CALENDAR_DAYS`` as ``cal`` for calendar-day items.
    """
    accepted = local_date(accepted_at)
    used = elapsed_working_days(cal, accepted_at, max(now, accepted_at), pauses)
    closed = [p for p in pauses if p.end is not None]
    added = sum(1 for d in _paused_dates(closed, after=accepted, today=accepted) if cal.is_working_day(d))
    allowed = sum(1 for d in _dates_after(accepted, promised_due) if cal.is_working_day(d)) - added
    if allowed > 0:
        return used / allowed
    return 1.0 if used == 0 else math.inf


def due_state(
    cal: WorkCalendar,
    accepted_at: datetime,
    now: datetime,
    promised_due: date,
    pauses: Sequence[Pause],
) -> DueState:
    """在期 / 即将超期 / 已超期 against the promised due date (DESIGN §3).

    ``overdue`` once more than the whole promise is used, or once the local date is past
    ``promised_due`` while the clock runs (a Saturday after a Friday due date is overdue even though
    no working day went by); ``due_soon`` from 80 % used (:data:`DUE_SOON_AT`), which includes the due
    date itself; else ``on_time``. While a pause is open the clock is stopped, so the state freezes.
    ``promised_due`` is the stored date, as for :func:`used_fraction`.
    Pass ``CALENDAR_DAYS`` as ``cal`` for calendar-day items.
    """
    fraction = used_fraction(cal, accepted_at, now, promised_due, pauses)
    clock_running = all(p.end is not None and p.end <= now for p in pauses if p.start <= now)
    if fraction > 1 or (clock_running and local_date(now) > promised_due):
        return "overdue"
    if fraction >= DUE_SOON_AT:
        return "due_soon"
    return "on_time"


# 容缺受理 -------------------------------------------------------------------------------------------

#: A document deferred under 容缺受理 (DESIGN §2: "容缺 (may follow later)") is due within this many
#: working days after the day the application is submitted. The catalog and DESIGN.md say only
#: *that* it may follow, not by when; this is the portal's own rule, the same for every item, so the
#: citizen is told one date at submission and the clerk knows when to chase. Five working days (one
#: working week) is short enough to fall inside most items' promise. Change it here only: the date is
#: stored on each deferral at submission, so a change applies to new submissions.
DEFERRAL_WORKING_DAYS = 5


def deferral_due(cal: WorkCalendar, submitted_at: datetime) -> date:
    """The last day a 容缺 document may be given (补交): :data:`DEFERRAL_WORKING_DAYS` working days after
    the local date of ``submitted_at``, the submission day itself not counted (as for every period
    here), holidays and 调休 included. A later 补交 is still taken while the application is open (the
    clerk sees it marked late): refusing it would only force a new application and another trip."""
    return add_working_days(cal, local_date(_aware(submitted_at)), DEFERRAL_WORKING_DAYS)


# --------------------------------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime given; deadlines need timezone-aware datetimes")
    return moment


def _dates_after(first: date, last: date) -> Iterable[date]:
    """The dates in ``(first, last]``."""
    d = first + _ONE_DAY
    while d <= last:
        yield d
        d += _ONE_DAY


def _paused_dates(pauses: Iterable[Pause], *, after: date, today: date) -> set[date]:
    """Local dates covered by ``pauses`` — ``(start_date, end_date]`` each, an open one up to
    ``today`` — that fall after ``after``. A set, so overlapping pauses count a date once."""
    covered: set[date] = set()
    for p in pauses:
        end = local_date(p.end) if p.end is not None else today
        covered.update(_dates_after(max(local_date(p.start), after), end))
    return covered
