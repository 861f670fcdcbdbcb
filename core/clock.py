"""The one clock: the current instant (UTC, timezone-aware) and the business date in Asia/Shanghai.

Business dates — a reference number's day, a wallet document's expiry, "today" on a dashboard — are
Beijing dates. ``date.today()`` on a server that runs in UTC gives yesterday's date between 00:00 and
08:00 Beijing time, so nothing outside this module asks the system clock for a date.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

#: The business time zone (中国标准时间).
SHANGHAI = ZoneInfo("Asia/Shanghai")

_traveled: ContextVar[datetime | None] = ContextVar("clock_travel", default=None)


def now() -> datetime:
    """The current instant, timezone-aware UTC (the moment :func:`travel` set, inside one)."""
    return _traveled.get() or datetime.now(UTC)


@contextmanager
def travel(moment: datetime) -> Iterator[None]:
    """Run the block as if it were ``moment``: every timestamp, reference number and due date the
    operations write inside it is that moment's. For the demo simulator and tests — a history written
    through the real operations, with no timestamps patched afterwards. Per context (thread-safe);
    a naive ``moment`` raises ValueError."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("travel needs a timezone-aware moment")
    token = _traveled.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _traveled.reset(token)


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai date of an aware ``moment``; a naive datetime raises ValueError."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime given; business dates need timezone-aware datetimes")
    return moment.astimezone(SHANGHAI).date()


def local_today(at: datetime | None = None) -> date:
    """Today's date in Beijing (of ``at`` when given, else of :func:`now`)."""
    return local_date(at if at is not None else now())


def local_now() -> datetime:
    """The current instant in Beijing time (for file names and stamps a person reads)."""
    return now().astimezone(SHANGHAI)
