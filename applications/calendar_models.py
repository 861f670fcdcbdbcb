"""The admin-editable working-day override table and the calendar built from it.

An override says a date is (``working=True``) or is not (``working=False``) a working day whatever
chinese-calendar says: a local holiday, an office closure, or a year the library has no data for yet
(chinese-calendar 1.11.0 stops at 2026). The arithmetic lives in :mod:`applications.deadlines`, which
stays pure; this module is the only place that reads the overrides from the database.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Connection, Date, String, select
from sqlalchemy.orm import Mapped, mapped_column

from applications.deadlines import ChineseCalendar
from core.db import UTCDateTime, db, utcnow


class CalendarOverride(db.Model):
    """One date whose working/non-working status an admin has set by hand."""

    __tablename__ = "calendar_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<CalendarOverride {self.day} working={self.working}>"


def load_calendar(conn: Connection | None = None) -> ChineseCalendar:
    """The working calendar as of now: chinese-calendar plus every override row, read over ``conn``
    (default: the app context's session)."""
    rows = (conn or db.session).execute(select(CalendarOverride.day, CalendarOverride.working)).all()
    return ChineseCalendar({day: working for day, working in rows})
