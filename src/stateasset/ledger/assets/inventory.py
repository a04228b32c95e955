"""Inventory campaigns (资产盘点): a scope and a date, counted items, the report, and closing.

The report compares the counts with the books as of the campaign's date: a counted code that is
a card of that holder is matched (at its book value); a counted code that is not is 盘盈 (found,
not on the books, at the value the counter gave); a card in scope nobody counted is 盘亏 (on the
books, not found, at its book value). Closing posts the adjustments — a new card with source 盘盈
and its acquisition for each surplus, a disposal for each shortage — all in one transaction, and
locks the campaign: it takes no more counts and cannot close twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import msgspec

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import Conflict, FieldProblem, Invalid, NotFound, invalid
from stateasset.core.money import as_stored
from stateasset.db import engine
from stateasset.ledger import service as ledger_service
from stateasset.ledger.assets import service as cards
from stateasset.ledger.assets.schemas import (
    CampaignCreate,
    CampaignLine,
    CampaignRead,
    CampaignReport,
    CardCreate,
    Category,
    CountCreate,
    EventKind,
    Source,
)

OUTCOME_LABELS = {"matched": "相符", "surplus": "盘盈", "shortage": "盘亏"}


def _campaign_read(row: Any, counts: int) -> CampaignRead:
    return CampaignRead(
        id=row["id"],
        name=row["name"],
        as_of=row["as_of"],
        entity_ids=list(row["entity_ids"]),
        categories=list(row["categories"]),
        status=row["status"],
        counts=counts,
        created_by=row["created_by"],
        created_at=row["created_at"],
        closed_by=row["closed_by"],
        closed_at=row["closed_at"],
    )


async def _campaign(conn: asyncpg.Connection, actor: Actor, campaign_id: UUID, lock: bool) -> Any:
    row = await conn.fetchrow(
        "SELECT * FROM asset_campaign WHERE id = $1" + (" FOR UPDATE" if lock else ""),
        campaign_id,
    )
    visible = await ledger_service.visible_entity_ids(actor)
    if row is None or (visible is not None and not set(row["entity_ids"]) <= visible):
        raise NotFound(f"campaign {campaign_id} not found")
    return row


async def _count_of(conn: asyncpg.Connection, campaign_id: UUID) -> int:
    return await conn.fetchval("SELECT count(*) FROM asset_count WHERE campaign = $1", campaign_id)


async def create_campaign(*, actor: Actor, data: CampaignCreate) -> CampaignRead:
    """Open a campaign for some holders (and categories: none means all) as of a date."""
    if len(set(data.entity_ids)) != len(data.entity_ids):
        raise invalid("body.entity_ids", "an entity is listed twice")
    await ledger_service.ensure_visible(actor, data.entity_ids)
    campaign_id = uuid4()
    async with engine().transaction(), db.connection() as conn:
        await conn.execute(
            "INSERT INTO asset_campaign (id, name, as_of, entity_ids, categories, status, "
            "created_by, created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7)",
            campaign_id,
            data.name,
            data.as_of,
            list(data.entity_ids),
            [c.value for c in data.categories],
            actor.username,
            utc_now(),
        )
        read = _campaign_read(await _campaign(conn, actor, campaign_id, False), 0)
        await audit.record(
            actor=actor.username,
            action="asset_campaign.create",
            object_type="asset_campaign",
            object_id=campaign_id,
            after=read,
        )
    return read


async def get_campaign(*, actor: Actor, campaign_id: UUID) -> CampaignRead:
    async with db.connection() as conn:
        row = await _campaign(conn, actor, campaign_id, False)
        return _campaign_read(row, await _count_of(conn, campaign_id))


async def list_campaigns(*, actor: Actor) -> list[CampaignRead]:
    """Campaigns whose every entity the actor sees, newest first."""
    visible = await ledger_service.visible_entity_ids(actor)
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT c.*, (SELECT count(*) FROM asset_count n WHERE n.campaign = c.id) AS n "
            "FROM asset_campaign c ORDER BY c.created_at DESC"
        )
    return [
        _campaign_read(r, r["n"])
        for r in rows
        if visible is None or set(r["entity_ids"]) <= visible
    ]


async def record_counts(
    *, actor: Actor, campaign_id: UUID, counts: list[CountCreate], field: str = "body"
) -> CampaignRead:
    """Record counted items (a code counted again replaces its earlier count); all or none."""
    async with engine().transaction(), db.connection() as conn:
        row = await _campaign(conn, actor, campaign_id, True)
        if row["status"] != "open":
            raise Conflict(f"campaign {campaign_id} is closed; it takes no more counts")
        scope = set(row["entity_ids"])
        problems = []
        for index, count in enumerate(counts):
            if count.holder_id not in scope:
                problems.append(
                    FieldProblem(
                        field=f"{field}[{index}].holder_id",
                        reason="not an entity of this campaign",
                    )
                )
            if count.value is not None:
                try:
                    cards.checked_money(count.value, f"{field}[{index}].value")
                except Invalid as exc:
                    problems += exc.errors
        if problems:
            raise Invalid(
                f"{len(problems)} problem(s) in the counts; none recorded", errors=problems
            )
        now = utc_now()
        await conn.executemany(
            "INSERT INTO asset_count (id, campaign, holder, code, location, name, category, "
            "value, counted_by, counted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
            "ON CONFLICT (campaign, holder, code) DO UPDATE SET location = excluded.location, "
            "name = excluded.name, category = excluded.category, value = excluded.value, "
            "counted_by = excluded.counted_by, counted_at = excluded.counted_at",
            [
                (
                    uuid4(),
                    campaign_id,
                    c.holder_id,
                    c.code,
                    c.location,
                    c.name,
                    c.category.value if c.category else None,
                    c.value,
                    actor.username,
                    now,
                )
                for c in counts
            ],
        )
        read = _campaign_read(row, await _count_of(conn, campaign_id))
        await audit.record(
            actor=actor.username,
            action="asset_campaign.count",
            object_type="asset_campaign",
            object_id=campaign_id,
            after={"counted": [msgspec.to_builtins(c) for c in counts]},
        )
    return read


async def _lines(conn: asyncpg.Connection, row: Any) -> list[CampaignLine]:
    """The report's lines: every card in scope and every count, paired by (holder, code)."""
    categories = list(row["categories"])
    books = await conn.fetch(
        "SELECT c.id, c.holder, c.code, c.name, c.location, "
        "coalesce(sum(v.original - v.depreciation) FILTER (WHERE v.holder = c.holder), 0) AS book "
        "FROM asset_card c LEFT JOIN asset_event v ON v.card = c.id AND v.event_date <= $2 "
        "WHERE c.holder = ANY($1::uuid[]) AND c.status <> 'disposed' AND c.acquired_on <= $2 "
        "AND (cardinality($3::text[]) = 0 OR c.category = ANY($3::text[])) "
        "GROUP BY c.id ORDER BY c.holder, c.code",
        list(row["entity_ids"]),
        row["as_of"],
        categories,
    )
    counted = {
        (r["holder"], r["code"]): r
        for r in await conn.fetch("SELECT * FROM asset_count WHERE campaign = $1", row["id"])
    }
    lines = []
    on_books = set()
    for b in books:
        key = (b["holder"], b["code"])
        on_books.add(key)
        count = counted.get(key)
        outcome = "matched" if count is not None else "shortage"
        lines.append(
            CampaignLine(
                outcome=outcome,
                outcome_label=OUTCOME_LABELS[outcome],
                holder_id=b["holder"],
                code=b["code"],
                name=b["name"],
                card_id=b["id"],
                book_location=b["location"],
                counted_location=count["location"] if count is not None else None,
                value=as_stored(b["book"]),
            )
        )
    for key, count in sorted(counted.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if key in on_books:
            continue
        lines.append(
            CampaignLine(
                outcome="surplus",
                outcome_label=OUTCOME_LABELS["surplus"],
                holder_id=count["holder"],
                code=count["code"],
                name=count["name"] or "",
                card_id=None,
                book_location=None,
                counted_location=count["location"],
                value=as_stored(count["value"] or Decimal(0)),
            )
        )
    return lines


def _report(campaign: CampaignRead, lines: list[CampaignLine]) -> CampaignReport:
    def total(outcome: str) -> Decimal:
        return as_stored(sum((x.value for x in lines if x.outcome == outcome), start=Decimal(0)))

    return CampaignReport(
        campaign=campaign,
        matched=sum(x.outcome == "matched" for x in lines),
        surplus=sum(x.outcome == "surplus" for x in lines),
        shortage=sum(x.outcome == "shortage" for x in lines),
        matched_value=total("matched"),
        surplus_value=total("surplus"),
        shortage_value=total("shortage"),
        lines=lines,
    )


async def campaign_report(*, actor: Actor, campaign_id: UUID) -> CampaignReport:
    """Matched / 盘盈 / 盘亏 with values, as of the campaign's date."""
    async with db.connection() as conn:
        row = await _campaign(conn, actor, campaign_id, False)
        lines = await _lines(conn, row)
        return _report(_campaign_read(row, await _count_of(conn, campaign_id)), lines)


async def close_campaign(*, actor: Actor, campaign_id: UUID) -> CampaignReport:
    """Post every 盘盈 as a new card and every 盘亏 as a disposal, then lock the campaign."""
    async with engine().transaction(), db.connection() as conn:
        row = await _campaign(conn, actor, campaign_id, True)
        if row["status"] != "open":
            raise Conflict(f"campaign {campaign_id} is already closed")
        lines = await _lines(conn, row)
        problems = [
            FieldProblem(
                field=f"counts.{line.code}.value",
                reason="an item not on the books needs a value (评估值) before closing",
            )
            for line in lines
            if line.outcome == "surplus" and line.value <= 0
        ]
        if problems:
            raise Invalid("some 盘盈 items have no value; nothing was posted", errors=problems)
        counts = {
            (r["holder"], r["code"]): r
            for r in await conn.fetch("SELECT * FROM asset_count WHERE campaign = $1", campaign_id)
        }
        for line in lines:
            if line.outcome == "surplus":
                count = counts[(line.holder_id, line.code)]
                await cards.insert_card(
                    conn,
                    actor=actor,
                    data=CardCreate(
                        code=line.code,
                        name=line.name or f"盘盈资产 {line.code}",
                        category=Category(count["category"] or Category.other.value),
                        holder_id=line.holder_id,
                        source=Source.surplus,
                        acquired_on=row["as_of"],
                        original_value=line.value,
                        operating=False,
                        location=count["location"] or "",
                    ),
                    field=f"counts.{line.code}",
                    campaign=campaign_id,
                )
            elif line.outcome == "shortage":
                assert line.card_id is not None
                await conn.fetchrow(
                    "SELECT 1 FROM asset_card WHERE id = $1 FOR UPDATE", line.card_id
                )
                held = await cards.balances_at_holder(conn, line.card_id, line.holder_id)
                day = max(row["as_of"], held["last_date"])
                await cards.ensure_open(conn, line.holder_id, day)
                await cards._insert_event(
                    conn,
                    actor=actor,
                    card_id=line.card_id,
                    holder=line.holder_id,
                    kind=EventKind.dispose,
                    day=day,
                    original=-held["original"],
                    depreciation=-held["depreciation"],
                    campaign=campaign_id,
                    note="盘亏",
                )
                await conn.execute(
                    "UPDATE asset_card SET status = 'disposed', updated_at = now() WHERE id = $1",
                    line.card_id,
                )
        await conn.execute(
            "UPDATE asset_campaign SET status = 'closed', closed_by = $2, closed_at = $3 "
            "WHERE id = $1",
            campaign_id,
            actor.username,
            utc_now(),
        )
        closed = await _campaign(conn, actor, campaign_id, False)
        report = _report(_campaign_read(closed, await _count_of(conn, campaign_id)), lines)
        await audit.record(
            actor=actor.username,
            action="asset_campaign.close",
            object_type="asset_campaign",
            object_id=campaign_id,
            after={
                "matched": report.matched,
                "surplus": report.surplus,
                "shortage": report.shortage,
                "surplus_value": report.surplus_value,
                "shortage_value": report.shortage_value,
            },
        )
    return report
