"""The asset register's tables read into Polars by COPY (as `ledger.frames` reads the ledger's).

The schemas are `compute`'s; amounts travel as NUMERIC text and are cast exactly.

Events are append-only (a trigger refuses UPDATE, DELETE and TRUNCATE), so the set of events a
snapshot sees only grows. `events_frame` keeps the last read per process with the table's
storage (its relfilenode, which a TRUNCATE or a restore replaces), row count and highest `seq`
(insert order). In one snapshot it counts the rows, then: the same count, the events are exactly
those kept; more, it reads only the rows numbered above the highest kept, and keeps the whole if
the kept count plus those equals the new count (a transaction that took a lower number but
committed later makes them differ, and the table is read afresh); anything else is read afresh.
A depreciation run that appends a month of events therefore costs the next reader those events,
not the table. It is used only outside a transaction, whose own uncommitted rows must not be
kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import polars as pl

from stateasset import db
from stateasset.db import engine
from stateasset.ledger.assets.compute import (
    CARD_KINDS_SCHEMA,
    CARDS_SCHEMA,
    CASH_SCHEMA,
    EVENTS_SCHEMA,
)
from stateasset.ledger.frames import _copy_frame

_EVENT_COLUMNS = (
    "card::text AS card_id, holder::text AS holder_id, kind, event_date, original, "
    "depreciation, income"
)
_CARD_COLUMNS = (
    "id::text AS card_id, holder::text AS holder_id, category, operating::text AS operating, "
    "useful_life_months, salvage, acquired_on, status"
)


@dataclass(frozen=True)
class _Kept:
    """The events read last: of which table storage, how many, up to which `seq`."""

    storage: tuple[str, int]
    count: int
    top: int
    frame: pl.DataFrame


_kept: _Kept | None = None
# A million events name a hundred thousand cards: read as Categorical, the ids are stored once
# each and grouped by integer code, several times faster than by text.
_EVENTS_READ = {
    **EVENTS_SCHEMA,
    **{name: pl.Categorical() for name in ("card_id", "holder_id", "kind")},
}


async def _all_events() -> pl.DataFrame:
    """Every event, from what this process read before where the table allows (the docstring)."""
    global _kept
    async with db.connection() as conn, conn.transaction(isolation="repeatable_read"):
        row = await conn.fetchrow(
            "SELECT current_database() AS db, pg_relation_filenode('asset_event') AS node, "
            "count(*) AS n, coalesce(max(seq), 0) AS top FROM asset_event"
        )
        storage, count, top = (row["db"], row["node"]), row["n"], row["top"]
        kept = _kept if _kept is not None and _kept.storage == storage else None
        if kept is not None and kept.count == count:
            return kept.frame
        frame = None
        # Same connection, same snapshot: the rows counted are the rows read.
        if kept is not None and count > kept.count:
            new = await _copy_frame(
                f"SELECT {_EVENT_COLUMNS} FROM asset_event WHERE seq > $1",
                kept.top,
                schema=_EVENTS_READ,
                conn=conn,
            )
            if kept.count + new.height == count:
                frame = pl.concat([kept.frame, new], rechunk=False)
        if frame is None:
            frame = await _copy_frame(
                f"SELECT {_EVENT_COLUMNS} FROM asset_event", schema=_EVENTS_READ, conn=conn
            )
    _kept = _Kept(storage, count, top, frame)
    return frame


def forget_events() -> None:
    """Drop the cached events (tests that rebuild the table under the same counts call it)."""
    global _kept
    _kept = None


async def events_frame(
    *, up_to: date | None = None, card_ids: Sequence[UUID] | None = None
) -> pl.LazyFrame:
    """Asset events (EVENTS_SCHEMA) dated on or before `up_to`, of `card_ids` when given."""
    if card_ids is None and engine().current_transaction.get() is None:
        frame = (await _all_events()).lazy()
        return frame if up_to is None else frame.filter(pl.col("event_date") <= up_to)
    where, args = ["event_date <= $1"], [up_to or date.max]
    if card_ids is not None:
        where.append("card = ANY($2::uuid[])")
        args.append(list(card_ids))  # type: ignore[arg-type]
    frame = await _copy_frame(
        f"SELECT {_EVENT_COLUMNS} FROM asset_event WHERE {' AND '.join(where)}",
        *args,
        schema=_EVENTS_READ,
    )
    return frame.lazy()


async def cards_frame(card_ids: Sequence[UUID] | None = None) -> pl.LazyFrame:
    """Cards as they are now (CARDS_SCHEMA), every card or those of `card_ids`."""
    if card_ids is None:
        frame = await _copy_frame(f"SELECT {_CARD_COLUMNS} FROM asset_card", schema=CARDS_SCHEMA)
    else:
        frame = await _copy_frame(
            f"SELECT {_CARD_COLUMNS} FROM asset_card WHERE id = ANY($1::uuid[])",
            list(card_ids),
            schema=CARDS_SCHEMA,
        )
    return frame.lazy()


async def card_kinds_frame() -> pl.LazyFrame:
    """Every card's category and operating flag (CARD_KINDS_SCHEMA): all the ratios need of it."""
    frame = await _copy_frame(
        "SELECT id::text AS card_id, category, operating::text AS operating FROM asset_card",
        schema=CARD_KINDS_SCHEMA,
    )
    return frame.lazy()


async def cash_frame(period: str) -> pl.LazyFrame:
    """Each entity's cash (货币资金) in its latest statement version for `period` (CASH_SCHEMA)."""
    frame = await _copy_frame(
        "SELECT DISTINCT ON (s.entity) s.entity::text AS entity_id, l.amount AS cash "
        "FROM statement s JOIN statement_line l ON l.statement = s.id AND l.item = 'cash' "
        "WHERE s.period = $1 ORDER BY s.entity, s.version DESC",
        period,
        schema=CASH_SCHEMA,
    )
    return frame.lazy()
