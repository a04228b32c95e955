"""How many database round trips a statement posting costs: each was ~0.15 ms of server CPU."""

from __future__ import annotations

import json
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


def _posting_transaction(
    seen: list[tuple[int, str]], marker: str = "INSERT INTO statement"
) -> list[str]:
    """The queries of the transaction whose query holds `marker`, BEGIN to COMMIT."""
    at = next(i for i, (_, q) in enumerate(seen) if marker in q.replace('"', ""))
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


async def test_an_intercompany_posting_takes_nine_round_trips_and_audits_its_own_lines(
    client: AsyncTestClient,
    admin: dict[str, str],
    make_entity: Any,
    queries: list[tuple[int, str]],
    db: asyncpg.Connection,
) -> None:
    a, b, c = [await make_entity(name) for name in ("甲公司", "乙公司", "丙公司")]

    async def post(entity: str, lines: list[tuple[str, str, str]], key: str) -> Any:
        response = await client.post(
            "/api/v1/ledger/intercompany/",
            json={
                "entity_id": entity,
                "period": PERIOD,
                "lines": [{"partner_id": p, "kind": k, "amount": v} for p, k, v in lines],
            },
            headers={**admin, "Idempotency-Key": key},
        )
        assert response.status_code == 201, response.text
        return response.json()

    # b's side against a: not a's line, so it is neither replaced nor answered by a's posting.
    await post(b, [(a, "receivable", "5.00")], "ic-b")
    await post(a, [(c, "receivable", "7.10"), (b, "receivable", "5.00")], "ic-a1")
    queries.clear()
    answer = await post(a, [(b, "revenue", "3.00"), (c, "receivable", "8")], "ic-a2")
    # a's lines, stored and answered in (partner, kind) order, amounts as stored.
    expected = sorted([(b, "revenue", "3.00"), (c, "receivable", "8.00")])
    assert [(r["partner_id"], r["kind"], r["amount"]) for r in answer] == expected
    assert {r["entity_id"] for r in answer} == {a}
    # BEGIN, the key, the period row, the unknown partners, the old lines deleted (returned for
    # the audit), the new lines, the audit entry, the answer, COMMIT: nine statements.
    transaction = _posting_transaction(queries, marker="INSERT INTO intercompany_line")
    assert len(transaction) == 9, transaction
    stored = await db.fetch(
        "SELECT entity::text, partner::text, kind, amount::text FROM intercompany_line "
        "WHERE period = $1 ORDER BY entity, partner, kind",
        PERIOD,
    )
    assert sorted(tuple(r) for r in stored) == sorted(
        [(b, a, "receivable", "5.00")] + [(a, *line) for line in expected]
    )
    entry = await db.fetchrow(
        "SELECT before, after FROM audit_log WHERE action = 'intercompany.replace' "
        "AND object_id = $1 ORDER BY id DESC LIMIT 1",
        f"{a}/{PERIOD}",
    )
    before, after = json.loads(entry["before"]), json.loads(entry["after"])
    assert sorted((r["partner_id"], r["kind"], r["amount"]) for r in before) == sorted(
        [(b, "receivable", "5.00"), (c, "receivable", "7.10")]
    )
    assert [(r["partner_id"], r["kind"], r["amount"]) for r in after] == expected
