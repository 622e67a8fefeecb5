"""Approval-period arithmetic."""

from __future__ import annotations

import calendar
import datetime as dt
import functools


def add_months(start: dt.date, months: int) -> dt.date:
    """``start`` plus ``months`` calendar months, clamped to the end of a shorter month
    (Jan 31 + 1 month = Feb 28 or 29)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


# Approvals repeat their (service date, months): each is worked out once.
@functools.lru_cache(maxsize=8192)
def approved_through(service_date: dt.date, months: int) -> dt.date:
    """The approval's last day: the months added to the service date, minus one day."""
    return add_months(service_date, months) - dt.timedelta(days=1)
