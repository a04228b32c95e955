"""Exact money: every amount is a Decimal with at most two places, stored as NUMERIC(20, 2).

The same rules hold in Polars: money is ``Decimal(38, 2)``; a float ratio that multiplies money is
first cast to ``Decimal(38, 12)``, the product taken exactly at scale 14 and rounded HALF-UP
(away from zero on a tie, like ``decimal.ROUND_HALF_UP``) to 2 places. Polars' own default for
decimals (``round`` and a narrowing ``cast``) is half-to-even, which is why we never rely on it.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

CENT = Decimal("0.01")
MONEY_LIMIT = Decimal(10) ** 18  # NUMERIC(20, 2) holds 18 digits before the point
MONEY_DIGITS = (20, 2)
"""NUMERIC(20, 2): the column type of every amount."""

MONEY = pl.Decimal(38, 2)
"""Money in Polars frames."""
RATIO = pl.Decimal(38, 12)
"""A fraction that multiplies money, kept to 12 places."""
# 12 decimals of ratio × 2 decimals of money: the exact product fits scale 14 (amounts < 1e24).
_PRODUCT = pl.Decimal(38, 14)


def money_problem(value: Decimal) -> str | None:
    """Why `value` cannot be stored as money, or None when it can."""
    if not value.is_finite():
        return "must be a finite number"
    if value.is_zero():
        return None  # 0E+999999999 is still zero
    # Size first and without arithmetic: `abs()` of 1E+999999999 overflows the context, and
    # quantizing 29 digits to cents exceeds its 28-digit precision (both raise, not compare).
    if value.adjusted() >= MONEY_DIGITS[0] - MONEY_DIGITS[1]:
        return "is too large (at most 18 digits before the decimal point)"
    if value.as_tuple().exponent < -2 and value != value.quantize(CENT):  # type: ignore[operator]
        return f"has more than 2 decimal places ({value})"
    return None


def as_stored(value: Decimal) -> Decimal:
    """A checked amount (`money_problem` said None) as NUMERIC(20, 2) stores it: to cents, no -0."""
    return value.quantize(CENT) + 0  # + 0 turns -0.00 into 0.00


def round_half_up(expr: pl.Expr, decimals: int = 2) -> pl.Expr:
    """Money rounded half-up (away from zero on a tie) to `decimals` places, as Decimal(38, 2).

    The mode is spelled out before the cast, which is then exact.
    """
    return expr.round(decimals, mode="half_away_from_zero").cast(pl.Decimal(38, decimals))


def scale_money(ratio: pl.Expr, money: pl.Expr) -> pl.Expr:
    """`ratio` (Decimal or float) × `money` (Decimal), rounded half-up to cents.

    The ratio keeps 12 places; the money is widened to scale 14 first so the product is exact
    and the only rounding is the final half-up one.
    """
    return round_half_up(ratio.cast(RATIO) * money.cast(_PRODUCT))


def outside_share(interest: pl.Expr) -> pl.Expr:
    """1 − x in Decimal(38, 12): the minority's fraction, so 1 − 0.9 is exactly 0.1."""
    return pl.lit(1, dtype=RATIO) - interest.cast(RATIO)


def money_literal(value: Decimal | int | str) -> pl.Expr:
    """A money constant as a Polars expression."""
    return pl.lit(Decimal(value), dtype=MONEY)
