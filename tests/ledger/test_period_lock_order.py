"""Period rows are locked in one global order by every writer that takes several of them.

An import takes its entities' period rows in entity-id order. A reopen used to take them up the
consolidation chain (the entity, then its parent, then the group): holding the entity's row while
waiting for a parent's row that an import already held, while that import waited for the entity's
row, PostgreSQL killed one of them (`deadlock detected`, a 500).
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx

from tests.ledger.conftest import credit_code
from tests.ledger.test_statements_api import PERIOD, TRANSITIONS, _close_quarter, _submit_all

# Ids chosen so the chain's own order (S, then P, then G) is the reverse of the id order.
IDS = {
    "G": "10000000-0000-4000-8000-000000000000",
    "P": "20000000-0000-4000-8000-000000000000",
    "S": "f0000000-0000-4000-8000-000000000000",
}


async def _group(db: asyncpg.Connection, make_stake: Any) -> None:
    for n, (name, kind, platform) in enumerate(
        [("G", "group", None), ("P", "platform", None), ("S", "subsidiary", "P")], start=1
    ):
        await db.execute(
            "INSERT INTO entity (id, credit_code, name, kind, second_level, status, platform_id, "
            "segment, created_at, updated_at) VALUES ($1::uuid, $2, $3, $4, false, 'active', "
            "$5::uuid, 'urban_construction', now(), now())",
            IDS[name],
            credit_code(900 + n),
            f"实体{name}",
            kind,
            IDS[platform] if platform else None,
        )
    await make_stake(IDS["G"], IDS["P"], "0.8")
    await make_stake(IDS["P"], IDS["S"], "0.6")


async def test_reopen_takes_period_rows_in_id_order(
    live_server: str,
    api: Any,
    admin: dict[str, str],
    make_stake: Any,
    db: asyncpg.Connection,
    database_url: str,
) -> None:
    await _group(db, make_stake)
    url = await _close_quarter(api, IDS)
    response = await _while_an_import_holds_g(
        live_server,
        database_url,
        admin,
        url,
        {"action": "reopen", "entity_ids": [IDS["S"]], "reason": "late fix"},
        expected_state_of_s="locked",
    )
    assert response.status_code == 200, response.text
    assert {r["entity_id"]: r["state"] for r in response.json()} == {
        IDS["G"]: "open",
        IDS["P"]: "open",
        IDS["S"]: "open",
    }


async def test_period_actions_take_rows_in_id_order_whatever_the_request_order(
    live_server: str,
    api: Any,
    admin: dict[str, str],
    make_stake: Any,
    db: asyncpg.Connection,
    database_url: str,
) -> None:
    await _group(db, make_stake)
    await _submit_all(api, IDS)
    response = await _while_an_import_holds_g(
        live_server,
        database_url,
        admin,
        TRANSITIONS,
        {"action": "submit", "entity_ids": [IDS["S"], IDS["G"]]},
        expected_state_of_s="open",
    )
    assert response.status_code == 200, response.text
    assert [(r["entity_id"], r["state"]) for r in response.json()] == [
        (IDS["G"], "submitted"),
        (IDS["S"], "submitted"),
    ]


async def _while_an_import_holds_g(
    live_server: str,
    database_url: str,
    admin: dict[str, str],
    url: str,
    body: dict[str, Any],
    *,
    expected_state_of_s: str,
) -> httpx.Response:
    """Post `body` while an import holds G's period row; check it waits holding nothing."""
    # An import of G and S holds G's period row (the first in id order) and is about to take S's.
    importer = await asyncpg.connect(database_url)
    server = httpx.AsyncClient(base_url=live_server, timeout=30)
    try:
        async with importer.transaction():
            await importer.execute(
                "SELECT 1 FROM period_state WHERE entity = $1::uuid AND period = $2 FOR UPDATE",
                IDS["G"],
                PERIOD,
            )
            # Through the real server: the in-process test client would block this loop.
            request = asyncio.create_task(server.post(url, json=body, headers=admin))
            await asyncio.sleep(1.0)  # the request is now waiting for G's row
            assert not request.done()
            # It must not be holding S's row while it waits: the import can take it.
            taken = await importer.fetchval(
                "SELECT state FROM period_state WHERE entity = $1::uuid AND period = $2 "
                "FOR UPDATE NOWAIT",
                IDS["S"],
                PERIOD,
            )
            assert taken == expected_state_of_s
        return await request
    finally:
        await importer.close()
        await server.aclose()
