"""Writing, sealing and verifying the audit log.

Every service write calls `record` inside its transaction: that only inserts the entry, so audit
rows exist exactly when their write committed and no writer waits on another. The chain is made
afterwards by `seal` (run by the sealer task every ~200 ms, at shutdown, and before every verify):
under a lock only sealers take, it links each committed, unsealed entry after the chain's head in
`audit_seal`, with an HMAC-SHA256 under a key kept outside the database. Each seal also appends a
checkpoint (seq, hash) to the anchor file, outside the database, at least every
`audit_anchor_seconds`; `verify_chain` walks the seals in order and checks every anchor, so an
edit, a removed link, a re-hash without the key, a removed tail and a wipe are all caught.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import structlog

from stateasset import db
from stateasset.audit.schemas import AuditRecord, ChainReport
from stateasset.core.errors import NotFound
from stateasset.core.http import request_id_var
from stateasset.core.schemas import Page
from stateasset.settings import get_settings

log = structlog.get_logger(__name__)

GENESIS = "0" * 64
# Taken by sealers only (never by a write), so one seal pass runs at a time across processes.
_SEAL_LOCK = 7_301_002
# An entry left unsealed this long after it was written, after verify sealed, is a problem.
UNSEALED_GRACE_SECONDS = 5
_ENTRY_COLUMNS = (
    "e.id, e.at, e.actor, e.action, e.object_type, e.object_id, e.before::text AS before, "
    "e.after::text AS after, e.reason, e.request_id"
)


def _enc_hook(value: Any) -> Any:
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise NotImplementedError(f"cannot audit a {type(value).__name__}")


def _json(value: Any) -> str | None:
    """JSON text for a JSONB column: money as strings (exact), dates ISO, structs as objects."""
    if value is None:
        return None
    return msgspec.json.encode(value, enc_hook=_enc_hook).decode()


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
    """Add one entry; call it inside the transaction of the write it records. Takes no lock."""
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO audit_log (at, actor, action, object_type, object_id, before, after, "
            "reason, request_id) VALUES (now(), $1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8)",
            actor,
            action,
            object_type,
            str(object_id),
            _json(before),
            _json(after),
            reason,
            request_id_var.get(),
        )


# --- the key and the anchors, both outside the database ---------------------------------------


def _data_file(name: str) -> Path:
    return get_settings().data_dir / name


@cache
def _key_from_file(path: Path) -> bytes:
    """The key kept in `path`, generated there (mode 0600) by the first process that needs it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process is writing it; read theirs below
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_hex(32) + "\n")
                file.flush()
                os.fsync(file.fileno())
    for _ in range(50):  # a racing writer may not have flushed yet
        key = path.read_text().strip()
        if key:
            return key.encode()
        time.sleep(0.01)
    raise RuntimeError(f"the audit key file {path} is empty")


def chain_key() -> bytes:
    """The HMAC key: `STATEASSET_AUDIT_KEY`, else the one generated in the data folder."""
    configured = get_settings().audit_key
    return configured.encode() if configured else _key_from_file(_data_file("audit.key"))


def anchor_file() -> Path:
    return get_settings().audit_anchor_file or _data_file("audit.anchors")


def _write_anchor(seq: int, digest: str) -> None:
    path = anchor_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = f"{seq} {digest} {datetime.now(UTC).isoformat(timespec='seconds')}\n".encode()
    # One short write with O_APPEND: lines from several processes never interleave.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(descriptor, line)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_anchors(keep: int = 10_000) -> list[tuple[int, str, str]]:
    """The last `keep` checkpoints in the anchor file: (seq, hash, when written).

    The latest alone catches a removed tail and a re-hash (which changes every later link);
    earlier ones only say sooner where. The file is read line by line, so its size costs time,
    not memory.
    """
    path = anchor_file()
    if not path.exists():
        return []
    anchors: deque[tuple[int, str, str]] = deque(maxlen=keep)
    with path.open() as lines:
        for line in lines:
            if not line.endswith("\n"):
                continue  # a checkpoint being appended right now
            parts = line.split()
            if len(parts) == 3 and parts[0].isdigit():
                anchors.append((int(parts[0]), parts[1], parts[2]))
    return list(anchors)


# --- sealing -----------------------------------------------------------------------------------


def link_hash(key: bytes, seq: int, prev_hash: str, entry: asyncpg.Record) -> str:
    """The seal's HMAC over its position, the previous link and the entry's stored content.

    JSON columns enter as PostgreSQL prints JSONB (a canonical text), so sealing and verifying
    both hash exactly what is stored.
    """
    message = msgspec.json.encode(
        [
            seq,
            prev_hash,
            entry["id"],
            entry["at"].astimezone(UTC).isoformat(timespec="microseconds"),
            entry["actor"],
            entry["action"],
            entry["object_type"],
            entry["object_id"],
            entry["before"],
            entry["after"],
            entry["reason"],
            entry["request_id"],
        ]
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class _AnchorClock:
    """When this process last wrote a checkpoint, and of which seal."""

    seq = 0
    at = 0.0


def forget_anchors() -> None:
    """Forget this process's last checkpoint (for a chain started afresh, as in tests)."""
    _AnchorClock.seq, _AnchorClock.at = 0, 0.0


async def seal(*, after_id: int = 0, batch: int = 5_000, anchor: bool = False) -> int:
    """Chain every committed, unsealed entry with an id above `after_id`; return how many.

    Entries are sealed in id order within a pass; one that commits late is sealed by a later pass
    (so a pass with `after_id` > 0 may leave it for a pass from 0). With `anchor`, the head is
    written to the anchor file now; otherwise once `audit_anchor_seconds` have passed.
    """
    key = chain_key()
    sealed = 0
    head: tuple[int, str] | None = None
    async with db.engine().transaction(), db.connection() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SEAL_LOCK)
        row = await conn.fetchrow("SELECT seq, hash FROM audit_seal ORDER BY seq DESC LIMIT 1")
        seq, prev_hash = (row["seq"], row["hash"]) if row else (0, GENESIS)
        head = (seq, prev_hash) if row else None
        while True:
            entries = await conn.fetch(
                f"SELECT {_ENTRY_COLUMNS} FROM audit_log e WHERE e.id > $1 AND NOT EXISTS "
                "(SELECT 1 FROM audit_seal s WHERE s.entry = e.id) ORDER BY e.id LIMIT $2",
                after_id,
                batch,
            )
            if not entries:
                break
            seqs, ids, prevs, hashes = [], [], [], []
            for entry in entries:
                seq += 1
                digest = link_hash(key, seq, prev_hash, entry)
                seqs.append(seq)
                ids.append(entry["id"])
                prevs.append(prev_hash)
                hashes.append(digest)
                prev_hash = digest
            await conn.execute(
                "INSERT INTO audit_seal (seq, entry, prev_hash, hash, sealed_at) "
                "SELECT *, now() FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[])",
                seqs,
                ids,
                prevs,
                hashes,
            )
            sealed += len(entries)
            after_id = ids[-1]
            head = (seq, prev_hash)
    # After the commit: an anchor must never name a seal that could still roll back.
    if head is not None and head[0] != _AnchorClock.seq:
        due = time.monotonic() - _AnchorClock.at >= get_settings().audit_anchor_seconds
        if anchor or due:
            _write_anchor(*head)
            _AnchorClock.seq, _AnchorClock.at = head[0], time.monotonic()
    return sealed


async def last_sealed_entry() -> int:
    """The highest entry id sealed so far (0 when none)."""
    async with db.connection() as conn:
        return await conn.fetchval("SELECT coalesce(max(entry), 0) FROM audit_seal")


# --- verifying ---------------------------------------------------------------------------------


def _broken(
    checked: int, anchors: int, entry: int | None, seq: int | None, why: str
) -> ChainReport:
    return ChainReport(
        ok=False,
        rows_checked=checked,
        first_broken_id=entry,
        first_broken_seq=seq,
        anchors_checked=anchors,
        problem=why,
    )


async def verify_chain(batch: int = 5_000) -> ChainReport:
    """Seal what is committed, then walk the chain in seq order and check it against the anchors.

    Reports the first link whose position, previous hash, entry or keyed hash is wrong; an
    anchored checkpoint the chain no longer holds (a removed tail, a wipe, a re-hash); and
    entries left unsealed past a few seconds.
    """
    await seal(anchor=True)
    key = chain_key()
    anchors: dict[int, str] = {}
    for anchored_seq, digest, _ in read_anchors():
        anchors[anchored_seq] = digest
    checked = matched = 0
    prev_seq, prev_hash = 0, GENESIS
    async with db.connection() as conn:
        while True:
            rows = await conn.fetch(
                "SELECT s.seq, s.entry, s.prev_hash AS link, s.hash AS seal_hash, "
                f"{_ENTRY_COLUMNS} FROM audit_seal s LEFT JOIN audit_log e ON e.id = s.entry "
                "WHERE s.seq > $1 ORDER BY s.seq LIMIT $2",
                prev_seq,
                batch,
            )
            for row in rows:
                checked += 1
                seq, entry = row["seq"], row["entry"]
                if seq != prev_seq + 1 or row["link"] != prev_hash:
                    return _broken(
                        checked,
                        matched,
                        entry,
                        seq,
                        f"seal {seq} does not follow seal {prev_seq} (a link was removed or "
                        "reordered)",
                    )
                if row["id"] is None:
                    return _broken(
                        checked, matched, entry, seq, f"entry {entry} was removed from the log"
                    )
                if not hmac.compare_digest(link_hash(key, seq, prev_hash, row), row["seal_hash"]):
                    return _broken(
                        checked,
                        matched,
                        entry,
                        seq,
                        "row content does not match its keyed hash (the entry was edited, or the "
                        "chain re-hashed without the key)",
                    )
                if seq in anchors:
                    if anchors[seq] != row["seal_hash"]:
                        return _broken(
                            checked,
                            matched,
                            entry,
                            seq,
                            f"seal {seq} differs from its anchored checkpoint (the chain was "
                            "rewritten)",
                        )
                    matched += 1
                prev_seq, prev_hash = seq, row["seal_hash"]
            if len(rows) < batch:
                break
        beyond = sorted(s for s in anchors if s > prev_seq)
        if beyond:
            return _broken(
                checked,
                matched,
                None,
                prev_seq + 1,  # the first seal that is gone
                f"the chain ends at seal {prev_seq} but seal {beyond[-1]} was anchored (its tail "
                "was removed or the log wiped)",
            )
        unsealed = await conn.fetchrow(
            "SELECT count(*) AS n, min(id) AS first FROM audit_log e WHERE NOT EXISTS "
            "(SELECT 1 FROM audit_seal s WHERE s.entry = e.id) "
            "AND e.at < now() - make_interval(secs => $1)",
            UNSEALED_GRACE_SECONDS,
        )
    if unsealed["n"]:
        return _broken(
            checked,
            matched,
            unsealed["first"],
            None,
            f"{unsealed['n']} entr{'y is' if unsealed['n'] == 1 else 'ies are'} not sealed into "
            "the chain",
        )
    return ChainReport(ok=True, rows_checked=checked, anchors_checked=matched)


# --- reading -----------------------------------------------------------------------------------


def _records(rows: Iterable[asyncpg.Record]) -> list[AuditRecord]:
    return [
        AuditRecord(
            id=r["id"],
            at=r["at"],
            actor=r["actor"],
            action=r["action"],
            object_type=r["object_type"],
            object_id=r["object_id"],
            before=msgspec.json.decode(r["before"]) if r["before"] is not None else None,
            after=msgspec.json.decode(r["after"]) if r["after"] is not None else None,
            reason=r["reason"],
            request_id=r["request_id"],
            seq=r["seq"],
            prev_hash=r["prev_hash"],
            hash=r["hash"],
        )
        for r in rows
    ]


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
    """Newest first, filtered by person, object and time; each with its link once sealed."""
    where, args = ["true"], []
    for column, value in (
        ("actor", actor),
        ("object_type", object_type),
        ("object_id", object_id),
        ("action", action),
    ):
        if value:
            args.append(value)
            where.append(f"e.{column} = ${len(args)}")
    if since:
        args.append(since)
        where.append(f"e.at >= ${len(args)}")
    if until:
        args.append(until)
        where.append(f"e.at < ${len(args)}")
    condition = " AND ".join(where)
    async with db.connection() as conn:
        rows = await conn.fetch(
            f"SELECT {_ENTRY_COLUMNS}, s.seq, s.prev_hash, s.hash FROM audit_log e "
            f"LEFT JOIN audit_seal s ON s.entry = e.id WHERE {condition} "
            f"ORDER BY e.id DESC LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args,
            limit,
            offset,
        )
        total = await conn.fetchval(f"SELECT count(*) FROM audit_log e WHERE {condition}", *args)
    return Page(items=_records(rows), total=total, limit=limit, offset=offset)


async def get_entry(entry_id: int) -> AuditRecord:
    """One entry with its link once sealed; NotFound when no entry has that id."""
    async with db.connection() as conn:
        rows = await conn.fetch(
            f"SELECT {_ENTRY_COLUMNS}, s.seq, s.prev_hash, s.hash FROM audit_log e "
            "LEFT JOIN audit_seal s ON s.entry = e.id WHERE e.id = $1",
            entry_id,
        )
    if not rows:
        raise NotFound(f"no audit entry {entry_id}")
    return _records(rows)[0]
