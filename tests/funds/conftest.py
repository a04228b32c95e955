"""Builders for fund API tests: a mother fund with a sub-fund and its LPs, made through the API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests.ledger.conftest import Api, admin, api, credit_code, make_entity  # noqa: F401

TERMS = {
    "size": "100000000.00",
    "vintage": 2021,
    "first_close": "2021-01-01",
    "term_years": 8,
    "investment_period_end": "2025-12-31",
    "government_cap": "0.4",
    "reinvestment_multiple": "1.5",
    "reinvestment_multipliers": {"local": "1", "relocated": "1.5"},
    "industries": ["electronics", "new_energy"],
}


@pytest.fixture
async def tree(api: Api, make_entity: Any) -> dict[str, Any]:  # noqa: F811
    """The mother fund, a government GP, a market GP, a cooperative sub-fund and two LPs.

    The sub-fund's commitments: the mother fund 30,000,000.00 (government), 城投 20,000,000.00
    (government) and a market LP 50,000,000.00.
    """
    ids: dict[str, Any] = {}
    ids["mother"] = await make_entity("县产业引导母基金", kind="fund")
    ids["sub"] = await make_entity("合作子基金一期", kind="fund")
    ids["gov_gp"] = await make_entity("县基金管理公司")
    ids["market_gp"] = await make_entity("市场化管理人", kind="outside")
    ids["city"] = await make_entity("城投", kind="platform")
    ids["market_lp"] = await make_entity("社会资本LP", kind="outside")
    await api(
        "POST",
        "/api/v1/funds/gps/",
        json={"entity_id": ids["gov_gp"], "kind": "government", "registration_code": "P1000001"},
        status=201,
    )
    await api(
        "POST",
        "/api/v1/funds/gps/",
        json={"entity_id": ids["market_gp"], "kind": "market", "registration_code": "P1000002"},
        status=201,
    )
    await api(
        "POST",
        "/api/v1/funds/",
        json={
            "entity_id": ids["mother"],
            "category": "mother",
            "gps": [{"gp_id": ids["gov_gp"], "role": "manager"}],
            "terms": {**TERMS, "size": "1000000000.00"},
        },
        status=201,
    )
    await api(
        "POST",
        "/api/v1/funds/",
        json={
            "entity_id": ids["sub"],
            "category": "cooperative",
            "parent_id": ids["mother"],
            "gps": [{"gp_id": ids["market_gp"], "role": "executive_partner"}],
            "terms": TERMS,
        },
        status=201,
    )
    for lp, amount, government in (
        ("mother", "30000000.00", True),
        ("city", "20000000.00", True),
        ("market_lp", "50000000.00", False),
    ):
        body = {
            "lp_id": ids[lp],
            "amount": amount,
            "committed_on": "2021-01-01",
            "government": government,
        }
        made = await api("POST", f"/api/v1/funds/{ids['sub']}/commitments", json=body, status=201)
        ids[f"c_{lp}"] = made["id"]
    return ids


def key(n: int | str) -> dict[str, str]:
    return {"Idempotency-Key": f"k-{n}"}


__all__ = ["UUID", "credit_code"]
