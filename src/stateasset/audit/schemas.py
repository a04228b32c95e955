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
    prev_hash: str
    hash: str


class ChainReport(msgspec.Struct, frozen=True):
    """The result of walking the chain: `first_broken_id` is null when every link holds."""

    ok: bool
    rows_checked: int
    first_broken_id: int | None = None
    problem: str | None = None
