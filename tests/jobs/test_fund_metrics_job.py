"""The fund_metrics job: a hand-worked fund stored as a version, a second run on the same data
byte-identical, older versions readable by id, a failed run leaving the previous version
current, and the stored routes' scope."""

from __future__ import annotations

import asyncio
from datetime import date
from functools import partial
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset.audit import service as audit_service
from stateasset.jobs import runner
from tests.funds.conftest import key, tree  # noqa: F401

STORED = "/api/v1/funds/metrics/stored"
RUNS = "/api/v1/funds/metrics/runs"
AS_OF = "2023-12-31"


async def run_job(client: AsyncTestClient, params: dict[str, Any]) -> dict[str, Any]:
    """`runner.run_now` on the app's own loop (its pool lives there); the finished run."""
    call = partial(runner.run_now, "fund_metrics", params)
    run = await asyncio.to_thread(client.blocking_portal.call, call)
    return {"status": run.status.value, "error": run.error, "summary": run.summary, "id": run.id}


async def _flows(api: Any, admin: dict[str, str], ids: dict[str, Any]) -> None:
    """The sub-fund: the mother fund pays 6,000,000 on 2021-03-01 and the market LP 10,000,000 on
    2022-03-01; the market LP gets 4,000,000 back on 2023-06-30; the NAV at 2023-Q2 is
    0 + 16,000,000 − 4,000,000 + 2,000,000 gains = 14,000,000."""
    sub = ids["sub"]
    for n, (commitment, amount, day) in enumerate(
        (
            (ids["c_mother"], "6000000.00", "2021-03-01"),
            (ids["c_market_lp"], "10000000.00", "2022-03-01"),
        )
    ):
        body = {"commitment_id": commitment, "amount": amount, "call_date": day, "paid_on": day}
        await api(
            "POST", f"/api/v1/funds/{sub}/calls", json=body, headers={**admin, **key(n)}, status=201
        )
    body = {
        "commitment_id": ids["c_market_lp"],
        "amount": "4000000.00",
        "distribution_date": "2023-06-30",
    }
    await api(
        "POST",
        f"/api/v1/funds/{sub}/distributions",
        json=body,
        headers={**admin, **key("d")},
        status=201,
    )
    nav = {
        "period": "2023-Q2",
        "contributions": "16000000.00",
        "distributions": "4000000.00",
        "gains": "2000000.00",
        "fees": "0.00",
        "nav": "14000000.00",
    }
    await api("POST", f"/api/v1/funds/{sub}/navs", json=nav, status=201)


def _npv(rate: float) -> float:
    """The sub-fund's flows at `rate`, Actual/365 from 2021-03-01, the NAV an inflow at as-of."""
    first = date(2021, 3, 1)
    flows = (
        (date(2021, 3, 1), -6_000_000.0),
        (date(2022, 3, 1), -10_000_000.0),
        (date(2023, 6, 30), 4_000_000.0),
        (date(2023, 12, 31), 14_000_000.0),
    )
    return sum(a / (1 + rate) ** ((d - first).days / 365) for d, a in flows)


async def _stored_rows(db: asyncpg.Connection, run_id: str) -> list[str]:
    """A run's rows as PostgreSQL renders them, without the row and run ids, in stored order."""
    rows = await db.fetch(
        "SELECT (to_jsonb(m) - 'id' - 'run')::text AS row FROM fund_metric m "
        "WHERE run = $1::uuid ORDER BY id",
        run_id,
    )
    return [r["row"] for r in rows]


async def test_a_run_stores_the_hand_worked_fund_and_a_rerun_is_byte_identical(
    client: AsyncTestClient,
    api: Any,
    admin: dict[str, str],
    tree: dict[str, Any],  # noqa: F811
    db: asyncpg.Connection,
) -> None:
    await _flows(api, admin, tree)
    first = await run_job(client, {"as_of": AS_OF})
    assert first["status"] == "succeeded", first["error"]
    # Two funds (the mother fund and the sub-fund) and the sub-fund's three LP positions.
    assert first["summary"]["version"] == 1
    body = await api("GET", f"{STORED}?as_of={AS_OF}&positions=true")
    assert (body["run"]["version"], body["run"]["current"]) == (1, True)
    assert (body["run"]["funds"], body["run"]["rows"]) == (2, 5)
    by_key = {m["key"]: m for m in body["items"]}
    sub = by_key[tree["sub"]]
    # Paid-in 6,000,000 + 10,000,000 = 16,000,000 of 100,000,000 committed: PICC 0.16, unfunded
    # 84,000,000; DPI 4,000,000 / 16,000,000 = 0.25; RVPI 14,000,000 / 16,000,000 = 0.875;
    # TVPI 0.25 + 0.875 = 1.125.
    assert (sub["commitment"], sub["paid_in"], sub["unfunded"]) == (
        "100000000.00",
        "16000000.00",
        "84000000.00",
    )
    assert (sub["distributed"], sub["nav"]) == ("4000000.00", "14000000.00")
    assert (sub["picc"], sub["dpi"], sub["rvpi"], sub["tvpi"]) == (0.16, 0.25, 0.875, 1.125)
    # IRR: the rate at which the four dated flows are worth nothing today (NPV within a cent),
    # between the money multiple's bounds: 1.125× over ~2.4 years is a few percent a year.
    assert 0.0 < sub["irr"] < 0.125 and abs(_npv(sub["irr"])) < 0.01
    assert sub["irr_reason"] is None
    mother = by_key[tree["mother"]]
    assert (mother["paid_in"], mother["tvpi"], mother["irr"]) == ("0.00", None, None)
    assert mother["irr_reason"] == "no contribution yet: an IRR needs money paid in"
    # The market LP: 10,000,000 paid, 4,000,000 back, NAV share 14,000,000 × 10/16 = 8,750,000:
    # DPI 0.4, RVPI 0.875, TVPI 1.275.
    market = by_key[f"{tree['sub']}|{tree['market_lp']}"]
    assert (market["paid_in"], market["nav"], market["dpi"], market["tvpi"]) == (
        "10000000.00",
        "8750000.00",
        0.4,
        1.275,
    )
    stored_irr = await db.fetchval(
        "SELECT irr FROM fund_metric WHERE fund = $1::uuid AND lp IS NULL", tree["sub"]
    )
    assert stored_irr == sub["irr"] and stored_irr == round(stored_irr, 10)

    second = await run_job(client, {"as_of": AS_OF})
    assert second["status"] == "succeeded", second["error"]
    assert second["summary"]["version"] == 2
    again = await api("GET", f"{STORED}?as_of={AS_OF}&positions=true")
    assert (again["run"]["version"], again["run"]["id"]) == (
        2,
        second["summary"]["fund_metric_run"],
    )
    # Byte-identical: the API's items and PostgreSQL's own rendering of the stored rows.
    assert again["items"] == body["items"]
    v1, v2 = first["summary"]["fund_metric_run"], second["summary"]["fund_metric_run"]
    assert await _stored_rows(db, v1) == await _stored_rows(db, v2)
    assert len(await _stored_rows(db, v1)) == 5
    # Version 1 stays readable by its id, no longer current.
    old = await api("GET", f"{STORED}?run={v1}&positions=true")
    assert (old["run"]["version"], old["run"]["current"]) == (1, False)
    assert old["items"] == body["items"]
    runs = await api("GET", f"{RUNS}?as_of={AS_OF}")
    assert [(r["version"], r["current"]) for r in runs["items"]] == [(2, True), (1, False)]
    assert runs["total"] == 2
    # Without positions, only the funds' own rows; without a date, the latest date stored.
    funds_only = await api("GET", STORED)
    assert [m["key"] for m in funds_only["items"]] == sorted([tree["mother"], tree["sub"]])
    actions = await db.fetch(
        "SELECT action FROM audit_log WHERE object_type = 'fund_metric_run' ORDER BY at"
    )
    assert [a["action"] for a in actions] == ["fund_metric_run.create"] * 2
    # Stored rows are the app's to append only; of a run, only `current` ever moves.
    privileges = await db.fetch(
        "SELECT t, has_table_privilege('stateasset_app', t, 'UPDATE') AS can_update, "
        "has_table_privilege('stateasset_app', t, 'DELETE') AS can_delete "
        "FROM unnest(ARRAY['fund_metric', 'fund_metric_run']) t ORDER BY t"
    )
    assert [tuple(p) for p in privileges] == [
        ("fund_metric", False, False),
        ("fund_metric_run", True, True),
    ]
    with pytest.raises(asyncpg.RaiseError, match="only current may change"):
        await db.execute("UPDATE fund_metric_run SET rows = 0 WHERE version = 1")
    with pytest.raises(asyncpg.RaiseError, match="only current may change"):
        await db.execute("DELETE FROM fund_metric_run WHERE version = 1")


async def test_a_run_failing_after_its_rows_are_written_leaves_version_1_current(
    client: AsyncTestClient,
    api: Any,
    admin: dict[str, str],
    tree: dict[str, Any],  # noqa: F811
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _flows(api, admin, tree)
    first = await run_job(client, {"as_of": AS_OF})
    assert first["status"] == "succeeded", first["error"]
    original = audit_service.record

    async def refuse(**entry: Any) -> None:
        # The audit entry is the last write of the run's transaction: by now its rows are
        # copied and `current` switched, so only the rollback can keep version 1 current.
        if entry["action"] == "fund_metric_run.create":
            raise RuntimeError("audit log unavailable")
        await original(**entry)

    monkeypatch.setattr(audit_service, "record", refuse)
    failed = await run_job(client, {"as_of": AS_OF})
    assert failed["status"] == "failed"
    assert failed["error"] == "RuntimeError: audit log unavailable"
    row = await db.fetchrow("SELECT status, error FROM job_run WHERE id = $1", failed["id"])
    assert (row["status"], row["error"]) == ("failed", "RuntimeError: audit log unavailable")
    runs = await db.fetch("SELECT version, current FROM fund_metric_run ORDER BY version")
    assert [(r["version"], r["current"]) for r in runs] == [(1, True)]
    assert await db.fetchval("SELECT count(DISTINCT run) FROM fund_metric") == 1
    body = await api("GET", f"{STORED}?as_of={AS_OF}")
    assert body["run"]["id"] == first["summary"]["fund_metric_run"]


async def test_stored_metrics_keep_to_the_readers_funds(
    client: AsyncTestClient,
    api: Any,
    admin: dict[str, str],
    login_as: Any,
    tree: dict[str, Any],  # noqa: F811
    db: asyncpg.Connection,
) -> None:
    await _flows(api, admin, tree)
    assert (await run_job(client, {"as_of": AS_OF}))["status"] == "succeeded"
    manager = await login_as("fund_manager", username="fm-stored")
    await db.execute(
        "UPDATE app_user SET fund_ids = $1 WHERE username = 'fm-stored'", [tree["sub"]]
    )
    seen = await api("GET", f"{STORED}?as_of={AS_OF}&positions=true", headers=manager)
    assert {m["fund_id"] for m in seen["items"]} == {tree["sub"]}
    assert len(seen["items"]) == 4  # the sub-fund and its three LP positions
    entity_finance = await login_as("entity_finance")
    await api("GET", STORED, headers=entity_finance, status=403)
    await api("GET", RUNS, headers=entity_finance, status=403)
    # A run id that is not one: 404; a date never stored: nothing, not an error.
    await api("GET", f"{STORED}?run={tree['sub']}", status=404)
    empty = await api("GET", f"{STORED}?as_of=2020-01-01")
    assert empty == {"run": None, "items": []}
    await api("GET", f"{STORED}?as_of=not-a-date", status=400)


async def test_ks_pme_against_an_uploaded_index_is_stored_with_the_run(
    client: AsyncTestClient,
    api: Any,
    admin: dict[str, str],
    tree: dict[str, Any],  # noqa: F811
) -> None:
    await _flows(api, admin, tree)
    points = [
        {"day": "2021-03-01", "value": "100"},
        {"day": "2022-03-01", "value": "125"},
        {"day": "2023-06-30", "value": "160"},
        {"day": "2023-12-31", "value": "200"},
    ]
    body = {"series": "沪深300全收益", "points": points}
    await api("POST", "/api/v1/funds/index-series", json=body)
    run = await run_job(client, {"as_of": AS_OF, "index": "沪深300全收益"})
    assert run["status"] == "succeeded", run["error"]
    stored = await api("GET", f"{STORED}?as_of={AS_OF}")
    assert stored["run"]["index_series"] == "沪深300全收益"
    sub = next(m for m in stored["items"] if m["key"] == tree["sub"])
    # Each flow grown to 2023-12-31 by the index (200 over its day's value): calls 6,000,000 × 2
    # + 10,000,000 × 1.6 = 28,000,000; the distribution 4,000,000 × 1.25 = 5,000,000, plus the
    # NAV 14,000,000: KS-PME 19,000,000 / 28,000,000 = 0.678571…, stored to 10 places.
    assert (sub["pme"], sub["pme_reason"]) == (round(19 / 28, 10), None)
    # An index never uploaded: the run fails naming its parameter, and nothing is stored.
    failed = await run_job(client, {"as_of": AS_OF, "index": "中证500"})
    assert failed["status"] == "failed"
    assert failed["error"].startswith("params.index: no index series named '中证500'")
    assert (await api("GET", RUNS))["total"] == 1


async def test_a_bad_parameter_is_refused_before_a_run_starts(client: AsyncTestClient) -> None:
    with pytest.raises(Exception, match=r"params\.as_of"):
        await run_job(client, {"as_of": "yesterday"})
