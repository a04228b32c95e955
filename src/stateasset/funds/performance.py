"""Performance as of a date: per fund, per LP position and for the mother fund; J-curves; PME.

Reads the tables through `frames` and leaves the arithmetic to `compute`, all funds at once.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import polars as pl

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import NotFound, invalid
from stateasset.core.money import MONEY
from stateasset.db import engine
from stateasset.funds import compute, frames
from stateasset.funds.frames import Key
from stateasset.funds.schemas import (
    IndexUpload,
    JCurvePoint,
    Metrics,
    MotherMetrics,
    ReinvestmentRow,
)
from stateasset.funds.service import ensure_fund_visible, fund_names, visible_fund_ids


async def _fund_ids(actor: Actor, fund_ids: list[UUID] | None) -> list[UUID] | None:
    seen = await visible_fund_ids(actor)
    if fund_ids is None:
        return None if seen is None else sorted(seen)
    return [f for f in fund_ids if seen is None or f in seen]


async def fund_metrics_frame(
    *, actor: Actor, as_of: date, fund_ids: list[UUID] | None = None, index: str | None = None
) -> pl.DataFrame:
    """Metrics of every visible fund (or of `fund_ids`) as of a date, one row per fund.

    Columns: `compute.metrics`' with `key` the fund id, plus `pme`/`pme_reason` (null without an
    index series) and `name`.
    """
    ids = await _fund_ids(actor, fund_ids)
    flows = await frames.flows_frame(Key.fund, fund_ids=ids)
    commitments = await frames.commitments_frame(Key.fund, fund_ids=ids, as_of=as_of)
    navs = await frames.navs_frame(ids)
    # Every fund shows, committed to or not.
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT f.id::text AS key, coalesce(e.short_name, e.name) AS name FROM fund f "
            "JOIN entity e ON e.id = f.id WHERE $1::uuid[] IS NULL OR f.id = ANY($1::uuid[])",
            ids,
        )
    names = pl.DataFrame(
        [(r["key"], r["name"]) for r in rows],
        schema={"key": pl.String(), "name": pl.String()},
        orient="row",
    )
    result = compute.metrics(flows, navs, commitments, as_of)
    if index is not None:
        series = await frames.index_frame(index)
        if series.collect().is_empty():
            raise invalid("query.index", f"no index series named {index!r} was uploaded")
        nav = compute.nav_as_of(navs, flows, as_of)
        result = result.join(compute.pme(flows, nav, series, as_of), on="key", how="left")
    else:
        result = result.with_columns(
            pme=pl.lit(None, dtype=pl.Float64), pme_reason=pl.lit(None, dtype=pl.String)
        )
    return (
        names.lazy()
        .join(result, on="key", how="left")
        .with_columns(
            pl.col("commitment", "paid_in", "unfunded", "distributed", "nav").fill_null(
                pl.lit(0, dtype=MONEY)
            ),
            irr_reason=pl.when(pl.col("irr").is_null())
            .then(pl.col("irr_reason").fill_null(pl.lit(compute.NO_OUTFLOW)))
            .otherwise(None),
        )
        .sort("name")
        .collect()
    )


async def position_metrics_frame(
    *,
    actor: Actor,
    as_of: date,
    fund_ids: list[UUID] | None = None,
    lp_id: UUID | None = None,
) -> pl.DataFrame:
    """Metrics of every LP position (key `fund|lp`, plus `fund_id`, `lp_id`) as of a date.

    An LP's NAV is its fund's NAV × its share of the fund's paid-in (compute's convention).
    """
    ids = await _fund_ids(actor, fund_ids)
    flows = await frames.flows_frame(Key.position, fund_ids=ids, lp_id=lp_id)
    commitments = await frames.commitments_frame(
        Key.position, fund_ids=ids, lp_id=lp_id, as_of=as_of
    )
    split = [
        pl.col("key").str.split("|").list.get(0).alias("fund_id"),
        pl.col("key").str.split("|").list.get(1).alias("lp_id"),
    ]
    if ids is None and lp_id is None:
        # Every position of every fund: the funds' flows and every LP's paid-in are these same
        # rows keyed by fund, not two more reads of the whole table (most of a nightly run).
        fund_uuids = None
        fund_flows = flows.with_columns(key=split[0])
        all_positions = flows
    else:
        funds_involved = commitments.select(split[0]).unique().collect()["fund_id"].to_list()
        fund_uuids = [UUID(f) for f in funds_involved]
        fund_flows = await frames.flows_frame(Key.fund, fund_ids=fund_uuids)
        # Every LP of those funds counts toward the paid-in shares, not only the LP asked about.
        all_positions = await frames.flows_frame(Key.position, fund_ids=fund_uuids)
    fund_nav = compute.nav_as_of(await frames.navs_frame(fund_uuids), fund_flows, as_of).select(
        fund_id="key", nav="nav"
    )
    lp_paid = (
        all_positions.filter((pl.col("kind") == "call") & (pl.col("flow_date") <= as_of))
        .group_by("key")
        .agg(paid_in=pl.col("amount").sum())
        .with_columns(split[0])
    )
    nav = compute.lp_navs(fund_nav, lp_paid)
    return (
        compute.metrics(flows, nav, commitments, as_of, nav_given=True)
        .with_columns(split)
        .collect()
    )


def _metric(row: dict[str, Any], as_of: date, **ids: UUID | None) -> Metrics:
    return Metrics(
        key=row["key"],
        as_of=as_of,
        commitment=row["commitment"],
        paid_in=row["paid_in"],
        unfunded=row["unfunded"],
        distributed=row["distributed"],
        nav=row["nav"],
        picc=row["picc"],
        dpi=row["dpi"],
        rvpi=row["rvpi"],
        tvpi=row["tvpi"],
        irr=row["irr"],
        irr_reason=row["irr_reason"],
        pme=row.get("pme"),
        pme_reason=row.get("pme_reason"),
        **ids,
    )


async def fund_metrics(*, actor: Actor, as_of: date, index: str | None = None) -> list[Metrics]:
    """Every visible fund's metrics as of a date (KS-PME too when an index series is named)."""
    frame = await fund_metrics_frame(actor=actor, as_of=as_of, index=index)
    return [_metric(r, as_of, fund_id=UUID(r["key"])) for r in frame.iter_rows(named=True)]


async def position_metrics(*, actor: Actor, fund_id: UUID, as_of: date) -> list[Metrics]:
    """Each LP position's metrics in one fund as of a date."""
    await ensure_fund_visible(actor, fund_id)
    frame = await position_metrics_frame(actor=actor, as_of=as_of, fund_ids=[fund_id])
    return [
        _metric(r, as_of, fund_id=UUID(r["fund_id"]), lp_id=UUID(r["lp_id"]))
        for r in frame.sort("commitment", descending=True).iter_rows(named=True)
    ]


async def mother_metrics(*, actor: Actor, fund_id: UUID, as_of: date) -> MotherMetrics:
    """The mother fund as an LP across its sub-funds: metrics, leverage and 返投 per sub-fund."""
    await ensure_fund_visible(actor, fund_id)
    async with db.connection() as conn:
        children = await conn.fetch(
            "SELECT id, first_close, investment_period_end, reinvestment_multiple, "
            "reinvestment_multipliers FROM fund WHERE parent = $1",
            fund_id,
        )
    child_ids = [c["id"] for c in children]
    positions = await position_metrics_frame(
        actor=actor, as_of=as_of, fund_ids=child_ids, lp_id=fund_id
    )
    flows = await frames.flows_frame(Key.lp, fund_ids=child_ids, lp_id=fund_id)
    commitments = await frames.commitments_frame(
        Key.lp, fund_ids=child_ids, lp_id=fund_id, as_of=as_of
    )
    nav = positions.lazy().group_by("lp_id").agg(pl.col("nav").sum()).select(key="lp_id", nav="nav")
    own = compute.metrics(flows, nav, commitments, as_of, nav_given=True).collect()
    if own.is_empty():
        raise NotFound("the mother fund has no commitments to sub-funds yet")
    sub = await fund_metrics_frame(actor=actor, as_of=as_of, fund_ids=child_ids)
    mother_paid = positions.select(fund_id="fund_id", mother_paid_in="paid_in")
    lev_input = (
        sub.lazy()
        .select(fund_id="key", paid_in="paid_in")
        .join(mother_paid.lazy(), on="fund_id", how="left")
        .with_columns(
            mother_id=pl.lit(str(fund_id)),
            mother_paid_in=pl.col("mother_paid_in").fill_null(pl.lit(0, dtype=MONEY)),
        )
    )
    lev = compute.leverage(lev_input).collect().row(0, named=True)
    terms = (
        pl.DataFrame(
            [
                (
                    str(c["id"]),
                    None
                    if c["reinvestment_multiple"] is None
                    else float(c["reinvestment_multiple"]),
                    c["first_close"],
                    c["investment_period_end"],
                )
                for c in children
            ],
            schema={
                "fund_id": pl.String(),
                "required": pl.Float64(),
                "first_close": pl.Date(),
                "investment_period_end": pl.Date(),
            },
            orient="row",
        )
        .join(mother_paid, on="fund_id", how="left")
        .with_columns(pl.col("mother_paid_in").fill_null(pl.lit(0, dtype=MONEY)))
    )
    multipliers = pl.DataFrame(
        [
            (str(c["id"]), kind, float(value))
            for c in children
            for kind, value in _multipliers(c["reinvestment_multipliers"]).items()
        ],
        schema=compute.MULTIPLIERS_SCHEMA,
        orient="row",
    )
    investments = await frames.investments_frame(as_of)
    reinvest = compute.reinvestment(terms.lazy(), investments, multipliers.lazy(), as_of)
    names = await fund_names()
    rows = [
        ReinvestmentRow(
            fund_id=UUID(r["fund_id"]),
            name=names.get(UUID(r["fund_id"]), ""),
            mother_paid_in=r["mother_paid_in"],
            counted=r["counted"],
            achieved=r["achieved"],
            required=r["required"],
            expected_now=r["expected_now"],
            behind=r["behind"],
        )
        for r in reinvest.sort("fund_id").collect().iter_rows(named=True)
    ]
    return MotherMetrics(
        fund_id=fund_id,
        as_of=as_of,
        metrics=_metric(own.row(0, named=True), as_of, fund_id=fund_id),
        leverage=lev["leverage"],
        sub_funds_paid_in=lev["sub_funds_paid_in"],
        mother_paid_in=lev["mother_paid_in"],
        reinvestment=sorted(rows, key=lambda r: r.name),
    )


async def vintage_metrics(*, actor: Actor, fund_id: UUID, as_of: date) -> list[Metrics]:
    """The mother fund's positions in its sub-funds pooled by vintage (`key` the year), oldest
    first: TVPI, DPI and IRR by vintage, from the pooled flows and NAV shares of that year's funds.
    """
    await ensure_fund_visible(actor, fund_id)
    async with db.connection() as conn:
        children = await conn.fetch("SELECT id, vintage FROM fund WHERE parent = $1", fund_id)
    ids = await _fund_ids(actor, [c["id"] for c in children])
    if not ids:
        return []
    vintage_of = pl.DataFrame(
        {
            "key": [f"{c['id']}|{fund_id}" for c in children],
            "vintage": [str(c["vintage"]) for c in children],
        }
    ).lazy()

    def by_vintage(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame.join(vintage_of, on="key").drop("key").rename({"vintage": "key"})

    flows = by_vintage(await frames.flows_frame(Key.position, fund_ids=ids, lp_id=fund_id))
    commitments = (
        by_vintage(
            await frames.commitments_frame(Key.position, fund_ids=ids, lp_id=fund_id, as_of=as_of)
        )
        .group_by("key")
        .agg(pl.exclude("key").sum().cast(MONEY))  # every amount COMMITMENTS_SCHEMA holds
    )
    positions = await position_metrics_frame(actor=actor, as_of=as_of, fund_ids=ids, lp_id=fund_id)
    nav = (
        by_vintage(positions.lazy().select("key", "nav"))
        .group_by("key")
        .agg(pl.col("nav").sum().cast(MONEY))
    )
    pooled = compute.metrics(flows, nav, commitments, as_of, nav_given=True).collect()
    return [_metric(r, as_of, fund_id=fund_id) for r in pooled.sort("key").iter_rows(named=True)]


def _multipliers(value: Any) -> dict[str, Decimal]:
    if isinstance(value, str):
        value = json.loads(value)
    return {k: Decimal(str(v)) for k, v in (value or {}).items()}


async def j_curve_frame(*, actor: Actor, fund_id: UUID) -> pl.DataFrame:
    """The fund's J-curve by quarter (`quarter, contributions, distributions, net,
    cumulative_net, nav`): cumulative net cash flow to its LPs, and the NAV where stated."""
    await ensure_fund_visible(actor, fund_id)
    flows = await frames.flows_frame(Key.fund, fund_ids=[fund_id])
    navs = await frames.navs_frame([fund_id])
    return compute.j_curve(flows, navs).drop("key").collect()


async def j_curve(*, actor: Actor, fund_id: UUID) -> list[JCurvePoint]:
    """The fund's J-curve points, by quarter."""
    frame = await j_curve_frame(actor=actor, fund_id=fund_id)
    return [JCurvePoint(**row) for row in frame.iter_rows(named=True)]


async def upload_index(*, actor: Actor, data: IndexUpload) -> int:
    """Store an index series' points (a day already stored takes the new value); how many."""
    days = [p.day for p in data.points]
    for i, point in enumerate(data.points):
        if not point.value.is_finite() or point.value <= 0:
            raise invalid(f"body.points[{i}].value", "must be a number above 0")
    if len(set(days)) != len(days):
        raise invalid("body.points", "each day at most once")
    async with engine().transaction(), db.connection() as conn:
        await conn.execute(
            "DELETE FROM fund_index_point WHERE series = $1 AND day = ANY($2::date[])",
            data.series,
            days,
        )
        now = utc_now()
        await conn.executemany(
            "INSERT INTO fund_index_point (id, series, day, value, created_at, created_by) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            [(uuid4(), data.series, p.day, p.value, now, actor.username) for p in data.points],
        )
        await audit.record(
            actor=actor.username,
            action="fund_index.upload",
            object_type="fund_index",
            object_id=data.series,
            after={"points": len(days), "from": min(days), "to": max(days)},
        )
    return len(days)
