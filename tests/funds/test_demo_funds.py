"""The demo's funds, through the API: the tree, its flags, metrics, look-through, and fm's scope."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

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


async def _login(client: AsyncTestClient, username: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_the_demo_mother_fund(client: AsyncTestClient, db: asyncpg.Connection) -> None:
    gf, fm = await _login(client, "gf"), await _login(client, "fm")

    async def get(url: str, headers: dict[str, str], status: int = 200) -> Any:
        response = await client.get(url, headers=headers)
        assert response.status_code == status, response.text
        return response.json()

    funds = await get("/api/v1/funds/", gf)
    assert Counter(f["category"] for f in funds) == {
        "mother": 1,
        "direct": 3,
        "cooperative": 4,
        "special": 1,
    }
    by_name = {f["short_name"]: f for f in funds}
    mother = by_name["引导母基金"]
    dual = by_name["直投·化工新材料"]
    assert {(g["kind"], g["role"]) for g in dual["gps"]} == {
        ("government", "executive_partner"),
        ("market", "manager"),
    }
    assert all(
        g["kind"] == "market" for f in funds if f["category"] == "cooperative" for g in f["gps"]
    )
    tree = await get("/api/v1/funds/tree", fm)
    assert len(tree) == 1 and len(tree[0]["children"]) == 8

    companies = await db.fetchval("SELECT count(DISTINCT company) FROM fund_investment")
    assert 55 <= companies <= 65
    industries = {r["industry"] for r in await db.fetch("SELECT industry FROM fund_investment")}
    assert {"electronics", "chemicals", "food", "digital", "equipment", "new_energy"} <= industries
    assert await db.fetchval("SELECT count(*) FROM fund_investment WHERE local") > 20

    as_of = "2026-09-30"
    flagged = await get(f"/api/v1/funds/checks?as_of={as_of}", gf)
    kinds = {(c["fund_name"], c["kind"]) for c in flagged}
    assert ("合作·食品", "over_government_cap") in kinds
    assert ("合作·数字经济", "behind_reinvestment") in kinds
    assert ("合作·新能源", "call_overdue") in kinds
    assert ("专项·PRE-IPO", "slow_deployment") in kinds
    cap = next(c for c in flagged if c["kind"] == "over_government_cap")
    # 合作·食品: the mother fund 30% and 交通投 15% of 200,000,000.00 committed, cap 40%.
    assert cap["numbers"]["government_committed"] == "90000000.00"
    assert cap["numbers"]["total_committed"] == "200000000.00"
    assert cap["numbers"]["cap"] == "0.4"

    metrics = await get(f"/api/v1/funds/metrics?as_of={as_of}&index=沪深300全收益", gf)
    assert len(metrics) == 9
    for m in metrics:
        assert Decimal(m["paid_in"]) > 0 and m["irr"] is not None, m
        assert abs(m["tvpi"] - (m["dpi"] + m["rvpi"])) < 1e-12
        assert m["pme"] is not None
    mine = await get(f"/api/v1/funds/{mother['id']}/mother?as_of={as_of}", fm)
    assert mine["leverage"] > 2.5  # the mother fund holds 30%–40% of each sub-fund
    behind = {r["name"] for r in mine["reinvestment"] if r["behind"]}
    assert "合作·数字经济" in behind

    look = await get(f"/api/v1/funds/{mother['id']}/look-through?as_of={as_of}", gf)
    assert any(r["group_direct_interest"] for r in look["rows"])  # group companies held too
    by_industry = {s["key"]: s for s in look["summaries"] if s["by"] == "industry"}
    assert Decimal(by_industry["new_energy"]["exposure"]) > 0
    total = sum(Decimal(r["exposure"]) for r in look["rows"])
    assert total == sum(Decimal(s["exposure"]) for s in look["summaries"] if s["by"] == "local")

    curve = await get(f"/api/v1/funds/{by_name['直投·电子信息']['id']}/j-curve", fm)
    assert curve[0]["cumulative_net"].startswith("-")  # money goes in first
