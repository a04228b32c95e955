"""Calls, distributions and NAVs through the API: idempotent, checked, scoped."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from tests.conftest import problem
from tests.funds.conftest import key


async def test_a_cooperative_fund_with_a_government_gp_is_refused(
    api: Any, make_entity: Any, tree: dict[str, Any]
) -> None:
    fund = await make_entity("错误的合作子基金", kind="fund")
    body = {
        "entity_id": fund,
        "category": "cooperative",
        "parent_id": tree["mother"],
        "gps": [{"gp_id": tree["gov_gp"], "role": "executive_partner"}],
        "terms": {
            "size": "1000.00",
            "vintage": 2022,
            "first_close": "2022-01-01",
            "term_years": 5,
            "investment_period_end": "2024-01-01",
        },
    }
    refused = await api("POST", "/api/v1/funds/", json=body, status=422)
    assert refused["errors"][0]["field"] == "body.gps"
    assert "market GP" in refused["errors"][0]["reason"]


async def test_a_dual_gp_fund_names_both_gps_and_their_roles(
    api: Any, make_entity: Any, tree: dict[str, Any]
) -> None:
    fund = await make_entity("直投双GP子基金", kind="fund")
    made = await api(
        "POST",
        "/api/v1/funds/",
        json={
            "entity_id": fund,
            "category": "direct",
            "parent_id": tree["mother"],
            "gps": [
                {"gp_id": tree["gov_gp"], "role": "executive_partner"},
                {"gp_id": tree["market_gp"], "role": "manager"},
            ],
            "terms": {
                "size": "1000.00",
                "vintage": 2022,
                "first_close": "2022-01-01",
                "term_years": 5,
                "investment_period_end": "2024-01-01",
            },
        },
        status=201,
    )
    assert {(g["registration_code"], g["role"], g["kind"]) for g in made["gps"]} == {
        ("P1000001", "executive_partner", "government"),
        ("P1000002", "manager", "market"),
    }


async def test_a_gp_code_is_p_and_seven_digits(api: Any, make_entity: Any) -> None:
    gp = await make_entity("某管理人", kind="outside")
    refused = await api(
        "POST",
        "/api/v1/funds/gps/",
        json={"entity_id": gp, "kind": "market", "registration_code": "P12345"},
        status=400,
    )
    assert "registration_code" in str(refused)


async def test_a_replayed_call_posts_once_and_a_call_over_unfunded_is_422(
    api: Any, client: Any, admin: dict[str, str], tree: dict[str, Any], db: Any
) -> None:
    sub = tree["sub"]
    call = {
        "commitment_id": tree["c_city"],
        "amount": "4000000.00",
        "call_date": "2021-03-01",
        "paid_on": "2021-03-15",
    }
    url = f"/api/v1/funds/{sub}/calls"
    # Without a key: 400, nothing posted.
    response = await client.post(url, json=call, headers=admin)
    assert response.status_code == 400
    first = await api("POST", url, json=call, headers={**admin, **key(1)}, status=201)
    again = await client.post(url, json=call, headers={**admin, **key(1)})
    assert again.status_code == 201 and again.headers["Idempotency-Replayed"] == "true"
    assert again.json()["id"] == first["id"]
    assert await db.fetchval("SELECT count(*) FROM fund_flow WHERE fund = $1", sub) == 1

    # 城投 committed 20,000,000.00 and has been called 4,000,000.00: unfunded 16,000,000.00.
    over = {**call, "amount": "16000000.01"}
    refused = await client.post(url, json=over, headers={**admin, **key(2)})
    assert refused.status_code == 422
    body = problem(refused)
    assert body["errors"][0]["field"] == "body.amount"
    assert "unfunded 16000000.00" in body["errors"][0]["reason"]
    assert "0.01 over" in body["errors"][0]["reason"]
    # Marked outside the commitment, it is allowed.
    await api(
        "POST",
        url,
        json={**over, "outside_commitment": True},
        headers={**admin, **key(3)},
        status=201,
    )
    accounts = await api("GET", f"/api/v1/funds/{sub}/positions")
    city = next(a for a in accounts if a["lp_id"] == tree["city"])
    assert city["paid_in"] == "20000000.01" and city["unfunded"] == "16000000.00"


async def test_a_nav_that_does_not_roll_forward_shows_the_difference(
    api: Any, tree: dict[str, Any]
) -> None:
    url = f"/api/v1/funds/{tree['sub']}/navs"
    first = {
        "period": "2021-Q1",
        "contributions": "10000000.00",
        "distributions": "0.00",
        "gains": "500000.00",
        "fees": "100000.00",
        "nav": "10400000.00",
    }
    await api("POST", url, json=first, status=201)
    # 10,400,000 + 0 − 1,000,000 + 200,000 − 100,000 = 9,500,000; stated 9,500,100.
    second = {
        "period": "2021-Q2",
        "contributions": "0.00",
        "distributions": "1000000.00",
        "gains": "200000.00",
        "fees": "100000.00",
        "nav": "9500100.00",
    }
    refused = await api("POST", url, json=second, status=422)
    assert refused["errors"][0]["field"] == "body.nav"
    assert "difference 100.00" in refused["errors"][0]["reason"]
    await api("POST", url, json={**second, "nav": "9500000.00"}, status=201)


async def test_a_fund_manager_writes_only_their_funds(
    api: Any, login_as: Any, db: Any, tree: dict[str, Any], make_entity: Any
) -> None:
    other = await make_entity("别人的子基金", kind="fund")
    await api(
        "POST",
        "/api/v1/funds/",
        json={
            "entity_id": other,
            "category": "cooperative",
            "parent_id": tree["mother"],
            "gps": [{"gp_id": tree["market_gp"], "role": "executive_partner"}],
            "terms": {
                "size": "1000.00",
                "vintage": 2022,
                "first_close": "2022-01-01",
                "term_years": 5,
                "investment_period_end": "2024-01-01",
            },
        },
        status=201,
    )
    fm = await login_as("fund_manager", username="fm-test")
    await db.execute("UPDATE app_user SET fund_ids = $1 WHERE username = 'fm-test'", [tree["sub"]])
    seen = await api("GET", "/api/v1/funds/", headers=fm)
    assert [f["id"] for f in seen] == [tree["sub"]]
    await api("GET", f"/api/v1/funds/{other}", headers=fm, status=404)
    call = {"commitment_id": tree["c_city"], "amount": "1.00", "call_date": "2021-03-01"}
    await api(
        "POST",
        f"/api/v1/funds/{other}/calls",
        json=call,
        headers={**fm, **key(uuid4())},
        status=404,
    )
    # In their own fund the same call is posted.
    await api(
        "POST",
        f"/api/v1/funds/{tree['sub']}/calls",
        json=call,
        headers={**fm, **key(uuid4())},
        status=201,
    )
    # The board reads every fund but writes none.
    board = await login_as("board")
    assert len(await api("GET", "/api/v1/funds/", headers=board)) == 3
    await api(
        "POST",
        f"/api/v1/funds/{tree['sub']}/calls",
        json=call,
        headers={**board, **key(9)},
        status=403,
    )
