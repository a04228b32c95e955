"""Runs: one per job and parameters across callers, recorded from start to end, leases that
expire with their process, and the scheduler off under tests."""

from __future__ import annotations

import asyncio
import os
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset.jobs import runner
from stateasset.jobs.base import NoParameters, Trigger
from tests.conftest import Login, problem
from tests.jobs.conftest import Held


async def _until(client: AsyncTestClient, headers: dict[str, str], run_id: str, status: str) -> Any:
    for _ in range(200):
        run = (await client.get(f"/api/v1/jobs/runs/{run_id}", headers=headers)).json()
        if run["status"] == status:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} is {run['status']}, never {status}")


async def test_two_concurrent_triggers_make_one_run_and_one_already_running(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection, held: Held
) -> None:
    headers = await login_as("group_finance")
    first, second = await asyncio.gather(
        client.post("/api/v1/jobs/held/runs", headers=headers, json={}),
        client.post("/api/v1/jobs/held/runs", headers=headers, json={}),
    )
    assert sorted([first.status_code, second.status_code]) == [202, 409]
    started, refused = (first, second) if first.status_code == 202 else (second, first)
    run = started.json()
    assert started.headers["location"] == f"/api/v1/jobs/runs/{run['id']}"
    assert (run["job"], run["status"], run["trigger"]) == ("held", "running", "manual")
    body = problem(refused)
    assert body["running_run_id"] == run["id"]
    assert body["detail"] == f"job held is already running with these parameters (run {run['id']})"
    assert await db.fetchval("SELECT count(*) FROM job_run") == 1
    assert held.started == 1

    held.release()
    done = await _until(client, headers, run["id"], "succeeded")
    assert (done["rows_in"], done["rows_out"], done["progress"]) == (3, 2, 1.0)
    assert done["summary"] == {"held": True}
    assert done["finished_at"] >= done["started_at"]
    # Finished, the next trigger starts a new run.
    again = await client.post("/api/v1/jobs/held/runs", headers=headers, json={})
    assert again.status_code == 202
    held.release()
    await _until(client, headers, again.json()["id"], "succeeded")
    audited = await db.fetch(
        "SELECT action, object_id FROM audit_log WHERE object_type = 'job_run' ORDER BY id"
    )
    assert [(a["action"], a["object_id"]) for a in audited] == [
        ("job_run.start", run["id"]),
        ("job_run.start", again.json()["id"]),
    ]


async def test_claims_from_two_connections_at_once_give_one_run(
    db: asyncpg.Connection, held: Held
) -> None:
    """Without the app: two claims race in PostgreSQL itself, each on its own connection."""
    job = runner.job_named("held")
    results = await asyncio.gather(
        *(
            runner.claim(job, NoParameters(), trigger=Trigger.schedule, actor=runner.SYSTEM)
            for _ in range(2)
        ),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, UUID)]
    lost = [r for r in results if isinstance(r, runner.AlreadyRunning)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].run_id == won[0]
    rows = await db.fetch("SELECT id, status, trigger FROM job_run")
    assert [(r["id"], r["status"], r["trigger"]) for r in rows] == [(won[0], "running", "schedule")]


async def test_a_body_that_raises_marks_the_run_failed_with_its_error(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection, held: Held
) -> None:
    headers = await login_as("admin")
    held.fail_with = RuntimeError("statement_line read failed")
    run = (await client.post("/api/v1/jobs/held/runs", headers=headers, json={})).json()
    held.release()
    failed = await _until(client, headers, run["id"], "failed")
    assert failed["error"] == "RuntimeError: statement_line read failed"
    assert (failed["rows_out"], failed["progress"]) == (0, 0.5)  # it got to step 1 of 2
    # A failed run holds nothing: the next one starts.
    assert (
        await client.post("/api/v1/jobs/held/runs", headers=headers, json={})
    ).status_code == 202


async def test_a_run_whose_lease_expired_is_failed_by_the_next_claim(
    db: asyncpg.Connection, held: Held, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that died leaves its row running; once its lease (60 s) is past, it is taken
    as stopped: the row is failed with the reason and the new run starts."""
    job = runner.job_named("held")
    dead = await runner.claim(job, NoParameters(), trigger=Trigger.schedule, actor=runner.SYSTEM)
    await db.execute(
        "UPDATE job_run SET heartbeat_at = now() - interval '59 seconds' WHERE id = $1", dead
    )
    with pytest.raises(runner.AlreadyRunning):  # 59 s without a beat: still within the lease
        await runner.claim(job, NoParameters(), trigger=Trigger.manual, actor=runner.SYSTEM)
    await db.execute(
        "UPDATE job_run SET heartbeat_at = now() - interval '61 seconds' WHERE id = $1", dead
    )
    fresh = await runner.claim(job, NoParameters(), trigger=Trigger.manual, actor=runner.SYSTEM)
    assert fresh != dead
    rows = {r["id"]: r for r in await db.fetch("SELECT id, status, error FROM job_run")}
    assert rows[dead]["status"] == "failed"
    assert rows[dead]["error"].startswith("lease expired: the process running it (")
    assert rows[fresh]["status"] == "running"


async def test_bad_parameters_and_unknown_jobs_are_422_naming_the_field(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    headers = await login_as("admin")
    response = await client.post(
        "/api/v1/jobs/ratios/runs", headers=headers, json={"params": {"period": "2025-13"}}
    )
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {"field": "body.params.period", "reason": "period '2025-13': month must be 01..12"}
    ]
    response = await client.post(
        "/api/v1/jobs/ratios/runs", headers=headers, json={"params": {"periods": "2025"}}
    )
    assert problem(response)["errors"][0]["field"] == "body.params"
    assert "periods" in problem(response)["errors"][0]["reason"]
    response = await client.post("/api/v1/jobs/nightly/runs", headers=headers, json={})
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "path.name"
    assert await db.fetchval("SELECT count(*) FROM job_run") == 0


async def test_the_board_and_company_staff_cannot_start_or_read_runs(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    for role in ("board", "fund_manager"):
        headers = await login_as(role)
        assert (await client.get("/api/v1/jobs", headers=headers)).status_code == 403
        response = await client.post("/api/v1/jobs/ratios/runs", headers=headers, json={})
        assert response.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM job_run") == 0


async def test_the_scheduler_is_off_under_tests(client: AsyncTestClient) -> None:
    from stateasset.settings import get_settings

    assert os.environ["STATEASSET_SCHEDULER"] == "off"
    assert not get_settings().scheduler_on
    # No APScheduler started with the app: its lifespan kept the in-process scheduler down.
    import apscheduler.schedulers.base as base

    assert not any(
        isinstance(o, base.BaseScheduler) and o.running
        for o in __import__("gc").get_objects()
        if isinstance(o, base.BaseScheduler)
    )
