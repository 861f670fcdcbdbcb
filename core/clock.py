"""The one clock: the current instant (UTC, timezone-aware) and the business date in Asia/Shanghai.

Business dates — a reference number's day, a wallet document's expiry, "today" on a dashboard — are
Beijing dates. ``date.today()`` on a server that runs in UTC gives yesterday's date between 00:00 and
08:00 Beijing time, so nothing outside this module asks the system clock for a date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

#: The business time zone (中国标准时间).
SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai date of an aware ``moment``; a naive datetime raises ValueError."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime given; business dates need timezone-aware datetimes")
    return moment.astimezone(SHANGHAI).date()


def local_today(at: datetime | None = None) -> date:
    """Today's date in Beijing (of ``at`` when given, else of :func:`now`)."""
    return local_date(at if at is not None else now())
