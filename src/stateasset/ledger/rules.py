"""Statement validation rules (审核公式) as a pure function over Polars frames.

Errors block a submission, warnings do not (DOMAIN.md §3). Every finding names the item and the
rule, in Chinese for staff and English for the log. No database, no clock: the service feeds in
the statements and stores what comes out.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from stateasset.core.periods import Period, parse_period
from stateasset.ledger.catalogue import ITEM_BY_CODE, ITEMS, TOTALS

AMOUNT = pl.Decimal(38, 2)
KEYS = ("entity_id", "period", "item")

FINDING_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "period": pl.String(),
    "item": pl.String(),
    "rule": pl.String(),
    "severity": pl.String(),
    "message": pl.String(),
}

RULES: dict[str, str] = {
    "balance": "error",
    "sum_of_parts": "error",
    "non_negative": "error",
    "unknown_item": "error",
    "ytd_cumulative": "warning",
    "missing_total": "warning",
}

_BALANCE_TOTALS = ("total_assets", "total_liabilities", "total_equity")

_ITEMS_FRAME = pl.DataFrame(
    {
        "item": [i.code for i in ITEMS],
        "label": [i.label for i in ITEMS],
        "non_negative": [i.non_negative for i in ITEMS],
        # Only revenue-like flows must grow through the year; profits and cash flows may fall.
        "ytd_checked": [i.flow and i.non_negative for i in ITEMS],
    }
)

_PARTS_FRAME = pl.DataFrame(
    {
        "total": [t for t, parts in TOTALS.items() for _ in parts],
        "part": [p for parts in TOTALS.values() for p in parts],
        "n_parts": [len(parts) for parts in TOTALS.values() for _ in parts],
    },
    schema={"total": pl.String, "part": pl.String, "n_parts": pl.UInt32},
)


def _normalise(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Return the four statement columns with amounts as Decimal(38,2), or say why not.

    Floats are refused rather than rounded: a float amount means exactness was already lost
    upstream. Null amounts mean "not reported" and are dropped.
    """
    missing = [c for c in (*KEYS, "amount") if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}")
    dtype = frame.schema["amount"]
    if isinstance(dtype, pl.Decimal):
        if (dtype.scale or 0) > 2:
            exact = frame.filter(
                pl.col("amount").is_not_null()
                & (pl.col("amount") != pl.col("amount").cast(AMOUNT).cast(dtype))
            )
            if exact.height:
                raise ValueError(f"{name}: amounts with more than 2 decimal places")
    elif not dtype.is_integer() and dtype != pl.Null:
        raise TypeError(f"{name}: amount must be Decimal or integer, got {dtype}")
    out = frame.select(
        pl.col("entity_id").cast(pl.String),
        pl.col("period").cast(pl.String),
        pl.col("item").cast(pl.String),
        pl.col("amount").cast(AMOUNT),
    ).filter(pl.col("amount").is_not_null())
    if out.select(pl.any_horizontal(pl.col(*KEYS).is_null().any())).item():
        raise ValueError(f"{name}: entity_id, period and item must not be null")
    dupes = out.filter(pl.struct(*KEYS).is_duplicated())
    if dupes.height:
        first = dupes.row(0, named=True)
        raise ValueError(
            f"{name}: {dupes.height} rows share an (entity_id, period, item) key, "
            f"e.g. {first['entity_id']} {first['period']} {first['item']}"
        )
    return out


def _period_frame(*frames: pl.DataFrame) -> pl.DataFrame:
    """Return period → year, end date and sort rank for every period code in the frames."""
    codes = sorted(set().union(*(f.get_column("period").unique().to_list() for f in frames)))
    periods: list[Period] = []
    bad: list[str] = []
    for code in codes:
        try:
            periods.append(parse_period(code))
        except ValueError as exc:
            bad.append(str(exc))
    if bad:
        raise ValueError("; ".join(bad))
    return pl.DataFrame(
        {
            "period": [p.code for p in periods],
            "year": [p.year for p in periods],
            "end": [p.end for p in periods],
            "rank": [p.sort_key[1] for p in periods],
        },
        schema={"period": pl.String, "year": pl.Int32, "end": pl.Date, "rank": pl.Int8},
    )


def _finding(rule: str, message: pl.Expr, item: pl.Expr | None = None) -> list[pl.Expr]:
    return [
        pl.col("entity_id"),
        pl.col("period"),
        (pl.col("item") if item is None else item).alias("item"),
        pl.lit(rule).alias("rule"),
        pl.lit(RULES[rule]).alias("severity"),
        message.alias("message"),
    ]


def _unknown_item(cur: pl.DataFrame) -> pl.DataFrame:
    return cur.filter(~pl.col("item").is_in(list(ITEM_BY_CODE))).select(
        _finding(
            "unknown_item",
            pl.format("未知项目编码 unknown item code '{}' [unknown_item]", pl.col("item")),
        )
    )


def _non_negative(known: pl.DataFrame) -> pl.DataFrame:
    return known.filter(pl.col("non_negative") & (pl.col("amount") < 0)).select(
        _finding(
            "non_negative",
            pl.format(
                "{} {} 不能为负数 must not be negative: {} [non_negative]",
                pl.col("label"),
                pl.col("item"),
                pl.col("amount"),
            ),
        )
    )


def _parts(known: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (per entity/period/total: parts given, their sum) and the totals reported."""
    parts = (
        known.join(_PARTS_FRAME, left_on="item", right_on="part")
        .group_by("entity_id", "period", "total")
        .agg(
            pl.len().alias("given"),
            pl.col("n_parts").first(),
            pl.col("amount").sum().alias("parts_sum"),
        )
    )
    totals = known.filter(pl.col("item").is_in(list(TOTALS))).select(
        "entity_id", "period", pl.col("item").alias("total"), pl.col("amount").alias("reported")
    )
    return parts, totals


def _total_label() -> pl.Expr:
    return pl.col("total").replace_strict({t: ITEM_BY_CODE[t].label for t in TOTALS})


def _sum_of_parts(parts: pl.DataFrame, totals: pl.DataFrame, tol: pl.Expr) -> pl.DataFrame:
    diff = pl.col("reported") - pl.col("parts_sum")
    return (
        parts.filter(pl.col("given") == pl.col("n_parts"))
        .join(totals, on=["entity_id", "period", "total"])
        .filter(diff.abs() > tol)
        .select(
            _finding(
                "sum_of_parts",
                pl.format(
                    "{} {} 填报 {} ≠ 各组成项目之和 {} (差额 {}): "
                    "total differs from the sum of its parts [sum_of_parts]",
                    _total_label(),
                    pl.col("total"),
                    pl.col("reported"),
                    pl.col("parts_sum"),
                    diff,
                ),
                item=pl.col("total"),
            )
        )
    )


def _missing_total(parts: pl.DataFrame, totals: pl.DataFrame) -> pl.DataFrame:
    return parts.join(totals, on=["entity_id", "period", "total"], how="anti").select(
        _finding(
            "missing_total",
            pl.format(
                "{} {} 未填报，但已填报 {}/{} 个组成项目: "
                "total missing while parts are reported [missing_total]",
                _total_label(),
                pl.col("total"),
                pl.col("given"),
                pl.col("n_parts"),
            ),
            item=pl.col("total"),
        )
    )


def _balance(known: pl.DataFrame, tol: pl.Expr) -> pl.DataFrame:
    """资产总计 = 负债合计 + 所有者权益合计, with an unreported total counted as zero.

    Blank-is-zero is how 审核公式 treat empty cells; it runs once any of the three totals is
    reported, so a statement with only income items is not checked here.
    """
    sums = [pl.col("amount").filter(pl.col("item") == t).sum().alias(t) for t in _BALANCE_TOTALS]
    has = [(pl.col("item") == t).any().alias(f"has_{t}") for t in _BALANCE_TOTALS]
    diff = pl.col("total_assets") - pl.col("total_liabilities") - pl.col("total_equity")
    not_given = pl.concat_str(
        [pl.when(~pl.col(f"has_{t}")).then(pl.lit(t)) for t in _BALANCE_TOTALS],
        separator=", ",
        ignore_nulls=True,
    )
    note = (
        pl.when(not_given != "")
        .then(pl.format("; 未填报按0计 not reported, counted as 0: {}", not_given))
        .otherwise(pl.lit(""))
    )
    return (
        known.filter(pl.col("item").is_in(_BALANCE_TOTALS))
        .group_by("entity_id", "period")
        .agg(*sums, *has)
        .filter(diff.abs() > tol)
        .select(
            _finding(
                "balance",
                pl.format(
                    "资产总计 total_assets {} ≠ 负债合计 total_liabilities {} + "
                    "所有者权益合计 total_equity {} (差额 {}){}: "
                    "balance sheet does not balance [balance]",
                    pl.col("total_assets"),
                    pl.col("total_liabilities"),
                    pl.col("total_equity"),
                    diff,
                    note,
                ),
                item=pl.lit("total_assets"),
            )
        )
    )


def _ytd_cumulative(
    known: pl.DataFrame, earlier: pl.DataFrame | None, periods: pl.DataFrame
) -> pl.DataFrame:
    """A year-to-date flow (本年累计数) must not shrink against the nearest earlier period.

    The reference is the latest period of the same year ending before this one, taken from
    `current` when it holds that period (a multi-period upload) and otherwise from `earlier`;
    months and quarters compare with each other because both run from 1 January.
    """
    flows = known.filter(pl.col("ytd_checked")).select(*KEYS, "amount")
    reference = flows
    if earlier is not None:
        reference = pl.concat(
            [flows, earlier.join(flows, on=list(KEYS), how="anti").select(*KEYS, "amount")]
        )
    keys = ["entity_id", "period", "item"]
    with_period = periods.select("period", "year", "end")
    ref = reference.join(with_period, on="period").rename(
        {"period": "period_ref", "amount": "amount_ref", "end": "end_ref"}
    )
    nearest = (
        flows.join(with_period, on="period")
        .join(ref, on=["entity_id", "item", "year"])
        .filter(pl.col("end_ref") < pl.col("end"))
        .filter(pl.col("end_ref") == pl.col("end_ref").max().over(keys))
        .sort([*keys, "amount_ref", "period_ref"], descending=[False, False, False, True, False])
        .unique(subset=keys, keep="first", maintain_order=True)
    )
    return (
        nearest.filter(pl.col("amount") < pl.col("amount_ref"))
        .join(_ITEMS_FRAME.select("item", "label"), on="item")
        .select(
            _finding(
                "ytd_cumulative",
                pl.format(
                    "{} {} 本年累计数 {} 小于 {} 的累计数 {}: year-to-date amount is below "
                    "the earlier period's [ytd_cumulative]",
                    pl.col("label"),
                    pl.col("item"),
                    pl.col("amount"),
                    pl.col("period_ref"),
                    pl.col("amount_ref"),
                ),
            )
        )
    )


def check_statements(
    current: pl.DataFrame,
    earlier: pl.DataFrame | None = None,
    *,
    tolerance: Decimal = Decimal("0.01"),
) -> pl.DataFrame:
    """Return the findings of the 审核公式 for `current`, sorted by entity, period, item, rule.

    Frames have entity_id, period (code), item, amount (Decimal, ≤ 2 places; null = not
    reported). `earlier` holds prior periods of the same entities for the year-to-date rule.
    Output columns: entity_id, period, item, rule, severity ('error' | 'warning'), message.
    Malformed input (missing columns, bad period codes, duplicate keys, float amounts) raises:
    the importer has already rejected such data, so here it is a programming error.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    cur = _normalise(current, "current")
    prev = None if earlier is None else _normalise(earlier, "earlier")
    periods = _period_frame(cur, *(() if prev is None else (prev,)))
    tol = pl.lit(tolerance, dtype=pl.Decimal(38, max(2, -int(tolerance.as_tuple().exponent))))

    known = cur.join(_ITEMS_FRAME, on="item")
    parts, totals = _parts(known)
    findings = pl.concat(
        [
            f.cast(FINDING_SCHEMA)
            for f in (
                _balance(known, tol),
                _sum_of_parts(parts, totals, tol),
                _non_negative(known),
                _unknown_item(cur),
                _ytd_cumulative(known, prev, periods),
                _missing_total(parts, totals),
            )
        ]
    )
    return (
        findings.join(periods.select("period", "end", "rank"), on="period", how="left")
        .sort("entity_id", "end", "rank", "period", "item", "rule", "message")
        .select(list(FINDING_SCHEMA))
    )
