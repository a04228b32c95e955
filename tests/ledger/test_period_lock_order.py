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
from tests.ledger.test_statements_api import PERIOD, _close_quarter

# Ids chosen so the chain's own order (S, then P, then G) is the reverse of the id order.
IDS = {
    "G": "10000000-0000-4000-8000-000000000000",
    "P": "20000000-0000-4000-8000-000000000000",
    "S": "f0000000-0000-4000-8000-000000000000",
}


async def test_reopen_takes_period_rows_in_id_order(
    live_server: str,
    api: Any,
    admin: dict[str, str],
    make_stake: Any,
    db: asyncpg.Connection,
    database_url: str,
) -> None:
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
    url = await _close_quarter(api, IDS)

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
            reopen = asyncio.create_task(
                server.post(
                    url,
                    json={"action": "reopen", "entity_ids": [IDS["S"]], "reason": "late fix"},
                    headers=admin,
                )
            )
            await asyncio.sleep(1.0)  # the reopen is now waiting for G's row
            assert not reopen.done()
            # The reopen must not be holding S's row while it waits: the import can take it.
            taken = await importer.fetchval(
                "SELECT state FROM period_state WHERE entity = $1::uuid AND period = $2 "
                "FOR UPDATE NOWAIT",
                IDS["S"],
                PERIOD,
            )
            assert taken == "locked"
        response = await reopen
    finally:
        await importer.close()
        await server.aclose()
    assert response.status_code == 200, response.text
    assert {r["entity_id"]: r["state"] for r in response.json()} == {
        IDS["G"]: "open",
        IDS["P"]: "open",
        IDS["S"]: "open",
    }
