"""Asset cards and their events: create, list, post, reverse, and each card's lineage (资产脉络).

Each public function is one unit of work in one transaction, audited last. A card is visible to
whoever sees its holder (the ledger's scope); outside it the card is "not found". Events are
append-only and dated; each is booked at the card's holder of the time and must fall in a period
of that holder that still takes writes (a locked one is 409). Original value, accumulated
depreciation and book value are sums of events, never stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import polars as pl

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today, utc_now
from stateasset.core.errors import Conflict, FieldProblem, NotFound, invalid
from stateasset.core.money import MONEY, as_stored, money_problem
from stateasset.core.periods import month_period, quarter_period, year_period
from stateasset.core.schemas import Page
from stateasset.db import engine
from stateasset.ledger import service as ledger_service
from stateasset.ledger.assets.compute import year_before
from stateasset.ledger.assets.schemas import (
    CATEGORY_LABELS,
    EVENT_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    CardCreate,
    CardLineage,
    CardRead,
    CardUpdate,
    Category,
    EventCreate,
    EventKind,
    EventRead,
    HolderFlow,
    HolderSpan,
    PostableKind,
    Source,
    Status,
)
from stateasset.ledger.closing.periods import refuse_unless_writable

ZERO = Decimal("0.00")


# ------------------------------------------------------------------------------------------
# Periods and money


async def ensure_open(conn: asyncpg.Connection, holder: UUID, day: date) -> None:
    """409 unless the month, quarter and year of `day` all take writes for `holder`.

    Reads the holder's period rows `FOR SHARE`, so a lock transition (which updates the row)
    waits for this write or this write for it. Unlike `periods.ensure_writable` it creates no
    row: an agency that only hands over property must not appear on the period board.
    """
    codes = [
        month_period(day.year, day.month).code,
        quarter_period(day.year, (day.month + 2) // 3).code,
        year_period(day.year).code,
    ]
    rows = await conn.fetch(
        "SELECT period, state FROM period_state WHERE entity = $1 AND period = ANY($2::text[]) "
        "ORDER BY period FOR SHARE",
        holder,
        codes,
    )
    for row in rows:
        refuse_unless_writable(holder, row["period"], row["state"])


def checked_money(value: Decimal, field: str, *, positive: bool = False) -> Decimal:
    """`value` as stored money, or a 422 naming `field`."""
    if problem := money_problem(value):
        raise invalid(field, problem)
    if positive and value <= 0:
        raise invalid(field, "must be greater than 0")
    return as_stored(value)


# ------------------------------------------------------------------------------------------
# Reading cards

_CARD_SELECT = """
SELECT c.*, e.name AS holder_name,
    coalesce(b.original, 0) AS original_value,
    coalesce(b.depreciation, 0) AS accumulated_depreciation,
    coalesce(b.income_12m, 0) AS income_12m
FROM asset_card c
JOIN entity e ON e.id = c.holder
LEFT JOIN LATERAL (
    SELECT sum(original) AS original, sum(depreciation) AS depreciation,
        sum(income) FILTER (WHERE event_date > $1) AS income_12m
    FROM asset_event v WHERE v.card = c.id
) b ON true
"""


def card_read(row: Any) -> CardRead:
    category, source, status = (
        Category(row["category"]),
        Source(row["source"]),
        Status(row["status"]),
    )
    original = as_stored(row["original_value"])
    depreciation = as_stored(row["accumulated_depreciation"])
    return CardRead(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        category=category,
        category_label=CATEGORY_LABELS[category],
        holder_id=row["holder"],
        holder_name=row["holder_name"],
        location=row["location"],
        source=source,
        source_label=SOURCE_LABELS[source],
        operating=row["operating"],
        useful_life_months=row["useful_life_months"],
        salvage=as_stored(row["salvage"]),
        status=status,
        status_label=STATUS_LABELS[status],
        acquired_on=row["acquired_on"],
        original_value=original,
        accumulated_depreciation=depreciation,
        book_value=as_stored(original - depreciation),
        income_12m=as_stored(row["income_12m"]),
    )


async def _card_row(conn: asyncpg.Connection, card_id: UUID) -> Any:
    row = await conn.fetchrow(_CARD_SELECT + " WHERE c.id = $2", year_before(today()), card_id)
    if row is None:
        raise NotFound(f"asset card {card_id} not found")
    return row


async def get_card(*, actor: Actor, card_id: UUID) -> CardRead:
    """One card with its balances; 404 outside the actor's scope."""
    async with db.connection() as conn:
        row = await _card_row(conn, card_id)
    await _ensure_card_visible(actor, row["holder"], card_id)
    return card_read(row)


async def _ensure_card_visible(actor: Actor, holder: UUID, card_id: UUID) -> None:
    visible = await ledger_service.visible_entity_ids(actor)
    if visible is not None and holder not in visible:
        raise NotFound(f"asset card {card_id} not found")


class CardFilter:
    """The list's filters, as query parameters name them."""

    def __init__(
        self,
        *,
        holder_id: UUID | None = None,
        platform_id: UUID | None = None,
        category: Category | None = None,
        operating: bool | None = None,
        status: Status | None = None,
        idle: bool | None = None,
        search: str | None = None,
    ) -> None:
        self.holder_id = holder_id
        self.platform_id = platform_id
        self.category = category
        self.operating = operating
        self.status = status
        self.idle = idle
        self.search = search


async def _where(actor: Actor, f: CardFilter) -> tuple[str, list[Any]]:
    """A WHERE clause (parameters from $2) for the filters and the actor's scope."""
    clauses: list[str] = []
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args) + 1}"))

    visible = await ledger_service.visible_entity_ids(actor)
    if visible is not None:
        add("c.holder = ANY(?::uuid[])", list(visible))
    if f.holder_id is not None:
        # The holder's subtree: it and everything it controls today.
        subtree = [f.holder_id, *await ledger_service.controlled_by(f.holder_id, today())]
        add("c.holder = ANY(?::uuid[])", subtree)
    if f.platform_id is not None:
        add("(e.platform_id = ? OR e.id = ?)", f.platform_id)
    if f.category is not None:
        add("c.category = ?", f.category.value)
    if f.operating is not None:
        add("c.operating = ?", f.operating)
    if f.status is not None:
        add("c.status = ?", f.status.value)
    if f.idle is not None:
        add("(c.status = 'idle') = ?", f.idle)
    if f.search:
        pattern = f"%{ledger_service._like_literal(f.search)}%"
        add("(c.code ILIKE ? OR c.name ILIKE ?)", pattern)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


async def list_cards(
    *, actor: Actor, filters: CardFilter, limit: int = 50, offset: int = 0
) -> Page[CardRead]:
    """Cards in the actor's scope, filtered, by holder and code."""
    where, args = await _where(actor, filters)
    n = len(args) + 2
    async with db.connection() as conn:
        rows = await conn.fetch(
            _CARD_SELECT + where + f" ORDER BY e.name, c.code LIMIT ${n} OFFSET ${n + 1}",
            year_before(today()),
            *args,
            limit,
            offset,
        )
        total = await conn.fetchval(
            "SELECT count(*) FROM asset_card c JOIN entity e ON e.id = c.holder"
            + _renumber(where, -1),
            *args,
        )
    return Page(items=[card_read(r) for r in rows], total=total, limit=limit, offset=offset)


def _renumber(where: str, shift: int) -> str:
    """`where` with every $n parameter moved by `shift` (for a query without the date first)."""
    return re.sub(r"\$([0-9]+)", lambda m: f"${int(m[1]) + shift}", where)


CARD_FRAME_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "code": pl.String(),
    "name": pl.String(),
    "category": pl.String(),
    "category_label": pl.String(),
    "holder_id": pl.String(),
    "holder_name": pl.String(),
    "location": pl.String(),
    "source_label": pl.String(),
    "operating": pl.Boolean(),
    "status": pl.String(),
    "status_label": pl.String(),
    "acquired_on": pl.Date(),
    "original_value": MONEY,
    "accumulated_depreciation": MONEY,
    "book_value": MONEY,
    "income_12m": MONEY,
}
"""Every filtered card as a frame, for the pages' table and the XLSX export."""


async def cards_table(*, actor: Actor, filters: CardFilter) -> pl.DataFrame:
    """Every card matching `filters` in the actor's scope (CARD_FRAME_SCHEMA), by holder, code."""
    where, args = await _where(actor, filters)
    async with db.connection() as conn:
        rows = await conn.fetch(
            _CARD_SELECT + where + " ORDER BY e.name, c.code", year_before(today()), *args
        )
    reads = [card_read(r) for r in rows]
    return pl.DataFrame(
        [
            {
                "id": str(r.id),
                "code": r.code,
                "name": r.name,
                "category": r.category.value,
                "category_label": r.category_label,
                "holder_id": str(r.holder_id),
                "holder_name": r.holder_name,
                "location": r.location,
                "source_label": r.source_label,
                "operating": r.operating,
                "status": r.status.value,
                "status_label": r.status_label,
                "acquired_on": r.acquired_on,
                "original_value": r.original_value,
                "accumulated_depreciation": r.accumulated_depreciation,
                "book_value": r.book_value,
                "income_12m": r.income_12m,
            }
            for r in reads
        ],
        schema=CARD_FRAME_SCHEMA,
        orient="row",
    )


EXPORT_COLUMNS = (
    ("code", "资产编码"),
    ("name", "资产名称"),
    ("category_label", "资产类别"),
    ("holder_name", "持有单位"),
    ("location", "存放地点"),
    ("source_label", "来源"),
    ("operating", "经营性"),
    ("status_label", "状态"),
    ("acquired_on", "取得日期"),
    ("original_value", "原值"),
    ("accumulated_depreciation", "累计折旧"),
    ("book_value", "账面价值"),
    ("income_12m", "近12个月收益"),
)


def export_xlsx(frame: pl.DataFrame) -> bytes:
    """The card list as an XLSX workbook: text cells stay text (no formulas), amounts as text.

    Amounts are written as the exact decimal text, as the consolidation workbook writes them,
    so no float rounding reaches a spreadsheet.
    """
    import io

    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("资产台账")
    bold = book.add_format({"bold": True})
    for c, (_, label) in enumerate(EXPORT_COLUMNS):
        sheet.write_string(0, c, label, bold)
    for r, row in enumerate(frame.iter_rows(named=True), start=1):
        for c, (key, _) in enumerate(EXPORT_COLUMNS):
            value = row[key]
            if isinstance(value, bool):
                text = "是" if value else "否"
            elif value is None:
                text = ""
            elif isinstance(value, date):
                text = value.isoformat()
            else:
                text = str(value)
            sheet.write_string(r, c, text)
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------
# Writing cards and events


async def _insert_event(
    conn: asyncpg.Connection,
    *,
    actor: Actor,
    card_id: UUID,
    holder: UUID,
    kind: EventKind,
    day: date,
    original: Decimal = ZERO,
    depreciation: Decimal = ZERO,
    income: Decimal = ZERO,
    month: str | None = None,
    reverses: UUID | None = None,
    transfer: UUID | None = None,
    campaign: UUID | None = None,
    note: str = "",
) -> UUID:
    event_id = uuid4()
    await conn.execute(
        "INSERT INTO asset_event (id, card, holder, kind, event_date, original, depreciation, "
        "income, month, reverses, transfer, campaign, note, created_at, created_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        event_id,
        card_id,
        holder,
        kind.value,
        day,
        original,
        depreciation,
        income,
        month,
        reverses,
        transfer,
        campaign,
        note,
        utc_now(),
        actor.username,
    )
    return event_id


async def insert_card(
    conn: asyncpg.Connection,
    *,
    actor: Actor,
    data: CardCreate,
    field: str = "body",
    campaign: UUID | None = None,
) -> UUID:
    """Insert a card and its acquisition in the caller's transaction; 409 on a used code."""
    value = checked_money(data.original_value, f"{field}.original_value", positive=True)
    salvage = checked_money(data.salvage, f"{field}.salvage")
    if salvage < 0 or salvage > value:
        raise invalid(f"{field}.salvage", "must be between 0 and the original value")
    await ensure_open(conn, data.holder_id, data.acquired_on)
    card_id = uuid4()
    now = utc_now()
    try:
        async with conn.transaction():  # a savepoint: the duplicate is answered, not raised raw
            await conn.execute(
                "INSERT INTO asset_card (id, code, name, category, holder, location, source, "
                "operating, useful_life_months, salvage, status, acquired_on, created_at, "
                "created_by, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $13)",
                card_id,
                data.code,
                data.name,
                data.category.value,
                data.holder_id,
                data.location,
                data.source.value,
                data.operating,
                data.useful_life_months,
                salvage,
                data.status.value,
                data.acquired_on,
                now,
                actor.username,
            )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(
            f"code {data.code} is already used by a card of this holder",
            errors=[FieldProblem(field=f"{field}.code", reason="already used at this holder")],
        ) from exc
    await _insert_event(
        conn,
        actor=actor,
        card_id=card_id,
        holder=data.holder_id,
        kind=EventKind.acquire,
        day=data.acquired_on,
        original=value,
        campaign=campaign,
        note=SOURCE_LABELS[data.source],
    )
    return card_id


async def create_card(*, actor: Actor, data: CardCreate) -> CardRead:
    """Register a card and post its acquisition (original value) in one transaction."""
    await ledger_service.ensure_visible(actor, [data.holder_id])
    async with engine().transaction(), db.connection() as conn:
        if not await conn.fetchval("SELECT 1 FROM entity WHERE id = $1", data.holder_id):
            raise invalid("body.holder_id", f"entity {data.holder_id} does not exist")
        card_id = await insert_card(conn, actor=actor, data=data)
        read = card_read(await _card_row(conn, card_id))
        await audit.record(
            actor=actor.username,
            action="asset_card.create",
            object_type="asset_card",
            object_id=card_id,
            after=read,
        )
    return read


async def update_card(*, actor: Actor, card_id: UUID, data: CardUpdate) -> CardRead:
    """Change a card's name, location, operating flag or use (not its values: those are events)."""
    changes = {
        k: v
        for k, v in (
            ("name", data.name),
            ("location", data.location),
            ("operating", data.operating),
            ("status", data.status),
        )
        if v is not None
    }
    if not changes:
        raise invalid("body", "name at least one field to change")
    if changes.get("status") == Status.disposed:
        raise invalid("body.status", "a card is disposed by posting a dispose event")
    async with engine().transaction(), db.connection() as conn:
        row = await _locked_card(conn, actor, card_id)
        if row["status"] == Status.disposed.value:
            raise Conflict(f"asset card {card_id} is disposed")
        before = card_read(await _card_row(conn, card_id))
        sets = ", ".join(f"{k} = ${i}" for i, k in enumerate(changes, start=2))
        await conn.execute(
            f"UPDATE asset_card SET {sets}, updated_at = now() WHERE id = $1",
            card_id,
            *(v.value if isinstance(v, Status) else v for v in changes.values()),
        )
        after = card_read(await _card_row(conn, card_id))
        await audit.record(
            actor=actor.username,
            action="asset_card.update",
            object_type="asset_card",
            object_id=card_id,
            before=before,
            after=after,
        )
    return after


async def _locked_card(conn: asyncpg.Connection, actor: Actor, card_id: UUID) -> Any:
    """The card row, locked for this transaction; 404 when missing or outside the scope."""
    row = await conn.fetchrow("SELECT * FROM asset_card WHERE id = $1 FOR UPDATE", card_id)
    if row is None:
        raise NotFound(f"asset card {card_id} not found")
    await _ensure_card_visible(actor, row["holder"], card_id)
    return row


async def balances_at_holder(conn: asyncpg.Connection, card_id: UUID, holder: UUID) -> Any:
    """The card's original and depreciation booked at `holder`, its first and latest event dates."""
    return await conn.fetchrow(
        "SELECT coalesce(sum(original), 0) AS original, "
        "coalesce(sum(depreciation), 0) AS depreciation, max(event_date) AS last_date, "
        "min(event_date) AS first_date "
        "FROM asset_event WHERE card = $1 AND holder = $2",
        card_id,
        holder,
    )


async def post_event(*, actor: Actor, card_id: UUID, data: EventCreate) -> EventRead:
    """Post a revaluation, income, disposal or reversal on a card; 409 in a closed period."""
    async with engine().transaction(), db.connection() as conn:
        row = await _locked_card(conn, actor, card_id)
        holder = row["holder"]
        held = await balances_at_holder(conn, card_id, holder)
        if data.event_date < held["last_date"] and data.kind != PostableKind.income:
            raise invalid(
                "body.event_date",
                f"must be on or after the card's latest event ({held['last_date'].isoformat()})",
            )
        if data.event_date < held["first_date"]:
            # Income may be dated back, but not to before the holder had the card.
            raise invalid(
                "body.event_date",
                f"must be on or after the card came to its holder ({held['first_date'].isoformat()})",
            )
        if data.kind == PostableKind.reversal:
            event_id = await _reverse(conn, actor, row, data)
        else:
            event_id = await _post_simple(conn, actor, row, held, data)
        read = _event_read(await _event_row(conn, event_id))
        await audit.record(
            actor=actor.username,
            action=f"asset_event.{read.kind.value}",
            object_type="asset_card",
            object_id=card_id,
            after=read,
            reason=data.note or None,
        )
    return read


async def _post_simple(
    conn: asyncpg.Connection, actor: Actor, card: Any, held: Any, data: EventCreate
) -> UUID:
    if data.reverses is not None:
        raise invalid("body.reverses", "only a reversal names an event to reverse")
    if card["status"] == Status.disposed.value:
        raise Conflict(f"asset card {card['id']} is disposed; reverse the disposal first")
    kwargs: dict[str, Any] = {}
    if data.kind == PostableKind.dispose:
        if data.amount is not None:
            raise invalid("body.amount", "a disposal takes the card's balances; give no amount")
        kwargs = {"original": -held["original"], "depreciation": -held["depreciation"]}
    else:
        if data.amount is None:
            raise invalid("body.amount", "required for a revaluation or income")
        amount = checked_money(data.amount, "body.amount", positive=data.kind == "income")
        if data.kind == PostableKind.revalue:
            if amount == 0:
                raise invalid("body.amount", "a revaluation changes the original value")
            if held["original"] + amount < held["depreciation"]:
                raise invalid("body.amount", "would take the book value below zero")
            kwargs = {"original": amount}
        else:
            kwargs = {"income": amount}
    await ensure_open(conn, card["holder"], data.event_date)
    event_id = await _insert_event(
        conn,
        actor=actor,
        card_id=card["id"],
        holder=card["holder"],
        kind=EventKind(data.kind.value),
        day=data.event_date,
        note=data.note,
        **kwargs,
    )
    if data.kind == PostableKind.dispose:
        await conn.execute(
            "UPDATE asset_card SET status = 'disposed', updated_at = now() WHERE id = $1",
            card["id"],
        )
    return event_id


async def _reverse(conn: asyncpg.Connection, actor: Actor, card: Any, data: EventCreate) -> UUID:
    """Post the exact negation of the named event, at the holder it was booked at."""
    if data.reverses is None:
        raise invalid("body.reverses", "a reversal names the event it reverses")
    if data.amount is not None:
        raise invalid("body.amount", "a reversal takes the reversed event's amounts")
    target = await conn.fetchrow(
        "SELECT * FROM asset_event WHERE id = $1 AND card = $2", data.reverses, card["id"]
    )
    if target is None:
        raise invalid("body.reverses", f"event {data.reverses} is not an event of this card")
    if target["kind"] in ("transfer_in", "transfer_out"):
        raise invalid("body.reverses", "a posted transfer is undone by a transfer back")
    if target["holder"] != card["holder"]:
        raise invalid("body.reverses", "the event was booked at an earlier holder")
    if data.event_date < target["event_date"]:
        raise invalid("body.event_date", "must be on or after the reversed event's date")
    if await conn.fetchval("SELECT 1 FROM asset_event WHERE reverses = $1", data.reverses):
        raise Conflict(f"event {data.reverses} is already reversed")
    await ensure_open(conn, card["holder"], data.event_date)
    event_id = await _insert_event(
        conn,
        actor=actor,
        card_id=card["id"],
        holder=target["holder"],
        kind=EventKind.reversal,
        day=data.event_date,
        original=-target["original"],
        depreciation=-target["depreciation"],
        income=-target["income"],
        reverses=target["id"],
        note=data.note,
    )
    if target["kind"] == EventKind.dispose.value:
        await conn.execute(
            "UPDATE asset_card SET status = 'in_use', updated_at = now() WHERE id = $1",
            card["id"],
        )
    return event_id


_EVENT_SELECT = (
    "SELECT v.*, e.name AS holder_name FROM asset_event v JOIN entity e ON e.id = v.holder "
)


async def _event_row(conn: asyncpg.Connection, event_id: UUID) -> Any:
    return await conn.fetchrow(_EVENT_SELECT + "WHERE v.id = $1", event_id)


def _event_read(row: Any) -> EventRead:
    kind = EventKind(row["kind"])
    return EventRead(
        id=row["id"],
        card_id=row["card"],
        holder_id=row["holder"],
        holder_name=row["holder_name"],
        kind=kind,
        kind_label=EVENT_LABELS[kind],
        event_date=row["event_date"],
        original=as_stored(row["original"]),
        depreciation=as_stored(row["depreciation"]),
        income=as_stored(row["income"]),
        book_change=as_stored(row["original"] - row["depreciation"]),
        month=row["month"],
        reverses=row["reverses"],
        transfer_id=row["transfer"],
        campaign_id=row["campaign"],
        note=row["note"],
        created_at=row["created_at"],
        created_by=row["created_by"],
    )


# ------------------------------------------------------------------------------------------
# Lineage

_KIND_ORDER = "array_position(ARRAY['acquire','transfer_out','transfer_in']::text[], v.kind)"


async def lineage(*, actor: Actor, card_id: UUID) -> CardLineage:
    """资产脉络: the card, every event in order with who posted it, and every holder it had."""
    async with db.connection() as conn:
        card = card_read(await _card_row(conn, card_id))
        await _ensure_card_visible(actor, card.holder_id, card_id)
        rows = await conn.fetch(
            _EVENT_SELECT + f"WHERE v.card = $1 ORDER BY v.event_date, {_KIND_ORDER} NULLS LAST, "
            "v.created_at",
            card_id,
        )
    events = [_event_read(r) for r in rows]
    spans: list[HolderSpan] = []
    for event in events:
        if event.kind in (EventKind.acquire, EventKind.transfer_in):
            if spans:
                last = spans[-1]
                spans[-1] = HolderSpan(
                    holder_id=last.holder_id,
                    holder_name=last.holder_name,
                    from_date=last.from_date,
                    to_date=event.event_date,
                )
            spans.append(
                HolderSpan(
                    holder_id=event.holder_id,
                    holder_name=event.holder_name,
                    from_date=event.event_date,
                    to_date=None,
                )
            )
    return CardLineage(card=card, events=events, holders=spans)


async def holder_flows(*, actor: Actor, holder_id: UUID, period: str) -> list[HolderFlow]:
    """Per holder and period: what came in (acquired by source, transferred in) and went out."""
    from stateasset.core.periods import period_of

    parsed = period_of(period, "query.period")
    await ledger_service.ensure_visible(actor, [holder_id])
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT CASE WHEN v.kind = 'acquire' THEN 'acquire:' || c.source ELSE v.kind END "
            "AS kind, count(DISTINCT v.card) AS cards, sum(v.original - v.depreciation) AS book "
            "FROM asset_event v JOIN asset_card c ON c.id = v.card "
            "WHERE v.holder = $1 AND v.event_date BETWEEN $2 AND $3 "
            "AND v.kind IN ('acquire', 'transfer_in', 'transfer_out', 'dispose') "
            "GROUP BY 1 ORDER BY 1",
            holder_id,
            parsed.start,
            parsed.end,
        )
    return [
        HolderFlow(
            holder_id=holder_id,
            period=period,
            direction="in" if r["kind"].startswith(("acquire", "transfer_in")) else "out",
            kind=r["kind"],
            cards=r["cards"],
            book_value=as_stored(abs(r["book"])),
        )
        for r in rows
    ]


async def card_ids_by_code(holder_id: UUID, codes: Sequence[str]) -> dict[str, UUID]:
    """The cards of `holder_id` with these codes."""
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT code, id FROM asset_card WHERE holder = $1 AND code = ANY($2::text[])",
            holder_id,
            list(codes),
        )
    return {r["code"]: r["id"] for r in rows}
