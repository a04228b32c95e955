"""Shapes of the stored ratios (比率) and their runs: what was computed, from which statements."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

NodeCode = Annotated[
    str,
    msgspec.Meta(
        min_length=5,
        max_length=60,
        description="group, segment:<code>, platform:<entity id> or entity:<entity id>",
    ),
]


class RatioRunCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Compute a period's ratios; without ids or nodes, every filer and every standard node."""

    period: Annotated[str, msgspec.Meta(max_length=7, description="YYYY, YYYY-Qn or YYYY-MM")]
    entity_ids: Annotated[list[UUID], msgspec.Meta(max_length=20000)] | None = None
    nodes: Annotated[list[NodeCode], msgspec.Meta(max_length=500)] | None = None


class RatioRunRead(msgspec.Struct, frozen=True, kw_only=True):
    """A run: its version of the period, whether readers see it, and how much it holds."""

    id: UUID
    period: str
    version: int
    current: bool
    as_of: date
    entities: int
    nodes: int
    rows: int
    null_values: int
    created_at: datetime
    created_by: str


class StatementVersionUsed(msgspec.Struct, frozen=True, kw_only=True):
    """A statement version behind a ratio: the period's own or the opening year-end's."""

    entity_id: UUID
    period: str
    statement_id: UUID
    version: int


class RatioRead(msgspec.Struct, frozen=True, kw_only=True):
    """One stored ratio of an entity (its own statement) or of a node (its consolidation)."""

    run_id: UUID
    run_version: int
    entity_id: UUID | None
    node: str | None
    period: str
    ratio: str
    ratio_name: str
    value: float | None
    reason: str | None
    statements: list[StatementVersionUsed]
