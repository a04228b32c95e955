"""A route can require an Idempotency-Key: without one it is refused before any work is done."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from litestar import Litestar, Response, post
from litestar.params import HeaderParameter, JSONBody
from litestar.testing import AsyncTestClient

from stateasset.core.http import EXCEPTION_HANDLERS
from stateasset.core.idempotency import run_once
from tests.conftest import problem

runs: list[int] = []


@post("/transfers")
async def add_transfer(
    data: JSONBody[dict[str, Any]],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
) -> Response[Any]:
    async def work() -> dict[str, Any]:
        runs.append(1)
        return {"amount": data["amount"], "run": len(runs)}

    return await run_once(
        key=idempotency_key,
        actor="tester",
        route="transfers.add",
        payload=data,
        work=work,
        required=True,
    )


async def test_a_route_that_requires_a_key_refuses_a_request_without_one(
    db: asyncpg.Connection,
) -> None:
    runs.clear()
    app = Litestar(route_handlers=[add_transfer], exception_handlers=EXCEPTION_HANDLERS)
    async with AsyncTestClient(app=app) as client:
        missing = await client.post("/transfers", json={"amount": "10.00"})
        assert missing.status_code == 400
        body = problem(missing)
        assert body["type"] == "/problems/idempotency-key-required"
        assert [e["field"] for e in body["errors"]] == ["header.Idempotency-Key"]
        assert runs == []
        keyed = {"Idempotency-Key": "transfer-1"}
        first = await client.post("/transfers", json={"amount": "10.00"}, headers=keyed)
        again = await client.post("/transfers", json={"amount": "10.00"}, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json() == {"amount": "10.00", "run": 1}
    assert again.headers["idempotency-replayed"] == "true"
    assert runs == [1]
    assert await db.fetchval("SELECT count(*) FROM idempotency_record") == 1
