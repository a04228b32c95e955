"""The depreciation run (计提折旧) for a period: straight line by month, once per (card, month).

`compute.depreciation_due` says what each card owes for a month; this posts it in chunks, each
chunk one transaction and audited. A (card, month) already depreciated is skipped by the unique
index on `asset_event (card, month)`, so running a period twice (or two runs at once) posts once.
Cards whose holder has closed the month's period are left out and listed in the report.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from uuid import UUID, uuid4

import polars as pl

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.money import as_stored
from stateasset.core.periods import Period, month_period, period_of, quarter_period, year_period
from stateasset.db import engine
from stateasset.ledger.assets import compute, frames
from stateasset.ledger.assets.schemas import DepreciationReport
from stateasset.ledger.closing.periods import WRITABLE_STATES

CHUNK = 2_000
Progress = Callable[[int, int, str], Awaitable[None]]
"""Awaited with (cards done, cards due, the month) after each chunk of a month."""


def months_of(period: Period) -> list[Period]:
    """The months a period covers, in order."""
    first, last = period.start.month, period.end.month
    return [month_period(period.year, m) for m in range(first, last + 1)]


async def run_depreciation(
    *, actor: Actor, period: str, progress: Progress | None = None, chunk: int = CHUNK
) -> DepreciationReport:
    """Post every card's depreciation for each month of `period`; what was posted and skipped."""
    parsed = period_of(period, "path.period")
    posted = already = 0
    amount = Decimal("0.00")
    skipped: set[str] = set()
    months = months_of(parsed)
    for month in months:
        cards = await frames.cards_frame()
        events = await frames.events_frame(up_to=month.end)
        due = compute.depreciation_due(cards, events, month.start, month.end).collect()
        total = due.height
        done = 0
        for start in range(0, max(total, 1), chunk):
            part = due.slice(start, chunk)
            if part.is_empty():
                break
            n, value, closed, tried = await _post_chunk(actor, month, part)
            posted += n
            already += tried - n
            amount += value
            skipped |= closed
            done += part.height
            if progress is not None:
                await progress(done, total, month.code)
    return DepreciationReport(
        months=[m.code for m in months],
        posted=posted,
        already_posted=already,
        amount=as_stored(amount),
        skipped_locked=sorted(skipped),
    )


async def _post_chunk(
    actor: Actor, month: Period, part: pl.DataFrame
) -> tuple[int, Decimal, set[str], int]:
    """Insert one chunk in one transaction: (rows posted, amount, closed periods, rows tried)."""
    codes = [
        month.code,
        quarter_period(month.year, (month.start.month + 2) // 3).code,
        year_period(month.year).code,
    ]
    holders = part.get_column("holder_id").unique().to_list()
    async with engine().transaction(), db.connection() as conn:
        closed_rows = await conn.fetch(
            "SELECT entity::text AS entity, period FROM period_state "
            "WHERE entity = ANY($1::uuid[]) AND period = ANY($2::text[]) "
            "AND NOT (state = ANY($3::text[])) ORDER BY entity, period FOR SHARE",
            holders,
            codes,
            sorted(WRITABLE_STATES),
        )
        closed = {r["entity"] for r in closed_rows}
        open_part = part.filter(~pl.col("holder_id").is_in(list(closed)))
        cards = [UUID(c) for c in open_part.get_column("card_id").to_list()]
        rows = await conn.fetch(
            "INSERT INTO asset_event (id, card, holder, kind, event_date, original, "
            "depreciation, income, month, note, created_at, created_by) "
            "SELECT gen_random_uuid(), d.card, d.holder, 'depreciate', $4, 0, d.amount, 0, $5, "
            "'月折旧', $6, $7 FROM unnest($1::uuid[], $2::uuid[], $3::numeric[]) "
            "AS d(card, holder, amount) "
            "ON CONFLICT (card, month) WHERE kind = 'depreciate' DO NOTHING "
            "RETURNING depreciation",
            cards,
            [UUID(h) for h in open_part.get_column("holder_id").to_list()],
            open_part.get_column("amount").to_list(),
            month.end,
            month.code,
            utc_now(),
            actor.username,
        )
        value = sum((r["depreciation"] for r in rows), start=Decimal("0.00"))
        await audit.record(
            actor=actor.username,
            action="asset_depreciation.run",
            object_type="asset_depreciation",
            object_id=f"{month.code}/{uuid4()}",
            after={"month": month.code, "posted": len(rows), "amount": as_stored(value)},
        )
    closed_labels = {f"{r['entity']}/{r['period']}" for r in closed_rows}
    return len(rows), value, closed_labels, open_part.height
