"""The demo's KPI ranking for 2025, as the board reads it: every grade, the A cap, one review flag."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset.demo import DEMO_PASSWORD, load_demo


@pytest.fixture
async def client(db: asyncpg.Connection) -> AsyncIterator[AsyncTestClient]:
    # Loaded before the app starts: the app's pool lives on the test client's own loop.
    await load_demo()
    from stateasset.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


async def test_the_board_reads_the_2025_ranking(client: AsyncTestClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"username": "board", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 201, response.text
    board = {"Authorization": f"Bearer {response.json()['access_token']}"}
    response = await client.get("/api/v1/kpi/scorecards?year=2025", headers=board)
    assert response.status_code == 200, response.text
    ranking = {r["company_name"]: r for r in response.json()}
    grades = {name[3:6]: (r["grade"], r["review"]) for name, r in ranking.items()}
    assert grades == {
        "城市建": ("A", False),
        "交通投": ("B", False),
        "水务投": ("B", False),
        "文化旅": ("C", False),
        "产业投": ("D", True),
    }
    jt = next(r for r in ranking.values() if "交通" in r["company_name"])
    assert jt["total"] >= 90 and jt["rank"] == 2  # in the A band, displaced by the A cap
    response = await client.get("/api/v1/kpi/scorecards.xlsx?year=2025", headers=board)
    assert response.status_code == 200 and response.content[:2] == b"PK"
    contract = next(r for r in ranking.values() if "产业" in r["company_name"])["contract_id"]
    card = (
        await client.get(f"/api/v1/kpi/contracts/{contract}/scorecard?year=2025", headers=board)
    ).json()
    assert card["deduction"] == 10.0 and "主要指标低于目标70%: profit" in card["review_reason"]
    assert [s["period"] for s in card["statements"]] == ["2025-Q4"]
    response = await client.post("/api/v1/kpi/macro", headers=board, json={})
    assert response.status_code == 403
