"""Sign-in, tokens, roles and the login throttle."""

from __future__ import annotations

import asyncpg
import jwt
import pytest
from litestar.testing import AsyncTestClient

from stateasset.settings import get_settings
from tests.conftest import Login, problem


async def test_login_returns_a_short_lived_bearer_token(
    client: AsyncTestClient, login_as: Login
) -> None:
    headers = await login_as("auditor", username="audrey")
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, get_settings().jwt_secret, algorithms=["HS256"])
    assert claims["extras"] == {"role": "auditor"}
    assert claims["exp"] - claims["iat"] == 30 * 60
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.json()["username"] == "audrey"
    assert "password_hash" not in me.json()


async def test_wrong_password_is_401_and_repeated_failures_are_throttled(
    client: AsyncTestClient, login_as: Login
) -> None:
    await login_as("board", username="bob")
    for _ in range(5):
        wrong = await client.post(
            "/api/v1/auth/login", json={"username": "bob", "password": "not the password"}
        )
        assert wrong.status_code == 401
    throttled = await client.post(
        "/api/v1/auth/login",
        json={"username": "bob", "password": "correct horse battery staple"},
    )
    assert throttled.status_code == 429
    assert problem(throttled)["retry_after"] > 0


async def test_admin_creates_user_and_the_password_is_hashed(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    created = await client.post(
        "/api/v1/users/",
        headers=admin,
        json={
            "username": "gf1",
            "display_name": "集团财务一",
            "password": "a long password",
            "role": "group_finance",
        },
    )
    assert created.status_code == 201, created.text
    stored = await db.fetchval("SELECT password_hash FROM app_user WHERE username = 'gf1'")
    assert stored.startswith("$argon2id$")
    duplicate = await client.post(
        "/api/v1/users/",
        headers=admin,
        json={
            "username": "gf1",
            "display_name": "x",
            "password": "a long password",
            "role": "board",
        },
    )
    assert duplicate.status_code == 409


async def test_entity_finance_must_name_its_entity(
    client: AsyncTestClient, login_as: Login
) -> None:
    admin = await login_as("admin")
    response = await client.post(
        "/api/v1/users/",
        headers=admin,
        json={
            "username": "ef1",
            "display_name": "x",
            "password": "a long password",
            "role": "entity_finance",
        },
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "body.entity_id"


def test_cli_create_user_then_sign_in(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import asyncio

    from stateasset.auth import service
    from stateasset.cli import main

    async def reset() -> None:
        conn = await asyncpg.connect(database_url)
        await conn.execute("TRUNCATE app_user CASCADE")
        await conn.close()

    asyncio.run(reset())
    monkeypatch.setenv("STATEASSET_NEW_PASSWORD", "a long cli password")
    assert main(["create-user", "ops", "--role", "admin", "--display-name", "运维"]) == 0
    assert "created ops (admin)" in capsys.readouterr().out
    actor = asyncio.run(service.authenticate("ops", "a long cli password"))
    assert actor is not None and actor.role == "admin"
    assert asyncio.run(service.authenticate("ops", "wrong password")) is None
