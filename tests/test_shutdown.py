"""SIGTERM stops the server within 10 s, even with a request stuck holding a pooled connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest

from stateasset.auth.service import hash_password
from tests.conftest import _free_port


def _call(url: str, body: dict[str, str] | None = None, token: str = "") -> bytes:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


@pytest.fixture
def server(
    db: asyncpg.Connection, database_url: str, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`stateasset serve` as `live_server` runs it, with its process at hand."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "stateasset.cli", "serve", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_sigterm_with_a_stuck_request_exits_within_10_s(
    db: asyncpg.Connection, server: tuple[subprocess.Popen[bytes], str]
) -> None:
    process, base = server
    await db.execute(
        "INSERT INTO app_user (id, username, display_name, password_hash, role, entity_id, "
        "fund_ids, active, created_at) VALUES ($1, 'admin', 'admin', $2, 'admin', NULL, '{}', "
        "true, $3)",
        uuid4(),
        hash_password("correct horse battery staple"),
        datetime.now(UTC),
    )
    login = {"username": "admin", "password": "correct horse battery staple"}
    answer = await asyncio.to_thread(_call, f"{base}/api/v1/auth/login", login)
    token = json.loads(answer)["access_token"]
    # The request waits on a lock this test holds: its pooled connection is never released.
    async with db.transaction():
        await db.execute("LOCK TABLE entity IN ACCESS EXCLUSIVE MODE")
        stuck = threading.Thread(
            target=_try, args=(f"{base}/api/v1/ledger/entities/", token), daemon=True
        )
        stuck.start()
        await _until_waiting_on_lock(db)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(process.wait, 15)
        took = time.monotonic() - started
    # Before: uvicorn waited for the request, then the pool for its connection, with no end.
    assert process.returncode is not None, "still running 15 s after SIGTERM"
    assert took < 10, f"took {took:.1f} s to stop"


def _try(url: str, token: str) -> None:
    with contextlib.suppress(OSError):  # the server going away mid-request is the point
        _call(url, token=token)


async def _until_waiting_on_lock(db: asyncpg.Connection) -> None:
    for _ in range(100):
        waiting = await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()"
        )
        if waiting:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the request never reached the lock")


async def test_closing_the_pool_cuts_a_connection_never_given_back(db: asyncpg.Connection) -> None:
    from stateasset import db as database

    await database.open_pool()
    pool = database.engine().pool
    assert pool is not None
    await pool.acquire()  # and never released, as by a task that was killed mid-transaction
    started = time.monotonic()
    # Before: Pool.close() waited for it with no end.
    await asyncio.wait_for(database.close_pool(), 10)
    assert time.monotonic() - started < database.POOL_CLOSE_SECONDS + 1
    assert database.engine().pool is None
