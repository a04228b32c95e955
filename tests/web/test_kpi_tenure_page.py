"""The scorecard page's tenure trends (任期趋势) over the demo group: the charts' data in the page
is the tenure API's, year by year, with unscored years as gaps and their reason shown."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset.demo import load_demo
from tests.web.test_kpi_pages import _sign_in


@pytest.fixture
async def client(db: asyncpg.Connection) -> AsyncIterator[AsyncTestClient]:
    # Loaded before the app starts: the app's pool lives on the test client's own loop.
    await load_demo()
    from stateasset.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


async def test_the_scorecard_page_charts_the_tenure(client: AsyncTestClient) -> None:
    board = await _sign_in(client, "board")
    ranking = (await client.get("/api/v1/kpi/scorecards?year=2025", headers=board)).json()
    row = next(r for r in ranking if "产业" in r["company_name"])
    tenure = (
        await client.get(f"/api/v1/kpi/contracts/{row['contract_id']}/tenure", headers=board)
    ).json()
    response = await client.get(f"/kpi/contracts/{row['contract_id']}?year=2025")
    assert response.status_code == 200, response.text
    found = re.search(
        r'<script type="application/json" id="tenure-data">(.*?)</script>', response.text, re.S
    )
    assert found is not None
    data = json.loads(found.group(1))
    # The demo files 2025 only: 2025 is scored with the ranking's total, 2026 and 2027 are gaps.
    assert data["years"] == ["2025", "2026", "2027"]
    assert data["totals"] == [row["total"], None, None]
    assert data["totals"] == [y["total"] for y in tenure["years"]]
    assert [i["code"] for i in data["indicators"]] == ["profit", "ocr", "growth"]
    for shown, given in zip(data["indicators"], tenure["indicators"], strict=True):
        assert shown["actual"] == [y["actual"] for y in given["years"]]
        assert shown["target"] == [y["target"] for y in given["years"]]
    # Net profit's targets are the contract's: 2025's, then +5% and +10% of it (demo.py).
    profit = data["indicators"][0]["target"]
    assert profit[1] == round(profit[0] * 1.05, 2) and profit[2] == round(profit[0] * 1.10, 2)
    assert data["indicators"][0]["actual"][1:] == [None, None]
    # One chart for the total and one per indicator, and why 2026 is not scored.
    for chart in ("total", "profit", "ocr", "growth"):
        assert f'id="chart-tenure-{chart}"' in response.text
    text = html.unescape(response.text)
    assert "2026 年未考核：" in text and "no statement for 2026-Q4" in text
    assert f'任期得分 <strong data-metric="tenure_total">{row["total"]:.2f}</strong>' in text
