"""Imports over several entities and single statements on the same entities, all at once.

A multi-entity import locks one entity's period row after another; a single POST locks one. Any
lock taken after a lock every writer needs (the audit chain used to be one) closes a cycle:
PostgreSQL then kills one side with `deadlock detected`, which reached the client as a 500.
This drives the real server under uvicorn so the requests truly overlap.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from decimal import Decimal

import asyncpg
import httpx
import xlsxwriter

from stateasset.audit import service as audit_service
from stateasset.auth.service import hash_password
from tests.ledger.conftest import credit_code
from tests.ledger.test_import_api import _items

PERIOD = "2025-Q3"
ENTITIES = 6
IMPORTERS = 3
POSTERS = 12
ROUNDS = 4


def _upload() -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("数据")
    sheet.write_row(0, 0, ["统一社会信用代码", "期间", "项目编码", "项目名称", "金额"])
    row = 1
    for n in range(ENTITIES):
        for item, amount in _items(n).items():
            sheet.write_row(row, 0, [credit_code(n), PERIOD, item, "", float(amount)])
            row += 1
    book.close()
    return buffer.getvalue()


async def test_imports_and_posts_on_the_same_entities_never_deadlock(
    live_server: str, db: asyncpg.Connection
) -> None:
    ids = []
    for n in range(ENTITIES):
        ids.append(
            await db.fetchval(
                "INSERT INTO entity (id, credit_code, name, kind, second_level, status, "
                "created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, 'subsidiary', false, "
                "'active', now(), now()) RETURNING id",
                credit_code(n),
                f"子公司{n}",
            )
        )
    await db.execute(
        "INSERT INTO app_user (id, username, display_name, password_hash, role, fund_ids, active, "
        "created_at) VALUES (gen_random_uuid(), 'gf', 'gf', $1, 'group_finance', '{}', true, now())",
        hash_password("group finance password"),
    )
    upload = _upload()
    limits = httpx.Limits(max_connections=IMPORTERS + POSTERS)
    async with httpx.AsyncClient(base_url=live_server, timeout=60, limits=limits) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": "gf", "password": "group finance password"}
        )
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

        async def importer() -> list[int]:
            statuses = []
            for _ in range(ROUNDS):
                response = await client.post(
                    "/api/v1/ledger/statements/import",
                    files={"file": ("q3.xlsx", upload, "application/octet-stream")},
                )
                statuses.append(response.status_code)
            return statuses

        async def poster(k: int) -> list[int]:
            statuses = []
            for r in range(ROUNDS * 2):
                n = (k + r) % ENTITIES
                items = {code: str(amount) for code, amount in _items(n).items()}
                # Each post differs from every other statement, so each adds a version.
                items["employees_avg"] = str(1000 + 100 * k + r)
                response = await client.post(
                    "/api/v1/ledger/statements/",
                    json={"entity_id": str(ids[n]), "period": PERIOD, "items": items},
                )
                statuses.append(response.status_code)
            return statuses

        results = await asyncio.gather(
            *[importer() for _ in range(IMPORTERS)], *[poster(k) for k in range(POSTERS)]
        )
    imports = Counter(s for r in results[:IMPORTERS] for s in r)
    posts = Counter(s for r in results[IMPORTERS:] for s in r)
    assert imports == {201: IMPORTERS * ROUNDS}
    assert posts == {201: POSTERS * ROUNDS * 2}

    # Every accepted write is stored once, versions per entity count up without a gap, and each
    # stored statement has exactly one audit entry.
    stored = IMPORTERS * ROUNDS * ENTITIES + POSTERS * ROUNDS * 2
    assert await db.fetchval("SELECT count(*) FROM statement") == stored
    versions = await db.fetch(
        "SELECT entity, count(*) AS n, max(version) AS top, count(DISTINCT version) AS distinct_n "
        "FROM statement GROUP BY entity"
    )
    assert all(v["n"] == v["top"] == v["distinct_n"] for v in versions)
    assert sum(v["n"] for v in versions) == stored
    assert await db.fetchval("SELECT count(*) FROM statement_line") == stored * 20
    assert (
        await db.fetchval("SELECT count(*) FROM audit_log WHERE action = 'statement.submit'")
        == stored
    )
    report = await audit_service.verify_chain()
    assert (report.ok, report.rows_checked) == (True, stored), report
    cash = await db.fetchval(
        "SELECT sum(l.amount) FROM statement_line l JOIN statement s ON s.id = l.statement "
        "WHERE l.item = 'cash'"
    )
    assert cash == sum(
        (_items(n)["cash"] for n in range(ENTITIES)), Decimal(0)
    ) * IMPORTERS * ROUNDS + sum(
        _items((k + r) % ENTITIES)["cash"] for k in range(POSTERS) for r in range(ROUNDS * 2)
    )
