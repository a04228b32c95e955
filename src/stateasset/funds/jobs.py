"""The funds domain's job: every fund's and LP position's metrics (§7) as of a date, stored.

`fund_metrics` computes `performance.fund_metrics_frame` (every fund) and
`performance.position_metrics_frame` (every LP position) as of `params.as_of` (default today)
and stores them as a new version of that date (`fund_metric_run`), its rows written by COPY and
the date's `current` run switched in the same transaction, audited last. A reader sees the old
version or the new, never a mix; older versions stay readable by id.

The same inputs give the same rows, byte for byte: rows are written in one order (fund, then
LP with the fund's own row first), money as NUMERIC(20, 2), and the ratios rounded to
`FLOAT_PLACES` decimal places. XIRR is iterative and sums per fund in whatever order the engine's
threads meet the flows, so its last bits may move between two runs on the same data; ten places
(1e-10 of a multiple, a hundred-millionth of a percentage point of a rate) keep every digit
anyone reads and none of that noise.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

import msgspec
import polars as pl

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today, utc_now
from stateasset.core.errors import Forbidden, Invalid, NotFound, invalid
from stateasset.core.money import MONEY
from stateasset.core.schemas import Page
from stateasset.db import engine
from stateasset.funds import performance
from stateasset.funds.schemas import Metrics
from stateasset.funds.service import visible_fund_ids
from stateasset.jobs.base import Context, Job, Outcome
from stateasset.jobs.versions import make_current, next_version

FLOAT_PLACES = 10
"""Decimal places the stored ratios (PICC, DPI, RVPI, TVPI, IRR, PME) keep."""

MONEY_COLUMNS = ("commitment", "paid_in", "unfunded", "distributed", "nav")
FLOAT_COLUMNS = ("picc", "dpi", "rvpi", "tvpi", "irr", "pme")
STORED_SCHEMA: dict[str, pl.DataType] = {
    "fund": pl.String(),
    "lp": pl.String(),
    **{c: MONEY for c in MONEY_COLUMNS},
    **{c: pl.Float64() for c in FLOAT_COLUMNS[:5]},
    "irr_reason": pl.String(),
    "pme": pl.Float64(),
    "pme_reason": pl.String(),
}
"""A stored run's rows, in `fund_metric`'s column order: `lp` null on a fund's own row."""

_RUN_COLUMNS = "id, as_of, version, current, index_series, funds, rows, created_at, created_by"


class FundMetricsParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """as_of: the date measured at (default today); index: an uploaded series for KS-PME."""

    as_of: date | None = None
    index: Annotated[str, msgspec.Meta(min_length=1, max_length=50)] | None = None


class FundMetricRunRead(msgspec.Struct, frozen=True, kw_only=True):
    """A stored version of a date's metrics: whether readers see it, and how much it holds."""

    id: UUID
    as_of: date
    version: int
    current: bool
    index_series: str | None
    funds: int
    rows: int
    created_at: datetime
    created_by: str


class StoredFundMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """A stored run's metrics (none stored for the date: `run` null, no items)."""

    run: FundMetricRunRead | None
    items: list[Metrics]


async def metrics_frame(*, actor: Actor, as_of: date, index: str | None = None) -> pl.DataFrame:
    """Every fund's and LP position's metrics as STORED_SCHEMA, in the order they are stored."""
    funds = await performance.fund_metrics_frame(actor=actor, as_of=as_of, index=index)
    positions = await performance.position_metrics_frame(actor=actor, as_of=as_of)
    return (
        pl.concat(
            [
                funds.lazy().select(
                    pl.col("key").alias("fund"), pl.lit(None, dtype=pl.String).alias("lp"), "*"
                ),
                positions.lazy().select(
                    pl.col("fund_id").alias("fund"),
                    pl.col("lp_id").alias("lp"),
                    "*",
                    pme=pl.lit(None, dtype=pl.Float64),
                    pme_reason=pl.lit(None, dtype=pl.String),
                ),
            ],
            how="diagonal_relaxed",
        )
        .select(
            pl.col(name).cast(dtype).round(FLOAT_PLACES)
            if name in FLOAT_COLUMNS
            else pl.col(name).cast(dtype)
            for name, dtype in STORED_SCHEMA.items()
        )
        .sort("fund", "lp", nulls_last=False)
        .collect()
    )


def _run_read(row: Any) -> FundMetricRunRead:
    return FundMetricRunRead(**{k: v for k, v in dict(row).items() if k != "total"})


async def store_metrics(
    *, actor: Actor, as_of: date, index: str | None, frame: pl.DataFrame
) -> FundMetricRunRead:
    """Write `frame` (STORED_SCHEMA) as the date's next version and make it current; audited."""
    run_id = uuid4()
    funds = frame.filter(pl.col("lp").is_null()).height
    async with engine().transaction(), db.connection() as conn:
        # One run of a date at a time: versions are numbered and switched in order.
        version, _ = await next_version(
            conn, table="fund_metric_run", key_column="as_of", key=as_of, key_type="date"
        )
        await conn.execute(
            "INSERT INTO fund_metric_run (id, as_of, version, current, index_series, funds, rows, "
            "created_at, created_by) VALUES ($1, $2, $3, false, $4, $5, $6, $7, $8)",
            run_id,
            as_of,
            version,
            index,
            funds,
            frame.height,
            utc_now(),
            actor.username,
        )
        await conn.copy_to_table(
            "fund_metric",
            source=db.copy_source(frame.select(pl.lit(str(run_id)).alias("run"), *STORED_SCHEMA)),
            columns=["run", *STORED_SCHEMA],
            format="csv",
        )
        row = await make_current(
            conn,
            table="fund_metric_run",
            key_column="as_of",
            key=as_of,
            run_id=run_id,
            columns=_RUN_COLUMNS,
        )
        read = _run_read(row)
        await audit.record(
            actor=actor.username,
            action="fund_metric_run.create",
            object_type="fund_metric_run",
            object_id=run_id,
            after=read,
        )
    return read


async def run_fund_metrics(context: Context, params: FundMetricsParams) -> Outcome:
    """The job's body: compute every fund's metrics as of the date and store them as a version."""
    as_of = params.as_of or today()
    if await visible_fund_ids(context.actor) is not None:
        # A version holds every fund's figures: only a reader of all funds may make one.
        raise Forbidden("storing fund metrics needs every fund in scope (a run covers them all)")
    await context.progress(0, 2, f"计算 {as_of} 的基金业绩指标")
    try:
        frame = await metrics_frame(actor=context.actor, as_of=as_of, index=params.index)
    except Invalid as exc:
        # The live route names its query; a run's problem is its parameter.
        if exc.errors and exc.errors[0].field == "query.index":
            raise invalid("params.index", exc.errors[0].reason) from exc
        raise
    await context.progress(1, 2, "写入新版本")
    run = await store_metrics(actor=context.actor, as_of=as_of, index=params.index, frame=frame)
    await context.progress(2, 2, "完成")
    return Outcome(
        rows_in=run.funds,
        rows_out=run.rows,
        summary={
            "as_of": as_of.isoformat(),
            "fund_metric_run": str(run.id),
            "version": run.version,
        },
    )


FUND_METRICS = Job(
    name="fund_metrics",
    label="基金业绩指标",
    description=(
        "Stores every fund's and LP position's paid-in, DPI, RVPI, TVPI, IRR (and KS-PME with "
        "params.index) as of params.as_of (default today) as a new current version."
    ),
    params=FundMetricsParams,
    body=run_fund_metrics,
)


# ------------------------------------------------------------------------------------------
# Reads


async def _find_run(conn: Any, as_of: date | None, run_id: UUID | None) -> Any:
    if run_id is not None:
        row = await conn.fetchrow(
            f"SELECT {_RUN_COLUMNS} FROM fund_metric_run WHERE id = $1 "
            "AND ($2::date IS NULL OR as_of = $2)",
            run_id,
            as_of,
        )
        if row is None:
            raise NotFound(f"fund metric run {run_id} not found")
        return row
    # Without a date: the latest date that has a current version.
    return await conn.fetchrow(
        f"SELECT {_RUN_COLUMNS} FROM fund_metric_run WHERE current "
        "AND ($1::date IS NULL OR as_of = $1) ORDER BY as_of DESC LIMIT 1",
        as_of,
    )


async def stored_metrics(
    *,
    actor: Actor,
    as_of: date | None = None,
    run_id: UUID | None = None,
    positions: bool = False,
) -> StoredFundMetrics:
    """The current version's metrics of a date (or of the latest date), or an older run's by id.

    Only the funds in the reader's scope; LP positions too with `positions`.
    """
    seen = await visible_fund_ids(actor)
    async with db.connection() as conn:
        run = await _find_run(conn, as_of, run_id)
        if run is None:
            return StoredFundMetrics(run=None, items=[])
        rows = await conn.fetch(
            "SELECT fund, lp, commitment, paid_in, unfunded, distributed, nav, picc, dpi, rvpi, "
            "tvpi, irr, irr_reason, pme, pme_reason FROM fund_metric WHERE run = $1 "
            "AND ($2 OR lp IS NULL) AND ($3::uuid[] IS NULL OR fund = ANY($3::uuid[])) "
            "ORDER BY fund, lp NULLS FIRST",
            run["id"],
            positions,
            None if seen is None else sorted(seen),
        )
    items = [
        Metrics(
            key=str(r["fund"]) if r["lp"] is None else f"{r['fund']}|{r['lp']}",
            fund_id=r["fund"],
            lp_id=r["lp"],
            as_of=run["as_of"],
            **{c: r[c] for c in (*MONEY_COLUMNS, *FLOAT_COLUMNS, "irr_reason", "pme_reason")},
        )
        for r in rows
    ]
    return StoredFundMetrics(run=_run_read(run), items=items)


async def list_runs(
    *, as_of: date | None = None, limit: int = 50, offset: int = 0
) -> Page[FundMetricRunRead]:
    """The stored versions, newest first (of one date when given); runs name no fund's figures."""
    async with db.connection() as conn:
        rows, total = await db.fetch_page(
            conn,
            columns=_RUN_COLUMNS,
            source="fund_metric_run",
            where="$1::date IS NULL OR as_of = $1",
            args=(as_of,),
            order="created_at DESC, as_of DESC, version DESC",
            limit=limit,
            offset=offset,
        )
    return Page(items=[_run_read(r) for r in rows], total=total, limit=limit, offset=offset)
