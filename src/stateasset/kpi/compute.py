"""KPI arithmetic, pure Polars: LazyFrame in, LazyFrame out; no database, no clock.

Ratios (DOMAIN §6) come from a long frame of statement items (entity, period, item, amount).
Conventions fixed here once:
- Periods sort as text ("2025", "2025-12"); an average is (opening + closing) / 2, the opening
  being the item `opening_<item>` when given, else the entity's previous period's closing.
- A missing or zero denominator (or a missing numerator) gives a null value and a reason, never
  infinity. Ratios are Float64 (they are not money); amounts stay Decimal until divided.
- 国有资本保值增值率 removes the objective factors entered with evidence (item
  `objective_factors`, the increase not earned by the managers) from the closing state capital.

Scoring (DOMAIN §8) works on one row per contract × indicator × year; lower-is-better
indicators are mirrored by negating actual, tiers and targets, so every comparison reads
"higher is better". Every score keeps its arithmetic columns (tier, base, efficacy, adjustment,
cap) so a reader can follow each point. Scores are rounded half-even to 2 places only at the end.
- `target_step`: the deviation from the target in percent of |target| is rounded to 6 places
  (so 94 against 100 is exactly −6%), each full step (3%) toward zero adds or removes weight/30,
  capped at ±weight/5. When the target is below the own-history benchmark (基准值 = min(last
  year, average of the last three years), mirrored: max for lower-is-better), the bonus cap is
  multiplied by `low_target_cap_ratio` (default 0.5): a soft target earns a smaller bonus.
- `peer_rank`: percentile = (peers strictly worse + half the ties) / peers; score = weight ×
  percentile (a company among no peers scores null with a reason).
- Grades: bands are minimum totals for A, B, C (below C is D); ranks are by total descending
  (ties by contract); A's beyond the cap, by rank, become B.
- Appointment review: total below the floor score, or a main indicator's achievement (actual /
  target, mirrored target / actual) below the floor ratio.
- `score` does all of the above for every contract and year at once, the methods mixed in one
  frame (a contract's step and a macro indicator's offsets are columns); ranks and the A cap are
  per year; one grading `Policy` applies to the whole frame (the group sets one policy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

TIER_LABELS = ("优秀", "良好", "平均", "较低", "较差")
COEFFICIENTS = (1.0, 0.8, 0.6, 0.4, 0.2)
TIER_COLUMNS = tuple(f"tier_{i}" for i in range(1, 6))

ITEMS_SCHEMA: dict[str, pl.DataType] = {
    "entity": pl.String(),
    "period": pl.String(),
    "item": pl.String(),
    "amount": pl.Decimal(38, 2),
}

RATIO_NAMES: dict[str, str] = {
    "debt_to_asset": "资产负债率",
    "roe": "净资产收益率",
    "operating_cash_ratio": "营业现金比率",
    "cash_recovery_on_assets": "全部资产现金回收率",
    "cash_earnings_coverage": "盈余现金保障倍数",
    "rd_intensity": "研发经费投入强度",
    "labor_productivity": "全员劳动生产率",
    "capital_preservation": "国有资本保值增值率",
    # From the asset register (ledger.assets.effective), stored with the ratios of a period.
    "effective_asset_ratio": "有效资产比重",
    "operating_asset_share": "经营性资产占比",
}

_ITEMS = (
    "total_assets",
    "total_liabilities",
    "total_equity",
    "net_profit",
    "revenue",
    "operating_cash_flow",
    "rd_expense",
    "labor_cost",
    "depreciation",
    "taxes_net",
    "total_profit",
    "employees_avg",
    "state_capital",
    "objective_factors",
)
_AVERAGED = ("total_assets", "total_equity")
RATIO_ITEMS = (*_ITEMS, *(f"opening_{c}" for c in (*_AVERAGED, "state_capital")))
"""Every item `ratios` reads: a reader may fetch only these lines."""


def _item(code: str) -> pl.Expr:
    """The item's amount in its group, null when absent (a statement has each item once).

    A `max` over the column masked by a vectorised comparison: about 3× faster than a filter per
    group, the whole reason it is written this way.
    """
    return pl.when(pl.col("item") == code).then(pl.col("amount")).max().alias(code)


def ratios(items: pl.LazyFrame) -> pl.LazyFrame:
    """Every §6 ratio for every entity and period: entity, period, ratio, value, reason."""
    wide = (
        items.with_columns(pl.col("amount").cast(pl.Float64))
        .group_by("entity", "period")
        .agg(
            [_item(c) for c in _ITEMS]
            + [_item(f"opening_{c}") for c in (*_AVERAGED, "state_capital")]
        )
        .sort("entity", "period")
    )
    openings = []
    for code in (*_AVERAGED, "state_capital"):
        previous = pl.col(code).shift(1).over("entity", order_by="period")
        openings.append(pl.coalesce(pl.col(f"opening_{code}"), previous).alias(f"open_{code}"))
    wide = wide.with_columns(openings).with_columns(
        ((pl.col(f"open_{c}") + pl.col(c)) / 2).alias(f"avg_{c}") for c in _AVERAGED
    )
    labor_num = pl.sum_horizontal(
        pl.col("labor_cost"), pl.col("depreciation"), pl.col("taxes_net"), pl.col("total_profit")
    )
    labor_missing = pl.any_horizontal(
        pl.col(c).is_null() for c in ("labor_cost", "depreciation", "taxes_net", "total_profit")
    )
    preserved = pl.col("state_capital") - pl.col("objective_factors").fill_null(0.0)
    specs: list[tuple[str, pl.Expr, pl.Expr, str, str]] = [
        (
            "debt_to_asset",
            pl.col("total_liabilities"),
            pl.col("total_assets"),
            "total_liabilities",
            "total_assets",
        ),
        (
            "roe",
            pl.col("net_profit"),
            pl.col("avg_total_equity"),
            "net_profit",
            "average total_equity",
        ),
        (
            "operating_cash_ratio",
            pl.col("operating_cash_flow"),
            pl.col("revenue"),
            "operating_cash_flow",
            "revenue",
        ),
        (
            "cash_recovery_on_assets",
            pl.col("operating_cash_flow"),
            pl.col("avg_total_assets"),
            "operating_cash_flow",
            "average total_assets",
        ),
        (
            "cash_earnings_coverage",
            pl.col("operating_cash_flow"),
            pl.col("net_profit"),
            "operating_cash_flow",
            "net_profit",
        ),
        ("rd_intensity", pl.col("rd_expense"), pl.col("revenue"), "rd_expense", "revenue"),
        (
            "labor_productivity",
            pl.when(labor_missing).then(None).otherwise(labor_num),
            pl.col("employees_avg"),
            "labor_cost + depreciation + taxes_net + total_profit",
            "employees_avg",
        ),
        (
            "capital_preservation",
            preserved,
            pl.col("open_state_capital"),
            "state_capital",
            "opening state_capital",
        ),
    ]
    # One list of the eight per row, exploded: `wide` is sorted by entity and period and the
    # ratios are listed by name, so the rows come out sorted without sorting 8× the strings.
    specs.sort(key=lambda spec: spec[0])
    values, reasons = [], []
    for _code, num, den, num_name, den_name in specs:
        reason = (
            pl.when(den.is_null())
            .then(pl.lit(f"missing {den_name}"))
            .when(den == 0)
            .then(pl.lit(f"zero {den_name}"))
            .when(num.is_null())
            .then(pl.lit(f"missing {num_name}"))
        )
        values.append(pl.when(reason.is_null()).then(num / den))
        reasons.append(reason)
    return wide.select(
        "entity",
        "period",
        pl.lit(pl.Series([[spec[0] for spec in specs]], dtype=pl.List(pl.String))).alias("ratio"),
        pl.concat_list(values).alias("value"),
        pl.concat_list(reasons).alias("reason"),
    ).explode("ratio", "value", "reason")


def _mirror(col: str) -> pl.Expr:
    """The value read "higher is better": negated for lower-is-better indicators."""
    value = pl.col(col).cast(pl.Float64)
    return pl.when(pl.col("direction") == "lower").then(-value).otherwise(value)


def efficacy(scores: pl.LazyFrame) -> pl.LazyFrame:
    """功效系数法: needs weight, direction, actual, tier_1 (优秀) … tier_5 (较差).

    Adds tier (label reached, or 较差以下), base, efficacy, adjustment, score."""
    a = _mirror("actual")
    t = [_mirror(c) for c in TIER_COLUMNS]
    idx = pl.when(a >= t[0]).then(1)
    for i in range(1, 5):
        idx = idx.when(a >= t[i]).then(i + 1)
    idx = idx.otherwise(6)
    lf = scores.with_columns(idx.alias("_idx"))

    def pick(values: Sequence[pl.Expr | float], offset: int) -> pl.Expr:
        expr = pl.when(pl.lit(False)).then(None)
        for i, v in enumerate(values, start=1):
            value = v if isinstance(v, pl.Expr) else pl.lit(v)
            expr = expr.when(pl.col("_idx") == i + offset).then(value)
        return expr

    here, there = pick(t, 0), pick(t, 1)  # this tier; the next one up
    c_here, c_there = pick(COEFFICIENTS, 0), pick(COEFFICIENTS, 1)
    weight = pl.col("weight").cast(pl.Float64)
    inner = pl.col("_idx").is_between(2, 5)
    lf = lf.with_columns(
        pick(TIER_LABELS, 0).fill_null("较差以下").alias("tier"),
        (weight * c_here.fill_null(0.0)).alias("base"),
        pl.when(inner).then((a - here) / (there - here)).alias("efficacy"),
    )
    lf = lf.with_columns(
        pl.when(inner)
        .then(pl.col("efficacy") * (weight * c_there - pl.col("base")))
        .alias("adjustment")
    )
    return lf.with_columns(
        (pl.col("base") + pl.col("adjustment").fill_null(0.0)).round(2).alias("score")
    ).drop("_idx")


def target_step(
    scores: pl.LazyFrame, step_pct: float | pl.Expr = 3.0, low_target_cap_ratio: float = 0.5
) -> pl.LazyFrame:
    """同自身历史比: needs weight, direction, actual, target, last_year, avg_3y (may be null).

    `step_pct` may be a column (each contract's own step). Adds deviation_pct, steps, benchmark,
    cap_up, cap_down, adjustment, score."""
    weight = pl.col("weight").cast(pl.Float64)
    a, tgt = _mirror("actual"), _mirror("target")
    history = pl.min_horizontal(_mirror("last_year"), _mirror("avg_3y"))
    lf = scores.with_columns(
        ((a - tgt) / pl.col("target").abs() * 100).round(6).alias("deviation_pct"),
        pl.when(pl.col("direction") == "lower")
        .then(-history)
        .otherwise(history)
        .alias("benchmark"),
        (weight / 5).alias("cap_down"),
        pl.when(history.is_not_null() & (tgt < history))
        .then(weight / 5 * low_target_cap_ratio)
        .otherwise(weight / 5)
        .alias("cap_up"),
    )
    lf = lf.with_columns(_trunc(pl.col("deviation_pct") / step_pct).alias("steps"))
    lf = lf.with_columns(
        (pl.col("steps") * weight / 30)
        .clip(-pl.col("cap_down"), pl.col("cap_up"))
        .alias("adjustment")
    )
    return lf.with_columns((weight + pl.col("adjustment")).round(2).alias("score"))


def _trunc(expr: pl.Expr) -> pl.Expr:
    """Whole steps toward zero ("each full 3%")."""
    rounded = expr.round(6)
    return pl.when(rounded >= 0).then(rounded.floor()).otherwise(rounded.ceil())


def macro(scores: pl.LazyFrame, offsets: Sequence[float]) -> pl.LazyFrame:
    """跟经济大势比: the indicator's growth (actual) against the macro value (column `macro`), by
    efficacy with tier i = macro + offsets[i] (优秀 first; offsets in the indicator's unit)."""
    return efficacy(
        scores.with_columns(
            (pl.col("macro") + off).alias(col)
            for col, off in zip(TIER_COLUMNS, offsets, strict=True)
        )
    )


def peer_rank(scores: pl.LazyFrame, peers: pl.LazyFrame) -> pl.LazyFrame:
    """跟同行比: scores need weight, direction, actual, industry, year, indicator; peers hold
    (industry, year, indicator, value). Adds peers, percentile, score.

    Each peer set is counted once per distinct value (how many lie below it, how many on it) and
    each actual finds the last value at or below it (an as-of join), so the work grows with rows
    + peers, not rows × peers."""
    keys = ["industry", "year", "indicator"]
    peers = peers.filter(pl.col("value").is_not_null())
    counts = (
        peers.group_by(*keys, "value")
        .agg(pl.len().alias("_on"))
        .sort("value")
        .with_columns((pl.col("_on").cum_sum().over(keys) - pl.col("_on")).alias("_below"))
        .rename({"value": "_v"})
    )
    sizes = peers.group_by(keys).agg(pl.len().alias("peers"))
    tie = pl.col("_v") == pl.col("_a")
    below = (
        pl.when(tie).then(pl.col("_below")).otherwise(pl.col("_below") + pl.col("_on")).fill_null(0)
    )
    ties = pl.when(tie).then(pl.col("_on")).otherwise(0).fill_null(0)
    # Lower is better: the peers above the actual are the worse ones.
    beaten = (
        pl.when(pl.col("direction") == "lower")
        .then(pl.col("peers") - below - ties)
        .otherwise(below)
        + ties * 0.5
    )
    weight = pl.col("weight").cast(pl.Float64)
    return (
        scores.with_row_index("_row")
        .with_columns(pl.col("actual").cast(pl.Float64).alias("_a"))
        .sort("_a")
        .join_asof(
            counts,
            left_on="_a",
            right_on="_v",
            by=keys,
            strategy="backward",
            check_sortedness=False,  # both sides are sorted on the value above
        )
        .join(sizes, on=keys, how="left")
        .with_columns(pl.col("peers").fill_null(0))
        .with_columns(
            pl.when(pl.col("peers") > 0).then(beaten / pl.col("peers")).alias("percentile")
        )
        .with_columns((weight * pl.col("percentile")).round(2).alias("score"))
        .sort("_row")
        .drop("_row", "_a", "_v", "_on", "_below")
    )


def totals(scores: pl.LazyFrame, adjustments: pl.LazyFrame) -> pl.LazyFrame:
    """total = Σ indicator scores + bonus − deduction, per contract and year.

    `adjustments` holds (contract, year, kind 'bonus'|'deduction', points)."""
    summed = scores.group_by("contract", "year").agg(pl.col("score").sum().alias("indicator_total"))
    adj = adjustments.group_by("contract", "year").agg(
        pl.col("points").filter(pl.col("kind") == "bonus").sum().cast(pl.Float64).alias("bonus"),
        pl.col("points")
        .filter(pl.col("kind") == "deduction")
        .sum()
        .cast(pl.Float64)
        .alias("deduction"),
    )
    return (
        summed.join(adj, on=["contract", "year"], how="left")
        .with_columns(pl.col("bonus").fill_null(0.0), pl.col("deduction").fill_null(0.0))
        .with_columns(
            (pl.col("indicator_total") + pl.col("bonus") - pl.col("deduction"))
            .round(2)
            .alias("total")
        )
    )


def grades(
    totals_lf: pl.LazyFrame,
    bands: Mapping[str, float],
    a_cap: int | None,
    pay: Mapping[str, float],
) -> pl.LazyFrame:
    """Rank per year, band grade, A cap by rank (the rest drop to B), pay coefficient."""
    band = (
        pl.when(pl.col("total") >= bands["A"])
        .then(pl.lit("A"))
        .when(pl.col("total") >= bands["B"])
        .then(pl.lit("B"))
        .when(pl.col("total") >= bands["C"])
        .then(pl.lit("C"))
        .otherwise(pl.lit("D"))
    )
    lf = totals_lf.sort(
        "year", pl.col("total"), "contract", descending=[False, True, False]
    ).with_columns(
        pl.int_range(1, pl.len() + 1).over("year").alias("rank"), band.alias("band_grade")
    )
    a_order = (pl.col("band_grade") == "A").cast(pl.Int32).cum_sum().over("year")
    capped = (
        (pl.col("band_grade") == "A") & (a_order > a_cap) if a_cap is not None else pl.lit(False)
    )
    lf = lf.with_columns(
        capped.alias("a_capped"),
        pl.when(capped).then(pl.lit("B")).otherwise(pl.col("band_grade")).alias("grade"),
    )
    return lf.with_columns(
        pl.col("grade").replace_strict(dict(pay), return_dtype=pl.Float64).alias("pay_coefficient")
    )


def review_flags(
    totals_lf: pl.LazyFrame,
    scores: pl.LazyFrame,
    floor_score: float = 70.0,
    floor_ratio: float = 0.7,
) -> pl.LazyFrame:
    """解聘 review: total < floor_score, or a main indicator's achievement < floor_ratio.

    `scores` need contract, year, main, direction, actual, target. Adds review and review_reason."""
    achievement = (
        pl.when(pl.col("direction") == "lower")
        .then(pl.col("target") / pl.col("actual"))
        .otherwise(pl.col("actual") / pl.col("target"))
    )
    low = (
        scores.filter(pl.col("main"))
        .with_columns(achievement.alias("achievement"))
        .filter(pl.col("achievement") < floor_ratio)
        .group_by("contract", "year")
        .agg(pl.col("indicator").sort().str.join("、").alias("_low"))
    )
    return (
        totals_lf.join(low, on=["contract", "year"], how="left")
        .with_columns(
            pl.concat_str(
                [
                    pl.when(pl.col("total") < floor_score).then(
                        pl.format("总分 {} < {}", "total", pl.lit(floor_score))
                    ),
                    pl.when(pl.col("_low").is_not_null()).then(
                        pl.format(
                            "主要指标低于目标{}%: {}", pl.lit(round(floor_ratio * 100)), "_low"
                        )
                    ),
                ],
                separator="；",
                ignore_nulls=True,
            ).alias("review_reason")
        )
        .with_columns(
            pl.col("review_reason").replace("", None),
        )
        .with_columns(pl.col("review_reason").is_not_null().alias("review"))
        .drop("_low")
    )


OFFSET_COLUMNS = tuple(f"offset_{i}" for i in range(1, 6))
INDICATORS_SCHEMA: dict[str, pl.DataType] = {
    "contract": pl.String(),
    "year": pl.Int64(),
    "indicator": pl.String(),
    "name": pl.String(),
    "weight": pl.Float64(),
    "direction": pl.String(),
    "method": pl.String(),
    "main": pl.Boolean(),
    "industry": pl.String(),
    "actual": pl.Float64(),
    "actual_reason": pl.String(),
    "target": pl.Float64(),
    "last_year": pl.Float64(),
    "avg_3y": pl.Float64(),
    "macro": pl.Float64(),
    "step_pct": pl.Float64(),
    **{c: pl.Float64() for c in TIER_COLUMNS},
    **{c: pl.Float64() for c in OFFSET_COLUMNS},
}
"""What `score` reads: one row per contract × year × indicator (tiers for efficacy, or offsets
for macro; extra columns ride along)."""
PEERS_SCHEMA: dict[str, pl.DataType] = {
    "industry": pl.String(),
    "year": pl.Int64(),
    "indicator": pl.String(),
    "value": pl.Float64(),
}
ADJUSTMENTS_SCHEMA: dict[str, pl.DataType] = {
    "contract": pl.String(),
    "year": pl.Int64(),
    "kind": pl.String(),
    "points": pl.Float64(),
}


@dataclass(frozen=True)
class Policy:
    """The group's grading policy: bands (minimum totals for A, B, C), A cap, pay table, floor."""

    bands: Mapping[str, float] = field(default_factory=lambda: {"A": 90.0, "B": 80.0, "C": 70.0})
    a_cap: int | None = None
    pay: Mapping[str, float] = field(
        default_factory=lambda: {"A": 1.5, "B": 1.2, "C": 1.0, "D": 0.6}
    )
    floor_score: float = 70.0
    floor_ratio: float = 0.7


_EFFICACY_OUT = ("tier", "base", "efficacy")
_STEP_OUT = ("deviation_pct", "benchmark", "cap_down", "cap_up", "steps")
_PEER_OUT = ("peers", "percentile")


def score(
    indicators: pl.LazyFrame, peers: pl.LazyFrame, adjustments: pl.LazyFrame, policy: Policy
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Every indicator's score with its arithmetic, and the graded, ranked, flagged totals, for
    every contract and year at once (rank and A cap per year).

    `indicators` as INDICATORS_SCHEMA, every method mixed: each method's columns are computed on
    the whole frame and kept on its own rows only (tier/base/efficacy for efficacy and macro,
    deviation_pct/benchmark/cap_down/cap_up/steps for target_step, peers/percentile for
    peer_rank; `adjustment` for the first two). Macro rows take their tiers as macro + offset_i.
    An indicator without an actual, a target_step without a target or an efficacy/macro without
    tiers scores 0 (tier null); a peer_rank among no peers scores 0. Rows keep their input order.
    `peers` as PEERS_SCHEMA, `adjustments` as ADJUSTMENTS_SCHEMA. Collect both results with
    `pl.collect_all` so the scores are computed once."""
    method = pl.col("method")
    is_eff, is_step, is_peer = (
        method.is_in(["efficacy", "macro"]),
        method == "target_step",
        method == "peer_rank",
    )
    lf = indicators.with_row_index("_order").with_columns(
        pl.when((method == "macro") & pl.col("macro").is_not_null() & pl.col(off).is_not_null())
        .then(pl.col("macro") + pl.col(off))
        .otherwise(pl.col(tier))
        .alias(tier)
        for tier, off in zip(TIER_COLUMNS, OFFSET_COLUMNS, strict=True)
    )
    lf = efficacy(lf).rename({"adjustment": "_e_adj", "score": "_e_score"})
    lf = target_step(lf, step_pct=pl.col("step_pct").fill_null(3.0)).rename(
        {"adjustment": "_t_adj", "score": "_t_score"}
    )
    ranked = peer_rank(
        lf.filter(is_peer).select(
            "_order", "weight", "direction", "actual", "industry", "year", "indicator"
        ),
        peers,
    ).select("_order", *_PEER_OUT, pl.col("score").alias("_p_score"))
    lf = lf.join(ranked, on="_order", how="left", maintain_order="left")
    unscorable = (
        pl.col("actual").is_null()
        | (is_step & pl.col("target").is_null())
        | (is_eff & pl.col("tier_1").is_null())
    )
    scores = lf.with_columns(
        pl.when(is_eff & ~unscorable).then(pl.col("tier")).alias("tier"),
        *(pl.when(is_eff).then(pl.col(c)).alias(c) for c in _EFFICACY_OUT[1:]),
        *(pl.when(is_step).then(pl.col(c)).alias(c) for c in _STEP_OUT),
        *(pl.when(is_peer).then(pl.col(c)).alias(c) for c in _PEER_OUT),
        pl.when(is_eff)
        .then(pl.col("_e_adj"))
        .when(is_step)
        .then(pl.col("_t_adj"))
        .alias("adjustment"),
        pl.when(unscorable)
        .then(0.0)
        .when(is_eff)
        .then(pl.col("_e_score"))
        .when(is_step)
        .then(pl.col("_t_score"))
        .when(is_peer)
        .then(pl.col("_p_score"))
        .fill_null(0.0)
        .alias("score"),
    ).drop("_order", "_e_adj", "_e_score", "_t_adj", "_t_score", "_p_score")
    graded = grades(totals(scores, adjustments), policy.bands, policy.a_cap, policy.pay)
    flagged = review_flags(graded, scores, policy.floor_score, policy.floor_ratio)
    return scores, flagged.sort("year", "rank")
