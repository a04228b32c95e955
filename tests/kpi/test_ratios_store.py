"""Stored ratios through the API: DOMAIN §6's worked example end to end, nulls with reasons, a
node's ratios from its consolidation with the versions used, runs as versions, the asset
register's two ratios, and bad input."""

from __future__ import annotations

from typing import Any

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
    assert [(a["action"], a["object_id"]) for a in audited] == [
        ("kpi_ratio_run.create", run["id"])
    ]
