"""How pages show numbers, dates and periods: the Jinja filters, one function each.

Money arrives as `Decimal` and is formatted as `Decimal` (never through float): `yuan` shows 元 with
thousands separators and two decimals (1,234,567.89), `wan` shows 万元 with two decimals (123.46),
both rounding half up as the ledger does. `money_class` gives the CSS class that shows a negative
amount in red. Ratios (interest, shares) show as percent with two decimals. Dates are written as
staff write them: `2026年9月30日` (`cn_date`) or `2026-09-30` (`iso_date`); periods as `2026年第3季度`,
`2026年9月`, `2026年度`. `None` shows as an empty string everywhere, so a missing value is blank.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from stateasset.core.periods import parse_period

_CENT = Decimal("0.01")
_WAN = Decimal(10_000)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        # Ratios from the ownership computation are floats; their shortest repr is what they mean.
        return Decimal(repr(value))
    return Decimal(value)


def yuan(value: Any) -> str:
    """An amount in 元: `1,234,567.89`."""
    amount = _decimal(value)
    return "" if amount is None else f"{amount.quantize(_CENT, ROUND_HALF_UP):,}"


def wan(value: Any) -> str:
    """An amount in 万元 (ten thousand 元), two decimals: 1,234,567.89 元 → `123.46`."""
    amount = _decimal(value)
    return "" if amount is None else f"{(amount / _WAN).quantize(_CENT, ROUND_HALF_UP):,}"


def money_class(value: Any) -> str:
    """`neg` for a negative amount (shown in red), else ``""``."""
    amount = _decimal(value)
    return "neg" if amount is not None and amount < 0 else ""


def percent(value: Any, places: int = 2) -> str:
    """A ratio as percent: 0.5125 → `51.25%`."""
    ratio = _decimal(value)
    if ratio is None:
        return ""
    return f"{(ratio * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)}%"


def cn_date(value: date | datetime | None) -> str:
    """`2026年9月30日`."""
    return "" if value is None else f"{value.year}年{value.month}月{value.day}日"


def iso_date(value: date | datetime | None) -> str:
    """`2026-09-30`."""
    if value is None:
        return ""
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def period_label(code: str | None) -> str:
    """A period code as staff say it: 2026-Q3 → `2026年第3季度`, 2026-09 → `2026年9月`, 2026 → `2026年度`."""
    if not code:
        return ""
    period = parse_period(code)
    if period.kind == "month":
        return f"{period.year}年{period.end.month}月"
    if period.kind == "quarter":
        return f"{period.year}年第{(period.end.month - 1) // 3 + 1}季度"
    return f"{period.year}年度"


FILTERS = {
    "yuan": yuan,
    "wan": wan,
    "money_class": money_class,
    "percent": percent,
    "cn_date": cn_date,
    "iso_date": iso_date,
    "period_label": period_label,
}
