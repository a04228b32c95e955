"""Sign-in, tokens, roles and the login throttle."""

from __future__ import annotations

import json

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


async def test_a_token_forged_with_the_old_repository_constant_is_401(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    from datetime import UTC, datetime, timedelta

    from stateasset.settings import DEV_SECRET

    await login_as("admin", username="root")
    admin_id = await db.fetchval("SELECT id FROM app_user WHERE username = 'root'")
    now = datetime.now(UTC)
    forged = jwt.encode(
        {"sub": str(admin_id), "iat": now, "exp": now + timedelta(minutes=5)},
        DEV_SECRET,
        algorithm="HS256",
    )
    response = await client.get("/api/v1/users/", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert get_settings().jwt_secret != DEV_SECRET


async def test_login_names_and_passwords_are_bounded(client: AsyncTestClient) -> None:
    throttle = client.app.state.login_throttle
    for field in ("username", "password"):
        body = {"username": "bob", "password": "not the password", field: "x" * 4 * 1024 * 1024}
        response = await client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 400, response.text
        assert problem(response)["errors"][0]["field"] == f"body.{field}"
    assert len(throttle) == 0  # nothing of the 4 MiB names was kept


async def test_throttled_login_says_when_to_retry_in_a_header(
    client: AsyncTestClient, login_as: Login
) -> None:
    await login_as("board", username="carol")
    for _ in range(5):
        await client.post("/api/v1/auth/login", json={"username": "carol", "password": "wrong pw!"})
    throttled = await client.post(
        "/api/v1/auth/login", json={"username": "carol", "password": "wrong pw!"}
    )
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == str(problem(throttled)["retry_after"])
    assert 295 <= int(throttled.headers["retry-after"]) <= 301


def test_throttle_forgets_failures_once_the_window_passes() -> None:
    from stateasset.auth.service import LoginThrottle
    from stateasset.core.errors import TooManyRequests

    now = [1000.0]
    throttle = LoginThrottle(3, 60, name_attempts=10, clock=lambda: now[0])
    for _ in range(3):
        throttle.failed("Bob", "10.0.0.1")
    with pytest.raises(TooManyRequests) as refused:
        throttle.check("bob", "10.0.0.1")
    assert refused.value.extra == {"retry_after": 61}
    throttle.check("bob", "10.0.0.2")  # another address is not locked out by this one
    now[0] += 61
    throttle.check("bob", "10.0.0.1")
    throttle.failed("eve", "10.0.0.3")
    assert len(throttle) == 2  # bob's two keys expired; eve's two are current


def test_throttle_memory_is_capped_dropping_the_least_recent() -> None:
    from stateasset.auth.service import LoginThrottle
    from stateasset.core.errors import TooManyRequests

    throttle = LoginThrottle(2, 300, name_attempts=20, max_keys=100)
    for i in range(1000):
        throttle.failed(f"user{i}", "10.0.0.1")
    assert len(throttle) == 100
    for _ in range(2):
        throttle.failed("user999", "10.0.0.1")
    with pytest.raises(TooManyRequests):
        throttle.check("user999", "10.0.0.1")  # the most recent are the ones kept
    throttle.check("user0", "10.0.0.1")


def test_guesses_spread_over_addresses_are_throttled_by_name() -> None:
    from stateasset.auth.service import LoginThrottle
    from stateasset.core.errors import TooManyRequests

    throttle = LoginThrottle(5, 300, name_attempts=50)
    for i in range(49):
        throttle.check("admin", f"10.0.{i}.1")
        throttle.failed("admin", f"10.0.{i}.1")
    throttle.check("admin", "192.168.1.1")  # 49 bad guesses from elsewhere do not lock a user out
    throttle.failed("admin", "10.0.99.1")
    with pytest.raises(TooManyRequests):
        throttle.check("admin", "10.0.100.1")


async def test_a_disabled_user_cannot_sign_in_and_their_token_stops_at_once(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    board = await login_as("board", username="dora")
    dora = await db.fetchval("SELECT id FROM app_user WHERE username = 'dora'")
    assert (await client.get("/api/v1/auth/me", headers=board)).status_code == 200
    disabled = await client.patch(f"/api/v1/users/{dora}", headers=admin, json={"active": False})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["active"] is False
    assert (await client.get("/api/v1/auth/me", headers=board)).status_code == 401
    login = await client.post(
        "/api/v1/auth/login", json={"username": "dora", "password": "correct horse battery staple"}
    )
    assert login.status_code == 401
    audit = await db.fetchrow(
        "SELECT before, after FROM audit_log WHERE action = 'user.update' AND object_id = $1",
        str(dora),
    )
    assert (json.loads(audit["before"])["active"], json.loads(audit["after"])["active"]) == (
        True,
        False,
    )
    enabled = await client.patch(f"/api/v1/users/{dora}", headers=admin, json={"active": True})
    assert enabled.json()["active"] is True
    assert (await client.get("/api/v1/auth/me", headers=board)).status_code == 200


async def test_health_answers_quickly_during_a_login_flood(
    live_server: str, db: asyncpg.Connection
) -> None:
    import asyncio
    import statistics
    import time
    from datetime import UTC, datetime
    from uuid import uuid4

    import httpx

    from stateasset.auth.service import hash_password

    password = "correct horse battery staple"
    await db.execute(
        "INSERT INTO app_user (id, username, display_name, password_hash, role, fund_ids, "
        "active, created_at) VALUES ($1, 'erin', 'erin', $2, 'board', '{}', true, $3)",
        uuid4(),
        hash_password(password),
        datetime.now(UTC),
    )
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as client:
        stop = time.perf_counter() + 3
        logins = 0

        async def login() -> None:
            nonlocal logins
            while time.perf_counter() < stop:
                response = await client.post(
                    "/api/v1/auth/login", json={"username": "erin", "password": password}
                )
                assert response.status_code == 201, response.text
                logins += 1

        waits: list[float] = []

        async def health() -> None:
            await asyncio.sleep(0.2)  # once the logins are under way
            while time.perf_counter() < stop:
                started = time.perf_counter()
                assert (await client.get("/health")).status_code == 200
                waits.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)

        await asyncio.gather(*(login() for _ in range(8)), health())
    # Each argon2 check holds a core for tens of milliseconds; on the event loop, eight callers
    # made /health wait ~0.4 s. Beside the loop, /health waits for nothing.
    assert logins > 0
    assert statistics.median(waits) < 0.15, f"/health waited {sorted(waits)}"
