"""The consolidations job on DOMAIN §4's group: a lock queues it, it stores each node's body once
every member is locked, and readers are then answered from the store."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg

from stateasset.jobs import runner
from tests.ledger.test_consolidation_api import CONSOLIDATION, PERIOD, _figures, domain_group

__all__ = ["domain_group"]  # the fixture, used by name below

TRANSITIONS = f"/api/v1/ledger/periods/{PERIOD}/transitions"


async def test_nothing_is_stored_while_a_member_is_open(
    api: Any, domain_group: dict[str, str], direct: None, db: asyncpg.Connection
) -> None:
    run = await runner.run_now("consolidations", {"period": PERIOD})
    # group and platform:城建投, each 合并 and 汇总: four bodies, none storable yet.
    assert (run.status, run.rows_in, run.rows_out) == ("succeeded", 4, 0)
    assert run.summary == {
        "periods": [PERIOD],
        "computed": 0,
        "already_stored": 0,
        "not_all_locked": 4,
    }
    assert await db.fetchval("SELECT count(*) FROM consolidation_result") == 0


async def test_a_lock_stores_every_nodes_body_and_readers_get_the_stored_one(
    api: Any, domain_group: dict[str, str], direct: None, db: asyncpg.Connection
) -> None:
    for action in ("submit", "validate", "lock"):
        await api("POST", TRANSITIONS, json={"action": action})
    assert await runner.drain_queue() == 2  # consolidations, then ratios
    runs = {
        r["job"]: r
        for r in await db.fetch(
            "SELECT job, status, rows_out, summary::text AS summary, error FROM job_run "
            "WHERE trigger = 'period-lock'"
        )
    }
    assert {job: (r["status"], r["error"]) for job, r in runs.items()} == {
        "consolidations": ("succeeded", None),
        "ratios": ("succeeded", None),
    }
    assert runs["consolidations"]["rows_out"] == 4
    stored = await db.fetch("SELECT node, mode FROM consolidation_result ORDER BY node, mode")
    platform = f"platform:{domain_group['S1']}"
    assert [(r["node"], r["mode"]) for r in stored] == [
        ("group", "aggregated"),
        ("group", "consolidated"),
        (platform, "aggregated"),
        (platform, "consolidated"),
    ]
    report = await api("GET", f"{CONSOLIDATION}&node=group")
    assert report["source"] == "stored"
    assert _figures(report)["total_assets"] == Decimal("2846.4")  # DOMAIN.md §4
    # The ratios run after the lock covered the locked entities and the nodes holding them,
    # the group's read from the stored consolidation: liabilities over assets of the report.
    group_debt = await db.fetchval(
        "SELECT value FROM kpi_ratio r JOIN kpi_ratio_run u ON u.id = r.run AND u.current "
        "WHERE r.node = 'group' AND r.ratio = 'debt_to_asset'"
    )
    figures = _figures(report)
    assert group_debt == float(figures["total_liabilities"] / figures["total_assets"])
    # A second run finds every body stored and computes nothing.
    again = await runner.run_now("consolidations", {"period": PERIOD})
    assert (again.rows_out, again.summary["already_stored"]) == (0, 4)
