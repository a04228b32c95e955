"""A fund's portfolio: investments in companies (ledger entities), their valuations and exits."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import Conflict, NotFound, invalid
from stateasset.core.money import as_stored
from stateasset.db import engine
from stateasset.funds.capital import _money
from stateasset.funds.schemas import (
    INDUSTRY_LABELS,
    STAGE_LABELS,
    ExitCreate,
    Industry,
    InvestmentCreate,
    InvestmentRead,
    ReinvestmentKind,
    Stage,
    ValuationCreate,
)
from stateasset.funds.service import ensure_fund_visible

_SELECT = """
SELECT i.*, e.name AS company_name, v.value AS valuation, v.as_of AS valuation_date
FROM fund_investment i JOIN entity e ON e.id = i.company
LEFT JOIN LATERAL (SELECT value, as_of FROM fund_valuation v WHERE v.investment = i.id
    ORDER BY v.as_of DESC LIMIT 1) v ON true
"""


def _read(row: Any) -> InvestmentRead:
    industry, stage = Industry(row["industry"]), Stage(row["stage"])
    return InvestmentRead(
        id=row["id"],
        fund_id=row["fund"],
        company_id=row["company"],
        company_name=row["company_name"],
        industry=industry,
        industry_label=INDUSTRY_LABELS[industry],
        local=row["local"],
        reinvestment_kind=ReinvestmentKind(row["reinvestment_kind"]),
        stage=stage,
        stage_label=STAGE_LABELS[stage],
        invested_on=row["invested_on"],
        amount=as_stored(row["amount"]),
        share=row["share"],
        valuation=as_stored(row["valuation"] if row["valuation"] is not None else row["amount"]),
        valuation_date=row["valuation_date"],
        exited_on=row["exited_on"],
        exit_proceeds=None if row["exit_proceeds"] is None else as_stored(row["exit_proceeds"]),
    )


async def _row(conn: asyncpg.Connection, fund_id: UUID, investment_id: UUID) -> Any:
    row = await conn.fetchrow(f"{_SELECT} WHERE i.id = $1", investment_id)
    if row is None or row["fund"] != fund_id:
        raise NotFound(f"investment {investment_id} not found")
    return row


async def create_investment(
    *, actor: Actor, fund_id: UUID, data: InvestmentCreate
) -> InvestmentRead:
    """Record an investment of the fund in a registered company."""
    await ensure_fund_visible(actor, fund_id)
    amount = _money(data.amount, "body.amount")
    if not 0 < data.share <= 1:
        raise invalid("body.share", "a fraction above 0, at most 1")
    async with engine().transaction(), db.connection() as conn:
        if not await conn.fetchval("SELECT 1 FROM entity WHERE id = $1", data.company_id):
            raise invalid("body.company_id", "no such entity: register the company first")
        investment_id = uuid4()
        await conn.execute(
            "INSERT INTO fund_investment (id, fund, company, industry, local, reinvestment_kind, "
            "stage, invested_on, amount, share, created_at, created_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            investment_id,
            fund_id,
            data.company_id,
            data.industry.value,
            data.local,
            data.reinvestment_kind.value,
            data.stage.value,
            data.invested_on,
            amount,
            data.share,
            utc_now(),
            actor.username,
        )
        read = _read(await _row(conn, fund_id, investment_id))
        await audit.record(
            actor=actor.username,
            action="fund_investment.create",
            object_type="fund_investment",
            object_id=investment_id,
            after=read,
        )
    return read


async def add_valuation(
    *, actor: Actor, fund_id: UUID, investment_id: UUID, data: ValuationCreate
) -> InvestmentRead:
    """A dated valuation of the position (one per date)."""
    await ensure_fund_visible(actor, fund_id)
    value = _money(data.value, "body.value", positive=False)
    async with engine().transaction(), db.connection() as conn:
        await _row(conn, fund_id, investment_id)
        if await conn.fetchval(
            "SELECT 1 FROM fund_valuation WHERE investment = $1 AND as_of = $2",
            investment_id,
            data.as_of,
        ):
            raise Conflict(f"the position is already valued on {data.as_of}")
        await conn.execute(
            "INSERT INTO fund_valuation (id, investment, as_of, value, created_at, created_by) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            uuid4(),
            investment_id,
            data.as_of,
            value,
            utc_now(),
            actor.username,
        )
        read = _read(await _row(conn, fund_id, investment_id))
        await audit.record(
            actor=actor.username,
            action="fund_investment.value",
            object_type="fund_investment",
            object_id=investment_id,
            after={"as_of": data.as_of, "value": value},
        )
    return read


async def record_exit(
    *, actor: Actor, fund_id: UUID, investment_id: UUID, data: ExitCreate
) -> InvestmentRead:
    """The position's exit (退出) with its proceeds; once."""
    await ensure_fund_visible(actor, fund_id)
    proceeds = _money(data.proceeds, "body.proceeds", positive=False)
    async with engine().transaction(), db.connection() as conn:
        before = _read(await _row(conn, fund_id, investment_id))
        if before.exited_on is not None:
            raise Conflict(f"the position was exited on {before.exited_on}")
        if data.exited_on < before.invested_on:
            raise invalid("body.exited_on", "cannot be before the investment")
        await conn.execute(
            "UPDATE fund_investment SET exited_on = $1, exit_proceeds = $2 WHERE id = $3",
            data.exited_on,
            proceeds,
            investment_id,
        )
        after = _read(await _row(conn, fund_id, investment_id))
        await audit.record(
            actor=actor.username,
            action="fund_investment.exit",
            object_type="fund_investment",
            object_id=investment_id,
            before=before,
            after=after,
        )
    return after


async def list_investments(
    *, actor: Actor, fund_id: UUID, as_of: date | None = None
) -> list[InvestmentRead]:
    """The fund's portfolio (投资组合), made by `as_of` when given, by date."""
    await ensure_fund_visible(actor, fund_id)
    async with db.connection() as conn:
        rows = await conn.fetch(
            f"{_SELECT} WHERE i.fund = $1 AND i.invested_on <= $2 ORDER BY i.invested_on, e.name",
            fund_id,
            as_of or date.max,
        )
    return [_read(row) for row in rows]
