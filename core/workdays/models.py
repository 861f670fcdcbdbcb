"""The admin-editable parts of the working-day calendar and :func:`load_calendar`, the one place that
reads them: single-date overrides and whole-year arrangements (放假安排)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Connection, Date, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, db, utcnow
from core.workdays.rules import Arrangement, ChineseCalendar


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


class CalendarYear(db.Model):
    """A year's 放假安排 as an admin entered it (from the State Council's notice), replacing both the
    library and the statutory fallback for that year."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(String(200), default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    days: Mapped[list[CalendarYearDay]] = relationship(
        back_populates="calendar_year", cascade="all, delete-orphan", order_by="CalendarYearDay.day"
    )

    def arrangement(self) -> Arrangement:
        return _arrangement(self.year, [(d.day, d.working, d.name) for d in self.days])

    def __repr__(self) -> str:
        return f"<CalendarYear {self.year}>"


class CalendarYearDay(db.Model):
    """One day of a year's arrangement: a holiday (``working`` False, with its name) or a 调休 working day."""

    __tablename__ = "calendar_year_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(20), default="")
    calendar_year: Mapped[CalendarYear] = relationship(back_populates="days")


def _arrangement(year: int, rows: list[tuple[date, bool, str]]) -> Arrangement:
    return Arrangement(
        year=year,
        holidays={d: name for d, working, name in rows if not working},
        workdays=frozenset(d for d, working, _name in rows if working),
    )


def load_calendar(conn: Connection | None = None) -> ChineseCalendar:
    """The working calendar as of now: chinese-calendar, the statutory fallback, every year an admin
    entered and every override row, read over ``conn`` (default: the app context's session)."""
    source = conn or db.session
    overrides = dict(source.execute(select(CalendarOverride.day, CalendarOverride.working)).all())
    by_year: dict[int, list[tuple[date, bool, str]]] = {}
    for year, day, working, name in source.execute(
        select(CalendarYearDay.year, CalendarYearDay.day, CalendarYearDay.working, CalendarYearDay.name)
    ):
        by_year.setdefault(year, []).append((day, working, name))
    years = source.execute(select(CalendarYear.year)).scalars().all()
    return ChineseCalendar(overrides, {y: _arrangement(y, by_year.get(y, [])) for y in years})


def entered_years(conn: Connection | None = None) -> frozenset[int]:
    """The years an admin has entered an arrangement for."""
    return frozenset((conn or db.session).execute(select(CalendarYear.year)).scalars())


_CHANGED_DAYS = "workdays.changed_days"


def note_day_changed(session: Any, day: date) -> None:
    """Say that ``day`` changed from working to not (or back) in this transaction: whatever depends
    on the calendar (the statistics' 办理时长) is recomputed by the commit step that reads
    :func:`take_changed_days`."""
    session.info.setdefault(_CHANGED_DAYS, set()).add(day)


def take_changed_days(session: Any) -> set[date]:
    """The days :func:`note_day_changed` named since the last call (and forget them)."""
    return session.info.pop(_CHANGED_DAYS, set())
