"""How many database round trips a statement posting costs: each was ~0.15 ms of server CPU."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.ledger.test_statements_api import PERIOD, STATEMENTS

_METHODS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "copy_records_to_table")


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """(connection, query) of every call the app makes, pooled connections included."""
    seen: list[tuple[int, str]] = []
    for name in _METHODS:
        original = getattr(asyncpg.Connection, name)

        def counted(self: Any, query: str, *args: Any, _original: Any = original, **kw: Any) -> Any:
            seen.append((id(self), query))
            return _original(self, query, *args, **kw)

        monkeypatch.setattr(asyncpg.Connection, name, counted)
    return seen


@pytest.fixture
async def entity(make_entity: Any) -> str:
    return await make_entity("城建一公司")


def _posting_transaction(seen: list[tuple[int, str]]) -> list[str]:
    """The queries of the transaction that inserted the statement, BEGIN to COMMIT."""
    at = next(i for i, (_, q) in enumerate(seen) if "INSERT INTO statement" in q.replace('"', ""))
    conn = seen[at][0]
    mine = [(i, q) for i, (c, q) in enumerate(seen) if c == conn]
    start = max(i for i, q in mine if i < at and q.startswith("BEGIN"))
    end = min(i for i, q in mine if i > at and q.startswith("COMMIT"))
    return [q for i, q in mine if start <= i <= end]


async def test_a_statement_posting_takes_eight_round_trips(
    client: AsyncTestClient,
    admin: dict[str, str],
    entity: str,
    queries: list[tuple[int, str]],
    db: asyncpg.Connection,
) -> None:
    # An earlier period of the year, so the YTD rule has lines to read.
    await db.execute(
        "INSERT INTO statement (id, entity, period, version, source, created_at, created_by) "
        "VALUES ($1, $2, '2025-Q2', 1, 'api', now(), 'admin')",
        uuid4(),
        entity,
    )
    body = {"entity_id": entity, "period": PERIOD, "items": STATEMENTS["S"]}
    queries.clear()
    response = await client.post(
        "/api/v1/ledger/statements/",
        json=body,
        headers={**admin, "Idempotency-Key": "round-trips-1"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 1
    # BEGIN, the key, the period row (locked, with the entity's existence), the year's latest
    # versions with their lines, the statement with its lines, the audit entry, the answer, COMMIT.
    assert len(_posting_transaction(queries)) == 8, _posting_transaction(queries)
    # A correction reads the latest version in the same query: still eight.
    queries.clear()
    changed = {**STATEMENTS["S"], "cash": "201", "fixed_assets": "599"}
    response = await client.post(
        "/api/v1/ledger/statements/",
        json={**body, "items": changed},
        headers={**admin, "Idempotency-Key": "round-trips-2"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 2
    assert len(_posting_transaction(queries)) == 8, _posting_transaction(queries)
    rows = await db.fetch(
        "SELECT version, (SELECT count(*) FROM statement_line l WHERE l.statement = s.id) AS lines "
        "FROM statement s WHERE entity = $1 AND period = $2 ORDER BY version",
        entity,
        PERIOD,
    )
    assert [(r["version"], r["lines"]) for r in rows] == [
        (1, len(STATEMENTS["S"])),
        (2, len(STATEMENTS["S"])),
    ]
