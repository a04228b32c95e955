"""The audit log: every write lands, the chain verifies, and tampering is caught."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset.cli import main
from tests.conftest import Login


async def _create_users(client: AsyncTestClient, admin: dict[str, str], n: int) -> None:
    for i in range(n):
        response = await client.post(
            "/api/v1/users/",
            headers=admin,
            json={
                "username": f"u{i}",
                "display_name": f"User {i}",
                "password": "a long password",
                "role": "board",
            },
        )
        assert response.status_code == 201


async def test_writes_are_audited_and_chain_verifies(
    client: AsyncTestClient, login_as: Login
) -> None:
    admin = await login_as("admin", username="root")
    await _create_users(client, admin, 3)
    page = (await client.get("/api/v1/audit/?action=user.create", headers=admin)).json()
    assert page["total"] == 3
    newest = page["items"][0]
    assert (newest["actor"], newest["object_type"]) == ("root", "user")
    assert newest["before"] is None
    assert newest["after"]["username"] == "u2"
    assert page["items"][1]["hash"] == newest["prev_hash"]
    report = (await client.get("/api/v1/audit/verify", headers=admin)).json()
    assert report == {"ok": True, "rows_checked": 3, "first_broken_id": None, "problem": None}


async def test_audit_log_refuses_update_and_delete(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    await _create_users(client, admin, 1)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("DELETE FROM audit_log")


async def test_tampered_row_is_caught_by_api_and_cli(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection, capsys: pytest.CaptureFixture
) -> None:
    admin = await login_as("admin")
    await _create_users(client, admin, 4)
    second = await db.fetchval("SELECT id FROM audit_log ORDER BY id OFFSET 1 LIMIT 1")
    # A DBA edits the row behind the product's back, triggers disabled.
    await db.execute("SET session_replication_role = replica")
    await db.execute(
        "UPDATE audit_log SET after = jsonb_set(after, '{role}', '\"admin\"') WHERE id = $1", second
    )
    await db.execute("SET session_replication_role = DEFAULT")
    report = (await client.get("/api/v1/audit/verify", headers=admin)).json()
    assert report["ok"] is False
    assert report["first_broken_id"] == second
    assert report["rows_checked"] == 2
    assert "edited" in report["problem"]


async def test_deleted_row_breaks_the_next_link(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    await _create_users(client, admin, 3)
    ids = [r["id"] for r in await db.fetch("SELECT id FROM audit_log ORDER BY id")]
    await db.execute("SET session_replication_role = replica")
    await db.execute("DELETE FROM audit_log WHERE id = $1", ids[1])
    await db.execute("SET session_replication_role = DEFAULT")
    report = (await client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (report["ok"], report["first_broken_id"]) == (False, ids[2])
    assert "removed" in report["problem"]


def test_cli_audit_verify_reports_the_broken_row(
    database_url: str, capsys: pytest.CaptureFixture
) -> None:
    import asyncio

    async def tamper() -> int:
        conn = await asyncpg.connect(database_url)
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("TRUNCATE audit_log")
        await conn.execute("SET session_replication_role = DEFAULT")
        from stateasset.audit import service

        for i in range(3):
            await service.record(
                actor="cli-test",
                action="test.write",
                object_type="thing",
                object_id=str(i),
                after={"n": i},
            )
        await conn.execute("SET session_replication_role = replica")
        broken = await conn.fetchval("SELECT max(id) FROM audit_log")
        await conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = $1", broken)
        await conn.close()
        return broken

    broken = asyncio.run(tamper())
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN at row {broken}" in out
