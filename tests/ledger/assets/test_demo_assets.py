"""The demo's asset register, read through the API as the staff of SCENARIOS.md §3 would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset.demo import DEMO_PASSWORD, load_demo

from .conftest import keyed

ASSETS = "/api/v1/ledger/assets"


@pytest.fixture
async def demo_api(db: asyncpg.Connection) -> AsyncIterator[Any]:
    """The API as the demo's admin (or gf), over the demo loaded before the app starts (its own loop)."""
    await load_demo()
    from stateasset.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        signed_in = {}
        for username in ("admin", "gf"):
            login = await client.post(
                "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
            )
            signed_in[username] = {"Authorization": f"Bearer {login.json()['access_token']}"}

        async def call(
            method: str, url: str, *, status: int = 200, user: str = "admin", **kwargs: Any
        ) -> Any:
            kwargs["headers"] = {**signed_in[user], **kwargs.get("headers", {})}
            response = await client.request(method, url, **kwargs)
            assert response.status_code == status, response.text
            return response.json()

        yield call


async def test_the_demo_register_has_its_mix_transfers_and_an_open_campaign(
    demo_api: Any, db: asyncpg.Connection
) -> None:
    api = demo_api
    cards = await db.fetchval("SELECT count(*) FROM asset_card")
    assert 1800 <= cards <= 2200
    categories = {
        r["category"]: r["n"]
        for r in await db.fetch("SELECT category, count(*) AS n FROM asset_card GROUP BY 1")
    }
    assert {"land", "buildings", "infrastructure", "equipment", "vehicles"} <= set(categories)
    # Every card's book value is the sum of its events: no card is below zero, none above cost.
    negative = await db.fetchval(
        "SELECT count(*) FROM (SELECT card, sum(original - depreciation) AS book, "
        "sum(original) AS original FROM asset_event GROUP BY card) b "
        "WHERE book < 0 OR book > original"
    )
    assert negative == 0
    posted = await api("GET", f"{ASSETS}/transfers/?status=posted")
    assert sorted((t["from_holder_name"], len(t["card_ids"])) for t in posted["items"]) == [
        ("福清市住房和城乡建设局", 14),
        ("福清市机关事务服务中心", 8),
    ]
    assert all(t["into_group"] for t in posted["items"])
    # Raised by admin: group finance (gf) is the second person who approves it.
    assert await api("GET", f"{ASSETS}/transfers/pending") == []
    pending = await api("GET", f"{ASSETS}/transfers/pending", user="gf")
    assert [(t["from_holder_name"], len(t["card_ids"])) for t in pending] == [("福清市财政局", 3)]
    [campaign] = await api("GET", f"{ASSETS}/campaigns/")
    report = await api("GET", f"{ASSETS}/campaigns/{campaign['id']}/report")
    assert (report["surplus"], report["shortage"], report["surplus_value"]) == (1, 2, "56000.00")
    # The group's effective asset ratio rises quarter by quarter as income starts.
    ratios = []
    for day in ("2025-03-31", "2025-09-30", "2026-03-31", "2026-09-30"):
        [row] = await api("GET", f"{ASSETS}/effective?as_of={day}&node=group")
        ratios.append(row["effective_ratio"])
    assert ratios == sorted(ratios) and ratios[0] < ratios[-1]
    # November's depreciation is left for the run, and posts once.
    first = await api("POST", f"{ASSETS}/depreciation/2026-11", status=201, headers=keyed({}))
    again = await api("POST", f"{ASSETS}/depreciation/2026-11", status=201, headers=keyed({}))
    assert first["posted"] > 1000 and again["posted"] == 0
