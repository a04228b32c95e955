"""Bad input gets a 4xx, never a 500: schemathesis drives every operation of the live app.

Generated from the app's own OpenAPI document with a fixed seed, signed in as admin so requests
reach the services, over a small ledger so ids in paths can exist.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from stateasset.auth.service import hash_password

SEED = "20261127"


async def _admin_token(db: asyncpg.Connection, base: str) -> str:
    await db.execute(
        "INSERT INTO app_user (id, username, display_name, password_hash, role, fund_ids, active, "
        "created_at) VALUES (gen_random_uuid(), 'fuzz', 'fuzz', $1, 'admin', '{}', true, now())",
        hash_password("fuzzing password"),
    )
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": "fuzz", "password": "fuzzing password"}
        )
    return response.json()["access_token"]


async def test_no_generated_request_gets_a_server_error(
    live_server: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    token = await _admin_token(db, live_server)
    report = tmp_path / "junit.xml"
    run = await asyncio.to_thread(
        subprocess.run,
        [
            str(Path(sys.executable).with_name("st")),
            "run",
            f"{live_server}/schema/openapi.json",
            "--checks",
            "not_a_server_error",
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            "25",
            "--seed",
            SEED,
            "--workers",
            "1",
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary: Any = run.stdout[-3000:]
    assert run.returncode == 0, summary
    assert "passed" in run.stdout
