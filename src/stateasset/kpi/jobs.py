"""The KPI domain's jobs: ratios (§6) of every period whose statements changed.

`ratios` is `kpi.ratios.compute_ratios` on a schedule: each period it computes becomes a new
ratio run switched current in one transaction. Without a period it finds the periods whose
current run is missing or used a statement version that is no longer the latest, so a nightly
run on unchanged data writes nothing. After a period lock it recomputes only the locked
entities and the nodes holding them (group, their platforms and segments).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from stateasset import db
from stateasset.core.periods import period_of
from stateasset.jobs.base import Context, Job, Outcome
from stateasset.kpi import ratios, score_jobs
from stateasset.ledger import consolidation


class RatiosParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """period: one period (2025-09, 2025-Q3, 2025), or none for every changed period;
    entity_ids: only these entities (with the nodes that hold them unless with_nodes is false)."""

    period: str | None = None
    entity_ids: list[UUID] | None = None
    with_nodes: bool = True

    def __post_init__(self) -> None:
        if self.period is not None:
            period_of(self.period, "body.params.period")
        if self.entity_ids is not None:
            # One order, so the same entities are the same run whatever order they came in.
            ids = sorted(set(self.entity_ids), key=str)
            if not ids:
                raise msgspec.ValidationError("name at least one entity, or leave entity_ids out")
            msgspec.structs.force_setattr(self, "entity_ids", ids)


async def stale_periods() -> list[str]:
    """Periods whose current ratio run is missing or used a statement that is not the latest."""
    async with db.connection() as conn:
        rows = await conn.fetch(
            "WITH latest AS (SELECT DISTINCT ON (entity, period) id, entity, period, version "
            "FROM statement ORDER BY entity, period, version DESC) "
            "SELECT DISTINCT l.period FROM latest l "
            "LEFT JOIN kpi_ratio_run r ON r.period = l.period AND r.current "
            "WHERE r.id IS NULL OR NOT EXISTS (SELECT 1 FROM kpi_ratio_source_in_run s "
            "WHERE s.run = r.id AND s.entity = l.entity AND s.period = l.period "
            "AND s.statement = l.id AND s.version = l.version) ORDER BY l.period"
        )
    return [r["period"] for r in rows]


async def nodes_holding(entity_ids: list[UUID]) -> list[str]:
    """The group and the platforms and segments these entities belong to."""
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT n FROM (SELECT 'platform:' || coalesce(platform_id, "
            "CASE WHEN kind = 'platform' THEN id END)::text AS n FROM entity "
            "WHERE id = ANY($1::uuid[]) UNION SELECT 'segment:' || segment FROM entity "
            "WHERE id = ANY($1::uuid[]) AND segment IS NOT NULL) x WHERE n IS NOT NULL",
            entity_ids,
        )
    known = set(await consolidation.reporting_nodes())
    return [n for n in ["group", *sorted(r["n"] for r in rows)] if n in known]


async def run_ratios(context: Context, params: RatiosParams) -> Outcome:
    periods = [params.period] if params.period else await stale_periods()
    nodes = None
    if params.entity_ids is not None:
        nodes = await nodes_holding(params.entity_ids) if params.with_nodes else []
    runs: list[dict[str, Any]] = []
    rows = 0
    for done, period in enumerate(periods):
        await context.progress(done, len(periods), f"计算 {period} 的指标")
        run = await ratios.compute_ratios(
            actor=context.actor, period=period, entity_ids=params.entity_ids, nodes=nodes
        )
        rows += run.rows
        runs.append({"period": period, "ratio_run": str(run.id), "version": run.version})
    await context.progress(len(periods), len(periods), "完成")
    return Outcome(rows_in=len(periods), rows_out=rows, summary={"ratio_runs": runs})


def _after_lock(period: str, entity_ids: list[UUID]) -> dict[str, Any]:
    return {"period": period, "entity_ids": [str(e) for e in entity_ids]}


def _scores_after(params: RatiosParams, outcome: Outcome) -> dict[str, Any] | None:
    """kpi_scores of the years the run's periods close or feed (`score_jobs.years_after_ratios`);
    none when it computed no year-close."""
    periods = [r["period"] for r in outcome.summary.get("ratio_runs", [])]
    years = score_jobs.years_after_ratios(periods)
    return {"years": years} if years else None


RATIOS = Job(
    name="ratios",
    label="指标计算",
    description=(
        "Ratios (§6) of each period whose statements changed since its current run, or of "
        "params.period; params.entity_ids limits it to those entities and their nodes."
    ),
    params=RatiosParams,
    body=run_ratios,
    then=("kpi_scores",),
    then_params=_scores_after,
    on_period_lock=_after_lock,
)
