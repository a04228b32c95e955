"""The audit log: every write lands, the chain verifies, and tampering is caught."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset.audit import service as audit_service
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
    report = (await client.get("/api/v1/audit/verify", headers=admin)).json()
    # The head is anchored at verify at the latest (the sealer may have anchored before).
    assert 1 <= report.pop("anchors_checked") <= 3
    assert report == {
        "ok": True,
        "rows_checked": 3,
        "first_broken_id": None,
        "first_broken_seq": None,
        "problem": None,
    }
    # Verifying sealed every entry: each links to the one before, in order.
    page = (await client.get("/api/v1/audit/?action=user.create", headers=admin)).json()
    newest, middle = page["items"][0], page["items"][1]
    assert (newest["seq"], middle["seq"]) == (3, 2)
    assert middle["hash"] == newest["prev_hash"]


async def test_audit_log_refuses_update_and_delete(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    await _create_users(client, admin, 1)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await db.execute("DELETE FROM audit_log")


async def _sealed(client: AsyncTestClient, headers: dict[str, str]) -> dict[str, Any]:
    """Verify through the API, which seals every committed entry and anchors the head first."""
    report = (await client.get("/api/v1/audit/verify", headers=headers)).json()
    assert report["ok"] is True, report
    return report


async def _tamper(db: asyncpg.Connection, *statements: str) -> None:
    """Run `statements` as a DBA would, with the append-only triggers (and keys) switched off."""
    await db.execute("SET session_replication_role = replica")
    for statement in statements:
        await db.execute(statement)
    await db.execute("SET session_replication_role = DEFAULT")


async def _rehash(db: asyncpg.Connection, key: bytes, from_seq: int) -> None:
    """Rewrite every seal from `from_seq` on so the links agree, as an attacker with `key` would."""
    rows = await db.fetch(
        "SELECT s.seq, s.prev_hash AS link, e.id, e.at, e.actor, e.action, e.object_type, "
        "e.object_id, e.before::text AS before, e.after::text AS after, e.reason, e.request_id "
        "FROM audit_seal s JOIN audit_log e ON e.id = s.entry ORDER BY s.seq"
    )
    prev = audit_service.GENESIS
    if from_seq > 1:
        prev = await db.fetchval("SELECT hash FROM audit_seal WHERE seq = $1", from_seq - 1)
    await db.execute("SET session_replication_role = replica")
    for row in rows[from_seq - 1 :]:
        digest = audit_service.link_hash(key, row["seq"], prev, row)
        await db.execute(
            "UPDATE audit_seal SET prev_hash = $1, hash = $2 WHERE seq = $3",
            prev,
            digest,
            row["seq"],
        )
        prev = digest
    await db.execute("SET session_replication_role = DEFAULT")


async def test_edited_row_is_caught(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    await _create_users(client, admin, 4)
    await _sealed(client, admin)
    second = await db.fetchval("SELECT id FROM audit_log ORDER BY id OFFSET 1 LIMIT 1")
    await _tamper(
        db,
        "UPDATE audit_log SET after = jsonb_set(after, '{role}', '\"admin\"') "
        f"WHERE id = {second}",
    )
    report = (await client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (report["ok"], report["first_broken_id"], report["first_broken_seq"]) == (
        False,
        second,
        2,
    )
    assert report["rows_checked"] == 2
    assert "edited" in report["problem"]


async def test_edit_rehashed_without_the_key_is_caught(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    await _create_users(client, admin, 4)
    await _sealed(client, admin)
    second = await db.fetchval("SELECT id FROM audit_log ORDER BY id OFFSET 1 LIMIT 1")
    await _tamper(db, f"UPDATE audit_log SET actor = 'mallory' WHERE id = {second}")
    # Every link from the edit on agrees again, but under a key that is not the app's.
    await _rehash(db, b"a guessed key", from_seq=2)
    report = (await client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (report["ok"], report["first_broken_id"], report["first_broken_seq"]) == (
        False,
        second,
        2,
    )
    assert "re-hashed without the key" in report["problem"]


async def test_edit_rehashed_with_the_key_is_caught_by_the_anchor(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    await _create_users(client, admin, 4)
    await _sealed(client, admin)  # anchors seal 4
    await _tamper(db, "UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
    await _rehash(db, audit_service.chain_key(), from_seq=2)
    # Caught at the first anchored seal from the edit on (the sealer may have anchored 2 or 3).
    anchored = min(seq for seq, _, _ in audit_service.read_anchors() if seq >= 2)
    report = (await client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (report["ok"], report["first_broken_seq"], report["rows_checked"]) == (
        False,
        anchored,
        anchored,
    )
    assert "differs from its anchored checkpoint" in report["problem"]


async def test_deleted_entry_is_caught(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    await _create_users(client, admin, 3)
    await _sealed(client, admin)
    ids = [r["id"] for r in await db.fetch("SELECT id FROM audit_log ORDER BY id")]
    await _tamper(db, f"DELETE FROM audit_log WHERE id = {ids[1]}")
    report = (await client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (report["ok"], report["first_broken_id"], report["first_broken_seq"]) == (
        False,
        ids[1],
        2,
    )
    assert "removed from the log" in report["problem"]
    # Removing its seal as well leaves a gap in the chain.
    await _tamper(db, f"DELETE FROM audit_seal WHERE entry = {ids[1]}")
    report = (await client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (report["ok"], report["first_broken_id"], report["first_broken_seq"]) == (
        False,
        ids[2],
        3,
    )
    assert "a link was removed" in report["problem"]


async def test_deleted_last_rows_are_caught_by_the_anchor(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    await _create_users(client, admin, 5)
    await _sealed(client, admin)  # anchors seal 5
    # The last two entries and their seals go; what is left is a consistent, shorter chain.
    await _tamper(
        db,
        "DELETE FROM audit_seal WHERE seq > 3",
        "DELETE FROM audit_log WHERE id NOT IN (SELECT entry FROM audit_seal)",
    )
    report = (await client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (report["ok"], report["rows_checked"], report["first_broken_seq"]) == (False, 3, 4)
    assert "chain ends at seal 3 but seal 5 was anchored" in report["problem"]


async def test_wiped_log_is_caught_by_the_anchor(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    await _create_users(client, admin, 2)
    await _sealed(client, admin)
    await _tamper(db, "TRUNCATE audit_seal, audit_log")
    report = (await client.get("/api/v1/audit/verify", headers=admin)).json()
    assert (report["ok"], report["rows_checked"], report["first_broken_seq"]) == (False, 0, 1)
    assert "chain ends at seal 0 but seal 2 was anchored" in report["problem"]


async def test_the_sealer_links_committed_entries_in_the_background(
    client: AsyncTestClient, login_as: Login
) -> None:
    admin = await login_as("admin")
    await _create_users(client, admin, 3)
    for _ in range(50):  # the sealer runs every ~200 ms
        items = (await client.get("/api/v1/audit/", headers=admin)).json()["items"]
        if all(i["seq"] is not None for i in items):
            break
        await asyncio.sleep(0.1)
    assert sorted(i["seq"] for i in items) == [1, 2, 3]


async def test_a_rolled_back_write_leaves_no_entry(
    database_url: str, db: asyncpg.Connection
) -> None:
    from stateasset import db as database

    with pytest.raises(RuntimeError, match="the write failed"):
        async with database.engine().transaction():
            await audit_service.record(
                actor="t", action="test.write", object_type="thing", object_id="1"
            )
            raise RuntimeError("the write failed")
    async with database.engine().transaction():
        await audit_service.record(
            actor="t", action="test.write", object_type="thing", object_id="2"
        )
    assert [r["object_id"] for r in await db.fetch("SELECT object_id FROM audit_log")] == ["2"]
    assert await audit_service.seal() == 1
    assert (await audit_service.verify_chain()).ok


def test_cli_audit_verify_reports_the_broken_row(
    database_url: str, capsys: pytest.CaptureFixture
) -> None:
    async def tamper() -> int:
        conn = await asyncpg.connect(database_url)
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("TRUNCATE audit_seal, audit_log")
        Path(os.environ["STATEASSET_AUDIT_ANCHOR_FILE"]).unlink(missing_ok=True)  # noqa: ASYNC240
        audit_service.forget_anchors()
        for i in range(3):
            await audit_service.record(
                actor="cli-test",
                action="test.write",
                object_type="thing",
                object_id=str(i),
                after={"n": i},
            )
        await audit_service.seal()
        broken = await conn.fetchval("SELECT max(id) FROM audit_log")
        await conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = $1", broken)
        await conn.close()
        return broken

    broken = asyncio.run(tamper())
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN at row {broken}" in out
