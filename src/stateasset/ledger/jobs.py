"""The ledger's jobs: stored consolidations of locked periods, and the monthly depreciation.

`consolidations` stores the body of every reporting node (group, platforms, segments; 合并 and
汇总) of a period whose members are all locked. A body is stored under a key of everything it
depends on (`ledger.consolidation`), so a new statement version or stake change is a new stored
version and the old one is never served for it; each body is one row written in one statement,
which readers see whole or not at all.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import msgspec

from stateasset import db
from stateasset.core.clock import today
from stateasset.core.periods import month_period, period_of
from stateasset.jobs.base import Context, Job, Outcome
from stateasset.ledger import consolidation
from stateasset.ledger.assets.depreciation import run_depreciation
from stateasset.ledger.schemas import ConsolidationMode


class ConsolidationsParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """period: one period, or none for every period with a locked statement."""

    period: str | None = None

    def __post_init__(self) -> None:
        if self.period is not None:
            period_of(self.period, "body.params.period")


async def _locked_periods() -> list[str]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT period FROM period_state WHERE state = 'locked' ORDER BY period"
        )
    return [r["period"] for r in rows]


async def run_consolidations(context: Context, params: ConsolidationsParams) -> Outcome:
    periods = [params.period] if params.period else await _locked_periods()
    nodes = await consolidation.reporting_nodes()
    steps = [(p, n, m) for p in periods for n in nodes for m in ConsolidationMode]
    computed = stored = not_locked = 0
    for done, (period, node, mode) in enumerate(steps):
        await context.progress(done, len(steps), f"{period} {node} {mode.value}")
        body = await consolidation.consolidation_body(
            actor=context.actor, node=node, period=period, mode=mode, only_if_storable=True
        )
        if not body:
            not_locked += 1  # a member still open: nothing to store until it locks
        elif body.startswith(b'{"source":"stored"'):
            stored += 1
        else:
            computed += 1
    await context.progress(len(steps), len(steps), "完成")
    return Outcome(
        rows_in=len(steps),
        rows_out=computed,
        summary={
            "periods": periods,
            "computed": computed,
            "already_stored": stored,
            "not_all_locked": not_locked,
        },
    )


def _last_month() -> str:
    first = today().replace(day=1)
    previous = date.fromordinal(first.toordinal() - 1)
    return month_period(previous.year, previous.month).code


class DepreciationParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """period: the month (or quarter, or year) to depreciate; none: last month."""

    period: str | None = None

    def __post_init__(self) -> None:
        if self.period is not None:
            period_of(self.period, "body.params.period")


async def run_depreciation_job(context: Context, params: DepreciationParams) -> Outcome:
    period = params.period or _last_month()
    report = await run_depreciation(actor=context.actor, period=period, progress=context.progress)
    summary: dict[str, Any] = msgspec.to_builtins(report)
    return Outcome(
        rows_in=report.posted + report.already_posted,
        rows_out=report.posted,
        summary={"period": period, **summary},
    )


def _consolidate_after_lock(period: str, entity_ids: list[UUID]) -> dict[str, Any]:
    return {"period": period}


CONSOLIDATIONS = Job(
    name="consolidations",
    label="合并报表",
    description=(
        "Stores the consolidated and aggregated statements of the group, platforms and segments "
        "for each locked period (or params.period)."
    ),
    params=ConsolidationsParams,
    body=run_consolidations,
    on_period_lock=_consolidate_after_lock,
)

DEPRECIATION = Job(
    name="depreciation",
    label="计提折旧",
    description="Posts every asset card's straight-line depreciation for params.period "
    "(default: last month); a month already posted is skipped.",
    params=DepreciationParams,
    body=run_depreciation_job,
)
