"""Reporting periods (报告期): months, quarters and years, in one canonical spelling.

Every domain reads and writes periods through this module: ledger statements, fund NAVs and KPI
years share one notion of what "2025-Q3" is.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from stateasset.core.errors import invalid

PeriodKind = Literal["month", "quarter", "year"]

_KIND_RANK: dict[str, int] = {"month": 0, "quarter": 1, "year": 2}
MIN_YEAR = 1900
MAX_YEAR = 2100

# [0-9], not \d: \d also matches full-width digits, which would give one period two spellings.
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_QUARTER = re.compile(r"([0-9]{4})-Q([0-9])")
_YEAR = re.compile(r"([0-9]{4})")


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period (报告期): a month '2025-09', a quarter '2025-Q3' or a year '2025'.

    `start`/`end` span the period itself; flows reported for it are still year-to-date, i.e.
    from 1 January of `year` to `end`.
    """

    code: str
    kind: PeriodKind
    year: int
    start: date
    end: date

    @property
    def sort_key(self) -> tuple[date, int, date]:
        """Order by end date, then month < quarter < year, so 2025-09 sorts before 2025-Q3."""
        return (self.end, _KIND_RANK[self.kind], self.start)

    @property
    def ytd_start(self) -> date:
        """First day of the year-to-date window (本年累计) the flows of this period cover."""
        return date(self.year, 1, 1)


def _check_year(code: str, year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"period {code!r}: year {year} outside {MIN_YEAR}..{MAX_YEAR}")


def check_day(day: date, field: str = "query.as_of") -> date:
    """`day`, or a 422 on `field` when its year is outside the periods' range (1900..2100).

    A date any client may send (an `as_of`) becomes a period somewhere downstream; outside the
    range that would be a ValueError deep in a computation, answered 500.
    """
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise invalid(field, f"year {day.year} is outside {MIN_YEAR}..{MAX_YEAR}")
    return day


def month_period(year: int, month: int) -> Period:
    """Return the month period of `year`/`month`; ValueError outside 1..12 or the year range."""
    code = f"{year:04d}-{month:02d}"
    _check_year(code, year)
    if not 1 <= month <= 12:
        raise ValueError(f"period {code!r}: month must be 01..12")
    last = calendar.monthrange(year, month)[1]
    return Period(code, "month", year, date(year, month, 1), date(year, month, last))


def quarter_period(year: int, quarter: int) -> Period:
    """Return the quarter period of `year`/`quarter`; ValueError outside 1..4 or the range."""
    code = f"{year:04d}-Q{quarter}"
    _check_year(code, year)
    if not 1 <= quarter <= 4:
        raise ValueError(f"period {code!r}: quarter must be Q1..Q4")
    first = 3 * quarter - 2
    last_month = 3 * quarter
    last = calendar.monthrange(year, last_month)[1]
    return Period(code, "quarter", year, date(year, first, 1), date(year, last_month, last))


def year_period(year: int) -> Period:
    """Return the calendar-year period; ValueError outside the supported year range."""
    code = f"{year:04d}"
    _check_year(code, year)
    return Period(code, "year", year, date(year, 1, 1), date(year, 12, 31))


def parse_period(code: str) -> Period:
    """Return the Period for 'YYYY-MM', 'YYYY-Qn' or 'YYYY'; ValueError says what is wrong.

    Only canonical codes are accepted (no '2025-9', no lowercase 'q', no spaces) so one period
    has exactly one spelling in the database.
    """
    if not isinstance(code, str):
        raise ValueError(f"period must be text, got {type(code).__name__}")
    if m := _MONTH.fullmatch(code):
        return month_period(int(m[1]), int(m[2]))
    if m := _QUARTER.fullmatch(code):
        return quarter_period(int(m[1]), int(m[2]))
    if _YEAR.fullmatch(code):
        return year_period(int(code))
    raise ValueError(
        f"period {code!r} is not a period code: expected 'YYYY-MM' (month), "
        "'YYYY-Qn' (quarter, n = 1..4) or 'YYYY' (year)"
    )


def previous_in_year(period: Period) -> Period | None:
    """Return the preceding period of the same kind within the same year, None at its start.

    The year-to-date rule (累计数不应减少) compares a month with the month before and a quarter
    with the quarter before; January, Q1 and whole years have nothing earlier in their year.
    """
    if period.kind == "month" and period.start.month > 1:
        return month_period(period.year, period.start.month - 1)
    if period.kind == "quarter" and period.start.month > 1:
        return quarter_period(period.year, (period.start.month + 2) // 3 - 1)
    return None


def periods_of_year(year: int, kind: PeriodKind) -> tuple[Period, ...]:
    """Return every period of `kind` in `year`, in calendar order (for templates and checks)."""
    if kind == "month":
        return tuple(month_period(year, m) for m in range(1, 13))
    if kind == "quarter":
        return tuple(quarter_period(year, q) for q in range(1, 5))
    return (year_period(year),)


def period_of(code: str, field: str = "body.period") -> Period:
    """The Period for `code`, or a 422 naming `field` and what is wrong with it."""
    try:
        return parse_period(code)
    except ValueError as exc:
        raise invalid(field, str(exc)) from exc
