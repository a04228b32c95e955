"""The app's database role: it reads and writes rows but cannot rewrite or switch off the audit log."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset import db as database

REFUSED = [
    "UPDATE audit_log SET actor = 'mallory'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "ALTER TABLE audit_log DROP COLUMN hash",
    "DROP TABLE audit_log",
    "SET session_replication_role = replica",
    "CREATE TABLE intruder (id int)",
]


@pytest.fixture
async def app_conn(db: asyncpg.Connection) -> asyncpg.Connection:
    conn = await asyncpg.connect(database.database_url())
    yield conn
    await conn.close()


async def test_the_app_role_is_neither_owner_nor_superuser(app_conn: asyncpg.Connection) -> None:
    row = await app_conn.fetchrow(
        "SELECT current_user AS name, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls "
        "FROM pg_roles WHERE rolname = current_user"
    )
    assert dict(row) == {
        "name": database.APP_ROLE,
        "rolsuper": False,
        "rolcreaterole": False,
        "rolcreatedb": False,
        "rolbypassrls": False,
    }
    owned = await app_conn.fetchval(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
    )
    assert owned == 0


@pytest.mark.parametrize("statement", REFUSED)
async def test_the_app_role_cannot_rewrite_the_audit_log(
    client: AsyncTestClient,
    login_as,
    app_conn: asyncpg.Connection,
    db: asyncpg.Connection,
    statement: str,
) -> None:
    headers = await login_as("admin")
    created = await client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "auditor-1",
            "display_name": "Auditor",
            "password": "a long enough password",
            "role": "auditor",
        },
    )
    assert created.status_code == 201, created.text  # audited: the log has a row to protect
    before = await db.fetch("SELECT * FROM audit_log ORDER BY id")
    assert before
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute(statement)
    assert await db.fetch("SELECT * FROM audit_log ORDER BY id") == before


async def test_every_audit_table_is_append_only_for_the_app(
    app_conn: asyncpg.Connection, db: asyncpg.Connection
) -> None:
    # Whatever audit tables the migrations made (the log, its seals), the app may only read and
    # append to them.
    rows = await db.fetch(
        "SELECT table_name, array_agg(privilege_type::text ORDER BY privilege_type) AS granted "
        "FROM information_schema.role_table_grants "
        "WHERE grantee = $1 AND table_name LIKE 'audit\\_%' GROUP BY table_name",
        database.APP_ROLE,
    )
    tables = await db.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'audit\\_%'"
    )
    assert {r["table_name"] for r in rows} == {t["tablename"] for t in tables} >= {"audit_log"}
    assert {r["table_name"]: r["granted"] for r in rows} == {
        r["table_name"]: ["INSERT", "SELECT"] for r in rows
    }


async def test_the_app_connects_as_its_role(
    client: AsyncTestClient, login_as, db: asyncpg.Connection
) -> None:
    headers = await login_as("admin")
    response = await client.get("/api/v1/audit", headers=headers)
    assert response.status_code == 200, response.text
    users = await db.fetch(
        "SELECT DISTINCT usename FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    assert {r["usename"] for r in users} == {database.APP_ROLE}


async def test_a_table_the_owner_adds_later_is_readable_and_appendable_only(
    db: asyncpg.Connection, app_conn: asyncpg.Connection
) -> None:
    await db.execute("CREATE TABLE audit_later (id bigserial PRIMARY KEY, note text)")
    try:
        await app_conn.execute("INSERT INTO audit_later (note) VALUES ('kept')")
        assert await app_conn.fetchval("SELECT note FROM audit_later") == "kept"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_conn.execute("UPDATE audit_later SET note = 'changed'")
    finally:
        await db.execute("DROP TABLE audit_later")


async def test_given_only_the_owner_migrate_makes_the_app_role_with_a_generated_password(
    db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from stateasset.settings import get_settings

    owner = os.environ["DATABASE_URL"]
    monkeypatch.delenv("STATEASSET_APP_DATABASE_URL")
    monkeypatch.setenv("STATEASSET_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        url = database.database_url()
        password = (tmp_path / "db-app-password").read_text()
        assert len(password) >= 40
        assert (tmp_path / "db-app-password").stat().st_mode & 0o777 == 0o600
        assert url == database.with_user(owner, database.APP_ROLE, password)
        assert await database.grant_app_role(db, url) == database.APP_ROLE
        stored = await db.fetchval(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1", database.APP_ROLE
        )
        assert stored.startswith("SCRAM-SHA-256$")
        app = await asyncpg.connect(url)
        try:
            assert await app.fetchval("SELECT current_user") == database.APP_ROLE
        finally:
            await app.close()
        assert database.database_url() == url  # the same password on the next start
    finally:
        # The rest of the session connects with the password the suite chose.
        await db.execute(f"ALTER ROLE {database.APP_ROLE} PASSWORD 'app-test-password'")
        monkeypatch.undo()
        get_settings.cache_clear()
