"""The roll-up tables behind the statistics (see :mod:`applications.stats.rollup`).

Each row holds the additive counts of one (day or month, item, category, accepting unit, approving
unit): completion counts for the applications *completed* that day, submission counts for those
*submitted* that day. They are derived data — :mod:`applications.stats.rollup` rewrites the rows of
a (day, item) from the applications table whenever an application of it changes, in the same
transaction — so they carry no foreign keys, and "no unit" is stored as 0 to keep the key a primary key.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db

#: The additive counts every roll-up row carries (the names of :class:`metrics.StatRow`'s counts).
MEASURES: tuple[str, ...] = (
    "completed",
    "zero_visit",
    "at_most_once",
    "visits_total",
    "with_due",
    "on_time",
    "corrected",
    "corrected_once",
    "rated",
    "satisfied",
    "submitted",
    "online",
    "duration_count",
    "duration_sum",
)


class _Counts:
    """The counts, all NOT NULL and 0 by default."""

    completed: Mapped[int] = mapped_column(Integer, default=0)
    zero_visit: Mapped[int] = mapped_column(Integer, default=0)
    at_most_once: Mapped[int] = mapped_column(Integer, default=0)
    visits_total: Mapped[int] = mapped_column(Integer, default=0)
    with_due: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    corrected: Mapped[int] = mapped_column(Integer, default=0)
    corrected_once: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    online: Mapped[int] = mapped_column(Integer, default=0)
    duration_count: Mapped[int] = mapped_column(Integer, default=0)
    duration_sum: Mapped[int] = mapped_column(Integer, default=0)


class StatsDaily(_Counts, db.Model):
    """Counts per local (Asia/Shanghai) day."""

    __tablename__ = "stats_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # accepting unit, 0 = none
    approving_unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0 = none


class StatsMonthly(_Counts, db.Model):
    """The daily rows summed per month (``month`` is the first day of the month)."""

    __tablename__ = "stats_monthly"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    approving_unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class StatsReason(db.Model):
    """The 改革清单's evidence per local day of completion × item × units: how often each 补正 target
    was named (``kind`` = ``correction``) and each reason of a bad rating was given
    (``bad_reason``), how many bad ratings there were (``bad_rating``, reason "") and how many of
    them cited the guide (``guide``, reason "")."""

    __tablename__ = "stats_reasons"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    approving_unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(String(100), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
