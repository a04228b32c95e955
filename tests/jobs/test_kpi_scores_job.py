"""The kpi_scores job: a year's scorecards stored as a version with the arithmetic the ranking
shows, a second run on the same data byte-identical, older versions readable by id, a failed run
leaving the previous version current, the run queued after ratios, and the stored routes' scope."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from functools import partial
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset.audit import service as audit_service
from stateasset.jobs import runner
from stateasset.jobs.base import Outcome
from stateasset.kpi import jobs as kpi_jobs
from stateasset.kpi import score_jobs
from tests.kpi.test_contracts_api import CONTRACTS, contract
from tests.ledger.test_rules import BALANCED

STORED = "/api/v1/kpi/scores/stored"
RUNS = "/api/v1/kpi/scores/runs"


async def run_job(client: AsyncTestClient, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """`runner.run_now` on the app's own loop (its pool lives there); the finished run."""
    run = await asyncio.to_thread(
        client.blocking_portal.call, partial(runner.run_now, name, params)
    )
    return {"status": run.status.value, "error": run.error, "summary": run.summary, "id": run.id}


async def _two_companies(api: Any, make_entity: Any) -> dict[str, str]:
    """城建投 filed 2025-Q4 (BALANCED) and 文旅集团 filed nothing; both have an active contract."""
    ids = {"filed": await make_entity("城建投"), "silent": await make_entity("文旅集团")}
    await api(
        "POST",
        "/api/v1/ledger/statements/",
        json={"entity_id": ids["filed"], "period": "2025-Q4", "items": BALANCED},
        status=201,
    )
    for name in ("filed", "silent"):
        made = await api("POST", CONTRACTS, json=contract(ids[name]), status=201)
        for state in ("signed", "active"):
            await api("POST", f"{CONTRACTS}{made['id']}/transitions", json={"to": state})
        ids[f"contract_{name}"] = made["id"]
    return ids


async def _stored_rows(db: asyncpg.Connection, run_id: str) -> list[str]:
    """A run's totals and indicator rows as PostgreSQL renders them, without row and run ids."""
    rows = await db.fetch(
        "SELECT (to_jsonb(s) - 'id' - 'run')::text AS row FROM kpi_score s "
        "WHERE run = $1::uuid ORDER BY id",
        run_id,
    )
    lines = await db.fetch(
        "SELECT (to_jsonb(i) - 'id' - 'run')::text AS row FROM kpi_score_indicator i "
        "WHERE run = $1::uuid ORDER BY id",
        run_id,
    )
    return [r["row"] for r in [*rows, *lines]]


async def test_a_run_stores_the_years_scores_and_a_rerun_is_byte_identical(
    client: AsyncTestClient, api: Any, make_entity: Any, db: asyncpg.Connection
) -> None:
    await _two_companies(api, make_entity)
    first = await run_job(client, "kpi_scores", {"year": 2025})
    assert first["status"] == "succeeded", first["error"]
    assert first["summary"]["score_runs"][0]["version"] == 1
    body = await api("GET", f"{STORED}?year=2025")
    assert (body["run"]["year"], body["run"]["version"], body["run"]["current"]) == (2025, 1, True)
    assert (body["run"]["contracts"], body["run"]["rows"]) == (2, 4)
    filed, silent = body["items"]
    # As tests/kpi/test_contracts_api.py works it: 营业现金比率 10.6091% reaches 平均 (10):
    # base 40 × 0.6 = 24, efficacy 0.6091 / 5 = 0.1218, + 0.1218 × (32 − 24) → 24.97; net profit
    # 2,250 against 2,000 is +12.5%: 4 steps × 60/30 = 8 under the cap 12 → 68. Total 92.97: A.
    assert (filed["company_name"], filed["total"], filed["rank"], filed["grade"]) == (
        "城建投",
        92.97,
        1,
        "A",
    )
    assert (filed["pay_coefficient"], filed["review"], filed["review_reason"]) == (1.5, False, None)
    ocr, profit = filed["indicators"]
    assert (ocr["indicator"], ocr["tier"], ocr["base"], ocr["score"]) == (
        "ocr",
        "平均",
        24.0,
        24.97,
    )
    assert round(ocr["actual"], 2) == 10.61 and round(ocr["efficacy"], 4) == 0.1218
    assert (profit["actual"], profit["target"], profit["adjustment"], profit["score"]) == (
        2250.0,
        2000.0,
        8.0,
        68.0,
    )
    # Nothing filed: no actual, every indicator 0, total 0 < 70 → D, 0.6, flagged for review.
    assert (silent["company_name"], silent["total"], silent["rank"], silent["grade"]) == (
        "文旅集团",
        0.0,
        2,
        "D",
    )
    assert (silent["pay_coefficient"], silent["review"]) == (0.6, True)
    assert silent["review_reason"].startswith("总分 0")
    assert [i["actual_reason"] for i in silent["indicators"]] == ["no statement for 2025-Q4"] * 2
    # The stored scores are the ranking's.
    ranking = await api("GET", "/api/v1/kpi/scorecards?year=2025")
    assert [(r["contract_id"], r["total"], r["rank"]) for r in ranking] == [
        (i["contract_id"], i["total"], i["rank"]) for i in body["items"]
    ]

    second = await run_job(client, "kpi_scores", {"year": 2025})
    assert second["status"] == "succeeded", second["error"]
    v1 = first["summary"]["score_runs"][0]["kpi_score_run"]
    v2 = second["summary"]["score_runs"][0]["kpi_score_run"]
    again = await api("GET", f"{STORED}?year=2025")
    assert (again["run"]["id"], again["run"]["version"]) == (v2, 2)
    assert again["items"] == body["items"]
    assert len(await _stored_rows(db, v1)) == 6
    assert await _stored_rows(db, v1) == await _stored_rows(db, v2)
    old = await api("GET", f"{STORED}?run={v1}")
    assert (old["run"]["version"], old["run"]["current"]) == (1, False)
    assert old["items"] == body["items"]
    runs = await api("GET", f"{RUNS}?year=2025")
    assert [(r["version"], r["current"]) for r in runs["items"]] == [(2, True), (1, False)]
    actions = await db.fetch(
        "SELECT action FROM audit_log WHERE object_type = 'kpi_score_run' ORDER BY at"
    )
    assert [a["action"] for a in actions] == ["kpi_score_run.create"] * 2
    # Stored rows are the app's to append only; of a run, only `current` ever moves.
    privileges = await db.fetch(
        "SELECT t, has_table_privilege('stateasset_app', t, 'UPDATE') AS can_update "
        "FROM unnest(ARRAY['kpi_score', 'kpi_score_indicator', 'kpi_score_run']) t ORDER BY t"
    )
    assert [tuple(p) for p in privileges] == [
        ("kpi_score", False),
        ("kpi_score_indicator", False),
        ("kpi_score_run", True),
    ]
    with pytest.raises(asyncpg.RaiseError, match="only current may change"):
        await db.execute("UPDATE kpi_score_run SET contracts = 0 WHERE version = 2")
    # A year with no contract in force stores nothing and says so.
    none = await run_job(client, "kpi_scores", {"year": 2030})
    assert (none["status"], none["summary"]) == (
        "succeeded",
        {"score_runs": [], "no_contracts": [2030]},
    )
    assert await api("GET", f"{STORED}?year=2030") == {"run": None, "items": []}


async def test_a_run_failing_after_its_rows_are_written_leaves_version_1_current(
    client: AsyncTestClient,
    api: Any,
    make_entity: Any,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _two_companies(api, make_entity)
    # No year given: last calendar year, here 2025.
    monkeypatch.setattr(score_jobs, "today", lambda: date(2026, 3, 1))
    first = await run_job(client, "kpi_scores", {})
    assert first["status"] == "succeeded", first["error"]
    assert first["summary"]["score_runs"][0]["year"] == 2025
    original = audit_service.record

    async def refuse(**entry: Any) -> None:
        # The audit entry is the run's last write: its rows are copied and `current` switched.
        if entry["action"] == "kpi_score_run.create":
            raise RuntimeError("audit log unavailable")
        await original(**entry)

    monkeypatch.setattr(audit_service, "record", refuse)
    failed = await run_job(client, "kpi_scores", {"year": 2025})
    assert (failed["status"], failed["error"]) == ("failed", "RuntimeError: audit log unavailable")
    row = await db.fetchrow("SELECT status, error FROM job_run WHERE id = $1", failed["id"])
    assert (row["status"], row["error"]) == ("failed", "RuntimeError: audit log unavailable")
    runs = await db.fetch("SELECT version, current FROM kpi_score_run ORDER BY version")
    assert [(r["version"], r["current"]) for r in runs] == [(1, True)]
    assert await db.fetchval("SELECT count(DISTINCT run) FROM kpi_score_indicator") == 1
    body = await api("GET", f"{STORED}?year=2025")
    assert body["run"]["id"] == first["summary"]["score_runs"][0]["kpi_score_run"]


async def test_a_ratios_run_queues_the_scores_of_the_year_it_closed(
    client: AsyncTestClient,
    api: Any,
    make_entity: Any,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = await _two_companies(api, make_entity)
    monkeypatch.setattr(score_jobs, "today", lambda: date(2026, 3, 1))
    ratios = await run_job(client, "ratios", {"period": "2025-Q4", "entity_ids": [ids["filed"]]})
    assert ratios["status"] == "succeeded", ratios["error"]
    queued = await db.fetch(
        "SELECT params::text AS params, trigger FROM job_run WHERE job = 'kpi_scores' "
        "AND status = 'queued'"
    )
    assert [(q["params"], q["trigger"]) for q in queued] == [
        ('{"year": null, "years": [2025]}', "dependency")
    ]
    ran = await asyncio.to_thread(client.blocking_portal.call, runner.drain_queue)
    assert ran == 1
    body = await api("GET", f"{STORED}?year=2025")
    assert [(i["company_name"], i["total"]) for i in body["items"]] == [
        ("城建投", 92.97),
        ("文旅集团", 0.0),
    ]
    # A ratios run of 2024-Q4 also reaches 2025, whose history benchmarks read that close; a
    # month touches no year-close.
    assert score_jobs.years_after_ratios(["2024-Q4", "2025-03"]) == [2024, 2025]
    assert score_jobs.years_after_ratios(["2025-03"]) == []
    # …and queues no scores at all.
    month = Outcome(summary={"ratio_runs": [{"period": "2025-03"}]})
    assert kpi_jobs.RATIOS.then_params is not None
    assert kpi_jobs.RATIOS.then_params(kpi_jobs.RatiosParams(period="2025-03"), month) is None


async def test_stored_scores_keep_to_the_readers_company(
    client: AsyncTestClient, api: Any, make_entity: Any, login_as: Any
) -> None:
    ids = await _two_companies(api, make_entity)
    assert (await run_job(client, "kpi_scores", {"year": 2025}))["status"] == "succeeded"
    own = await login_as("entity_finance", entity_id=ids["silent"])
    seen = await api("GET", f"{STORED}?year=2025", headers=own)
    # Their own company only, with its rank among all.
    assert [(i["company_name"], i["rank"]) for i in seen["items"]] == [("文旅集团", 2)]
    manager = await login_as("fund_manager")
    await api("GET", STORED, headers=manager, status=403)
    await api("GET", RUNS, headers=manager, status=403)
    await api("GET", f"{STORED}?run={ids['filed']}", status=404)
    await api("GET", f"{STORED}?year=1900", status=400)
    with pytest.raises(Exception, match="year or years"):
        await run_job(client, "kpi_scores", {"year": 2025, "years": [2025]})


async def test_run_job_takes_the_years_comma_separated(db: asyncpg.Connection) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stateasset.cli",
        "run-job",
        "kpi_scores",
        "--param",
        "years=2025,2024",
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode == 0, err.decode()
    row = await db.fetchrow("SELECT params::text AS params, summary::text AS summary FROM job_run")
    # In one order whatever order given; no contract in force either year, so nothing stored.
    assert row["params"] == '{"year": null, "years": [2024, 2025]}'
    assert row["summary"] == '{"score_runs": [], "no_contracts": [2024, 2025]}'
