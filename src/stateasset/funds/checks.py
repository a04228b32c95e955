"""Checks on the sub-funds (产业引导基金 监管), each listed with the numbers behind it.

- over the government cap: government commitments / all commitments above the fund's cap;
- behind on 返投: counted local investment / the mother fund's paid-in below the required
  multiple × the share of the investment period elapsed (compute.reinvestment);
- a call overdue: called, not paid, past its due date;
- slow deployment: the investment period ends within `SLOW_WITHIN_DAYS` (or has ended within
  as long) with less than `SLOW_BELOW` of the fund's size invested.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import polars as pl

from stateasset import db
from stateasset.auth.schemas import Actor
from stateasset.core.errors import NotFound
from stateasset.core.money import MONEY, as_stored
from stateasset.funds import compute, frames, performance
from stateasset.funds.schemas import CHECK_LABELS, CheckKind, CheckRow
from stateasset.funds.service import fund_names, visible_fund_ids

SLOW_WITHIN_DAYS = 365
SLOW_BELOW = 0.5


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _row(
    fund_id: UUID, names: dict[UUID, str], kind: CheckKind, message: str, **numbers: str
) -> CheckRow:
    return CheckRow(
        fund_id=fund_id,
        fund_name=names.get(fund_id, str(fund_id)),
        kind=kind,
        kind_label=CHECK_LABELS[kind],
        message=message,
        numbers=numbers,
    )


async def checks(*, actor: Actor, as_of: date) -> list[CheckRow]:
    """Every flagged check on the funds the actor sees, by fund name and kind."""
    seen = await visible_fund_ids(actor)
    ids = None if seen is None else list(seen)
    names = await fund_names()
    out: list[CheckRow] = []
    async with db.connection() as conn:
        caps = await conn.fetch(
            "SELECT f.id, f.government_cap, sum(c.amount) AS total, "
            "coalesce(sum(c.amount) FILTER (WHERE c.government), 0) AS government "
            "FROM fund f JOIN fund_commitment c ON c.fund = f.id AND c.committed_on <= $2 "
            "WHERE f.government_cap IS NOT NULL AND ($1::uuid[] IS NULL OR f.id = ANY($1::uuid[])) "
            "GROUP BY f.id",
            ids,
            as_of,
        )
        overdue = await conn.fetch(
            "SELECT f.fund, e.name AS lp, f.amount, f.flow_date, f.due_on FROM fund_flow f "
            "JOIN fund_commitment c ON c.id = f.commitment JOIN entity e ON e.id = c.lp "
            "WHERE f.kind = 'call' AND f.paid_on IS NULL AND f.due_on < $2 "
            "AND ($1::uuid[] IS NULL OR f.fund = ANY($1::uuid[])) ORDER BY f.due_on",
            ids,
            as_of,
        )
        terms = await conn.fetch(
            "SELECT id::text AS fund_id, size, first_close, investment_period_end FROM fund "
            "WHERE category <> 'mother' AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))",
            ids,
        )
        mothers = await conn.fetch(
            "SELECT id FROM fund WHERE category = 'mother' "
            "AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))",
            ids,
        )
    for r in caps:
        share = r["government"] / r["total"]
        if share > r["government_cap"]:
            out.append(
                _row(
                    r["id"],
                    names,
                    CheckKind.over_government_cap,
                    f"政府出资占比 {_pct(float(share))} 超过上限 {_pct(float(r['government_cap']))}",
                    government_committed=str(as_stored(r["government"])),
                    total_committed=str(as_stored(r["total"])),
                    government_share=str(share.quantize(Decimal("0.000001"))),
                    cap=str(r["government_cap"].normalize()),
                )
            )
    for r in overdue:
        out.append(
            _row(
                r["fund"],
                names,
                CheckKind.call_overdue,
                f"{r['lp']} 的出资 {as_stored(r['amount'])} 元应于 {r['due_on']} 前缴付，尚未到账",
                lp=r["lp"],
                amount=str(as_stored(r["amount"])),
                called_on=str(r["flow_date"]),
                due_on=str(r["due_on"]),
                days_overdue=str((as_of - r["due_on"]).days),
            )
        )
    if terms:
        frame = pl.DataFrame(
            [
                (t["fund_id"], t["size"], t["first_close"], t["investment_period_end"])
                for t in terms
            ],
            schema={
                "fund_id": pl.String(),
                "size": MONEY,
                "first_close": pl.Date(),
                "investment_period_end": pl.Date(),
            },
            orient="row",
        )
        pace = compute.deployment(frame.lazy(), await frames.investments_frame(as_of), as_of)
        for r in pace.collect().iter_rows(named=True):
            if (
                -SLOW_WITHIN_DAYS <= r["days_left"] <= SLOW_WITHIN_DAYS
                and (r["deployed"] or 0.0) < SLOW_BELOW
            ):
                fund_id = UUID(r["fund_id"])
                out.append(
                    _row(
                        fund_id,
                        names,
                        CheckKind.slow_deployment,
                        f"投资期还剩 {r['days_left']} 天，已投 {_pct(r['deployed'])}，低于 {_pct(SLOW_BELOW)}",
                        size=str(r["size"]),
                        invested=str(r["invested"]),
                        deployed=f"{(r['deployed'] or 0.0):.6f}",
                        days_left=str(r["days_left"]),
                    )
                )
    for m in mothers:
        try:
            mother = await performance.mother_metrics(actor=actor, fund_id=m["id"], as_of=as_of)
        except NotFound:  # no commitments to sub-funds yet
            continue
        for r in mother.reinvestment:
            if r.behind:
                out.append(
                    _row(
                        r.fund_id,
                        names,
                        CheckKind.behind_reinvestment,
                        f"返投 {r.achieved or 0:.2f} 倍，按投资期进度应达 {r.expected_now or 0:.2f} 倍"
                        f"（要求 {r.required or 0:.2f} 倍）",
                        counted=str(r.counted),
                        mother_paid_in=str(r.mother_paid_in),
                        achieved=f"{(r.achieved or 0.0):.6f}",
                        expected_now=f"{(r.expected_now or 0.0):.6f}",
                        required=f"{(r.required or 0.0):.6f}",
                    )
                )
    return sorted(out, key=lambda c: (c.fund_name, c.kind.value))
