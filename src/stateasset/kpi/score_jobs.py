"""The KPI domain's scoring job: every contract of a year scored (§8) and stored as a version.

`kpi_scores` scores a year as the ranking does (`service._score_year`, the arithmetic in
`compute.score`) and stores each contract's total, rank, grade, pay coefficient and review flag
(`kpi_score`) and each indicator's actual, target and score (`kpi_score_indicator`) as a new
version of the year (`kpi_score_run`): rows by COPY, the year's `current` run switched in the
same transaction, audited last. A reader sees the old version or the new, never a mix; older
versions stay readable by id. A year with no contract scored stores nothing.

Which years: `params.year`, or `params.years` (what a ratios run touched), or by default the last
calendar year — the latest year whose close (its Q4 statements) can have been filed; a year still
running is scored on request by the ranking route. After a ratios run (`kpi.jobs.RATIOS`) the
years are those of the year-closes (Q4) it computed, and the later closed years (at most three)
whose history benchmarks (last year, three-year average) read that close; a ratios run that
computed no year-close queues no scoring. Scoring reads the statements themselves, as the
ranking does, not the stored ratios: a ratios run is the signal that statements changed.

The same inputs give the same rows, byte for byte: contracts in rank order, indicators in the
contract's order, scores rounded to `FLOAT_PLACES` places (totals are already to 2).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

import msgspec
import polars as pl

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth import scope
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today, utc_now
from stateasset.core.errors import Forbidden, NotFound
from stateasset.core.schemas import Page
from stateasset.db import engine
from stateasset.jobs.base import Context, Job, Outcome
from stateasset.jobs.versions import make_current, next_version
from stateasset.kpi import service

FLOAT_PLACES = 10
"""Decimal places the stored indicator arithmetic keeps."""

Year = Annotated[int, msgspec.Meta(ge=2000, le=2100)]

SCORE_SCHEMA: dict[str, pl.DataType] = {
    "contract": pl.String(),
    "company": pl.String(),
    "bonus": pl.Float64(),
    "deduction": pl.Float64(),
    "total": pl.Float64(),
    "rank": pl.Int32(),
    "band_grade": pl.String(),
    "a_capped": pl.Boolean(),
    "grade": pl.String(),
    "pay_coefficient": pl.Float64(),
    "review": pl.Boolean(),
    "review_reason": pl.String(),
}
"""A run's totals, in `kpi_score`'s column order."""

INDICATOR_SCHEMA: dict[str, pl.DataType] = {
    "contract": pl.String(),
    "position": pl.Int32(),
    "indicator": pl.String(),
    "name": pl.String(),
    "method": pl.String(),
    "weight": pl.Float64(),
    "actual": pl.Float64(),
    "actual_reason": pl.String(),
    "target": pl.Float64(),
    "tier": pl.String(),
    "base": pl.Float64(),
    "efficacy": pl.Float64(),
    "adjustment": pl.Float64(),
    "score": pl.Float64(),
}
"""A run's indicator rows, in `kpi_score_indicator`'s column order."""

_RUN_COLUMNS = "id, year, version, current, contracts, rows, created_at, created_by"


def default_year() -> int:
    """The last calendar year: the latest year whose close can have been filed."""
    return today().year - 1


class KpiScoresParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """year: one year; years: several (what a ratios run touched); neither: last year."""

    year: Year | None = None
    years: Annotated[list[Year], msgspec.Meta(max_length=20)] | None = None

    def __post_init__(self) -> None:
        if self.year is not None and self.years is not None:
            raise msgspec.ValidationError("give year or years, not both")
        if self.years is not None:
            # One order, so the same years are the same run whatever order they came in.
            msgspec.structs.force_setattr(self, "years", sorted(set(self.years)))


class KpiScoreRunRead(msgspec.Struct, frozen=True, kw_only=True):
    """A stored version of a year's scores: whether readers see it, and how much it holds."""

    id: UUID
    year: int
    version: int
    current: bool
    contracts: int
    rows: int
    created_at: datetime
    created_by: str


class StoredIndicatorScore(msgspec.Struct, frozen=True, kw_only=True):
    """One indicator of a stored scorecard: actual (or why none), target, arithmetic, score."""

    indicator: str
    name: str
    method: str
    weight: float
    actual: float | None
    actual_reason: str | None
    target: float | None
    tier: str | None
    base: float | None
    efficacy: float | None
    adjustment: float | None
    score: float


class StoredScore(msgspec.Struct, frozen=True, kw_only=True):
    """A contract's stored result: total, rank among all scored, grade, pay, review, indicators."""

    contract_id: UUID
    company_id: UUID
    company_name: str
    year: int
    bonus: float
    deduction: float
    total: float
    rank: int
    band_grade: str
    a_capped: bool
    grade: str
    pay_coefficient: float
    review: bool
    review_reason: str | None
    indicators: list[StoredIndicatorScore]


class StoredScores(msgspec.Struct, frozen=True, kw_only=True):
    """A stored run's scores (none stored for the year: `run` null, no items)."""

    run: KpiScoreRunRead | None
    items: list[StoredScore]


async def score_frames(year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A year's totals (SCORE_SCHEMA, by rank) and indicator rows (INDICATOR_SCHEMA), as stored."""
    scores, totals, contracts, _ = await service._score_year(year)
    if not totals.height:
        return pl.DataFrame(schema=SCORE_SCHEMA), pl.DataFrame(schema=INDICATOR_SCHEMA)
    companies = pl.DataFrame(
        {
            "contract": [str(c.id) for c in contracts],
            "company": [str(c.company_id) for c in contracts],
        },
        schema={"contract": pl.String(), "company": pl.String()},
    )
    stored_totals = (
        totals.lazy()
        .join(companies.lazy(), on="contract", how="left")
        .select(pl.col(n).cast(t) for n, t in SCORE_SCHEMA.items())
        .sort("rank", "contract")
        .collect()
    )
    # `score` keeps its input order: each contract's indicators in the contract's own order.
    indicators = (
        scores.lazy()
        .with_columns(pl.int_range(pl.len()).over("contract").alias("position"))
        .select(
            pl.col(n).cast(t).round(FLOAT_PLACES) if t == pl.Float64() else pl.col(n).cast(t)
            for n, t in INDICATOR_SCHEMA.items()
        )
        .sort("contract", "position")
        .collect()
    )
    return stored_totals, indicators


def _run_read(row: Any) -> KpiScoreRunRead:
    return KpiScoreRunRead(**{k: v for k, v in dict(row).items() if k != "total"})


async def store_scores(
    *, actor: Actor, year: int, totals: pl.DataFrame, indicators: pl.DataFrame
) -> KpiScoreRunRead:
    """Write a year's scores as its next version and make it current; audited last."""
    run_id = uuid4()
    run = pl.lit(str(run_id)).alias("run")
    async with engine().transaction(), db.connection() as conn:
        # One run of a year at a time: versions are numbered and switched in order.
        version, _ = await next_version(
            conn, table="kpi_score_run", key_column="year", key=year, key_type="int"
        )
        await conn.execute(
            "INSERT INTO kpi_score_run (id, year, version, current, contracts, rows, created_at, "
            "created_by) VALUES ($1, $2, $3, false, $4, $5, $6, $7)",
            run_id,
            year,
            version,
            totals.height,
            indicators.height,
            utc_now(),
            actor.username,
        )
        await conn.copy_to_table(
            "kpi_score",
            source=db.copy_source(totals.select(run, *SCORE_SCHEMA)),
            columns=["run", *SCORE_SCHEMA],
            format="csv",
        )
        await conn.copy_to_table(
            "kpi_score_indicator",
            source=db.copy_source(indicators.select(run, *INDICATOR_SCHEMA)),
            columns=["run", *INDICATOR_SCHEMA],
            format="csv",
        )
        row = await make_current(
            conn,
            table="kpi_score_run",
            key_column="year",
            key=year,
            run_id=run_id,
            columns=_RUN_COLUMNS,
        )
        read = _run_read(row)
        await audit.record(
            actor=actor.username,
            action="kpi_score_run.create",
            object_type="kpi_score_run",
            object_id=run_id,
            after=read,
        )
    return read


async def run_kpi_scores(context: Context, params: KpiScoresParams) -> Outcome:
    """The job's body: score each year asked for and store it as the year's new version."""
    if not (await scope.scope_of(context.actor, scope.Domain.kpi)).all:
        # A version ranks every company: only a reader of all of them may make one.
        raise Forbidden("storing KPI scores needs kpi:all (a run ranks every company)")
    years = params.years if params.years is not None else [params.year or default_year()]
    runs: list[dict[str, Any]] = []
    skipped: list[int] = []
    rows_in = rows_out = 0
    for done, year in enumerate(years):
        await context.progress(done, len(years), f"{year} 年度考核评分")
        totals, indicators = await score_frames(year)
        if not totals.height:
            skipped.append(year)
            continue
        run = await store_scores(
            actor=context.actor, year=year, totals=totals, indicators=indicators
        )
        rows_in += run.contracts
        rows_out += run.contracts + run.rows
        runs.append({"year": year, "kpi_score_run": str(run.id), "version": run.version})
    await context.progress(len(years), len(years), "完成")
    return Outcome(
        rows_in=rows_in,
        rows_out=rows_out,
        summary={"score_runs": runs, "no_contracts": skipped},
    )


def years_after_ratios(periods: list[str]) -> list[int]:
    """The years a ratios run over `periods` touches: each year-close (Q4) computed, and the
    closed years after it (at most three) whose history benchmarks read that close."""
    last_closed = default_year()
    closes = {int(p[:4]) for p in periods if p.endswith("-Q4")}
    return sorted({y + k for y in closes for k in range(4) if k == 0 or y + k <= last_closed})


KPI_SCORES = Job(
    name="kpi_scores",
    label="经营业绩考核评分",
    description=(
        "Scores every contract of params.year (or params.years; default last year) and stores "
        "totals, ranks, grades, pay coefficients and indicator scores as a new current version."
    ),
    params=KpiScoresParams,
    body=run_kpi_scores,
)


# ------------------------------------------------------------------------------------------
# Reads


async def _find_run(conn: Any, year: int | None, run_id: UUID | None) -> Any:
    if run_id is not None:
        row = await conn.fetchrow(
            f"SELECT {_RUN_COLUMNS} FROM kpi_score_run WHERE id = $1 "
            "AND ($2::int IS NULL OR year = $2)",
            run_id,
            year,
        )
        if row is None:
            raise NotFound(f"KPI score run {run_id} not found")
        return row
    # Without a year: the latest year that has a current version.
    return await conn.fetchrow(
        f"SELECT {_RUN_COLUMNS} FROM kpi_score_run WHERE current "
        "AND ($1::int IS NULL OR year = $1) ORDER BY year DESC LIMIT 1",
        year,
    )


async def stored_scores(
    *, actor: Actor, year: int | None = None, run_id: UUID | None = None
) -> StoredScores:
    """A year's (or the latest year's) current scores, or an older run's by id, in rank order.

    As the ranking: a company-scoped reader sees only their own company's, with its rank among all.
    """
    seen = await scope.scope_of(actor, scope.Domain.kpi)
    ids = None if seen.all else sorted(seen.ids)
    async with db.connection() as conn:
        run = await _find_run(conn, year, run_id)
        if run is None:
            return StoredScores(run=None, items=[])
        totals = await conn.fetch(
            "SELECT s.contract, s.company, e.name AS company_name, s.bonus, s.deduction, s.total, "
            "s.rank, s.band_grade, s.a_capped, s.grade, s.pay_coefficient, s.review, "
            "s.review_reason FROM kpi_score s JOIN entity e ON e.id = s.company "
            "WHERE s.run = $1 AND ($2::uuid[] IS NULL OR s.company = ANY($2::uuid[])) "
            "ORDER BY s.rank, s.contract",
            run["id"],
            ids,
        )
        lines = await conn.fetch(
            "SELECT contract, indicator, name, method, weight, actual, actual_reason, target, "
            "tier, base, efficacy, adjustment, score FROM kpi_score_indicator "
            "WHERE run = $1 AND contract = ANY($2::uuid[]) ORDER BY contract, position",
            run["id"],
            [t["contract"] for t in totals],
        )
    by_contract: dict[UUID, list[StoredIndicatorScore]] = {t["contract"]: [] for t in totals}
    for line in lines:
        values = dict(line)
        by_contract[values.pop("contract")].append(StoredIndicatorScore(**values))
    items = [
        StoredScore(
            contract_id=t["contract"],
            company_id=t["company"],
            year=run["year"],
            indicators=by_contract[t["contract"]],
            **{k: v for k, v in dict(t).items() if k not in ("contract", "company")},
        )
        for t in totals
    ]
    return StoredScores(run=_run_read(run), items=items)


async def list_runs(
    *, year: int | None = None, limit: int = 50, offset: int = 0
) -> Page[KpiScoreRunRead]:
    """The stored versions, newest first (of one year when given); runs name no company's figures."""
    async with db.connection() as conn:
        rows, total = await db.fetch_page(
            conn,
            columns=_RUN_COLUMNS,
            source="kpi_score_run",
            where="$1::int IS NULL OR year = $1",
            args=(year,),
            order="created_at DESC, year DESC, version DESC",
            limit=limit,
            offset=offset,
        )
    return Page(items=[_run_read(r) for r in rows], total=total, limit=limit, offset=offset)
