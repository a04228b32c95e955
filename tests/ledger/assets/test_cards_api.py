"""Cards and events through the API: idempotent posting, reversals, closed periods, scope."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from conftest import problem

from .conftest import CARDS, keyed


async def _lock(db: asyncpg.Connection, entity: str, period: str) -> None:
    await db.execute(
        "INSERT INTO period_state (id, entity, period, state, updated_at, updated_by) "
        "VALUES (gen_random_uuid(), $1, $2, 'locked', now(), 'test')",
        UUID(entity),
        period,
    )


async def test_a_replayed_card_or_event_posts_once(
    api: Any, admin: dict[str, str], group: dict[str, str], db: asyncpg.Connection
) -> None:
    body = {
        "code": "CJ-001",
        "name": "城建大厦",
        "category": "buildings",
        "holder_id": group["cj"],
        "source": "self_built",
        "acquired_on": "2025-01-15",
        "original_value": "100000.00",
    }
    headers = keyed(admin, "card-1")
    first = await api("POST", CARDS, json=body, status=201, headers=headers)
    again = await api("POST", CARDS, json=body, status=201, headers=headers)
    assert again == first
    assert await db.fetchval("SELECT count(*) FROM asset_card") == 1
    income = {"kind": "income", "event_date": "2025-03-31", "amount": "1234.56"}
    url = f"{CARDS}{first['id']}/events"
    event = await api("POST", url, json=income, status=201, headers=keyed(admin, "rent-march"))
    replay = await api("POST", url, json=income, status=201, headers=keyed(admin, "rent-march"))
    assert replay == event
    assert await db.fetchval("SELECT count(*) FROM asset_event WHERE kind = 'income'") == 1
    # A key is required: without one nothing is posted.
    await api("POST", url, json=income, status=400)
    card = await api("GET", f"{CARDS}{first['id']}")
    assert (card["original_value"], card["book_value"]) == ("100000.00", "100000.00")


async def test_a_reversal_restores_the_prior_balances_exactly(
    api: Any, admin: dict[str, str], group: dict[str, str], make_card: Any
) -> None:
    card = await make_card(group["cj"], "100000.00", useful_life_months=36, salvage="10000.00")
    url = f"{CARDS}{card['id']}"
    await api(
        "POST", "/api/v1/ledger/assets/depreciation/2025-02", status=201, headers=keyed(admin)
    )
    before = await api("GET", url)
    # 100,000 − 2,500 of February's depreciation
    assert (before["accumulated_depreciation"], before["book_value"]) == ("2500.00", "97500.00")
    revalue = {"kind": "revalue", "event_date": "2025-03-10", "amount": "-3333.33"}
    event = await api("POST", f"{url}/events", json=revalue, status=201, headers=keyed(admin))
    assert (await api("GET", url))["book_value"] == "94166.67"
    reversal = {"kind": "reversal", "event_date": "2025-03-11", "reverses": event["id"]}
    undo = await api("POST", f"{url}/events", json=reversal, status=201, headers=keyed(admin))
    assert undo["original"] == "3333.33"
    after = await api("GET", url)
    assert after == before
    # An event is reversed once.
    response = await api("POST", f"{url}/events", json=reversal, status=409, headers=keyed(admin))
    assert "already reversed" in response["detail"]


async def test_writes_into_a_locked_period_are_409(
    api: Any,
    admin: dict[str, str],
    client: Any,
    group: dict[str, str],
    make_card: Any,
    db: asyncpg.Connection,
) -> None:
    card = await make_card(group["cj"])
    await _lock(db, group["cj"], "2025-Q2")
    url = f"{CARDS}{card['id']}/events"
    income = {"kind": "income", "event_date": "2025-05-31", "amount": "500.00"}
    response = await client.post(url, json=income, headers=keyed(admin))
    assert response.status_code == 409
    assert problem(response)["period"] == "2025-Q2"
    # The same income in the open next quarter is taken.
    income["event_date"] = "2025-07-31"
    await api("POST", url, json=income, status=201, headers=keyed(admin))
    body = {
        "code": "CJ-LOCKED",
        "name": "锁定期资产",
        "category": "equipment",
        "holder_id": group["cj"],
        "source": "purchase",
        "acquired_on": "2025-04-01",
        "original_value": "10.00",
    }
    assert (await client.post(CARDS, json=body, headers=keyed(admin))).status_code == 409
    assert await db.fetchval("SELECT count(*) FROM asset_card") == 1


async def test_an_entity_user_sees_and_moves_only_their_platforms_cards(
    api: Any, login_as: Any, group: dict[str, str], make_card: Any
) -> None:
    mine = await make_card(group["cj_dev"])
    theirs = await make_card(group["sw_tap"])
    cj_user = await login_as("entity_finance", entity_id=UUID(group["cj"]))
    page = await api("GET", CARDS, headers=cj_user)
    assert [c["id"] for c in page["items"]] == [mine["id"]]
    await api("GET", f"{CARDS}{theirs['id']}", status=404, headers=cj_user)
    move = {"card_ids": [theirs["id"]], "to_holder_id": group["cj"], "transfer_date": "2025-06-30"}
    transfers = "/api/v1/ledger/assets/transfers/"
    await api("POST", transfers, json=move, status=404, headers=keyed(cj_user))
    income = {"kind": "income", "event_date": "2025-07-31", "amount": "1.00"}
    url = f"{CARDS}{theirs['id']}/events"
    await api("POST", url, json=income, status=404, headers=keyed(cj_user))
    # Their own card moves within their platform (requested; approval needs ledger:approve).
    move = {"card_ids": [mine["id"]], "to_holder_id": group["cj"], "transfer_date": "2025-06-30"}
    transfer = await api("POST", transfers, json=move, status=201, headers=keyed(cj_user))
    await api("POST", f"{transfers}{transfer['id']}/approve", status=403, headers=keyed(cj_user))


async def test_an_as_of_outside_the_periods_range_is_422_not_500(
    client: Any, admin: dict[str, str], group: dict[str, str]
) -> None:
    """Found by the fuzzer: 0003-01-01 became a period deep in the computation (a 500)."""
    for day in ("0003-01-01", "2101-01-01"):
        answer = await client.get(f"/api/v1/ledger/assets/effective?as_of={day}", headers=admin)
        assert answer.status_code == 422, answer.text
        errors = problem(answer)["errors"]
        year = int(day[:4])
        assert errors == [{"field": "query.as_of", "reason": f"year {year} is outside 1900..2100"}]
    answer = await client.get("/api/v1/ledger/assets/effective?as_of=2100-12-31", headers=admin)
    assert answer.status_code == 200, answer.text
