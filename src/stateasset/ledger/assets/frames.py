"""The asset register's tables read into Polars by COPY (as `ledger.frames` reads the ledger's).

The schemas are `compute`'s; amounts travel as NUMERIC text and are cast exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import polars as pl

from stateasset.ledger.assets.compute import CARDS_SCHEMA, CASH_SCHEMA, EVENTS_SCHEMA
from stateasset.ledger.frames import _copy_frame

_EVENT_COLUMNS = (
    "card::text AS card_id, holder::text AS holder_id, kind, event_date, original, "
    "depreciation, income"
)
_CARD_COLUMNS = (
    "id::text AS card_id, holder::text AS holder_id, category, operating::text AS operating, "
    "useful_life_months, salvage, acquired_on, status"
)


async def events_frame(
    *, up_to: date | None = None, card_ids: Sequence[UUID] | None = None
) -> pl.LazyFrame:
    """Asset events (EVENTS_SCHEMA) dated on or before `up_to`, of `card_ids` when given."""
    where, args = ["event_date <= $1"], [up_to or date.max]
    if card_ids is not None:
        where.append("card = ANY($2::uuid[])")
        args.append(list(card_ids))  # type: ignore[arg-type]
    frame = await _copy_frame(
        f"SELECT {_EVENT_COLUMNS} FROM asset_event WHERE {' AND '.join(where)}",
        *args,
        schema=EVENTS_SCHEMA,
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
