"""Statements, intercompany lines, period states, idempotency and consolidation through the API.

The consolidation figures are worked out by hand in `test_consolidation_worked_by_hand`.
"""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal
from typing import Any

import asyncpg
import openpyxl
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import problem

PERIOD = "2025-Q3"

# Group G holds platform P 80%; P holds S 60%. S is controlled through P at an effective
# interest of 0.8 × 0.6 = 48%, below half.
STATEMENTS = {
    "G": {
        "cash": "150",
        "receivables": "50",
        "long_term_equity_investment": "800",
        "total_assets": "1000",
        "total_liabilities": "0",
        "paid_in_capital": "1000",
        "total_equity": "1000",
        "revenue": "100",
        "operating_cost": "60",
        "net_profit": "20",
    },
    "P": {
        "cash": "600",
        "long_term_equity_investment": "300",
        "fixed_assets": "400",
        "total_assets": "1300",
        "payables": "50",
        "total_liabilities": "50",
        "paid_in_capital": "1000",
        "retained_earnings": "250",
        "total_equity": "1250",
        "revenue": "500",
        "operating_cost": "300",
        "net_profit": "100",
    },
    "S": {
        "cash": "200",
        "fixed_assets": "600",
        "total_assets": "800",
        "payables": "100",
        "total_liabilities": "100",
        "paid_in_capital": "500",
        "retained_earnings": "200",
        "total_equity": "700",
        "revenue": "300",
        "operating_cost": "200",
        "net_profit": "50",
    },
}


@pytest.fixture
async def chain(api: Any, make_entity: Any, make_stake: Any) -> dict[str, str]:
    g = await make_entity("集团", kind="group")
    p = await make_entity("城建投", kind="platform", segment="urban_construction")
    s = await make_entity("城建一公司", platform_id=p, segment="urban_construction")
    await make_stake(g, p, "0.8")
    await make_stake(p, s, "0.6")
    return {"G": g, "P": p, "S": s}


async def _submit_all(api: Any, ids: dict[str, str]) -> None:
    for name, items in STATEMENTS.items():
        await api(
            "POST",
            "/api/v1/ledger/statements/",
            status=201,
            json={"entity_id": ids[name], "period": PERIOD, "items": items},
        )


async def _lines(
    api: Any, ids: dict[str, str], entity: str, lines: list[tuple[str, str, str]], status: int = 201
) -> Any:
    body = {
        "entity_id": ids[entity],
        "period": PERIOD,
        "lines": [{"partner_id": ids[p], "kind": k, "amount": a} for p, k, a in lines],
    }
    return await api("POST", "/api/v1/ledger/intercompany/", json=body, status=status)


async def _matched_lines(api: Any, ids: dict[str, str]) -> None:
    await _lines(api, ids, "G", [("P", "receivable", "50"), ("P", "investment", "800")])
    await _lines(
        api,
        ids,
        "P",
        [
            ("G", "payable", "50"),
            ("G", "equity", "800"),
            ("S", "revenue", "40"),
            ("S", "investment", "300"),
        ],
    )
    await _lines(api, ids, "S", [("P", "cost", "40"), ("P", "equity", "300")])


TRANSITIONS = f"/api/v1/ledger/periods/{PERIOD}/transitions"


async def _close_quarter(api: Any, ids: dict[str, str]) -> str:
    """File, match, then submit, validate and lock the quarter for all three; the URL back."""
    await _submit_all(api, ids)
    await _matched_lines(api, ids)
    for action in ("submit", "validate", "lock"):
        states = await api("POST", TRANSITIONS, json={"action": action})
        assert {s["entity_id"] for s in states} == set(ids.values())
    return TRANSITIONS


async def test_statement_versions_and_findings(api: Any, chain: dict[str, str]) -> None:
    body = {"entity_id": chain["S"], "period": PERIOD, "items": STATEMENTS["S"]}
    first = await api("POST", "/api/v1/ledger/statements/", json=body, status=201)
    assert (first["version"], first["state"], first["findings"]) == (1, "open", [])
    labels = {line["item"]: line["label"] for line in first["lines"]}
    assert labels["total_assets"] == "资产总计"
    corrected = {**body, "items": {**STATEMENTS["S"], "cash": "201", "fixed_assets": "599"}}
    second = await api("POST", "/api/v1/ledger/statements/", json=corrected, status=201)
    assert second["version"] == 2
    old = await api("GET", f"/api/v1/ledger/statements/{chain['S']}/{PERIOD}?version=1")
    assert old["version"] == 1
    # What a submit answers is what a later read returns, but for the version.
    assert {**old, "version": 1} == {**first, "version": 1}
    assert (old["entity_id"], old["period"], old["created_by"]) == (chain["S"], PERIOD, "admin")


async def test_an_identical_statement_answers_the_latest_version_and_adds_nothing(
    api: Any, chain: dict[str, str], db: asyncpg.Connection
) -> None:
    body = {"entity_id": chain["S"], "period": PERIOD, "items": STATEMENTS["S"]}
    first = await api("POST", "/api/v1/ledger/statements/", json=body, status=201)
    await api("POST", TRANSITIONS, json={"action": "submit"})
    # The same amounts written differently ("200" and "200.00" are one amount as stored).
    again = {**body, "items": {**STATEMENTS["S"], "cash": "200.00"}}
    same = await api("POST", "/api/v1/ledger/statements/", json=again, status=200)
    assert (same["version"], same["state"]) == (1, "submitted")
    assert {**same, "state": "open"} == first
    assert await db.fetchval("SELECT count(*) FROM statement") == 1
    assert (
        await db.fetchval("SELECT count(*) FROM audit_log WHERE action = 'statement.submit'") == 1
    )
    # A real change is the next version, and sends the submitted period back to open.
    changed = {**body, "items": {**STATEMENTS["S"], "cash": "201", "fixed_assets": "599"}}
    second = await api("POST", "/api/v1/ledger/statements/", json=changed, status=201)
    assert (second["version"], second["state"]) == (2, "open")
    # Identical to the latest (v2), not to an older one: v1's amounts are a new version again.
    third = await api("POST", "/api/v1/ledger/statements/", json=body, status=201)
    assert third["version"] == 3


async def test_unbalanced_statement_is_refused_naming_item_and_rule(
    client: AsyncTestClient, admin: Any, chain: dict[str, str], db: asyncpg.Connection
) -> None:
    items = {**STATEMENTS["S"], "total_assets": "801"}
    response = await client.post(
        "/api/v1/ledger/statements/",
        headers=admin,
        json={"entity_id": chain["S"], "period": PERIOD, "items": items},
    )
    assert response.status_code == 422
    errors = problem(response)["errors"]
    assert errors[0]["field"] == "body.items.total_assets"
    assert errors[0]["reason"].startswith("balance")
    assert await db.fetchval("SELECT count(*) FROM statement") == 0


async def test_bad_amounts_and_unknown_items_are_400_or_422(
    client: AsyncTestClient, admin: Any, chain: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/ledger/statements/",
        headers=admin,
        json={
            "entity_id": chain["S"],
            "period": PERIOD,
            "items": {"cash": "1.001", "treasure": "5"},
        },
    )
    assert response.status_code == 422
    fields = {e["field"]: e["reason"] for e in problem(response)["errors"]}
    assert fields == {
        "body.items.cash": "amount has more than 2 decimal places (1.001)",
        "body.items.treasure": "unknown item code",
    }
    not_a_number = await client.post(
        "/api/v1/ledger/statements/",
        headers=admin,
        json={"entity_id": chain["S"], "period": PERIOD, "items": {"cash": "lots"}},
    )
    assert not_a_number.status_code == 400
    # msgspec names the map, not the key, for a bad value inside it.
    assert problem(not_a_number)["errors"][0]["field"].startswith("body.items")
    bad_period = await client.post(
        "/api/v1/ledger/statements/",
        headers=admin,
        json={"entity_id": chain["S"], "period": "2025-Q5", "items": {}},
    )
    assert bad_period.status_code == 400
    assert problem(bad_period)["errors"][0]["field"] == "body.period"


async def test_idempotent_replay_writes_once_and_conflicting_replay_is_409(
    client: AsyncTestClient, admin: Any, chain: dict[str, str], db: asyncpg.Connection
) -> None:
    body = {"entity_id": chain["S"], "period": PERIOD, "items": STATEMENTS["S"]}
    headers = {**admin, "Idempotency-Key": "q3-s-upload-1"}
    first = await client.post("/api/v1/ledger/statements/", headers=headers, json=body)
    replay = await client.post("/api/v1/ledger/statements/", headers=headers, json=body)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotency-replayed"] == "true"
    assert await db.fetchval("SELECT count(*) FROM statement") == 1
    assert (
        await db.fetchval("SELECT count(*) FROM audit_log WHERE action = 'statement.submit'") == 1
    )
    changed = {**body, "items": {**STATEMENTS["S"], "cash": "201", "fixed_assets": "599"}}
    conflict = await client.post("/api/v1/ledger/statements/", headers=headers, json=changed)
    assert conflict.status_code == 409
    assert "different request body" in problem(conflict)["detail"]
    assert await db.fetchval("SELECT count(*) FROM statement") == 1


async def test_a_failed_request_does_not_burn_its_idempotency_key(
    client: AsyncTestClient, admin: Any, chain: dict[str, str], db: asyncpg.Connection
) -> None:
    headers = {**admin, "Idempotency-Key": "retry-me"}
    bad = {
        "entity_id": chain["S"],
        "period": PERIOD,
        "items": {**STATEMENTS["S"], "total_assets": "1"},
    }
    assert (
        await client.post("/api/v1/ledger/statements/", headers=headers, json=bad)
    ).status_code == 422
    assert await db.fetchval("SELECT count(*) FROM idempotency_record") == 0
    good = {**bad, "items": STATEMENTS["S"]}
    assert (
        await client.post("/api/v1/ledger/statements/", headers=headers, json=good)
    ).status_code == 201


async def test_intercompany_mismatch_is_reported_and_blocks_lock(
    api: Any, chain: dict[str, str]
) -> None:
    await _submit_all(api, chain)
    await _lines(api, chain, "G", [("P", "receivable", "62000.00")])
    await _lines(api, chain, "P", [("G", "payable", "50000.00")])
    report = await api("GET", f"/api/v1/ledger/intercompany/mismatches?period={PERIOD}")
    assert report[0] == {
        "kind": "receivable_payable",
        "entity_id": chain["G"],
        "partner_id": chain["P"],
        "entity_amount": "62000.00",
        "partner_amount": "50000.00",
        "difference": "12000.00",
    }
    # Neither holder reported an investment line: listed, so the investments are not counted
    # twice unnoticed.
    assert len(report) == 3
    assert {
        (m["kind"], m["entity_id"], m["partner_id"], m["economic_share"]) for m in report[1:]
    } == {
        ("missing_investment_line", chain["G"], chain["P"], 0.8),
        ("missing_investment_line", chain["P"], chain["S"], 0.6),
    }
    url = f"/api/v1/ledger/periods/{PERIOD}/transitions"
    for action in ("submit", "validate"):
        await api("POST", url, json={"action": action})
    refused = await api("POST", url, json={"action": "lock"}, status=409)
    assert "nothing was changed" in refused["detail"]
    blocked = {e["reason"].split(" ")[0] for e in refused["errors"]}
    assert blocked == {chain["G"], chain["P"]}
    board = await api("GET", f"/api/v1/ledger/periods/{PERIOD}")
    assert {b["state"] for b in board} == {"validated"}


async def test_locked_period_refuses_every_write_and_keeps_the_data(
    client: AsyncTestClient, api: Any, admin: Any, chain: dict[str, str], db: asyncpg.Connection
) -> None:
    url = await _close_quarter(api, chain)
    snapshot = await db.fetch(
        "SELECT s.entity, s.version, l.item, l.amount FROM statement s "
        "JOIN statement_line l ON l.statement = s.id ORDER BY 1, 2, 3"
    )
    lines_before = await db.fetch("SELECT * FROM intercompany_line ORDER BY id")

    statement = await client.post(
        "/api/v1/ledger/statements/",
        headers=admin,
        json={"entity_id": chain["S"], "period": PERIOD, "items": STATEMENTS["S"]},
    )
    assert statement.status_code == 409
    assert problem(statement)["state"] == "locked"
    ic = await client.post(
        "/api/v1/ledger/intercompany/",
        headers=admin,
        json={"entity_id": chain["S"], "period": PERIOD, "lines": []},
    )
    assert ic.status_code == 409
    csv = f"统一社会信用代码,期间,项目编码,金额\n{await _code(db, chain['S'])},{PERIOD},cash,1.00\n"
    upload = await client.post(
        "/api/v1/ledger/statements/import",
        headers=admin,
        files={"file": ("q3.csv", csv.encode(), "text/csv")},
    )
    assert upload.status_code == 409
    again = await client.post(url, headers=admin, json={"action": "submit"})
    assert again.status_code == 409

    assert (
        await db.fetch(
            "SELECT s.entity, s.version, l.item, l.amount FROM statement s "
            "JOIN statement_line l ON l.statement = s.id ORDER BY 1, 2, 3"
        )
        == snapshot
    )
    assert await db.fetch("SELECT * FROM intercompany_line ORDER BY id") == lines_before


async def _code(db: asyncpg.Connection, entity_id: str) -> str:
    return await db.fetchval("SELECT credit_code FROM entity WHERE id = $1::uuid", entity_id)


async def test_reopen_needs_admin_and_a_reason_and_cascades_upwards(
    client: AsyncTestClient, api: Any, login_as: Any, chain: dict[str, str], db: asyncpg.Connection
) -> None:
    url = await _close_quarter(api, chain)
    finance = await login_as("group_finance")
    by_finance = await client.post(
        url,
        headers=finance,
        json={"action": "reopen", "entity_ids": [chain["S"]], "reason": "late correction"},
    )
    assert by_finance.status_code == 403
    no_reason = await api(
        "POST", url, status=422, json={"action": "reopen", "entity_ids": [chain["S"]]}
    )
    assert no_reason["errors"][0]["field"] == "body.reason"
    reopened = await api(
        "POST",
        url,
        json={
            "action": "reopen",
            "entity_ids": [chain["S"]],
            "reason": "late correction from 城建一公司",
        },
    )
    assert {r["entity_id"]: r["state"] for r in reopened} == {
        chain["G"]: "open",
        chain["P"]: "open",
        chain["S"]: "open",
    }
    rows = await db.fetch(
        "SELECT object_id, reason, actor FROM audit_log WHERE action = 'period.reopen' ORDER BY id"
    )
    # One row each, in the order their period rows were locked (entity-id order).
    assert [r["object_id"] for r in rows] == sorted(f"{chain[n]}/{PERIOD}" for n in "SPG")
    reasons = {r["object_id"]: r["reason"] for r in rows}
    cascade = f"cascade from {chain['S']}: late correction from 城建一公司"
    assert reasons == {
        f"{chain['S']}/{PERIOD}": "late correction from 城建一公司",
        f"{chain['P']}/{PERIOD}": cascade,
        f"{chain['G']}/{PERIOD}": cascade,
    }
    assert {r["actor"] for r in rows} == {"admin"}


async def test_consolidation_worked_by_hand(api: Any, chain: dict[str, str]) -> None:
    await _submit_all(api, chain)
    await _matched_lines(api, chain)
    report = await api(
        "GET", f"/api/v1/ledger/consolidation/?period={PERIOD}&node=group&eliminations=all"
    )
    assert report["source"] == "computed"
    items = {i["item"]: i for i in report["items"]}
    consolidated = {k: Decimal(v["consolidated"]) for k, v in items.items()}
    # Sum of G, P, S: total_assets 1000 + 1300 + 800 = 3100. Eliminated: the receivable 50 and
    # the investments 800 (G in P) + 300 (P in S) = 1150 → 1950.
    assert Decimal(items["total_assets"]["aggregated"]) == 3100
    assert Decimal(items["total_assets"]["eliminated"]) == 1150
    assert consolidated["total_assets"] == 1950
    assert consolidated["receivables"] == 0
    assert consolidated["long_term_equity_investment"] == 0
    # Liabilities 0 + 50 + 100 less the payable 50 = 100; equity 2950 less 800 + 300 = 1850.
    assert consolidated["total_liabilities"] == 100
    assert consolidated["total_equity"] == 1850
    # CAS 33: paid-in capital is the group's own; P's 1000 and S's 500 go x to capital reserve,
    # against the investments: 0.8 × 1000 + 0.48 × 500 − (1 × 800 + 0.8 × 300) = 0.
    assert consolidated["paid_in_capital"] == 1000
    assert consolidated["capital_reserve"] == 0
    # Retained: 0.8 × P's 250 + 0.48 × S's 200 = 296.
    assert consolidated["retained_earnings"] == 296
    # Revenue 900 and cost 560 both lose the 40 P sold to S; profit is untouched.
    assert (consolidated["revenue"], consolidated["operating_cost"]) == (860, 520)
    assert consolidated["net_profit"] == 170
    # NCI: P (x = 0.8): 20% × (1250 − 300 invested in S) = 190; S (x = 0.48): 52% × 700 = 364.
    assert consolidated["non_controlling_interest"] == 554
    # Cross-check: 1000 + 80% × P's 250 retained + 48% × S's 200 retained = 1296.
    assert consolidated["equity_attributable_to_parent"] == 1296
    # NCI profit 20% × 100 + 52% × 50 = 46; attributable 20 + 80 + 24 = 124.
    assert consolidated["nci_profit"] == 46
    assert consolidated["net_profit_attributable_to_parent"] == 124
    assert consolidated["elimination_difference"] == 0
    assert items["non_controlling_interest"]["label"] == "少数股东权益"
    nci = {n["entity_id"]: Decimal(n["non_controlling_interest"]) for n in report["nci"]}
    assert nci == {chain["P"]: 190, chain["S"]: 364}
    assert sorted(report["members"]) == sorted(chain.values())
    assert {v["version"] for v in report["statement_versions"]} == {1}
    assert len(report["statement_versions"]) == 3
    kinds = sorted((e["kind"], e["at_entity_id"]) for e in report["eliminations"])
    assert kinds == sorted(
        [
            ("receivable_payable", chain["G"]),
            ("revenue_cost", chain["P"]),
            ("investment", chain["G"]),
            ("investment", chain["P"]),
        ]
    )
    # S reported what it bought as cost, with no inventory_held line: the report says so.
    assert len(report["notes"]) == 1 and "inventory_held" in report["notes"][0]
    for row in report["items"]:
        if row["aggregated"] is not None:
            assert Decimal(row["aggregated"]) - Decimal(row["eliminated"]) == Decimal(
                row["consolidated"]
            ), row["item"]


async def test_platform_consolidation_and_aggregation(api: Any, chain: dict[str, str]) -> None:
    await _submit_all(api, chain)
    await _matched_lines(api, chain)
    platform = await api(
        "GET", f"/api/v1/ledger/consolidation/?period={PERIOD}&node=platform:{chain['P']}"
    )
    items = {i["item"]: Decimal(i["consolidated"]) for i in platform["items"]}
    # P + S: assets 1300 + 800 − 300 investment = 1800; NCI of S from P's view: 40% × 700 = 280.
    assert items["total_assets"] == 1800
    assert items["non_controlling_interest"] == 280
    aggregated = await api(
        "GET",
        f"/api/v1/ledger/consolidation/?period={PERIOD}&node=segment:urban_construction"
        "&mode=aggregated",
    )
    summed = {i["item"]: Decimal(i["consolidated"]) for i in aggregated["items"]}
    assert summed["total_assets"] == 2100
    assert aggregated["eliminations"] == aggregated["elimination_summary"] == []


async def test_consolidation_exports_to_xlsx_with_chinese_labels(
    client: AsyncTestClient, api: Any, admin: Any, chain: dict[str, str]
) -> None:
    await _submit_all(api, chain)
    await _matched_lines(api, chain)
    response = await client.get(f"/api/v1/ledger/consolidation/xlsx?period={PERIOD}", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["合并报表", "抵销分录", "少数股东权益", "报表版本"]
    rows = {r[0]: r for r in book["合并报表"].iter_rows(min_row=4, values_only=True)}
    assert rows["total_assets"][1:] == ("资产总计", 3100, 1150, 1950)
    assert rows["non_controlling_interest"][4] == 554


async def test_board_reads_but_cannot_submit(
    client: AsyncTestClient, login_as: Any, api: Any, chain: dict[str, str]
) -> None:
    await _submit_all(api, chain)
    board = await login_as("board")
    read = await client.get(f"/api/v1/ledger/consolidation/?period={PERIOD}", headers=board)
    assert read.status_code == 200
    write = await client.post(
        "/api/v1/ledger/statements/",
        headers=board,
        json={"entity_id": chain["S"], "period": PERIOD, "items": STATEMENTS["S"]},
    )
    assert write.status_code == 403


async def test_scoped_staff_consolidate_their_platform_but_not_the_group(
    client: AsyncTestClient, login_as: Any, api: Any, chain: dict[str, str]
) -> None:
    await _submit_all(api, chain)
    staff = await login_as("entity_finance", entity_id=chain["P"])
    own = await client.get(
        f"/api/v1/ledger/consolidation/?period={PERIOD}&node=entity:{chain['P']}", headers=staff
    )
    assert own.status_code == 200
    assert sorted(own.json()["members"]) == sorted([chain["P"], chain["S"]])
    for node in ("group", "segment:urban_construction"):
        refused = await client.get(
            f"/api/v1/ledger/consolidation/?period={PERIOD}&node={node}", headers=staff
        )
        assert refused.status_code == 404, node


async def test_period_board_lists_reporting_entities_only(
    api: Any, make_entity: Any, chain: dict[str, str]
) -> None:
    await make_entity("外部股东", kind="outside")
    await api(
        "POST",
        "/api/v1/ledger/statements/",
        status=201,
        json={"entity_id": chain["S"], "period": PERIOD, "items": STATEMENTS["S"]},
    )
    board = await api("GET", f"/api/v1/ledger/periods/{PERIOD}")
    assert [(b["entity_name"], b["state"]) for b in board] == [("城建一公司", "open")]


async def test_concurrent_requests_with_one_key_write_once(
    client: AsyncTestClient, admin: Any, chain: dict[str, str], db: asyncpg.Connection
) -> None:
    body = {"entity_id": chain["S"], "period": PERIOD, "items": STATEMENTS["S"]}
    headers = {**admin, "Idempotency-Key": "double-click"}
    responses = await asyncio.gather(
        *[client.post("/api/v1/ledger/statements/", headers=headers, json=body) for _ in range(4)]
    )
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.text for r in responses}) == 1
    assert await db.fetchval("SELECT count(*) FROM statement") == 1


async def test_ownership_cannot_change_inside_a_locked_period(
    api: Any, make_entity: Any, chain: dict[str, str], db: asyncpg.Connection
) -> None:
    await _close_quarter(api, chain)
    outsider = await make_entity("外部投资人", kind="outside")
    backdated = await api(
        "POST",
        "/api/v1/ledger/stakes",
        status=409,
        json={
            "holder_id": outsider,
            "held_id": chain["S"],
            "economic_share": "0.1",
            "valid_from": "2025-09-30",
        },
    )
    assert backdated["locked_periods"] == [PERIOD]
    stake = await db.fetchval("SELECT id FROM stake WHERE held = $1::uuid", chain["S"])
    await api(
        "POST", f"/api/v1/ledger/stakes/{stake}/end", status=409, json={"valid_to": "2025-08-01"}
    )
    await api(
        "POST",
        "/api/v1/ledger/control-overrides",
        status=409,
        json={
            "entity_id": chain["S"],
            "controlled": False,
            "valid_from": "2025-07-01",
            "reason": "backdated judgement",
        },
    )
    assert await db.fetchval("SELECT count(*) FROM stake") == 2
    # After the locked quarter, ownership moves freely.
    await api(
        "POST",
        "/api/v1/ledger/stakes",
        status=201,
        json={
            "holder_id": outsider,
            "held_id": chain["S"],
            "economic_share": "0.1",
            "valid_from": "2025-10-01",
        },
    )
