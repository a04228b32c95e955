"""Stored ratios through the API: DOMAIN §6's worked example end to end, nulls with reasons, a
node's ratios from its consolidation with the versions used, runs as versions, the asset
register's two ratios, and bad input."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from tests.ledger.test_rules import changed

RUNS = "/api/v1/kpi/ratios/runs"
RATIOS = "/api/v1/kpi/ratios"
STATEMENTS = "/api/v1/ledger/statements/"

# DOMAIN §6: operating cash flow 6,630.70, revenue 62,500, average total assets 51,500.
# Opening (2024-Q4) total assets 41,500 and closing (2025-Q4) 61,500 average to 51,500: BALANCED
# (21,601.00) with fixed assets and long-term borrowings raised by 19,899 and 39,899.
OPENING = changed(
    fixed_assets="27899.75",
    total_assets="41500.00",
    long_term_borrowings="25899.00",
    total_liabilities="32900.00",
)
CLOSING = changed(
    fixed_assets="47899.75",
    total_assets="61500.00",
    long_term_borrowings="45899.00",
    total_liabilities="52900.00",
)


async def _file(api: Any, entity: str, period: str, items: dict[str, str]) -> dict[str, Any]:
    return await api(
        "POST", STATEMENTS, json={"entity_id": entity, "period": period, "items": items}, status=201
    )


def _by_ratio(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["ratio"]: r for r in page["items"]}


async def test_worked_example_through_the_api_is_stored_with_its_versions(
    api: Any, make_entity: Any, db: asyncpg.Connection
) -> None:
    company = await make_entity("城建投")
    opening = await _file(api, company, "2024-Q4", OPENING)
    closing = await _file(api, company, "2025-Q4", CLOSING)
    run = await api("POST", RUNS, json={"period": "2025-Q4", "entity_ids": [company]}, status=201)
    assert (run["period"], run["version"], run["current"], run["entities"], run["nodes"]) == (
        "2025-Q4",
        1,
        True,
        1,
        0,
    )
    assert run["rows"] == 10
    page = await api("GET", f"{RATIOS}?period=2025-Q4&entity={company}")
    assert page["total"] == 10
    got = _by_ratio(page)
    # 6,630.70 / 62,500 = 0.106091 → 10.61%; 6,630.70 / 51,500 = 0.128751 → 12.88%.
    assert round(got["operating_cash_ratio"]["value"] * 100, 2) == 10.61
    assert round(got["cash_recovery_on_assets"]["value"] * 100, 2) == 12.88
    assert got["operating_cash_ratio"]["ratio_name"] == "营业现金比率"
    # 52,900 / 61,500 = 0.860163; net profit 2,250 / average equity 8,600 = 0.261628.
    assert round(got["debt_to_asset"]["value"], 6) == 0.860163
    assert round(got["roe"]["value"], 6) == 0.261628
    ids = {
        r["period"]: str(r["id"])
        for r in await db.fetch("SELECT period, id FROM statement WHERE entity = $1::uuid", company)
    }
    assert [(s["period"], s["statement_id"], s["version"]) for s in got["roe"]["statements"]] == [
        ("2025-Q4", ids["2025-Q4"], closing["version"]),
        ("2024-Q4", ids["2024-Q4"], opening["version"]),
    ]
    stored = await db.fetchval(
        "SELECT value FROM kpi_ratio WHERE run = $1 AND ratio = 'operating_cash_ratio'",
        run["id"],
    )
    assert stored == pytest.approx(6630.70 / 62500, rel=1e-12)
    audited = await db.fetch(
        "SELECT action, object_id FROM audit_log WHERE object_type = 'kpi_ratio_run'"
    )
    assert [(a["action"], a["object_id"]) for a in audited] == [("kpi_ratio_run.create", run["id"])]


async def test_a_zero_denominator_is_stored_as_null_with_its_reason(
    api: Any, make_entity: Any, db: asyncpg.Connection
) -> None:
    company = await make_entity("文旅公司")
    await _file(api, company, "2025", changed(revenue="0.00", operating_cost="0.00"))
    run = await api("POST", RUNS, json={"period": "2025", "entity_ids": [company]}, status=201)
    got = _by_ratio(await api("GET", f"{RATIOS}?period=2025&entity={company}"))
    assert (got["operating_cash_ratio"]["value"], got["operating_cash_ratio"]["reason"]) == (
        None,
        "zero revenue",
    )
    assert got["rd_intensity"]["reason"] == "zero revenue"
    # No 2024 statement: the average needs an opening, so ROE is null for that reason.
    assert (got["roe"]["value"], got["roe"]["reason"]) == (None, "missing average total_equity")
    # 13,001 / 21,601 = 0.601870: the closing balance alone needs no opening.
    assert round(got["debt_to_asset"]["value"], 6) == 0.60187
    assert got["debt_to_asset"]["reason"] is None
    stored = await db.fetchrow(
        "SELECT value, reason FROM kpi_ratio WHERE run = $1 AND ratio = 'operating_cash_ratio'",
        run["id"],
    )
    assert (stored["value"], stored["reason"]) == (None, "zero revenue")
    only = await api("GET", f"{RATIOS}?period=2025&ratio=rd_intensity")
    assert [(r["entity_id"], r["ratio_name"]) for r in only["items"]] == [
        (company, "研发经费投入强度")
    ]


async def test_a_nodes_ratios_come_from_its_consolidation_with_the_versions_listed(
    api: Any, make_entity: Any, make_stake: Any
) -> None:
    group = await make_entity("福清国投集团", "group")
    platform = await make_entity("城建投", "platform")
    sub = await make_entity("城建开发", "subsidiary", platform_id=platform)
    await make_stake(group, platform, "1")
    await make_stake(platform, sub, "1")
    await _file(api, platform, "2024-Q4", OPENING)
    await _file(api, platform, "2025-Q4", CLOSING)
    await _file(api, sub, "2025-Q4", changed())
    node = f"platform:{platform}"
    run = await api("POST", RUNS, json={"period": "2025-Q4", "nodes": [node]}, status=201)
    assert (run["entities"], run["nodes"], run["rows"]) == (0, 1, 10)
    got = _by_ratio(await api("GET", f"{RATIOS}?period=2025-Q4&node={node}"))
    # No intercompany lines: the consolidation sums the two. Liabilities 52,900 + 13,001 =
    # 65,901 over assets 61,500 + 21,601 = 83,101 → 0.793023; cash 6,630.70 × 2 over revenue
    # 62,500 × 2 → 0.106091.
    assert round(got["debt_to_asset"]["value"], 6) == 0.793023
    assert round(got["operating_cash_ratio"]["value"], 6) == 0.106091
    # The opening is the node's 2024-Q4 consolidation, where only the platform filed: average
    # assets (41,500 + 83,101) / 2 = 62,300.50 → 13,261.40 / 62,300.50 = 0.212862; average
    # equity (8,600 + 17,200) / 2 = 12,900 → net profit 4,500 / 12,900 = 0.348837.
    assert round(got["cash_recovery_on_assets"]["value"], 6) == 0.212862
    assert round(got["roe"]["value"], 6) == 0.348837
    used = got["debt_to_asset"]["statements"]
    assert sorted((s["entity_id"], s["period"], s["version"]) for s in used) == sorted(
        [(platform, "2025-Q4", 1), (sub, "2025-Q4", 1), (platform, "2024-Q4", 1)]
    )
    # Every run without subjects covers every filer and the group, platform and segments.
    everything = await api("POST", RUNS, json={"period": "2025-Q4"}, status=201)
    assert (everything["entities"], everything["nodes"]) == (2, 2)
    group_rows = _by_ratio(await api("GET", f"{RATIOS}?period=2025-Q4&node=group"))
    assert round(group_rows["debt_to_asset"]["value"], 6) == 0.793023
    # The sub filed no 2024-Q4: its own ROE has no opening.
    own = _by_ratio(await api("GET", f"{RATIOS}?period=2025-Q4&entity={sub}"))
    assert own["roe"]["reason"] == "missing average total_equity"


async def test_a_second_run_is_a_new_version_and_the_old_stays_readable(
    api: Any, make_entity: Any, db: asyncpg.Connection
) -> None:
    a = await make_entity("城建投")
    b = await make_entity("水投")
    await _file(api, a, "2024-Q4", OPENING)
    await _file(api, a, "2025-Q4", CLOSING)
    await _file(api, b, "2025-Q4", changed())
    first = await api("POST", RUNS, json={"period": "2025-Q4", "entity_ids": [a, b]}, status=201)
    # A new version of a's statement: revenue 66,307 makes 6,630.70 / 66,307 = 0.1 exactly.
    refiled = await _file(api, a, "2025-Q4", {**CLOSING, "revenue": "66307.00"})
    assert refiled["version"] == 2
    second = await api("POST", RUNS, json={"period": "2025-Q4", "entity_ids": [a]}, status=201)
    assert (second["version"], second["current"], second["entities"]) == (2, True, 2)
    now = _by_ratio(await api("GET", f"{RATIOS}?period=2025-Q4&entity={a}"))
    assert now["operating_cash_ratio"]["run_version"] == 2
    assert now["operating_cash_ratio"]["value"] == pytest.approx(0.1, rel=1e-12)
    assert [(s["period"], s["version"]) for s in now["operating_cash_ratio"]["statements"]] == [
        ("2025-Q4", 2),
        ("2024-Q4", 1),
    ]
    old = _by_ratio(await api("GET", f"{RATIOS}?period=2025-Q4&entity={a}&run={first['id']}"))
    assert round(old["operating_cash_ratio"]["value"], 6) == 0.106091
    assert old["operating_cash_ratio"]["statements"][0]["version"] == 1
    # b was not recomputed: the new run carries its rows forward, so readers still see it.
    kept = await api("GET", f"{RATIOS}?period=2025-Q4&entity={b}")
    assert (kept["total"], kept["items"][0]["run_version"]) == (10, 2)
    assert [(s["period"], s["version"]) for s in kept["items"][0]["statements"]] == [("2025-Q4", 1)]
    # ... without copying them: run 2 stores a's ten rows and says run 1 holds b's.
    assert await db.fetchval("SELECT count(*) FROM kpi_ratio WHERE run = $1", second["id"]) == 10
    holders = await db.fetch(
        "SELECT entity::text AS entity, holder::text AS holder FROM kpi_ratio_subject "
        "WHERE run = $1 ORDER BY holder = $1::uuid DESC",
        second["id"],
    )
    assert [(h["entity"], h["holder"]) for h in holders] == [(a, second["id"]), (b, first["id"])]
    runs = await api("GET", f"{RUNS}?period=2025-Q4")
    assert [(r["version"], r["current"]) for r in runs["items"]] == [(2, True), (1, False)]
    assert runs["total"] == 2


async def test_effective_asset_ratio_from_a_hand_worked_card_set(
    api: Any, make_entity: Any, admin: dict[str, str]
) -> None:
    company = await make_entity("城建投")
    bare = await make_entity("住建局", "agency")
    await _file(api, company, "2025-Q4", CLOSING)  # cash 1,000.00 at the period's end
    cards = "/api/v1/ledger/assets/cards/"

    async def card(code: str, category: str, value: str, operating: bool) -> dict[str, Any]:
        body = {
            "code": code,
            "name": "资产",
            "category": category,
            "holder_id": company,
            "source": "purchase",
            "acquired_on": "2025-01-15",
            "original_value": value,
            "operating": operating,
        }
        return await api("POST", cards, json=body, status=201, headers=_keyed(admin))

    earning = await card("ZC-0001", "buildings", "100000.00", True)
    await card("ZC-0002", "vehicles", "50000.00", True)
    await card("ZC-0003", "buildings", "30000.00", False)
    income = {"kind": "income", "event_date": "2025-06-30", "amount": "60000.00"}
    await api(
        "POST", f"{cards}{earning['id']}/events", json=income, status=201, headers=_keyed(admin)
    )
    await api("POST", RUNS, json={"period": "2025-Q4", "entity_ids": [company, bare]}, status=201)
    got = _by_ratio(await api("GET", f"{RATIOS}?period=2025-Q4&entity={company}"))
    # No depreciation (no useful life). Only the earning building is effective (income 60,000
    # over the threshold 0): (100,000 + cash 1,000) / (180,000 + 1,000) = 0.558011; operating
    # book 150,000 / 180,000 = 0.833333.
    assert got["effective_asset_ratio"]["value"] == pytest.approx(0.558011)
    assert got["effective_asset_ratio"]["ratio_name"] == "有效资产比重"
    assert got["operating_asset_share"]["value"] == pytest.approx(0.833333)
    none = _by_ratio(await api("GET", f"{RATIOS}?period=2025-Q4&entity={bare}"))
    assert none["operating_asset_share"] == none["operating_asset_share"] | {
        "value": None,
        "reason": "no asset cards (zero book value)",
    }
    assert none["effective_asset_ratio"]["reason"] == (
        "no asset cards and no cash (zero book value and cash)"
    )
    assert none["roe"]["reason"] == "no statement for 2025-Q4"


def _keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": str(uuid4())}


async def test_bad_input_is_422_naming_the_field_and_the_board_cannot_run(
    api: Any, make_entity: Any, login_as: Any, db: asyncpg.Connection
) -> None:
    company = await make_entity("城建投")
    problem = await api("POST", RUNS, json={"period": "2025-13"}, status=422)
    assert [e["field"] for e in problem["errors"]] == ["body.period"]
    problem = await api("GET", f"{RATIOS}?period=2025-Q5", status=422)
    assert [e["field"] for e in problem["errors"]] == ["query.period"]
    problem = await api(
        "POST", RUNS, json={"period": "2025", "nodes": [f"platform:{uuid4()}"]}, status=422
    )
    assert [e["field"] for e in problem["errors"]] == ["body.nodes[0]"]
    problem = await api("POST", RUNS, json={"period": "2025", "nodes": ["nowhere"]}, status=422)
    assert [e["field"] for e in problem["errors"]] == ["body.nodes[0]"]
    problem = await api(
        "POST", RUNS, json={"period": "2025", "entity_ids": [company, str(uuid4())]}, status=422
    )
    assert [e["field"] for e in problem["errors"]] == ["body.entity_ids[1]"]
    problem = await api("POST", RUNS, json={"period": "2025", "entity_ids": []}, status=422)
    assert [e["field"] for e in problem["errors"]] == ["body"]
    problem = await api("GET", f"{RATIOS}?period=2025&ratio=nonsense", status=422)
    assert [e["field"] for e in problem["errors"]] == ["query.ratio"]
    board = await login_as("board")
    await api("POST", RUNS, json={"period": "2025"}, headers=board, status=403)
    assert (await api("GET", f"{RATIOS}?period=2025", headers=board))["total"] == 0
    assert await db.fetchval("SELECT count(*) FROM kpi_ratio_run") == 0


async def test_a_companys_staff_read_only_their_own_companys_ratios(
    api: Any, make_entity: Any, login_as: Any
) -> None:
    own = await make_entity("城建投", "platform")
    other = await make_entity("水投", "platform")
    await _file(api, own, "2025-Q4", CLOSING)
    await _file(api, other, "2025-Q4", changed())
    run = await api("POST", RUNS, json={"period": "2025-Q4"}, status=201)
    # No group registered: the default nodes are the two platforms.
    assert (run["entities"], run["nodes"], run["rows"]) == (2, 2, 40)
    staff = await login_as("entity_finance", entity_id=own)
    page = await api("GET", f"{RATIOS}?period=2025-Q4&limit=500", headers=staff)
    assert page["total"] == 20
    assert {(r["entity_id"], r["node"]) for r in page["items"]} == {
        (own, None),
        (None, f"platform:{own}"),
    }
    hidden = await api("GET", f"{RATIOS}?period=2025-Q4&entity={other}", headers=staff)
    assert hidden["total"] == 0
    await api("POST", RUNS, json={"period": "2025-Q4"}, headers=staff, status=403)


async def test_a_page_past_the_end_is_empty_and_still_counts_every_ratio(
    api: Any, make_entity: Any
) -> None:
    company = await make_entity("城建投")
    await _file(api, company, "2025-Q4", CLOSING)
    await api("POST", RUNS, json={"period": "2025-Q4", "entity_ids": [company]}, status=201)
    page = await api("GET", f"{RATIOS}?period=2025-Q4&limit=4&offset=8")
    assert (len(page["items"]), page["total"]) == (2, 10)
    past = await api("GET", f"{RATIOS}?period=2025-Q4&limit=4&offset=20")
    assert (past["items"], past["total"]) == ([], 10)
