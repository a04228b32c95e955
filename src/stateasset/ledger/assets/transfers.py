"""Transfers (划拨): several cards from one holder to another, requested → approved → posted.

A transfer is approved by someone other than its requester who holds `ledger:approve` and sees
both holders; it is posted all or none, each card leaving the old holder with its whole balances
(a `transfer_out` event) and arriving at the new one with the same (`transfer_in`), so inside the
group the total book value does not change by a cent. A transfer from an agency or institution
into the group is marked `into_group` and its cards arrive with source 划拨.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import asyncpg

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.guards import allowed
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import Conflict, FieldProblem, Forbidden, Invalid, NotFound, invalid
from stateasset.core.money import as_stored
from stateasset.core.schemas import Page
from stateasset.db import engine
from stateasset.ledger import service as ledger_service
from stateasset.ledger.assets import service as cards
from stateasset.ledger.assets.schemas import (
    TRANSFER_STATUS_LABELS,
    EventKind,
    TransferCreate,
    TransferRead,
)
from stateasset.ledger.schemas import EntityKind

OUTSIDE_GROUP = {EntityKind.agency.value, EntityKind.institution.value}


async def _transfer_read(conn: asyncpg.Connection, transfer_id: UUID) -> TransferRead:
    row = await conn.fetchrow(
        "SELECT t.*, f.name AS from_name, o.name AS to_name FROM asset_transfer t "
        "JOIN entity f ON f.id = t.from_holder JOIN entity o ON o.id = t.to_holder "
        "WHERE t.id = $1",
        transfer_id,
    )
    if row is None:
        raise NotFound(f"transfer {transfer_id} not found")
    items = await conn.fetch(
        "SELECT i.card, coalesce(sum(v.original - v.depreciation) FILTER (WHERE v.holder = "
        "$2), 0) AS book, coalesce(max(CASE WHEN v.kind = 'transfer_in' AND v.transfer = $1 THEN "
        "v.original - v.depreciation END), 0) AS moved "
        "FROM asset_transfer_item i LEFT JOIN asset_event v ON v.card = i.card AND "
        "(v.holder = $2 OR v.transfer = $1) WHERE i.transfer = $1 GROUP BY i.card ORDER BY i.card",
        transfer_id,
        row["from_holder"],
    )
    posted = row["status"] == "posted"
    book = sum((r["moved"] if posted else r["book"] for r in items), start=0)
    return TransferRead(
        id=row["id"],
        from_holder_id=row["from_holder"],
        from_holder_name=row["from_name"],
        to_holder_id=row["to_holder"],
        to_holder_name=row["to_name"],
        transfer_date=row["transfer_date"],
        into_group=row["into_group"],
        status=row["status"],
        status_label=TRANSFER_STATUS_LABELS[row["status"]],
        note=row["note"],
        card_ids=[r["card"] for r in items],
        book_value=as_stored(book),
        requested_by=row["requested_by"],
        requested_at=row["requested_at"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        reject_reason=row["reject_reason"],
        posted_by=row["posted_by"],
        posted_at=row["posted_at"],
    )


async def request_transfer(*, actor: Actor, data: TransferCreate) -> TransferRead:
    """Raise a transfer of cards that one holder holds; nothing moves until it is approved."""
    if len(set(data.card_ids)) != len(data.card_ids):
        raise invalid("body.card_ids", "a card is listed twice")
    async with engine().transaction(), db.connection() as conn:
        rows = await conn.fetch(
            "SELECT id, holder, status FROM asset_card WHERE id = ANY($1::uuid[])",
            list(data.card_ids),
        )
        found = {r["id"]: r for r in rows}
        visible = await ledger_service.visible_entity_ids(actor)
        for card_id in data.card_ids:
            row = found.get(card_id)
            if row is None or (visible is not None and row["holder"] not in visible):
                raise NotFound(f"asset card {card_id} not found")
        holders = {r["holder"] for r in rows}
        if len(holders) != 1:
            raise invalid("body.card_ids", "every card of one transfer has the same holder")
        from_holder = holders.pop()
        problems = [
            FieldProblem(field=f"body.card_ids[{i}]", reason="the card is disposed")
            for i, c in enumerate(data.card_ids)
            if found[c]["status"] == "disposed"
        ]
        if problems:
            raise Invalid("disposed cards cannot be transferred", errors=problems)
        if data.to_holder_id == from_holder:
            raise invalid("body.to_holder_id", "the cards are already held there")
        kinds = {
            r["id"]: r["kind"]
            for r in await conn.fetch(
                "SELECT id, kind FROM entity WHERE id = ANY($1::uuid[])",
                [from_holder, data.to_holder_id],
            )
        }
        if data.to_holder_id not in kinds:
            raise invalid("body.to_holder_id", f"entity {data.to_holder_id} does not exist")
        pending = await conn.fetchval(
            "SELECT i.card FROM asset_transfer_item i JOIN asset_transfer t ON t.id = i.transfer "
            "WHERE t.status IN ('requested', 'approved') AND i.card = ANY($1::uuid[]) LIMIT 1",
            list(data.card_ids),
        )
        if pending is not None:
            raise Conflict(f"asset card {pending} is already in a transfer awaiting its turn")
        transfer_id = uuid4()
        into_group = (
            kinds[from_holder] in OUTSIDE_GROUP and kinds[data.to_holder_id] not in OUTSIDE_GROUP
        )
        await conn.execute(
            "INSERT INTO asset_transfer (id, from_holder, to_holder, transfer_date, into_group, "
            "status, note, requested_by, requested_at) "
            "VALUES ($1, $2, $3, $4, $5, 'requested', $6, $7, $8)",
            transfer_id,
            from_holder,
            data.to_holder_id,
            data.transfer_date,
            into_group,
            data.note,
            actor.username,
            utc_now(),
        )
        await conn.executemany(
            "INSERT INTO asset_transfer_item (transfer, card) VALUES ($1, $2)",
            [(transfer_id, c) for c in data.card_ids],
        )
        read = await _transfer_read(conn, transfer_id)
        await audit.record(
            actor=actor.username,
            action="asset_transfer.request",
            object_type="asset_transfer",
            object_id=transfer_id,
            after=read,
        )
    return read


async def _locked_transfer(conn: asyncpg.Connection, actor: Actor, transfer_id: UUID) -> Any:
    row = await conn.fetchrow("SELECT * FROM asset_transfer WHERE id = $1 FOR UPDATE", transfer_id)
    if row is None:
        raise NotFound(f"transfer {transfer_id} not found")
    visible = await ledger_service.visible_entity_ids(actor)
    if visible is not None and not {row["from_holder"], row["to_holder"]} & visible:
        raise NotFound(f"transfer {transfer_id} not found")
    return row


def _may_decide(actor: Actor, row: Any, visible: set[UUID] | None) -> None:
    """403 unless `actor` may approve or reject: not the requester, approval rights on both."""
    if row["requested_by"] == actor.username:
        raise Forbidden("a transfer is approved or rejected by someone other than its requester")
    if not allowed(actor, Permission.ledger_approve):
        raise Forbidden(f"approving a transfer needs permission {Permission.ledger_approve.value}")
    if visible is not None and not {row["from_holder"], row["to_holder"]} <= visible:
        raise Forbidden("approving a transfer needs approval rights over both holders")


async def approve_transfer(*, actor: Actor, transfer_id: UUID, post: bool = True) -> TransferRead:
    """Approve a requested transfer (and post it, unless `post` is false)."""
    async with engine().transaction(), db.connection() as conn:
        row = await _locked_transfer(conn, actor, transfer_id)
        _may_decide(actor, row, await ledger_service.visible_entity_ids(actor))
        if row["status"] != "requested":
            raise Conflict(f"transfer {transfer_id} is {row['status']}, not requested")
        await conn.execute(
            "UPDATE asset_transfer SET status = 'approved', decided_by = $2, decided_at = $3 "
            "WHERE id = $1",
            transfer_id,
            actor.username,
            utc_now(),
        )
        if post:
            await _post(conn, actor, row)
        read = await _transfer_read(conn, transfer_id)
        await audit.record(
            actor=actor.username,
            action="asset_transfer.approve" + ("_and_post" if post else ""),
            object_type="asset_transfer",
            object_id=transfer_id,
            before={"status": "requested"},
            after=read,
        )
    return read


async def post_transfer(*, actor: Actor, transfer_id: UUID) -> TransferRead:
    """Post an approved transfer: every card moves, or none does (409 on a closed period)."""
    async with engine().transaction(), db.connection() as conn:
        row = await _locked_transfer(conn, actor, transfer_id)
        if not allowed(actor, Permission.ledger_approve):
            raise Forbidden(
                f"posting a transfer needs permission {Permission.ledger_approve.value}"
            )
        if row["status"] != "approved":
            raise Conflict(f"transfer {transfer_id} is {row['status']}, not approved")
        await _post(conn, actor, row)
        read = await _transfer_read(conn, transfer_id)
        await audit.record(
            actor=actor.username,
            action="asset_transfer.post",
            object_type="asset_transfer",
            object_id=transfer_id,
            before={"status": "approved"},
            after=read,
        )
    return read


async def _post(conn: asyncpg.Connection, actor: Actor, transfer: Any) -> None:
    day, source, target = transfer["transfer_date"], transfer["from_holder"], transfer["to_holder"]
    await cards.ensure_open(conn, source, day)
    await cards.ensure_open(conn, target, day)
    items = await conn.fetch(
        "SELECT c.id, c.holder, c.code, c.status FROM asset_transfer_item i "
        "JOIN asset_card c ON c.id = i.card WHERE i.transfer = $1 ORDER BY c.id FOR UPDATE OF c",
        transfer["id"],
    )
    problems = []
    for index, card in enumerate(items):
        if card["holder"] != source or card["status"] == "disposed":
            problems.append(
                FieldProblem(field=f"card_ids[{index}]", reason="no longer held there or disposed")
            )
    clash = await conn.fetch(
        "SELECT code FROM asset_card WHERE holder = $1 AND code = ANY($2::text[])",
        target,
        [c["code"] for c in items],
    )
    problems += [
        FieldProblem(field="card_ids", reason=f"code {r['code']} is already used at the receiver")
        for r in clash
    ]
    if problems:
        raise Conflict("the transfer cannot be posted; nothing moved", errors=problems)
    for card in items:
        held = await cards.balances_at_holder(conn, card["id"], source)
        if held["last_date"] is not None and held["last_date"] > day:
            raise Conflict(
                f"asset card {card['id']} has events after the transfer date; date it later",
            )
        for holder, kind, sign in (
            (source, EventKind.transfer_out, -1),
            (target, EventKind.transfer_in, 1),
        ):
            await cards._insert_event(
                conn,
                actor=actor,
                card_id=card["id"],
                holder=holder,
                kind=kind,
                day=day,
                original=sign * held["original"],
                depreciation=sign * held["depreciation"],
                transfer=transfer["id"],
                note="划入集团" if transfer["into_group"] else "划拨",
            )
    source_update = ", source = 'transfer_in'" if transfer["into_group"] else ""
    await conn.execute(
        f"UPDATE asset_card SET holder = $2, updated_at = now(){source_update} "
        "WHERE id = ANY($1::uuid[])",
        [c["id"] for c in items],
        target,
    )
    await conn.execute(
        "UPDATE asset_transfer SET status = 'posted', posted_by = $2, posted_at = $3 WHERE id = $1",
        transfer["id"],
        actor.username,
        utc_now(),
    )


async def reject_transfer(*, actor: Actor, transfer_id: UUID, reason: str) -> TransferRead:
    """Reject a requested transfer with a reason; its cards stay where they are."""
    async with engine().transaction(), db.connection() as conn:
        row = await _locked_transfer(conn, actor, transfer_id)
        _may_decide(actor, row, await ledger_service.visible_entity_ids(actor))
        if row["status"] != "requested":
            raise Conflict(f"transfer {transfer_id} is {row['status']}, not requested")
        await conn.execute(
            "UPDATE asset_transfer SET status = 'rejected', decided_by = $2, decided_at = $3, "
            "reject_reason = $4 WHERE id = $1",
            transfer_id,
            actor.username,
            utc_now(),
            reason,
        )
        read = await _transfer_read(conn, transfer_id)
        await audit.record(
            actor=actor.username,
            action="asset_transfer.reject",
            object_type="asset_transfer",
            object_id=transfer_id,
            before={"status": "requested"},
            after=read,
            reason=reason,
        )
    return read


async def get_transfer(*, actor: Actor, transfer_id: UUID) -> TransferRead:
    async with db.connection() as conn:
        row = await conn.fetchrow(
            "SELECT from_holder, to_holder FROM asset_transfer WHERE id = $1", transfer_id
        )
        visible = await ledger_service.visible_entity_ids(actor)
        if row is None or (
            visible is not None and not {row["from_holder"], row["to_holder"]} & visible
        ):
            raise NotFound(f"transfer {transfer_id} not found")
        return await _transfer_read(conn, transfer_id)


async def list_transfers(
    *, actor: Actor, status: str | None = None, limit: int = 50, offset: int = 0
) -> Page[TransferRead]:
    """Transfers touching the actor's scope, newest first; `status=requested` is the approval queue."""
    visible = await ledger_service.visible_entity_ids(actor)
    where, args = [], []
    if status is not None:
        args.append(status)
        where.append(f"status = ${len(args)}")
    if visible is not None:
        args.append(list(visible))
        n = len(args)
        where.append(f"(from_holder = ANY(${n}::uuid[]) OR to_holder = ANY(${n}::uuid[]))")
    clause = " WHERE " + " AND ".join(where) if where else ""
    async with db.connection() as conn:
        ids = await conn.fetch(
            f"SELECT id FROM asset_transfer{clause} ORDER BY requested_at DESC, id "
            f"LIMIT {int(limit)} OFFSET {int(offset)}",
            *args,
        )
        total = await conn.fetchval(f"SELECT count(*) FROM asset_transfer{clause}", *args)
        items = [await _transfer_read(conn, r["id"]) for r in ids]
    return Page(items=items, total=total, limit=limit, offset=offset)


async def pending_transfers(*, actor: Actor) -> list[TransferRead]:
    """Transfers awaiting approval that `actor` may decide (not their own; both holders seen)."""
    if not allowed(actor, Permission.ledger_approve):
        return []
    page = await list_transfers(actor=actor, status="requested", limit=500)
    visible = await ledger_service.visible_entity_ids(actor)
    return [
        t
        for t in page.items
        if t.requested_by != actor.username
        and (visible is None or {t.from_holder_id, t.to_holder_id} <= visible)
    ]
