"""`stateasset backup` and `restore`: a round trip keeps every row, and the audit chain verifies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset import db as database
from stateasset.audit import service as audit_service
from stateasset.backup import BackupError, restore
from stateasset.cli import main
from tests.ledger.conftest import credit_code
from tests.ledger.test_statements_api import PERIOD, STATEMENTS

RESTORED = "stateasset_restored"


def _with_database(url: str, name: str) -> str:
    head, _, tail = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{tail}" if tail else "")


@pytest.fixture
async def restored_url(database_url: str) -> AsyncIterator[str]:
    """An empty database beside the test database, dropped afterwards (the owner's URL)."""
    conn = await asyncpg.connect(database_url)
    await conn.execute(f"DROP DATABASE IF EXISTS {RESTORED} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {RESTORED}")
    yield _with_database(database_url, RESTORED)
    await conn.execute(f"DROP DATABASE IF EXISTS {RESTORED} WITH (FORCE)")
    await conn.close()


async def _seed(db: asyncpg.Connection) -> None:
    """Entities, a stake, statements, intercompany lines, a period move and a user, by the API."""
    from stateasset.app import create_app
    from stateasset.auth.service import hash_password

    await db.execute(
        "INSERT INTO app_user (id, username, display_name, password_hash, role, entity_id, "
        "fund_ids, active, created_at) VALUES ($1, 'root', 'root', $2, 'admin', NULL, '{}', "
        "true, $3)",
        uuid4(),
        hash_password("correct horse battery staple"),
        datetime.now(UTC),
    )
    async with AsyncTestClient(app=create_app()) as client:

        async def call(method: str, url: str, status: int, **kwargs: Any) -> Any:
            kwargs["headers"] = {**headers, **kwargs.get("headers", {})}
            response = await client.request(method, url, **kwargs)
            assert response.status_code == status, response.text
            return response.json()

        login = await client.post(
            "/api/v1/auth/login",
            json={"username": "root", "password": "correct horse battery staple"},
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        ids = {}
        for n, (name, kind) in enumerate([("G", "group"), ("P", "platform")]):
            body = {"credit_code": credit_code(n + 1), "name": f"备份{name}", "kind": kind}
            if kind == "platform":
                body["segment"] = "urban_construction"
            ids[name] = (await call("POST", "/api/v1/ledger/entities/", 201, json=body))["id"]
        stake = {"holder_id": ids["G"], "held_id": ids["P"], "economic_share": "0.8"}
        await call("POST", "/api/v1/ledger/stakes", 201, json={**stake, "valid_from": "2020-01-01"})
        for name in ("G", "P"):
            body = {"entity_id": ids[name], "period": PERIOD, "items": STATEMENTS[name]}
            await call(
                "POST",
                "/api/v1/ledger/statements/",
                201,
                json=body,
                headers={"Idempotency-Key": f"backup-{name}"},
            )
        await call(
            "POST",
            "/api/v1/ledger/intercompany/",
            201,
            json={
                "entity_id": ids["G"],
                "period": PERIOD,
                "lines": [{"partner_id": ids["P"], "kind": "receivable", "amount": "50"}],
            },
        )
        user = {"username": "board-1", "display_name": "董事", "password": "a long password"}
        await call("POST", "/api/v1/users/", 201, json={**user, "role": "board"})
        report = await call("GET", "/api/v1/audit/verify", 200)
        assert report["ok"], report


async def _tables(url: str) -> dict[str, list[str]]:
    """Every table's rows as text, sorted."""
    conn = await asyncpg.connect(url)
    try:
        names = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        return {
            r["tablename"]: await conn.fetchval(
                f"SELECT coalesce(array_agg(t::text ORDER BY t::text), '{{}}') "
                f'FROM "{r["tablename"]}" t'
            )
            for r in names
        }
    finally:
        await conn.close()


async def test_a_backup_restores_every_row_into_a_fresh_database_and_its_chain_verifies(
    db: asyncpg.Connection,
    database_url: str,
    restored_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _seed(db)
    source = await _tables(database_url)
    assert {t for t, rows in source.items() if rows} >= {
        "app_user",
        "audit_log",
        "audit_seal",
        "entity",
        "idempotency_record",
        "intercompany_line",
        "migration",
        "stake",
        "statement",
        "statement_line",
    }
    file = tmp_path / "stateasset.dump"
    assert await asyncio.to_thread(main, ["backup", str(file)]) == 0
    assert file.stat().st_size > 0

    app_url = database.with_user(restored_url, database.APP_ROLE, "app-test-password")
    await restore(file, url=restored_url, app_url=app_url)
    assert await _tables(restored_url) == source

    # The restored database is the app's to use, under the same limits, and its chain holds.
    monkeypatch.setitem(database.engine().config, "dsn", app_url)
    report = await audit_service.verify_chain()
    assert (report.ok, report.rows_checked) == (True, len(source["audit_log"]))
    app = await asyncpg.connect(app_url)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute("DELETE FROM audit_log")
    finally:
        await app.close()

    # A database with tables is refused, unless forced.
    with pytest.raises(BackupError, match="already has"):
        await restore(file, url=restored_url, app_url=app_url)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["restore", str(file)]) == 1
    assert "restore failed: the database already has" in capsys.readouterr().err
    await restore(file, url=restored_url, app_url=app_url, force=True)
    assert await _tables(restored_url) == source
