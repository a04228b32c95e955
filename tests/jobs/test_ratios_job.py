"""The ratios job on DOMAIN §6's worked example: queued by a period lock, versioned, byte-identical
on unchanged data, and a failure or a killed process midway leaves the previous version current."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import textwrap
from typing import Any

import asyncpg
import pytest

from stateasset import db as database
from stateasset.jobs import runner
from tests.kpi.test_ratios_store import CLOSING, OPENING, _file

PERIOD = "2025-Q4"
TRANSITIONS = f"/api/v1/ledger/periods/{PERIOD}/transitions"

STORED = (
    "SELECT string_agg(concat_ws('|', entity, node, period, ratio, value::text, reason), "
    "E'\\n' ORDER BY ratio) FROM kpi_ratio WHERE run = $1"
)
"""A run's stored rows as text, in one order: what "byte-identical" compares."""


@pytest.fixture
async def company(api: Any, make_entity: Any, direct: None) -> str:
    company = await make_entity("城建投")
    await _file(api, company, "2024-Q4", OPENING)
    await _file(api, company, PERIOD, CLOSING)
    return company


async def _current(db: asyncpg.Connection) -> list[tuple[int, bool]]:
    rows = await db.fetch(
        "SELECT version, current FROM kpi_ratio_run WHERE period = $1 ORDER BY version", PERIOD
    )
    return [(r["version"], r["current"]) for r in rows]


async def test_a_lock_queues_the_recomputation_and_a_rerun_is_byte_identical(
    api: Any, company: str, db: asyncpg.Connection
) -> None:
    for action in ("submit", "validate", "lock"):
        await api("POST", TRANSITIONS, json={"action": action, "entity_ids": [company]})
    queued = await db.fetch(
        "SELECT job, params::text AS params, trigger, status FROM job_run ORDER BY job"
    )
    assert [(q["job"], q["trigger"], q["status"]) for q in queued] == [
        ("consolidations", "period-lock", "queued"),
        ("ratios", "period-lock", "queued"),
    ]
    assert json.loads(queued[1]["params"]) == {
        "period": PERIOD,
        "entity_ids": [company],
        "with_nodes": True,
    }
    # A second lock of the same entities queues nothing more (one queued run per parameters).
    await runner.enqueue(
        runner.job_named("ratios"),
        runner.parse_params(
            runner.job_named("ratios"), {"period": PERIOD, "entity_ids": [company]}
        ),
        trigger=runner.Trigger.period_lock,
        actor=runner.SYSTEM,
    )
    assert await db.fetchval("SELECT count(*) FROM job_run") == 2

    assert await runner.drain_queue() == 2
    runs = await db.fetch(
        "SELECT job, status, rows_out, error FROM job_run WHERE trigger = 'period-lock' ORDER BY job"
    )
    assert [(r["job"], r["status"], r["error"]) for r in runs] == [
        ("consolidations", "succeeded", None),
        ("ratios", "succeeded", None),
    ]
    assert runs[1]["rows_out"] == 10  # the entity's ten ratios; no group node in this ledger
    first = await db.fetchval("SELECT id FROM kpi_ratio_run WHERE period = $1 AND current", PERIOD)
    # DOMAIN §6: 6,630.70 / 62,500 = 0.106091 (营业现金比率).
    value = await db.fetchval(
        "SELECT value FROM kpi_ratio WHERE run = $1 AND ratio = 'operating_cash_ratio'", first
    )
    assert value == pytest.approx(6630.70 / 62500, rel=1e-12)

    again = await runner.run_now("ratios", {"period": PERIOD, "entity_ids": [company]})
    assert again.status == "succeeded"
    second = await db.fetchval("SELECT id FROM kpi_ratio_run WHERE period = $1 AND current", PERIOD)
    assert second != first
    assert again.summary["ratio_runs"] == [
        {"period": PERIOD, "ratio_run": str(second), "version": 2}
    ]
    assert await _current(db) == [(1, False), (2, True)]
    one, two = await db.fetchval(STORED, first), await db.fetchval(STORED, second)
    assert one.count("\n") == 9
    assert one.encode() == two.encode()


async def test_nightly_without_a_period_recomputes_only_changed_periods(
    api: Any, company: str, db: asyncpg.Connection
) -> None:
    first = await runner.run_now("ratios", {})
    # Both periods had statements and no run: both computed.
    assert [r["period"] for r in first.summary["ratio_runs"]] == ["2024-Q4", PERIOD]
    unchanged = await runner.run_now("ratios", {})
    assert (unchanged.summary["ratio_runs"], unchanged.rows_out) == ([], 0)
    # A new version of the closing statement makes only its period stale.
    await _file(api, company, PERIOD, {**CLOSING, "revenue": "62600.00"})
    changed = await runner.run_now("ratios", {})
    assert [(r["period"], r["version"]) for r in changed.summary["ratio_runs"]] == [(PERIOD, 2)]


async def test_a_run_failing_midway_leaves_the_previous_version_current(
    company: str, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    await runner.run_now("ratios", {"period": PERIOD})
    before = await db.fetchval("SELECT count(*) FROM kpi_ratio")
    real = database.copy_source
    calls = 0

    def fails_on_the_sources(frame: Any) -> Any:
        # The first call is the ratio rows (COPYed), the second the sources: fail between them.
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disk full")
        return real(frame)

    monkeypatch.setattr(database, "copy_source", fails_on_the_sources)
    failed = await runner.run_now("ratios", {"period": PERIOD})
    assert (failed.status, failed.error) == ("failed", "OSError: disk full")
    assert calls == 2
    assert await _current(db) == [(1, True)]
    assert await db.fetchval("SELECT count(*) FROM kpi_ratio") == before


async def test_a_process_killed_midway_leaves_the_previous_version_current_and_its_run_failed(
    company: str, db: asyncpg.Connection
) -> None:
    await runner.run_now("ratios", {"period": PERIOD})
    before = await db.fetchval("SELECT count(*) FROM kpi_ratio")
    # The run's process writes its ratio rows, says so, and hangs inside the transaction.
    script = textwrap.dedent(
        f"""
        import asyncio, sys, time
        from stateasset.jobs import runner
        from stateasset import db

        real, calls = db.copy_source, []

        def hang_on_the_sources(frame):
            calls.append(1)
            if len(calls) == 2:
                print("midway", flush=True)
                time.sleep(3600)
            return real(frame)

        db.copy_source = hang_on_the_sources
        asyncio.run(runner.run_now("ratios", {{"period": "{PERIOD}"}}))
        """
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, env=dict(os.environ), stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    try:
        lines: list[bytes] = []
        while not lines or lines[-1] not in (b"midway\n", b""):  # its log lines come first
            lines.append(await asyncio.wait_for(child.stdout.readline(), 120))
        assert lines[-1] == b"midway\n", lines
        running = await db.fetchrow("SELECT id, status FROM job_run WHERE status = 'running'")
        assert running is not None
        # Its uncommitted rows are there, unseen: the readers' current run is still version 1.
        assert await _current(db) == [(1, True)]
    finally:
        child.send_signal(signal.SIGKILL)
        await asyncio.wait_for(child.wait(), 30)
    # PostgreSQL rolls the dead connection's transaction back.
    for _ in range(100):
        if not await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'"
        ):
            break
        await asyncio.sleep(0.05)
    assert await db.fetchval("SELECT count(*) FROM kpi_ratio") == before
    assert await _current(db) == [(1, True)]
    # Nothing beats for it any more: once its lease is past, it is marked failed.
    assert await runner.fail_expired() == 0  # within the lease (60 s) it still counts as running
    await db.execute(
        "UPDATE job_run SET heartbeat_at = now() - interval '61 seconds' WHERE id = $1",
        running["id"],
    )
    assert await runner.fail_expired() == 1
    row = await db.fetchrow("SELECT status, error FROM job_run WHERE id = $1", running["id"])
    assert row["status"] == "failed"
    assert "was last heard from at" in row["error"]
    # And the job runs again.
    assert (await runner.run_now("ratios", {"period": PERIOD})).status == "succeeded"
    assert await _current(db) == [(1, False), (2, True)]
