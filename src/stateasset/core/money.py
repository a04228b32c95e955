"""Exact money: every amount is a Decimal with at most two places, stored as NUMERIC(20, 2)."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")
MONEY_LIMIT = Decimal(10) ** 18  # NUMERIC(20, 2) holds 18 digits before the point


def money_problem(value: Decimal) -> str | None:
    """Why `value` cannot be stored as money, or None when it can."""
    if not value.is_finite():
        return "must be a finite number"
    if value.as_tuple().exponent < -2 and value != value.quantize(CENT):  # type: ignore[operator]
        return f"has more than 2 decimal places ({value})"
    if abs(value) >= MONEY_LIMIT:
        return "is too large (at most 18 digits before the decimal point)"
    return None
