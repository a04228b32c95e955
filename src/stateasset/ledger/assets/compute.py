"""The asset register's arithmetic, pure Polars: LazyFrame in, LazyFrame out; no database, no clock.

Conventions the brief left open, fixed here once:
- A card's balances are sums of its events: 原值 `original`, 累计折旧 `depreciation`, book value
  = original − depreciation, all Decimal(38, 2). A transfer is two events (out of the old holder,
  into the new) carrying the card's whole balances, so a holder's balances are the sums of the
  events booked at it, and a card's past holders sum to exactly zero.
- Depreciation is straight line by month, starting the month after acquisition (当月增加当月不提):
  the monthly amount is (original − salvage) / useful life in months, rounded half-up to the
  cent, on the card's current original value; the last month of the life takes whatever is left
  to salvage, so the total is exact; nothing is posted once book value reaches salvage. Amounts are
  worked in integer cents, where half-up is exact.
- 有效资产 (effective): an operating card whose income over the trailing 12 months — events dated
  after the same day a year earlier, up to and including the as-of date — exceeds its category's
  threshold, plus cash. The ratio 有效资产比重 = (effective book + cash) / (all book + cash) and the
  operating share 经营性资产占比 = operating book / all book are Decimal(38, 6), rounded half-up from
  a quotient carried to 14 places; None (null) when the denominator is zero.
"""

from __future__ import annotations

import calendar
from datetime import date

import polars as pl

from stateasset.core.money import MONEY, round_half_up

SHARE = pl.Decimal(38, 6)
_QUOTIENT = pl.Decimal(38, 14)
NON_DEPRECIATING = ("land", "equity", "fund_interest")
"""Categories never depreciated, whatever their useful life says."""

EVENTS_SCHEMA: dict[str, pl.DataType] = {
    "card_id": pl.String(),
    "holder_id": pl.String(),
    "kind": pl.String(),
    "event_date": pl.Date(),
    "original": MONEY,
    "depreciation": MONEY,
    "income": MONEY,
}
"""Asset events as `card_balances` and `effective_by_entity` take them (the ids and kind may
also be Categorical, as `frames.events_frame` reads them)."""

CARDS_SCHEMA: dict[str, pl.DataType] = {
    "card_id": pl.String(),
    "holder_id": pl.String(),
    "category": pl.String(),
    "operating": pl.Boolean(),
    "useful_life_months": pl.Int32(),
    "salvage": MONEY,
    "acquired_on": pl.Date(),
    "status": pl.String(),
}
"""Cards as they are now (current holder), for depreciation and effectiveness."""

CARD_KINDS_SCHEMA: dict[str, pl.DataType] = {
    "card_id": pl.String(),
    "category": pl.String(),
    "operating": pl.Boolean(),
}
"""What `effective_by_entity` needs of the cards (CARDS_SCHEMA frames do as well)."""

THRESHOLDS_SCHEMA: dict[str, pl.DataType] = {"category": pl.String(), "threshold": MONEY}
CASH_SCHEMA: dict[str, pl.DataType] = {"entity_id": pl.String(), "cash": MONEY}
MEMBERS_SCHEMA: dict[str, pl.DataType] = {"entity_id": pl.String(), "node": pl.String()}
"""Which entities make up each node (`group`, `platform:<id>`, `segment:<code>`, `entity:<id>`)."""


def year_before(as_of: date) -> date:
    """The same day a year earlier (28 February for 29 February): the income window's open end."""
    day = min(as_of.day, calendar.monthrange(as_of.year - 1, as_of.month)[1])
    return date(as_of.year - 1, as_of.month, day)


def _zero() -> pl.Expr:
    return pl.lit(0, dtype=MONEY)


def _by_card_and_holder(events: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Sums per (card, holder) as of `as_of`: the one pass over the events both views share."""
    since = year_before(as_of)
    return (
        events.filter(pl.col("event_date") <= as_of)
        .group_by("card_id", "holder_id")
        .agg(
            pl.col("original").sum().alias("original"),
            pl.col("depreciation").sum().alias("depreciation"),
            pl.col("income").filter(pl.col("event_date") > since).sum().alias("income_12m"),
        )
        # Ids may arrive as Categorical (`frames` reads them so: grouping is then far cheaper);
        # every result carries them as String.
        .with_columns(pl.col("card_id", "holder_id").cast(pl.String))
    )


def card_balances(events: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Per card: original, depreciation, book and trailing-12-month income as of `as_of`.

    Columns: card_id, original, depreciation, book, income_12m; one row per card with an event
    on or before `as_of`.
    """
    return (
        _by_card_and_holder(events, as_of)
        .group_by("card_id")
        .agg(
            pl.col("original").sum().alias("original"),
            pl.col("depreciation").sum().alias("depreciation"),
            pl.col("income_12m").sum().fill_null(_zero()).alias("income_12m"),
        )
        .with_columns((pl.col("original") - pl.col("depreciation")).alias("book"))
        .select("card_id", "original", "depreciation", "book", "income_12m")
    )


def holdings(events: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Per (card, holder) with balances at `as_of`: who holds what. Past holders net to zero.

    Columns: card_id, holder_id, original, depreciation, book.
    """
    return (
        _by_card_and_holder(events, as_of)
        .filter((pl.col("original") != 0) | (pl.col("depreciation") != 0))
        .with_columns((pl.col("original") - pl.col("depreciation")).alias("book"))
        .select("card_id", "holder_id", "original", "depreciation", "book")
    )


def _share(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return (
        pl.when(denominator != 0)
        .then(round_half_up(numerator.cast(_QUOTIENT) / denominator, 6).cast(SHARE))
        .otherwise(None)
    )


def effective_by_entity(
    events: pl.LazyFrame,
    cards: pl.LazyFrame,
    thresholds: pl.LazyFrame,
    as_of: date,
    cash: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """有效资产 per holding entity as of `as_of`.

    Columns: entity_id, total_book, operating_book, effective_book, cash, effective_ratio,
    operating_share (see the module docstring); one row per entity holding a card or cash.
    """
    income = card_balances(events, as_of).select("card_id", "income_12m")
    held = (
        holdings(events, as_of)
        .join(
            cards.select(pl.col("card_id").cast(pl.String), "category", "operating"),
            on="card_id",
            how="left",
        )
        .join(income, on="card_id", how="left")
        .join(thresholds, on="category", how="left")
        .with_columns(
            (
                pl.col("operating")
                & (pl.col("income_12m").fill_null(_zero()) > pl.col("threshold").fill_null(_zero()))
            ).alias("effective")
        )
        .group_by(pl.col("holder_id").alias("entity_id"))
        .agg(
            pl.col("book").sum().alias("total_book"),
            pl.col("book").filter(pl.col("operating")).sum().alias("operating_book"),
            pl.col("book").filter(pl.col("effective")).sum().alias("effective_book"),
        )
    )
    cash = cash if cash is not None else pl.LazyFrame(schema=CASH_SCHEMA)
    return (
        held.join(cash, on="entity_id", how="full", coalesce=True)
        .with_columns(
            pl.col(c).fill_null(_zero())
            for c in ("total_book", "operating_book", "effective_book", "cash")
        )
        .pipe(_ratios)
    )


def _ratios(frame: pl.LazyFrame) -> pl.LazyFrame:
    everything = pl.col("total_book") + pl.col("cash")
    return frame.with_columns(
        _share(pl.col("effective_book") + pl.col("cash"), everything).alias("effective_ratio"),
        _share(pl.col("operating_book"), pl.col("total_book")).alias("operating_share"),
    ).select(
        "entity_id",
        "total_book",
        "operating_book",
        "effective_book",
        "cash",
        "effective_ratio",
        "operating_share",
    )


def effective_by_node(per_entity: pl.LazyFrame, members: pl.LazyFrame) -> pl.LazyFrame:
    """`effective_by_entity` summed over each node's members; the same columns with `node`.

    Every node of `members` has a row, with zeros (and null ratios) when its members hold nothing.
    """
    return (
        members.join(per_entity, on="entity_id", how="left")
        .group_by("node")
        .agg(
            pl.col(c).sum().fill_null(_zero())
            for c in ("total_book", "operating_book", "effective_book", "cash")
        )
        .rename({"node": "entity_id"})
        .pipe(_ratios)
        .rename({"entity_id": "node"})
        .sort("node")
    )


def _month_index(expr: pl.Expr) -> pl.Expr:
    return expr.dt.year().cast(pl.Int32) * 12 + expr.dt.month().cast(pl.Int32)


def _cents(expr: pl.Expr) -> pl.Expr:
    return (expr * 100).cast(pl.Int64)


def depreciation_due(
    cards: pl.LazyFrame, events: pl.LazyFrame, month_start: date, month_end: date
) -> pl.LazyFrame:
    """Depreciation to post for the month from `month_start` to `month_end`, per card.

    `events` are every event of the cards; cards that already have this month's depreciation are
    left out, so a second run finds nothing. Columns: card_id, holder_id, amount (> 0).
    """
    month = month_start.year * 12 + month_start.month
    done = events.filter(
        (pl.col("kind") == "depreciate")
        & (pl.col("event_date") >= month_start)
        & (pl.col("event_date") <= month_end)
    ).select(pl.col("card_id").cast(pl.String))
    balances = card_balances(events, month_end).select("card_id", "original", "depreciation")
    life = pl.col("useful_life_months").cast(pl.Int64)
    depreciable = _cents(pl.col("original")) - _cents(pl.col("salvage"))
    remaining = depreciable - _cents(pl.col("depreciation"))
    # Half-up division of non-negative integers: (2a + b) // 2b.
    monthly = (2 * depreciable + life) // (2 * life)
    elapsed = pl.lit(month, dtype=pl.Int32) - _month_index(pl.col("acquired_on"))
    cents = (
        pl.when(elapsed >= life).then(remaining).otherwise(pl.min_horizontal(monthly, remaining))
    )
    return (
        cards.with_columns(pl.col("card_id", "holder_id").cast(pl.String))
        .filter(
            (pl.col("useful_life_months") > 0)
            & (pl.col("status") != "disposed")
            & ~pl.col("category").is_in(NON_DEPRECIATING)
            & (pl.col("acquired_on") < month_start)
        )
        .join(done, on="card_id", how="anti")
        .join(balances, on="card_id", how="inner")
        .with_columns(cents.alias("cents"))
        .filter((pl.col("cents") > 0) & (remaining > 0))
        .select(
            "card_id",
            "holder_id",
            (pl.col("cents").cast(MONEY) / 100).cast(MONEY).alias("amount"),
        )
        .sort("card_id")
    )
