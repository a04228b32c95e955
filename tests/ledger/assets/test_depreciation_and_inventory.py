"""The depreciation run and an inventory campaign (盘点), with hand-worked values."""

from __future__ import annotations

from typing import Any

import asyncpg

from .conftest import CARDS, keyed

DEPRECIATION = "/api/v1/ledger/assets/depreciation/"
CAMPAIGNS = "/api/v1/ledger/assets/campaigns/"


async def test_straight_line_by_month_and_the_same_month_twice_posts_once(
    api: Any, admin: dict[str, str], group: dict[str, str], make_card: Any, db: asyncpg.Connection
) -> None:
    # (100,000 − 10,000 salvage) / 36 months = 2,500.00 a month, from the month after acquisition.
    card = await make_card(
        group["cj"], "100000.00", category="equipment", useful_life_months=36, salvage="10000.00"
    )
    land = await make_card(group["cj"], "5000000.00", category="land", useful_life_months=600)
    first = await api("POST", f"{DEPRECIATION}2025-02", status=201, headers=keyed(admin))
    assert (first["posted"], first["already_posted"], first["amount"]) == (1, 0, "2500.00")
    again = await api("POST", f"{DEPRECIATION}2025-02", status=201, headers=keyed(admin))
    assert (again["posted"], again["already_posted"], again["amount"]) == (0, 0, "0.00")
    # The quarter: January is the month of acquisition (nothing), February is done, March posts.
    quarter = await api("POST", f"{DEPRECIATION}2025-Q1", status=201, headers=keyed(admin))
    assert (quarter["months"], quarter["posted"], quarter["amount"]) == (
        ["2025-01", "2025-02", "2025-03"],
        1,
        "2500.00",
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM asset_event WHERE kind = 'depreciate' AND card = $1::uuid",
            card["id"],
        )
        == 2
    )
    read = await api("GET", f"{CARDS}{card['id']}")
    assert (read["accumulated_depreciation"], read["book_value"]) == ("5000.00", "95000.00")
    assert (await api("GET", f"{CARDS}{land['id']}"))["book_value"] == "5000000.00"
    # The whole life reaches salvage exactly: February 2025 to January 2028 is 36 × 2,500.00.
    other = await make_card(group["cj"], "1200.00", acquired_on="2027-06-01", useful_life_months=12)
    for period in ("2025", "2026", "2027", "2028-01"):
        await api("POST", f"{DEPRECIATION}{period}", status=201, headers=keyed(admin))
    read = await api("GET", f"{CARDS}{card['id']}")
    assert (read["accumulated_depreciation"], read["book_value"]) == ("90000.00", "10000.00")
    # 1,200 / 12 = 100 a month from July 2027: seven months to January 2028.
    assert (await api("GET", f"{CARDS}{other['id']}"))["accumulated_depreciation"] == "700.00"
    # A closed quarter of the holder is skipped and listed; nothing of it is posted.
    await db.execute(
        "INSERT INTO period_state (id, entity, period, state, updated_at, updated_by) "
        "VALUES (gen_random_uuid(), $1::uuid, '2028-Q1', 'locked', now(), 't')",
        group["cj"],
    )
    skipped = await api("POST", f"{DEPRECIATION}2028-02", status=201, headers=keyed(admin))
    assert (skipped["posted"], skipped["skipped_locked"]) == (0, [f"{group['cj']}/2028-Q1"])
    assert (await api("GET", f"{CARDS}{other['id']}"))["accumulated_depreciation"] == "700.00"


async def test_a_campaign_reports_3_matched_1_surplus_2_shortages_and_closing_posts_them(
    api: Any, admin: dict[str, str], group: dict[str, str], make_card: Any, db: asyncpg.Connection
) -> None:
    sw = group["sw"]
    books = [
        await make_card(sw, value, code=f"SW-{n}", location="水厂")
        for n, value in enumerate(("1000.00", "2000.00", "3000.00", "4000.00", "5000.50"), 1)
    ]
    await make_card(group["cj"], "9999.00", code="SW-1")  # another holder's: out of scope
    campaign = await api(
        "POST",
        CAMPAIGNS,
        json={"name": "水投2025年盘点", "as_of": "2025-09-30", "entity_ids": [sw]},
        status=201,
    )
    counts = [
        {"holder_id": sw, "code": "SW-1", "location": "水厂"},
        {"holder_id": sw, "code": "SW-2", "location": "泵站"},
        {"holder_id": sw, "code": "SW-3"},
        {
            "holder_id": sw,
            "code": "SW-9",
            "name": "未入账水泵",
            "category": "equipment",
            "value": "8000.00",
            "location": "泵站",
        },
    ]
    url = f"{CAMPAIGNS}{campaign['id']}"
    recorded = await api("POST", f"{url}/counts", json=counts)
    assert recorded["counts"] == 4
    report = await api("GET", f"{url}/report")
    assert (report["matched"], report["surplus"], report["shortage"]) == (3, 1, 2)
    # matched 1,000 + 2,000 + 3,000; 盘盈 8,000; 盘亏 4,000 + 5,000.50
    assert (report["matched_value"], report["surplus_value"], report["shortage_value"]) == (
        "6000.00",
        "8000.00",
        "9000.50",
    )
    lines = {(x["outcome"], x["code"]): x for x in report["lines"]}
    assert sorted(lines) == [
        ("matched", "SW-1"),
        ("matched", "SW-2"),
        ("matched", "SW-3"),
        ("shortage", "SW-4"),
        ("shortage", "SW-5"),
        ("surplus", "SW-9"),
    ]
    assert (
        lines[("matched", "SW-2")]["book_location"],
        lines[("matched", "SW-2")]["counted_location"],
    ) == ("水厂", "泵站")
    closed = await api("POST", f"{url}/close", status=200, headers=keyed(admin))
    assert (closed["campaign"]["status"], closed["shortage_value"]) == ("closed", "9000.50")
    for card, status, book in zip(
        books,
        ("in_use", "in_use", "in_use", "disposed", "disposed"),
        ("1000.00", "2000.00", "3000.00", "0.00", "0.00"),
        strict=True,
    ):
        read = await api("GET", f"{CARDS}{card['id']}")
        assert (read["status"], read["book_value"]) == (status, book)
    found = await api("GET", f"{CARDS}?holder_id={sw}&q=SW-9")
    assert [(c["source"], c["book_value"], c["name"]) for c in found["items"]] == [
        ("surplus", "8000.00", "未入账水泵")
    ]
    assert (
        await db.fetchval(
            "SELECT count(*) FROM asset_event WHERE campaign = $1::uuid", campaign["id"]
        )
        == 3
    )
    # Closed: no more counts, no second close.
    await api("POST", f"{url}/counts", json=counts[:1], status=409)
    await api("POST", f"{url}/close", status=409, headers=keyed(admin))
