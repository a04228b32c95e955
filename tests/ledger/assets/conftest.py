"""A small group for the asset register: 集团 → two platforms → a company each, and an agency."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from itertools import count
from typing import Any
from uuid import uuid4

import pytest

Api = Callable[..., Awaitable[Any]]
CARDS = "/api/v1/ledger/assets/cards/"


@pytest.fixture
async def group(make_entity: Any, make_stake: Any) -> dict[str, str]:
    """Entity ids by key: group, cj (城建投), sw (水投), cj_dev, sw_tap (controlled), agency."""
    ids = {"group": await make_entity("福清国投集团", "group")}
    ids["cj"] = await make_entity("城建投", "platform")
    ids["sw"] = await make_entity("水投", "platform")
    ids["cj_dev"] = await make_entity("城建开发", "subsidiary", platform_id=ids["cj"])
    ids["sw_tap"] = await make_entity("自来水公司", "subsidiary", platform_id=ids["sw"])
    ids["agency"] = await make_entity("住建局", "agency")
    for holder, held in (("group", "cj"), ("group", "sw"), ("cj", "cj_dev"), ("sw", "sw_tap")):
        await make_stake(ids[holder], ids[held], "1")
    return ids


def keyed(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    """`headers` with an Idempotency-Key (a fresh one unless given)."""
    return {**headers, "Idempotency-Key": key or str(uuid4())}


@pytest.fixture
def make_card(api: Api, admin: dict[str, str]) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Create a card as admin through the API; return the card with its balances."""
    codes = count(1)

    async def make(holder: str, value: str = "100000.00", **fields: Any) -> dict[str, Any]:
        body = {
            "code": f"ZC-{next(codes):04d}",
            "name": "资产",
            "category": "buildings",
            "holder_id": holder,
            "source": "purchase",
            "acquired_on": "2025-01-15",
            "original_value": value,
            **fields,
        }
        return await api("POST", CARDS, json=body, status=201, headers=keyed(admin))

    return make
