"""Statement validation rules (审核公式) as a pure function over Polars frames.

Errors block a submission, warnings do not (DOMAIN.md §3). Every finding names the item and the
rule, in Chinese for staff and English for the log. No database, no clock: the service feeds in
the statements and stores what comes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal

import polars as pl

from stateasset.core.periods import Period, parse_period
from stateasset.ledger.catalogue import ITEM_BY_CODE, ITEMS, TOTALS, Item

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

# Message templates, shared by the frame path (`pl.format`) and the one-statement path
# (`str.format`): both fill the same `{}` slots in the same order.
_MESSAGES: dict[str, str] = {
    "unknown_item": "未知项目编码 unknown item code '{}' [unknown_item]",
    "non_negative": "{} {} 不能为负数 must not be negative: {} [non_negative]",
    "sum_of_parts": "{} {} 填报 {} ≠ 各组成项目之和 {} (差额 {}): "
    "total differs from the sum of its parts [sum_of_parts]",
    "missing_total": "{} {} 未填报，但已填报 {}/{} 个组成项目: "
    "total missing while parts are reported [missing_total]",
    "balance": "资产总计 total_assets {} ≠ 负债合计 total_liabilities {} + "
    "所有者权益合计 total_equity {} (差额 {}){}: "
    "balance sheet does not balance [balance]",
    "ytd_cumulative": "{} {} 本年累计数 {} 小于 {} 的累计数 {}: year-to-date amount is below "
    "the earlier period's [ytd_cumulative]",
}
_BALANCE_NOTE = "; 未填报按0计 not reported, counted as 0: {}"


def _ytd_checked(item: Item) -> bool:
    """Only revenue-like flows must grow through the year; profits and cash flows may fall."""
    return item.flow and item.non_negative


_ITEMS_FRAME = pl.DataFrame(
    {
        "item": [i.code for i in ITEMS],
        "label": [i.label for i in ITEMS],
        "non_negative": [i.non_negative for i in ITEMS],
        "ytd_checked": [_ytd_checked(i) for i in ITEMS],
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
            pl.format(_MESSAGES["unknown_item"], pl.col("item")),
        )
    )


def _non_negative(known: pl.DataFrame) -> pl.DataFrame:
    return known.filter(pl.col("non_negative") & (pl.col("amount") < 0)).select(
        _finding(
            "non_negative",
            pl.format(
                _MESSAGES["non_negative"],
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
                    _MESSAGES["sum_of_parts"],
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
                _MESSAGES["missing_total"],
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
    note = pl.when(not_given != "").then(pl.format(_BALANCE_NOTE, not_given)).otherwise(pl.lit(""))
    return (
        known.filter(pl.col("item").is_in(_BALANCE_TOTALS))
        .group_by("entity_id", "period")
        .agg(*sums, *has)
        .filter(diff.abs() > tol)
        .select(
            _finding(
                "balance",
                pl.format(
                    _MESSAGES["balance"],
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
                    _MESSAGES["ytd_cumulative"],
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


def _cents(amount: Decimal | int, name: str) -> int:
    """Return an amount in cents, refusing what `_normalise` refuses (floats, > 2 places)."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"{name}: amount must be Decimal or integer, got {type(amount).__name__}")
    cents = amount * 100
    if cents != int(cents):
        raise ValueError(f"{name}: amounts with more than 2 decimal places")
    return int(cents)


def _money(cents: int) -> str:
    """Return cents spelled as Polars spells a Decimal(38,2): '-1234.50', '0.00'."""
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole}.{part:02d}"


def check_statement(
    entity_id: str,
    period: str,
    items: Mapping[str, Decimal | int | None],
    earlier: Iterable[tuple[str, str, Decimal | int | None]] = (),
    *,
    tolerance: Decimal = Decimal("0.01"),
) -> list[dict[str, str]]:
    """Return the findings of the 审核公式 for one statement, as `check_statements` would.

    The same rules, in the same order, with the same messages as `check_statements` run on a
    frame holding only this statement, as rows (`FINDING_SCHEMA` keys) rather than a frame:
    a single posting pays no per-operation overhead of Polars for its ~20 lines. `earlier`
    holds this entity's (period, item, amount) rows of prior periods for the year-to-date rule.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    tol = tolerance * 100  # in cents
    this = parse_period(period)
    given = {
        code: _cents(amount, "current") for code, amount in items.items() if amount is not None
    }
    found: list[tuple[str, str, str]] = []  # (item, rule, message)

    def add(item: str, rule: str, *args: object) -> None:
        found.append((item, rule, _MESSAGES[rule].format(*args)))

    present = [t for t in _BALANCE_TOTALS if t in given]
    if present:
        assets, liabilities, equity = (given.get(t, 0) for t in _BALANCE_TOTALS)
        diff = assets - liabilities - equity
        if abs(diff) > tol:
            missing = ", ".join(t for t in _BALANCE_TOTALS if t not in given)
            note = _BALANCE_NOTE.format(missing) if missing else ""
            add(
                "total_assets",
                "balance",
                _money(assets),
                _money(liabilities),
                _money(equity),
                _money(diff),
                note,
            )
    for total, parts in TOTALS.items():
        amounts = [given[p] for p in parts if p in given]
        if not amounts:
            continue
        label = ITEM_BY_CODE[total].label
        if total not in given:
            add(total, "missing_total", label, total, len(amounts), len(parts))
        elif len(amounts) == len(parts):
            reported, parts_sum = given[total], sum(amounts)
            if abs(reported - parts_sum) > tol:
                add(
                    total,
                    "sum_of_parts",
                    label,
                    total,
                    _money(reported),
                    _money(parts_sum),
                    _money(reported - parts_sum),
                )

    checked: dict[str, int] = {}
    for code, cents in given.items():
        item = ITEM_BY_CODE.get(code)
        if item is None:
            add(code, "unknown_item", code)
            continue
        if item.non_negative and cents < 0:
            add(code, "non_negative", item.label, code, _money(cents))
        if _ytd_checked(item):
            checked[code] = cents

    # Per flow item, the nearest earlier period of the same year: latest end, then the largest
    # amount, then the first code — the tie-break of `_ytd_cumulative`.
    nearest: dict[str, tuple[date, int, str]] = {}
    ends: dict[str, Period] = {}
    for code, item_code, amount in earlier:
        if amount is None:
            continue
        cents = _cents(amount, "earlier")
        other = ends.get(code) or ends.setdefault(code, parse_period(code))
        if item_code not in checked or other.year != this.year or not other.end < this.end:
            continue
        best = nearest.get(item_code)
        if (
            best is None
            or other.end > best[0]
            or (other.end == best[0] and (cents > best[1] or (cents == best[1] and code < best[2])))
        ):
            nearest[item_code] = (other.end, cents, code)
    for code, (_, ref, ref_period) in nearest.items():
        if checked[code] < ref:
            item = ITEM_BY_CODE[code]
            add(
                code,
                "ytd_cumulative",
                item.label,
                code,
                _money(checked[code]),
                ref_period,
                _money(ref),
            )

    found.sort()
    return [
        {
            "entity_id": entity_id,
            "period": period,
            "item": item,
            "rule": rule,
            "severity": RULES[rule],
            "message": message,
        }
        for item, rule, message in found
    ]
