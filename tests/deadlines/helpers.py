"""Shared helpers for the deadline tests: Asia/Shanghai wall-clock times."""

from __future__ import annotations

from datetime import datetime

from applications.workflow.deadlines import SHANGHAI


def cst(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """An aware datetime at Beijing time (what a clerk's clock says)."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)
