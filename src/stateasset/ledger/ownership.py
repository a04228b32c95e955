"""Ownership read once per (root, as-of date, ownership version) and shared by every request.

Computing ownership at 5,000 entities takes tens of milliseconds, and a request used to do it
twice (scope, then the consolidation). It only changes when a stake or a control override does,
and every such write changes the ownership version token in its own transaction
(`bump_version`), so a frame computed for one token is valid until the token moves. Each process
keeps a small LRU of frames; the token is read from the database on every use (one indexed row),
so processes never disagree for longer than a commit.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import polars as pl

from stateasset.ledger.compute import ownership as ownership_calc
from stateasset.ledger.frames import overrides_frame, stakes_frame
from stateasset.ledger.tables import OwnershipVersion
from stateasset.settings import get_settings

CACHE_SIZE = 64


@dataclass(frozen=True)
class OwnershipSnapshot:
    """One root's ownership frame at one date, and what follows from it."""

    frame: pl.DataFrame
    """entity_id, effective_interest, consolidated_interest, group_votes, controlled, method,
    parent_id (compute.ownership)."""
    controlled: frozenset[UUID]
    """The entities the root controls (its consolidation members besides itself)."""
    stakes: pl.DataFrame
    """The stakes valid at the date it was computed from (frames.STAKES_SCHEMA)."""
    members: list[str]
    """The root and every entity it controls, as sorted id strings: a consolidation's members."""
    token: UUID | None
    """The ownership version it was computed for."""


_cache: OrderedDict[tuple[object, ...], OwnershipSnapshot] = OrderedDict()


async def version() -> UUID | None:
    """The current ownership version token; None before any stake or override was written."""
    row = await OwnershipVersion.select(OwnershipVersion.token).first()
    return row["token"] if row else None


async def bump_version() -> None:
    """Give ownership a new version; call inside every stake or override write's transaction.

    It takes the counter row's lock, held to commit: every stake write waits for the one before.
    `audit.record` takes no lock, so where it is called does not matter to that order.
    """
    await OwnershipVersion.raw(
        "INSERT INTO ownership_version (id, token) VALUES (1, gen_random_uuid()) "
        "ON CONFLICT (id) DO UPDATE SET token = excluded.token"
    )


async def snapshot(root: UUID, as_of: date) -> OwnershipSnapshot:
    """`root`'s ownership at `as_of`, computed once per ownership version."""
    settings = get_settings()
    token = await version()
    key = (token, root, as_of, settings.control_threshold, settings.equity_floor)
    if token is not None and (hit := _cache.get(key)) is not None:
        _cache.move_to_end(key)
        return hit
    stakes = (await stakes_frame(as_of)).collect()
    frame = ownership_calc.ownership(
        stakes.lazy(),
        str(root),
        threshold=settings.control_threshold,
        overrides=await overrides_frame(as_of),
        equity_floor=settings.equity_floor,
    ).collect()
    inside = frame.filter(pl.col("controlled"))["entity_id"]
    result = OwnershipSnapshot(
        frame=frame,
        controlled=frozenset(UUID(e) for e in inside),
        stakes=stakes,
        members=sorted({str(root), *inside.to_list()}),
        token=token,
    )
    if token is not None:  # without a token nothing says when it would go stale
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result
