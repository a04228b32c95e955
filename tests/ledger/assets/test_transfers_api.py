"""Transfers (划拨): approval by a second person, all or none, lineage, and the group total."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import CARDS, keyed

TRANSFERS = "/api/v1/ledger/assets/transfers/"
GROUP_MEMBERS = ("cj", "sw", "cj_dev", "sw_tap")


async def _group_total(api: Any, day: str) -> str:
    rows = await api("GET", f"/api/v1/ledger/assets/effective?as_of={day}&node=group")
    return rows[0]["total_book"]


async def test_agency_property_moves_into_the_group_after_a_second_person_approves(
    api: Any, login_as: Any, group: dict[str, str], make_card: Any, db: asyncpg.Connection
) -> None:
    a = await make_card(group["agency"], "300000.00", operating=True)
    b = await make_card(group["agency"], "200000.50", operating=True)
    requester = await login_as("group_finance", username="requester")
    approver = await login_as("group_finance", username="approver")
    assert await _group_total(api, "2025-06-30") == "0.00"
    body = {
        "card_ids": [a["id"], b["id"]],
        "to_holder_id": group["cj"],
        "transfer_date": "2025-06-30",
        "note": "住建局划入城建投",
    }
    transfer = await api("POST", TRANSFERS, json=body, status=201, headers=keyed(requester))
    assert (transfer["status"], transfer["into_group"]) == ("requested", True)
    assert transfer["book_value"] == "500000.50"
    url = f"{TRANSFERS}{transfer['id']}/approve"
    refused = await api("POST", url, status=403, headers=keyed(requester))
    assert "other than its requester" in refused["detail"]
    pending = await api("GET", f"{TRANSFERS}pending", headers=approver)
    assert [t["id"] for t in pending] == [transfer["id"]]
    posted = await api("POST", url, status=200, headers=keyed(approver))
    assert (posted["status"], posted["decided_by"], posted["posted_by"]) == (
        "posted",
        "approver",
        "approver",
    )
    assert posted["book_value"] == "500000.50"
    # Into the group: its total rises by exactly what came in.
    assert await _group_total(api, "2025-06-30") == "500000.50"
    card = await api("GET", f"{CARDS}{a['id']}")
    assert (card["holder_id"], card["source"], card["book_value"]) == (
        group["cj"],
        "transfer_in",
        "300000.00",
    )
    lineage = await api("GET", f"{CARDS}{a['id']}/lineage")
    assert [(h["holder_name"], h["from_date"], h["to_date"]) for h in lineage["holders"]] == [
        ("住建局", "2025-01-15", "2025-06-30"),
        ("城建投", "2025-06-30", None),
    ]
    assert [(e["kind"], e["holder_name"], e["book_change"]) for e in lineage["events"]] == [
        ("acquire", "住建局", "300000.00"),
        ("transfer_out", "住建局", "-300000.00"),
        ("transfer_in", "城建投", "300000.00"),
    ]
    flows = await api("GET", f"/api/v1/ledger/assets/holders/{group['cj']}/flows?period=2025-Q2")
    assert [(f["direction"], f["kind"], f["cards"], f["book_value"]) for f in flows] == [
        ("in", "transfer_in", 2, "500000.50")
    ]
    # Once posted, it is not approved again.
    await api("POST", url, status=409, headers=keyed(approver))


async def test_a_rejected_transfer_moves_nothing(
    api: Any, login_as: Any, group: dict[str, str], make_card: Any
) -> None:
    card = await make_card(group["cj"])
    requester = await login_as("group_finance", username="requester")
    approver = await login_as("group_finance", username="approver")
    body = {"card_ids": [card["id"]], "to_holder_id": group["sw"], "transfer_date": "2025-06-30"}
    transfer = await api("POST", TRANSFERS, json=body, status=201, headers=keyed(requester))
    url = f"{TRANSFERS}{transfer['id']}/reject"
    await api("POST", url, json={"reason": "x"}, status=403, headers=requester)
    rejected = await api("POST", url, json={"reason": "资料不全"}, headers=approver)
    assert (rejected["status"], rejected["reject_reason"]) == ("rejected", "资料不全")
    assert (await api("GET", f"{CARDS}{card['id']}"))["holder_id"] == group["cj"]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(GROUP_MEMBERS), st.sampled_from(GROUP_MEMBERS), st.integers(1, 15)
        ),
        min_size=1,
        max_size=4,
    )
)
async def test_any_transfers_inside_the_group_keep_its_total_book_value_to_the_cent(
    api: Any,
    admin: dict[str, str],
    login_as: Any,
    group: dict[str, str],
    make_card: Any,
    steps: list[tuple[str, str, int]],
) -> None:
    """Property: transfers among group entities leave the group total unchanged; every card's
    book value is the sum of its events. The fixtures (and cards) persist across examples."""
    cards = await api("GET", f"{CARDS}?limit=500")
    if not cards["items"]:
        for index, holder in enumerate(GROUP_MEMBERS):
            await make_card(group[holder], f"{10000 + index}.33", useful_life_months=24)
            await make_card(group[holder], "777.77", category="land")
        await api(
            "POST", "/api/v1/ledger/assets/depreciation/2025-02", status=201, headers=keyed(admin)
        )
    approver = await login_as("group_finance")
    before = await _group_total(api, "2025-12-31")
    for source, target, mask in steps:
        if source == target:
            continue
        held = await api("GET", f"{CARDS}?limit=500&holder_id={group[source]}")
        ids = [c["id"] for c in held["items"] if c["holder_id"] == group[source]]
        chosen = [card for bit, card in enumerate(ids) if mask >> (bit % 4) & 1]
        if not chosen:
            continue
        body = {"card_ids": chosen, "to_holder_id": group[target], "transfer_date": "2025-06-30"}
        transfer = await api("POST", TRANSFERS, json=body, status=201, headers=keyed(admin))
        url = f"{TRANSFERS}{transfer['id']}/approve"
        await api("POST", url, status=200, headers=keyed(approver))
    assert await _group_total(api, "2025-12-31") == before
    for card in (await api("GET", f"{CARDS}?limit=500"))["items"]:
        events = (await api("GET", f"{CARDS}{card['id']}/lineage"))["events"]
        assert sum(Decimal(e["book_change"]) for e in events) == Decimal(card["book_value"])
