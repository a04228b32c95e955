"""The loaders of ledger.frames against the real database: exact money, fixed schemas, scoping.

Rows are written straight into the tables (no API), so what is checked is the read alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg
import polars as pl

from stateasset.db import engine
from stateasset.ledger.frames import (
    INTERCOMPANY_SCHEMA,
    OVERRIDES_SCHEMA,
    STAKES_SCHEMA,
    STATEMENT_SCHEMA,
    intercompany_frame,
    overrides_frame,
    positioned_lines_frame,
    stakes_frame,
    statement_lines_frame,
    statement_versions_frame,
)
from stateasset.ledger.tables import Statement, StatementLine

from .conftest import credit_code

PERIOD = "2025-12"
NOW = datetime(2026, 1, 5, tzinfo=UTC)
# The extremes of NUMERIC(20, 2): 17 digits and two places would lose cents in a float64,
# and the smallest negative amount must stay negative.
HUGE = Decimal("12345678901234567.89")
TINY = Decimal("-0.01")


async def _entities(db: asyncpg.Connection, *names: str) -> dict[str, UUID]:
    ids = {name: uuid4() for name in names}
    for n, (name, entity_id) in enumerate(ids.items(), start=1):
        await db.execute(
            "INSERT INTO entity (id, credit_code, name, kind, second_level, status, created_at, "
            "updated_at) VALUES ($1, $2, $3, 'subsidiary', false, 'active', $4, $4)",
            entity_id,
            credit_code(900 + n),
            name,
            NOW,
        )
    return ids


async def _statement(
    db: asyncpg.Connection, entity_id: UUID, lines: dict[str, Decimal], version: int = 1
) -> UUID:
    statement_id = uuid4()
    await db.execute(
        "INSERT INTO statement (id, entity, period, version, source, created_at, created_by) "
        "VALUES ($1, $2, $3, $4, 'api', $5, 'test')",
        statement_id,
        entity_id,
        PERIOD,
        version,
        NOW,
    )
    await db.executemany(
        "INSERT INTO statement_line (statement, item, amount) VALUES ($1, $2, $3)",
        [(statement_id, item, amount) for item, amount in lines.items()],
    )
    return statement_id


async def _line(
    db: asyncpg.Connection, entity_id: UUID, partner_id: UUID, kind: str, amount: Decimal
) -> None:
    await db.execute(
        "INSERT INTO intercompany_line (id, entity, partner, period, kind, amount, created_at, "
        "created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, 'test')",
        uuid4(),
        entity_id,
        partner_id,
        PERIOD,
        kind,
        amount,
        NOW,
    )


async def test_statement_lines_keep_every_cent(db: asyncpg.Connection) -> None:
    ids = await _entities(db, "A", "B")
    a = await _statement(db, ids["A"], {"cash": HUGE, "retained_earnings": TINY})
    b = await _statement(db, ids["B"], {"cash": Decimal("0.00")})
    await _statement(db, ids["B"], {"cash": Decimal("7.00")}, version=2)  # not asked for

    frame = await statement_lines_frame([a, b])

    assert frame.schema == pl.Schema(STATEMENT_SCHEMA)
    assert sorted(frame.iter_rows()) == sorted(
        [
            (str(ids["A"]), PERIOD, "cash", HUGE),
            (str(ids["A"]), PERIOD, "retained_earnings", TINY),
            (str(ids["B"]), PERIOD, "cash", Decimal("0.00")),
        ]
    )


async def test_latest_versions_with_states_and_lines_by_position(db: asyncpg.Connection) -> None:
    ids = await _entities(db, "A", "B", "C")
    await _statement(db, ids["A"], {"cash": Decimal("1.00")})
    a2 = await _statement(db, ids["A"], {"cash": HUGE}, version=2)
    b1 = await _statement(db, ids["B"], {"cash": TINY, "inventory": Decimal("3.00")})
    await db.execute(
        "INSERT INTO period_state (id, entity, period, state, updated_at, updated_by) "
        "VALUES ($1, $2, $3, 'locked', $4, 'test')",
        uuid4(),
        ids["A"],
        PERIOD,
        NOW,
    )

    versions = await statement_versions_frame(PERIOD)
    # A's latest is version 2 and locked; B has no state row, so it is open; C filed nothing.
    assert sorted(versions.iter_rows()) == sorted(
        [(str(ids["A"]), str(a2), 2, "locked"), (str(ids["B"]), str(b1), 1, "open")]
    )
    # Lines come back tagged with their statement's 1-based position in the list asked for.
    lines = await positioned_lines_frame([str(b1), str(a2)])
    assert sorted(lines.iter_rows()) == [
        (1, "cash", TINY),
        (1, "inventory", Decimal("3.00")),
        (2, "cash", HUGE),
    ]


async def test_intercompany_lines_keep_every_cent_and_stay_inside_the_members(
    db: asyncpg.Connection,
) -> None:
    ids = await _entities(db, "P", "S", "X")
    p, s, x = ids["P"], ids["S"], ids["X"]
    await _line(db, p, s, "receivable", HUGE)
    await _line(db, s, p, "payable", Decimal("0.01"))
    await _line(db, p, x, "receivable", Decimal("5.00"))  # toward an outsider
    await _line(db, x, s, "revenue", Decimal("6.00"))  # from an outsider

    every = (await intercompany_frame(PERIOD)).collect()
    members = (await intercompany_frame(PERIOD, [p, s])).collect()

    assert every.schema == members.schema == pl.Schema(INTERCOMPANY_SCHEMA)
    assert every.height == 4
    assert sorted(members.iter_rows()) == sorted(
        [
            (str(p), str(s), "receivable", HUGE),
            (str(s), str(p), "payable", Decimal("0.01")),
        ]
    )


async def test_stakes_and_overrides_as_of_a_date(db: asyncpg.Connection) -> None:
    ids = await _entities(db, "H", "C")
    for share, since, until in (
        ("0.600000", "2020-01-01", "2025-06-30"),
        ("0.8", "2025-06-30", None),
    ):
        await db.execute(
            "INSERT INTO stake (id, holder, held, economic_share, voting_share, valid_from, "
            "valid_to, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8)",
            uuid4(),
            ids["H"],
            ids["C"],
            Decimal(share),
            Decimal(share),
            date.fromisoformat(since),
            date.fromisoformat(until) if until else None,
            NOW,
        )
    await db.execute(
        "INSERT INTO control_override (id, entity, controlled, reason, valid_from, created_at) "
        "VALUES ($1, $2, true, 'board seats', '2020-01-01', $3)",
        uuid4(),
        ids["C"],
        NOW,
    )

    stakes = (await stakes_frame(date(2025, 12, 31))).collect()
    overrides = (await overrides_frame(date(2025, 12, 31))).collect()

    assert stakes.schema == pl.Schema(STAKES_SCHEMA)
    assert stakes.rows() == [(str(ids["H"]), str(ids["C"]), 0.8, 0.8)]
    assert overrides.schema == pl.Schema(OVERRIDES_SCHEMA)
    assert overrides.rows() == [(str(ids["C"]), True, None)]


async def test_empty_reads_keep_their_schema(db: asyncpg.Connection) -> None:
    frames = {
        "statements": (await statement_lines_frame([]), STATEMENT_SCHEMA),
        "statements of no such version": (await statement_lines_frame([uuid4()]), STATEMENT_SCHEMA),
        "intercompany": ((await intercompany_frame(PERIOD)).collect(), INTERCOMPANY_SCHEMA),
        "intercompany of no members": (
            (await intercompany_frame(PERIOD, [])).collect(),
            INTERCOMPANY_SCHEMA,
        ),
        "stakes": ((await stakes_frame(date(2025, 12, 31))).collect(), STAKES_SCHEMA),
        "overrides": ((await overrides_frame(date(2025, 12, 31))).collect(), OVERRIDES_SCHEMA),
    }
    for name, (frame, schema) in frames.items():
        assert frame.height == 0, name
        assert frame.schema == pl.Schema(schema), name


async def test_a_read_inside_a_transaction_sees_its_own_writes(db: asyncpg.Connection) -> None:
    """The COPY runs on the transaction's connection, as Piccolo's own queries do."""
    ids = await _entities(db, "T")
    statement_id = uuid4()
    async with engine().transaction() as transaction:
        await Statement.insert(
            Statement(
                id=statement_id,
                entity=ids["T"],
                period=PERIOD,
                version=1,
                source="api",
                created_at=NOW,
                created_by="test",
            )
        )
        await StatementLine.insert(StatementLine(statement=statement_id, item="cash", amount=HUGE))
        inside = await statement_lines_frame([statement_id])
        await transaction.rollback()
    assert inside["amount"].to_list() == [HUGE]
    assert (await statement_lines_frame([statement_id])).height == 0


async def test_amounts_beyond_int8_cents_are_read_exactly(db: asyncpg.Connection) -> None:
    """Statement lines travel as integer cents; the largest NUMERIC(20, 2) does not fit an int8
    (9.99…e19 cents > 2^63 − 1 ≈ 9.22e18), so PostgreSQL refuses the cast and the read falls back
    to the NUMERIC text, inside a caller's transaction too."""
    largest = Decimal("999999999999999999.99")
    ids = await _entities(db, "A")
    a = await _statement(db, ids["A"], {"cash": largest, "inventory": TINY, "payables": HUGE})

    frame = await statement_lines_frame([a], items=["cash", "inventory"])
    assert sorted(frame.select("item", "amount").iter_rows()) == [
        ("cash", largest),
        ("inventory", TINY),
    ]
    async with engine().transaction():
        inside = await positioned_lines_frame([str(a)])
        # The refused cast left the transaction usable.
        assert await Statement.count().where(Statement.id == a) == 1
    assert sorted(inside.iter_rows()) == [
        (1, "cash", largest),
        (1, "inventory", TINY),
        (1, "payables", HUGE),
    ]
    # Below the limit the cents path answers; only the items asked for.
    assert (await positioned_lines_frame([str(a)], items=["payables"])).rows() == [
        (1, "payables", HUGE)
    ]
