"""Approval periods: months added to the service date, clamped to month end, minus a day."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rxpolicy.server.engine.dates import add_months, approved_through

D = dt.date


@pytest.mark.parametrize(
    ("start", "months", "last_day"),
    [
        (D(2025, 6, 2), 6, D(2025, 12, 1)),
        (D(2021, 3, 1), 6, D(2021, 8, 31)),
        (D(2023, 8, 31), 6, D(2024, 2, 28)),  # Feb 29 2024 (clamped) minus a day
        (D(2022, 8, 31), 6, D(2023, 2, 27)),  # Feb 28 2023 (clamped) minus a day
        (D(2024, 2, 29), 12, D(2025, 2, 27)),
        (D(2024, 1, 31), 1, D(2024, 2, 28)),
        (D(2025, 1, 1), 12, D(2025, 12, 31)),
        (D(2025, 12, 31), 6, D(2026, 6, 29)),
        (D(2025, 10, 31), 1, D(2025, 11, 29)),
        (D(2025, 3, 31), 12, D(2026, 3, 30)),
    ],
)
def test_approved_through(start: dt.date, months: int, last_day: dt.date) -> None:
    assert approved_through(start, months) == last_day


@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2199, 1, 1)), st.integers(1, 120))
def test_add_months_lands_in_the_right_month(start: dt.date, months: int) -> None:
    end = add_months(start, months)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.day == start.day or (end.day < start.day and (end + dt.timedelta(days=1)).day == 1)
    assert approved_through(start, months) >= start
