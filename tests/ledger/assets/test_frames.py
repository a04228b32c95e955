"""The asset events loader keeps what it read and fetches only what was appended since.

Rows are written straight into the tables as the owner (no API, no app pool), so what is
checked is the read alone: its rows, and which queries it sent.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import polars as pl
import pytest

from stateasset.ledger.assets import frames

from ..conftest import credit_code

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
async def card(db: asyncpg.Connection) -> tuple[UUID, UUID]:
    frames.forget_events()
    holder, card_id = uuid4(), uuid4()
    await db.execute(
        "INSERT INTO entity (id, credit_code, name, kind, second_level, status, created_at, "
        "updated_at) VALUES ($1, $2, '城建开发', 'subsidiary', false, 'active', $3, $3)",
        holder,
        credit_code(951),
        NOW,
    )
    await db.execute(
        "INSERT INTO asset_card (id, code, name, category, holder, location, source, operating, "
        "useful_life_months, salvage, status, acquired_on, created_at, created_by, updated_at) "
        "VALUES ($1, 'ZC-1', '厂房', 'buildings', $2, '', 'purchase', true, 360, 0, 'in_use', "
        "'2025-01-15', $3, 'test', $3)",
        card_id,
        holder,
        NOW,
    )
    return holder, card_id


async def _income(db: asyncpg.Connection, card: tuple[UUID, UUID], amount: str) -> None:
    await db.execute(
        "INSERT INTO asset_event (id, card, holder, kind, event_date, original, depreciation, "
        "income, created_at, created_by) VALUES ($1, $2, $3, 'income', $4, 0, 0, $5, $6, 'test')",
        uuid4(),
        card[1],
        card[0],
        date(2025, 6, 30),
        Decimal(amount),
        NOW,
    )


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queries each COPY out of PostgreSQL ran."""
    seen: list[str] = []
    original = asyncpg.Connection.copy_from_query

    async def counted(self: Any, query: str, *args: Any, **kw: Any) -> Any:
        seen.append(query)
        return await original(self, query, *args, **kw)

    monkeypatch.setattr(asyncpg.Connection, "copy_from_query", counted)
    return seen


async def _incomes() -> list[str]:
    frame = (await frames.events_frame()).collect()
    return sorted(str(v) for v in frame.get_column("income").to_list())


async def test_appended_events_are_read_alone_and_the_rest_kept(
    db: asyncpg.Connection, card: tuple[UUID, UUID], copies: list[str]
) -> None:
    await _income(db, card, "10.00")
    await _income(db, card, "20.50")
    assert await _incomes() == ["10.00", "20.50"]
    assert len(copies) == 1 and "WHERE" not in copies[0]  # the first read is whole
    assert await _incomes() == ["10.00", "20.50"]
    assert len(copies) == 1  # nothing appended: nothing read
    await _income(db, card, "0.01")
    assert await _incomes() == ["0.01", "10.00", "20.50"]
    assert len(copies) == 2 and "seq > $1" in copies[1]  # only the new row
    frame = (await frames.events_frame()).collect()
    assert frame.schema["card_id"] == pl.Categorical()
    assert frame.get_column("card_id").cast(pl.String).unique().to_list() == [str(card[1])]


async def test_a_row_numbered_below_the_last_read_means_a_whole_read(
    db: asyncpg.Connection, card: tuple[UUID, UUID], copies: list[str]
) -> None:
    """A transaction that took a lower number but committed after the read is not missed."""
    await _income(db, card, "1.00")
    late = await db.fetchval("SELECT nextval(pg_get_serial_sequence('asset_event', 'seq'))")
    await _income(db, card, "2.00")
    assert await _incomes() == ["1.00", "2.00"]
    # The late writer commits its row with the number it took before the read.
    await db.execute(
        "INSERT INTO asset_event (id, card, holder, kind, event_date, original, depreciation, "
        "income, created_at, created_by, seq) "
        "VALUES ($1, $2, $3, 'income', '2025-06-30', 0, 0, 3, $4, 'test', $5)",
        uuid4(),
        card[1],
        card[0],
        NOW,
        late,
    )
    await _income(db, card, "4.00")
    assert await _incomes() == ["1.00", "2.00", "3.00", "4.00"]
    # The tail read found one row where two were new, so the table was read again whole.
    assert [("seq > $1" in q) for q in copies] == [False, True, False]
