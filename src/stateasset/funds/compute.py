"""Fund arithmetic, pure Polars: LazyFrame in, LazyFrame out; no database, no clock.

Every function works on all keys at once. A key is whatever the caller measures: a fund, an LP
position (`fund|lp`) or the mother fund's positions across its sub-funds.

Conventions the brief left open, fixed here once:
- Flows are from the investor's side: a call (paid-in, dated when paid) is an outflow, a
  distribution an inflow; both are stored positive with their kind. Only flows dated on or
  before the as-of date count.
- NAV as of a date is the latest NAV statement on or before it, rolled forward by the flows
  after the statement's date (+ calls − distributions), as managers report between quarters.
  An LP's NAV is the fund's NAV × its share of the fund's paid-in, rounded half-up to cents.
- paid-in = Σ paid calls; unfunded = commitment − Σ paid calls inside the commitment + Σ
  recallable distributions, so paid-in + unfunded = commitment (DOMAIN's invariant, a call
  marked outside the commitment and recallable money aside); a call made but not yet paid is
  still unfunded here (the capital account shows it as called); PICC = paid-in / commitment; DPI = distributed / paid-in;
  RVPI = NAV / paid-in; TVPI = DPI + RVPI (the float sum, so the identity holds exactly). Money is
  Decimal(38, 2); ratios are Float64 and null when the denominator is zero.
- IRR = XIRR of the dated flows with the NAV as a final inflow at the as-of date, Actual/365 from
  the first date (Excel's convention; pyxirr's default). Solved for every key together: Newton's
  method from 10%, then, for keys it did not settle, bisection on the first sign change over a
  grid of rates from −99.9999% to 10⁶ and a Newton polish. An IRR that does not exist is null
  with the reason: no outflow, no inflow (an all-loss history: nothing back and nothing left), or
  no rate in that range that makes the net present value zero.
- KS-PME = (Σ D_t·I_T/I_t + NAV_T) / (Σ C_t·I_T/I_t), I_t the index's latest value on or before t.
- Leverage (放大倍数) = the sub-funds' total paid-in / the mother fund's paid-in to them.
- 返投 counted = Σ amount × the fund's multiplier for the investment's kind (no multiplier: 0);
  achieved = counted / the mother fund's paid-in to the fund; expected now = the required multiple
  × the share of the investment period elapsed (0 to 1); behind when achieved < expected now.
- Look-through: the mother fund's share of a fund is its commitment / the fund's total
  commitments, multiplied along every path of the tree; its exposure to a company through one
  path is that share × the fund's position (latest valuation, else cost; nothing after an exit),
  rounded half-up to cents per path and summed over paths.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from stateasset.core.money import MONEY, scale_money

DAYS_PER_YEAR = 365.0

FLOWS_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "kind": pl.String(),  # call or distribution
    "flow_date": pl.Date(),  # a call's paid date, a distribution's date
    "amount": MONEY,  # positive
    "outside_commitment": pl.Boolean(),
    "recallable": pl.Boolean(),
}
"""Paid capital flows by key, as `metrics`, `pme` and `j_curve` take them."""

NAVS_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "as_of": pl.Date(),
    "nav": MONEY,
}
"""NAV statements by key (quarter ends)."""

COMMITMENTS_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "commitment": MONEY,
}
"""Commitments by key (认缴)."""

INDEX_SCHEMA: dict[str, pl.DataType] = {"day": pl.Date(), "value": pl.Float64()}
"""An index series for KS-PME."""

CASHFLOW_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "flow_date": pl.Date(),
    "amount": pl.Float64(),  # signed: negative out of the investor, positive back
}
"""Signed dated cash flows, as `xirr` takes them."""

IRR_SCHEMA: dict[str, pl.DataType] = {
    "key": pl.String(),
    "irr": pl.Float64(),
    "irr_reason": pl.String(),
}

NO_OUTFLOW = "no contribution yet: an IRR needs money paid in"
NO_INFLOW = "nothing distributed and no value left: every flow is a loss, so no rate exists"
NO_ROOT = "no rate between −99.9999% and 10⁶ makes the net present value zero"

_NEWTON_STEPS = 40
_BISECTION_STEPS = 100
_TOLERANCE = 1e-12
_LOWEST = -0.999999
_GRID = (-0.999999, -0.99, -0.9, -0.7, -0.5, -0.3, -0.1, 0.0, 0.1, 0.3, 0.6, 1.0, 2.0, 5.0)
_GRID += (10.0, 100.0, 1e3, 1e4, 1e6)


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator as Float64, null when the denominator is zero."""
    den = denominator.cast(pl.Float64)
    return pl.when(den != 0).then(numerator.cast(pl.Float64) / den).otherwise(None)


# ------------------------------------------------------------------------------------------
# XIRR, vectorised


def _npv(rows: pl.DataFrame, rates: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Σ a·(1+r)^−t and its derivative in r for every key, in key order.

    `rows` is `idx, t, a` sorted by `idx` (0 … keys − 1, every key present); `rates` has a rate
    per key. One fused query: the discount factor as exp(−t·ln(1+r)).
    """
    sums = (
        rows.lazy()
        .with_columns(r=pl.lit(rates).gather(pl.col("idx")))
        .with_columns(v=pl.col("a") * (-pl.col("t") * pl.col("r").log1p()).exp())
        .group_by("idx")
        .agg(
            f=pl.col("v").sum(),
            fp=(-pl.col("t") * pl.col("v") / (pl.col("r") + 1.0)).sum(),
        )
        .sort("idx")
        .collect()
    )
    return sums["f"], sums["fp"]


def _npv_of(rows: pl.DataFrame, rates: pl.Series) -> pl.DataFrame:
    """`idx, f, fp`: Σ a·(1+r)^−t and its derivative for the keys present in `rows` (`_npv`'s)."""
    return (
        rows.lazy()
        .with_columns(r=pl.lit(rates).gather(pl.col("idx")))
        .with_columns(v=pl.col("a") * (-pl.col("t") * pl.col("r").log1p()).exp())
        .group_by("idx")
        .agg(
            f=pl.col("v").sum(),
            fp=(-pl.col("t") * pl.col("v") / (pl.col("r") + 1.0)).sum(),
        )
        .collect()
    )


def xirr(cashflows: pl.LazyFrame) -> pl.LazyFrame:
    """Each key's XIRR (IRR_SCHEMA): Actual/365 from its first date; null with a reason if none.

    `cashflows` is CASHFLOW_SCHEMA. Flows are not netted by day: the sum is the same, and the
    keys are never sorted (a hash join numbers them), which is most of the work at scale.
    """
    flows = cashflows.with_columns(
        day=pl.col("flow_date").cast(pl.Int32).cast(pl.Float64)
    ).collect()
    # Per key: which signs occur, the scale of its flows, and a first guess: the money multiple
    # over the gap between the money-weighted times of what went in and what came back.
    inflow, outflow = pl.col("amount").clip(0.0, None), (-pl.col("amount")).clip(0.0, None)
    summary = (
        flows.group_by("key")
        .agg(
            out=(pl.col("amount") < 0).any(),
            back=(pl.col("amount") > 0).any(),
            scale=pl.col("amount").abs().max(),
            first=pl.col("day").min(),
            paid=outflow.sum(),
            got=inflow.sum(),
            d_paid=(outflow * pl.col("day")).sum(),
            d_got=(inflow * pl.col("day")).sum(),
        )
        .with_row_index("idx")
        .with_columns(
            span=(
                (pl.col("d_got") / pl.col("got") - pl.col("d_paid") / pl.col("paid"))
                / DAYS_PER_YEAR
            ).clip(0.25, None)
        )
        .with_columns(
            guess=((pl.col("got") / pl.col("paid")).pow(1.0 / pl.col("span")) - 1.0)
            .fill_nan(0.1)
            .fill_null(0.1)
            .clip(-0.99, 10.0)
        )
    )
    keys = summary.height
    if keys == 0:
        return pl.LazyFrame(schema=IRR_SCHEMA)
    rows = flows.join(summary.select("key", "idx", "first"), on="key", how="left").select(
        "idx", t=(pl.col("day") - pl.col("first")) / DAYS_PER_YEAR, a="amount"
    )
    solvable = summary["out"] & summary["back"]
    scale = summary["scale"]

    # Newton for every key at once; a step past −100% halves the way there instead. A key that
    # has settled leaves the rows, so the later steps only see the few still moving.
    rate = summary["guess"].clone()
    good = pl.Series([False] * keys)
    active, part = solvable.clone(), rows
    for _ in range(_NEWTON_STEPS):
        if not active.any():
            break
        part = part.filter(active.gather(part["idx"]))
        sums = _npv_of(part, rate)
        idx, r, f, fp = sums["idx"], rate.gather(sums["idx"]), sums["f"], sums["fp"]
        step = (f / fp).fill_nan(None).fill_null(0.0)
        done = (step.abs() <= _TOLERANCE * (r.abs() + 1.0)) & (f.abs() <= scale.gather(idx) * 1e-9)
        moved = r - step
        ok = moved.is_finite() & (moved > -1.0)
        rate.scatter(idx, pl.select(pl.when(ok).then(moved).otherwise((r - 1.0) / 2)).to_series())
        settled = idx.filter(done)
        good.scatter(settled, True)
        active.scatter(settled, False)

    if not (good | ~solvable).all():
        rate = _bisect(rows, rate, keys, solvable & ~good)
        f, _ = _npv(rows, rate)
        good = good | (rate.is_finite() & (f.abs() <= scale * 1e-9))

    result = summary.with_columns(irr=rate, good=good).with_columns(
        irr=pl.when(pl.col("out") & pl.col("back") & pl.col("good")).then(pl.col("irr")),
        irr_reason=pl.when(~pl.col("out"))
        .then(pl.lit(NO_OUTFLOW))
        .when(~pl.col("back"))
        .then(pl.lit(NO_INFLOW))
        .when(~pl.col("good"))
        .then(pl.lit(NO_ROOT)),
    )
    return result.select(list(IRR_SCHEMA)).lazy()


def _bisect(rows: pl.DataFrame, rate: pl.Series, keys: int, todo: pl.Series) -> pl.Series:
    """For the keys in `todo`: the root in the first grid interval where the NPV changes sign."""

    def constant(value: float) -> pl.Series:
        return pl.Series([value] * keys, dtype=pl.Float64)

    values = [_npv(rows, constant(g))[0] for g in _GRID]
    lo, hi = constant(float("nan")), constant(float("nan"))
    found = pl.Series([False] * keys)
    for i in range(len(_GRID) - 1):
        change = (values[i].sign() * values[i + 1].sign() <= 0) & ~found
        lo = pl.select(pl.when(change).then(_GRID[i]).otherwise(lo)).to_series()
        hi = pl.select(pl.when(change).then(_GRID[i + 1]).otherwise(hi)).to_series()
        found = found | change
    lo, hi = lo.fill_nan(0.0), hi.fill_nan(0.0)
    f_lo = _npv(rows, lo)[0]
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        f_mid = _npv(rows, mid)[0]
        same = f_mid.sign() * f_lo.sign() > 0
        lo = pl.select(pl.when(same).then(mid).otherwise(lo)).to_series()
        f_lo = pl.select(pl.when(same).then(f_mid).otherwise(f_lo)).to_series()
        hi = pl.select(pl.when(same).then(hi).otherwise(mid)).to_series()
    mid = (lo + hi) / 2
    for _ in range(3):  # polish
        f, fp = _npv(rows, mid)
        moved = mid - (f / fp).fill_nan(0.0)
        mid = pl.select(pl.when(moved > -1.0).then(moved).otherwise(mid)).to_series()
    return pl.select(pl.when(todo & found).then(mid).otherwise(rate)).to_series()


# ------------------------------------------------------------------------------------------
# Metrics


def nav_as_of(navs: pl.LazyFrame, flows: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Each key's NAV at `as_of`: its latest statement rolled forward by the flows after it."""
    latest = (
        navs.filter(pl.col("as_of") <= as_of)
        .sort("key", "as_of")
        .group_by("key")
        .agg(pl.col("as_of").last().alias("nav_date"), pl.col("nav").last())
    )
    after = (
        flows.filter(pl.col("flow_date") <= as_of)
        .join(latest.select("key", "nav_date"), on="key", how="inner")
        .filter(pl.col("flow_date") > pl.col("nav_date"))
        .group_by("key")
        .agg(
            pl.when(pl.col("kind") == "call")
            .then(pl.col("amount"))
            .otherwise(-pl.col("amount"))
            .sum()
            .alias("since")
        )
    )
    return (
        latest.join(after, on="key", how="left")
        .with_columns(nav=(pl.col("nav") + pl.col("since").fill_null(0)).cast(MONEY))
        .select("key", "nav")
    )


def metrics(
    flows: pl.LazyFrame,
    navs: pl.LazyFrame,
    commitments: pl.LazyFrame,
    as_of: date,
    *,
    nav_given: bool = False,
) -> pl.LazyFrame:
    """Paid-in, unfunded, distributed, NAV, PICC, DPI, RVPI, TVPI and IRR of every key at `as_of`.

    `navs` is NAVS_SCHEMA (statements, rolled forward here) or, with `nav_given`, one `key, nav`
    row per key already as of the date (an LP's share of its fund's NAV).
    """
    dated = flows.filter(pl.col("flow_date") <= as_of)
    sums = dated.group_by("key").agg(
        paid_in=pl.col("amount").filter(pl.col("kind") == "call").sum().cast(MONEY),
        paid_inside=pl.col("amount")
        .filter((pl.col("kind") == "call") & ~pl.col("outside_commitment"))
        .sum()
        .cast(MONEY),
        distributed=pl.col("amount").filter(pl.col("kind") == "distribution").sum().cast(MONEY),
        recallable=pl.col("amount")
        .filter((pl.col("kind") == "distribution") & pl.col("recallable"))
        .sum()
        .cast(MONEY),
    )
    nav = navs.select("key", "nav") if nav_given else nav_as_of(navs, flows, as_of)
    # Both are read twice below (the sums and the cash flows): worked out once.
    dated, nav = dated.collect().lazy(), nav.collect().lazy()
    zero = pl.lit(0, dtype=MONEY)
    base = (
        commitments.join(sums, on="key", how="full", coalesce=True)
        .join(nav, on="key", how="left")
        .with_columns(
            pl.col("commitment", "paid_inside", "paid_in", "distributed", "recallable", "nav")
            .fill_null(zero)
            .cast(MONEY)
        )
        .with_columns(
            unfunded=(pl.col("commitment") - pl.col("paid_inside") + pl.col("recallable")).cast(
                MONEY
            ),
            picc=_ratio(pl.col("paid_in"), pl.col("commitment")),
            dpi=_ratio(pl.col("distributed"), pl.col("paid_in")),
            rvpi=_ratio(pl.col("nav"), pl.col("paid_in")),
        )
        .with_columns(tvpi=pl.col("dpi") + pl.col("rvpi"))
    )
    cash = pl.concat(
        [
            dated.select(
                "key",
                "flow_date",
                amount=pl.when(pl.col("kind") == "call")
                .then(-pl.col("amount").cast(pl.Float64))
                .otherwise(pl.col("amount").cast(pl.Float64)),
            ),
            nav.filter(pl.col("nav") != 0).select(
                "key", flow_date=pl.lit(as_of), amount=pl.col("nav").cast(pl.Float64)
            ),
        ]
    )
    irr = xirr(cash)
    return (
        base.join(irr, on="key", how="left")
        .with_columns(irr_reason=pl.col("irr_reason").fill_null(pl.lit(NO_OUTFLOW)))
        .with_columns(
            irr_reason=pl.when(pl.col("irr").is_null()).then(pl.col("irr_reason")).otherwise(None)
        )
        .select(
            "key",
            "commitment",
            "paid_in",
            "unfunded",
            "distributed",
            "nav",
            "picc",
            "dpi",
            "rvpi",
            "tvpi",
            "irr",
            "irr_reason",
        )
        .sort("key")
    )


def pme(
    flows: pl.LazyFrame,
    nav: pl.LazyFrame,
    index: pl.LazyFrame,
    as_of: date,
) -> pl.LazyFrame:
    """Kaplan-Schoar PME of every key against `index` (INDEX_SCHEMA); `nav` is `key, nav` at as_of.

    Null with a reason when the index has no value on or before the first flow, or nothing is
    paid in.
    """
    ordered = index.sort("day")
    final = ordered.filter(pl.col("day") <= as_of).select(pl.col("value").last().alias("i_end"))
    dated = (
        flows.filter(pl.col("flow_date") <= as_of)
        .sort("flow_date")
        .join_asof(ordered, left_on="flow_date", right_on="day", strategy="backward")
        .join(final, how="cross")
        .with_columns(grown=pl.col("amount").cast(pl.Float64) * pl.col("i_end") / pl.col("value"))
    )
    sums = dated.group_by("key").agg(
        contributed=pl.col("grown").filter(pl.col("kind") == "call").sum(),
        returned=pl.col("grown").filter(pl.col("kind") == "distribution").sum(),
        missing=pl.col("value").is_null().any(),
    )
    return (
        sums.join(nav, on="key", how="left")
        .with_columns(
            pme=pl.when(~pl.col("missing") & (pl.col("contributed") > 0)).then(
                (pl.col("returned") + pl.col("nav").cast(pl.Float64).fill_null(0.0))
                / pl.col("contributed")
            ),
            pme_reason=pl.when(pl.col("missing"))
            .then(pl.lit("the index has no value on or before a flow's date"))
            .when(pl.col("contributed") <= 0)
            .then(pl.lit("nothing paid in")),
        )
        .select("key", "pme", "pme_reason")
    )


def lp_navs(fund_navs: pl.LazyFrame, lp_paid_in: pl.LazyFrame) -> pl.LazyFrame:
    """Each LP position's NAV: its fund's NAV (`fund_id, nav`) × its share of the fund's paid-in.

    `lp_paid_in` is `key, fund_id, paid_in`; the result is `key, nav` (half-up to cents).
    """
    return (
        lp_paid_in.with_columns(total=pl.col("paid_in").sum().over("fund_id"))
        .join(fund_navs, on="fund_id", how="left")
        .with_columns(
            nav=scale_money(
                _ratio(pl.col("paid_in"), pl.col("total")).fill_null(0.0),
                pl.col("nav").fill_null(pl.lit(0, dtype=MONEY)),
            )
        )
        .select("key", "nav")
    )


def j_curve(flows: pl.LazyFrame, navs: pl.LazyFrame) -> pl.LazyFrame:
    """Per key and quarter: contributions, distributions, net, cumulative net and the quarter's NAV."""
    quarter = pl.format("{}-Q{}", pl.col("flow_date").dt.year(), pl.col("flow_date").dt.quarter())
    by_quarter = (
        flows.with_columns(quarter=quarter)
        .group_by("key", "quarter")
        .agg(
            contributions=pl.col("amount").filter(pl.col("kind") == "call").sum().cast(MONEY),
            distributions=pl.col("amount")
            .filter(pl.col("kind") == "distribution")
            .sum()
            .cast(MONEY),
        )
    )
    nav_q = navs.with_columns(
        quarter=pl.format("{}-Q{}", pl.col("as_of").dt.year(), pl.col("as_of").dt.quarter())
    ).select("key", "quarter", "nav")
    zero = pl.lit(0, dtype=MONEY)
    return (
        by_quarter.join(nav_q, on=["key", "quarter"], how="full", coalesce=True)
        .with_columns(pl.col("contributions", "distributions").fill_null(zero))
        .sort("key", "quarter")
        .with_columns(net=(pl.col("distributions") - pl.col("contributions")).cast(MONEY))
        .with_columns(cumulative_net=pl.col("net").cum_sum().over("key").cast(MONEY))
        .select("key", "quarter", "contributions", "distributions", "net", "cumulative_net", "nav")
    )


# ------------------------------------------------------------------------------------------
# The mother fund: leverage, 返投, deployment


def leverage(sub_paid_in: pl.LazyFrame) -> pl.LazyFrame:
    """放大倍数 per mother fund from `mother_id, fund_id, paid_in, mother_paid_in` rows."""
    return (
        sub_paid_in.group_by("mother_id")
        .agg(
            sub_funds_paid_in=pl.col("paid_in").sum().cast(MONEY),
            mother_paid_in=pl.col("mother_paid_in").sum().cast(MONEY),
        )
        .with_columns(leverage=_ratio(pl.col("sub_funds_paid_in"), pl.col("mother_paid_in")))
    )


REINVESTMENT_TERMS_SCHEMA: dict[str, pl.DataType] = {
    "fund_id": pl.String(),
    "required": pl.Float64(),
    "first_close": pl.Date(),
    "investment_period_end": pl.Date(),
    "mother_paid_in": MONEY,
}
INVESTMENTS_SCHEMA: dict[str, pl.DataType] = {
    "fund_id": pl.String(),
    "investment_id": pl.String(),
    "company_id": pl.String(),
    "industry": pl.String(),
    "local": pl.Boolean(),
    "reinvestment_kind": pl.String(),
    "stage": pl.String(),
    "invested_on": pl.Date(),
    "amount": MONEY,
    "value": MONEY,  # the latest valuation on or before the date, else cost
    "exited": pl.Boolean(),
}
MULTIPLIERS_SCHEMA: dict[str, pl.DataType] = {
    "fund_id": pl.String(),
    "reinvestment_kind": pl.String(),
    "multiplier": pl.Float64(),
}


def reinvestment(
    terms: pl.LazyFrame,
    investments: pl.LazyFrame,
    multipliers: pl.LazyFrame,
    as_of: date,
) -> pl.LazyFrame:
    """返投 per fund: counted, achieved, required, expected now and whether it is behind."""
    counted = (
        investments.filter(pl.col("invested_on") <= as_of)
        .join(multipliers, on=["fund_id", "reinvestment_kind"], how="inner")
        .group_by("fund_id")
        .agg(counted=scale_money(pl.col("multiplier"), pl.col("amount")).sum().cast(MONEY))
    )
    span = (pl.col("investment_period_end") - pl.col("first_close")).dt.total_days()
    elapsed = (pl.lit(as_of) - pl.col("first_close")).dt.total_days()
    return (
        terms.join(counted, on="fund_id", how="left")
        .with_columns(counted=pl.col("counted").fill_null(pl.lit(0, dtype=MONEY)))
        .with_columns(
            achieved=_ratio(pl.col("counted"), pl.col("mother_paid_in")),
            expected_now=pl.col("required")
            * pl.when(span > 0).then(elapsed / span).otherwise(1.0).clip(0.0, 1.0),
        )
        .with_columns(
            behind=pl.col("required").is_not_null()
            & (pl.col("achieved").fill_null(0.0) < pl.col("expected_now"))
        )
        .select(
            "fund_id", "mother_paid_in", "counted", "achieved", "required", "expected_now", "behind"
        )
    )


def deployment(terms: pl.LazyFrame, investments: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Deployment pace: invested / size, against the share of the investment period elapsed.

    `terms` is `fund_id, size, first_close, investment_period_end`.
    """
    invested = (
        investments.filter(pl.col("invested_on") <= as_of)
        .group_by("fund_id")
        .agg(invested=pl.col("amount").sum().cast(MONEY))
    )
    span = (pl.col("investment_period_end") - pl.col("first_close")).dt.total_days()
    return (
        terms.join(invested, on="fund_id", how="left")
        .with_columns(invested=pl.col("invested").fill_null(pl.lit(0, dtype=MONEY)))
        .with_columns(
            deployed=_ratio(pl.col("invested"), pl.col("size")),
            period_elapsed=pl.when(span > 0)
            .then((pl.lit(as_of) - pl.col("first_close")).dt.total_days() / span)
            .otherwise(1.0)
            .clip(0.0, 1.0),
            days_left=(pl.col("investment_period_end") - pl.lit(as_of)).dt.total_days(),
        )
        .select("fund_id", "size", "invested", "deployed", "period_elapsed", "days_left")
    )


# ------------------------------------------------------------------------------------------
# Look-through (穿透)

EDGES_SCHEMA: dict[str, pl.DataType] = {
    "parent_id": pl.String(),
    "fund_id": pl.String(),
    "share": pl.Float64(),  # the parent's commitment / the fund's total commitments
}


def fund_shares(edges: pl.LazyFrame, root: str, *, depth: int = 6) -> pl.LazyFrame:
    """Every path from `root` down the tree: `fund_id, share, path` (the root itself, share 1)."""
    level = pl.LazyFrame({"fund_id": [root], "share": [1.0], "path": [root]})
    levels = [level]
    for _ in range(depth):
        level = level.join(edges, left_on="fund_id", right_on="parent_id", how="inner").select(
            fund_id=pl.col("fund_id_right"),
            share=pl.col("share") * pl.col("share_right"),
            path=pl.concat_str("path", pl.lit("/"), "fund_id_right"),
        )
        levels.append(level)
    return pl.concat(levels)


def look_through(shares: pl.LazyFrame, investments: pl.LazyFrame) -> pl.LazyFrame:
    """The root's exposure to each company: Σ over paths of share × the fund's position value."""
    return (
        shares.join(investments.filter(~pl.col("exited")), on="fund_id", how="inner")
        .with_columns(exposure=scale_money(pl.col("share"), pl.col("value")))
        .group_by("company_id")
        .agg(
            pl.col("industry").first(),
            pl.col("local").first(),
            pl.col("stage").first(),
            exposure=pl.col("exposure").sum().cast(MONEY),
            paths=pl.len(),
        )
        .sort("exposure", "company_id", descending=[True, False])
    )
