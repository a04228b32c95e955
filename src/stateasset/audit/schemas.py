from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class AuditRecord(msgspec.Struct, frozen=True):
    """One audit-log row as the auditor reads it."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    reason: str | None
    request_id: str
    seq: int | None  # its position in the chain; null until the sealer links it (~200 ms)
    prev_hash: str | None
    hash: str | None


class ChainReport(msgspec.Struct, frozen=True, kw_only=True):
    """The result of walking the chain: `problem` is null when every link and anchor holds.

    `first_broken_id` is the audit entry and `first_broken_seq` the chain position at fault
    (either may be null: a removed tail has no entry, an unsealed entry no position);
    `anchors_checked` counts the checkpoints from outside the database found in the chain.
    """

    ok: bool
    rows_checked: int
    anchors_checked: int = 0
    first_broken_id: int | None = None
    first_broken_seq: int | None = None
    problem: str | None = None
