"""Stored ratios' arithmetic, pure Polars: the grid of subjects × ratios, with a reason per null.

A subject is an entity (its own statement; `kind` "entity", `subject` its id) or a node (its
consolidation; `kind` "node", `subject` the node code). `kpi.compute.ratios` computes the §6
statement ratios over any "entity" column, so a node's consolidated items go through it as they
are; the asset register's two ratios come from `ledger.assets.effective` frames.
"""

from __future__ import annotations

import polars as pl

from stateasset.core.periods import Period, month_period, quarter_period, year_period
from stateasset.kpi import compute

ASSET_RATIOS = ("effective_asset_ratio", "operating_asset_share")
STATEMENT_RATIOS = tuple(c for c in compute.RATIO_NAMES if c not in ASSET_RATIOS)

SUBJECTS_SCHEMA: dict[str, pl.DataType] = {"kind": pl.String(), "subject": pl.String()}
ROWS_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "subject": pl.String(),
    "ratio": pl.String(),
    "value": pl.Float64(),
    "reason": pl.String(),
}
"""One stored ratio per row: the subject, the ratio code, the value or why it is null."""


def opening_period(period: Period) -> str:
    """The period whose closing balances open `period`: the previous year's last of its kind.

    Flows are year-to-date, so an average over the period is (last year-end + this closing) / 2.
    """
    if period.kind == "month":
        return month_period(period.year - 1, 12).code
    if period.kind == "quarter":
        return quarter_period(period.year - 1, 4).code
    return year_period(period.year - 1).code


def statement_ratios(
    items: pl.LazyFrame, subjects: pl.LazyFrame, period: str, kind: str
) -> pl.LazyFrame:
    """Every statement ratio of each subject of `kind` for `period` (ROWS_SCHEMA).

    `items` is `compute.ITEMS_SCHEMA` with the subject in "entity", holding `period` and its
    opening period; a subject with no items for `period` gets every ratio null, "no statement".
    """
    computed = (
        compute.ratios(items)
        .filter(pl.col("period") == period)
        .select(pl.col("entity").alias("subject"), "ratio", "value", "reason")
    )
    grid = subjects.filter(pl.col("kind") == kind).join(
        pl.LazyFrame({"ratio": list(STATEMENT_RATIOS)}), how="cross"
    )
    return (
        grid.join(computed, on=["subject", "ratio"], how="left")
        .with_columns(
            pl.when(pl.col("value").is_null())
            .then(pl.col("reason").fill_null(pl.lit(f"no statement for {period}")))
            .alias("reason")
        )
        .select(list(ROWS_SCHEMA))
    )


def asset_ratios(subjects: pl.LazyFrame, effective: pl.LazyFrame) -> pl.LazyFrame:
    """有效资产比重 and 经营性资产占比 of each subject (ROWS_SCHEMA).

    `effective` is `ledger.assets.effective.effective_frame` (node, total_book, cash,
    effective_ratio, operating_share); an entity subject reads the node "entity:<id>". A null
    ratio says why: its denominator (book value, plus cash for the first) is zero or absent.
    """
    keyed = subjects.with_columns(
        pl.when(pl.col("kind") == "entity")
        .then(pl.format("entity:{}", "subject"))
        .otherwise(pl.col("subject"))
        .alias("node")
    ).join(effective, on="node", how="left")
    effective_rows = keyed.select(
        "kind",
        "subject",
        pl.lit("effective_asset_ratio").alias("ratio"),
        pl.col("effective_ratio").cast(pl.Float64).alias("value"),
        pl.when(pl.col("effective_ratio").is_null())
        .then(pl.lit("no asset cards and no cash (zero book value and cash)"))
        .alias("reason"),
    )
    share_rows = keyed.select(
        "kind",
        "subject",
        pl.lit("operating_asset_share").alias("ratio"),
        pl.col("operating_share").cast(pl.Float64).alias("value"),
        pl.when(pl.col("operating_share").is_null())
        .then(pl.lit("no asset cards (zero book value)"))
        .alias("reason"),
    )
    return pl.concat([effective_rows, share_rows])
