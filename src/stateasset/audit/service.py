"""Writing and verifying the audit log. Every service write calls `record` inside its transaction."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from stateasset.audit.schemas import AuditRecord, ChainReport
from stateasset.audit.tables import AuditEntry
from stateasset.core.http import request_id_var
from stateasset.core.schemas import Page

GENESIS = "0" * 64
# Any fixed number serialises audit writers: the chain needs one writer at a time to stay a chain.
_CHAIN_LOCK = 7_301_001


def _plain(value: Any) -> Any:
    """A JSON-safe copy: money as strings (exact), dates ISO, structs as dicts."""
    return msgspec.json.decode(msgspec.json.encode(value, enc_hook=_enc_hook))


def _enc_hook(value: Any) -> Any:
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise NotImplementedError(f"cannot audit a {type(value).__name__}")


def _digest(
    *,
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Any,
    after: Any,
    reason: str | None,
    request_id: str,
) -> str:
    canonical = msgspec.json.encode(
        {
            "prev_hash": prev_hash,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "before": before,
            "after": after,
            "reason": reason,
            "request_id": request_id,
        },
        order="sorted",
    )
    return hashlib.sha256(canonical).hexdigest()


async def record(
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | UUID,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
) -> None:
    """Append one row, chained to the last; call it inside the transaction of the write it records."""
    await AuditEntry.raw("SELECT pg_advisory_xact_lock({})", _CHAIN_LOCK)
    last = await AuditEntry.select(AuditEntry.hash).order_by(AuditEntry.id, ascending=False).first()
    prev_hash = last["hash"] if last else GENESIS
    at = datetime.now(UTC)
    fields = {
        "at": at,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "before": _plain(before),
        "after": _plain(after),
        "reason": reason,
        "request_id": request_id_var.get(),
    }
    digest = _digest(prev_hash=prev_hash, **fields)
    await AuditEntry.insert(AuditEntry(prev_hash=prev_hash, hash=digest, **fields))


async def verify_chain(batch: int = 5_000) -> ChainReport:
    """Walk the whole chain in id order and report the first row whose link or content is wrong."""
    prev_hash = GENESIS
    checked = 0
    after_id = 0
    while True:
        rows = (
            await AuditEntry.select()
            .where(AuditEntry.id > after_id)
            .order_by(AuditEntry.id)
            .limit(batch)
        )
        if not rows:
            return ChainReport(ok=True, rows_checked=checked)
        for row in rows:
            checked += 1
            if row["prev_hash"] != prev_hash:
                return ChainReport(
                    ok=False,
                    rows_checked=checked,
                    first_broken_id=row["id"],
                    problem="prev_hash does not match the previous row (a row was removed or reordered)",
                )
            expected = _digest(
                prev_hash=row["prev_hash"],
                at=row["at"],
                actor=row["actor"],
                action=row["action"],
                object_type=row["object_type"],
                object_id=row["object_id"],
                before=row["before"]
                if not isinstance(row["before"], str)
                else msgspec.json.decode(row["before"]),
                after=row["after"]
                if not isinstance(row["after"], str)
                else msgspec.json.decode(row["after"]),
                reason=row["reason"],
                request_id=row["request_id"],
            )
            if expected != row["hash"]:
                return ChainReport(
                    ok=False,
                    rows_checked=checked,
                    first_broken_id=row["id"],
                    problem="row content does not match its hash (the row was edited)",
                )
            prev_hash = row["hash"]
            after_id = row["id"]


async def list_entries(
    *,
    actor: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[AuditRecord]:
    """Newest first, filtered by person, object and time."""
    where = []
    if actor:
        where.append(AuditEntry.actor == actor)
    if object_type:
        where.append(AuditEntry.object_type == object_type)
    if object_id:
        where.append(AuditEntry.object_id == object_id)
    if action:
        where.append(AuditEntry.action == action)
    if since:
        where.append(AuditEntry.at >= since)
    if until:
        where.append(AuditEntry.at < until)
    query = AuditEntry.select().order_by(AuditEntry.id, ascending=False).limit(limit).offset(offset)
    count = AuditEntry.count()
    if where:
        query = query.where(*where)
        count = count.where(*where)
    rows = await query
    for row in rows:
        for column in ("before", "after"):
            if isinstance(row[column], str):
                row[column] = msgspec.json.decode(row[column])
    return Page(
        items=[msgspec.convert(r, AuditRecord) for r in rows],
        total=await count,
        limit=limit,
        offset=offset,
    )
