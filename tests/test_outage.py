"""PostgreSQL going away: 503 with Retry-After while it is down, and a committed write answered."""

from __future__ import annotations

import re
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from litestar.security.jwt import Token
from litestar.testing import AsyncTestClient

from stateasset import db as database
from stateasset.settings import get_settings, resolve_secrets
from tests.conftest import problem
from tests.ledger.conftest import credit_code


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://stateasset_app:x@127.0.0.1:{port}/stateasset",  # connection refused
        "postgresql://stateasset_app:x@/stateasset?host=/nonexistent-socket-dir",  # no socket
    ],
)
async def test_an_outage_answers_503_with_retry_after_and_logs_one_line_per_request(
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    dsn: str,
) -> None:
    from stateasset.app import create_app

    monkeypatch.setitem(database.engine().config, "dsn", dsn.format(port=_closed_port()))
    capfd.readouterr()
    async with AsyncTestClient(app=create_app()) as client:
        for n in range(3):
            response = await client.post(
                "/api/v1/auth/login",
                json={"username": f"someone-{n}", "password": "a long enough password"},
            )
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            body = problem(response)
            assert (body["status"], body["type"]) == (503, "/problems/unavailable")
            assert "Idempotency-Key" in body["detail"]
        # Signed in, the user is looked up in the authentication middleware: the same answer.
        secret = resolve_secrets(get_settings()).jwt_secret
        token = Token(sub=str(uuid4()), exp=datetime.now(UTC) + timedelta(minutes=5))
        headers = {"Authorization": f"Bearer {token.encode(secret, 'HS256')}"}
        response = await client.get("/api/v1/ledger/entities/", headers=headers)
        assert (response.status_code, response.headers["retry-after"]) == (503, "5")
        assert problem(response)["type"] == "/problems/unavailable"
    logged = capfd.readouterr()
    output = logged.out + logged.err
    assert output.count("database unavailable") == 4, output
    assert "Traceback" not in output
    # The request log says what the client got.
    statuses = re.findall(r"status(?:\x1b\[[\d;]*m)?=(?:\x1b\[[\d;]*m)?(\d{3})", output)
    assert statuses == ["503"] * 4, output


async def test_a_write_committed_before_the_connection_is_lost_answers_201(
    client: AsyncTestClient,
    login_as: Callable[..., Awaitable[dict[str, str]]],
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    headers = await login_as("admin")
    release = asyncpg.pool.Pool.release
    failed: list[str] = []

    async def release_then_fail(self: asyncpg.Pool, connection: Any, **kwargs: Any) -> None:
        # As when PostgreSQL stops right after COMMIT: the connection cannot go back.
        await release(self, connection, **kwargs)
        if database.engine().current_transaction.get() is not None:
            failed.append("release")
            raise asyncpg.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation"
            )

    monkeypatch.setattr(asyncpg.pool.Pool, "release", release_then_fail)
    capfd.readouterr()
    body = {"credit_code": credit_code(7), "name": "提交后断线公司", "kind": "subsidiary"}
    response = await client.post("/api/v1/ledger/entities/", headers=headers, json=body)
    assert failed == ["release"]
    assert response.status_code == 201, response.text
    stored = await db.fetchrow(
        "SELECT id::text, name FROM entity WHERE credit_code = $1", body["credit_code"]
    )
    assert dict(stored) == {"id": response.json()["id"], "name": "提交后断线公司"}
    output = capfd.readouterr().out
    assert output.count("connection dropped after its transaction") == 1
    assert "Traceback" not in output
    # The app goes on with a fresh connection.
    assert (await client.get("/api/v1/ledger/entities/", headers=headers)).status_code == 200
