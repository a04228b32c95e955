"""Entities, stakes, ownership and scope through the API."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import problem
from tests.ledger.conftest import credit_code


async def test_bad_credit_code_is_422_naming_the_field(client: AsyncTestClient, admin: Any) -> None:
    good = credit_code(1)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = await client.post(
        "/api/v1/ledger/entities/",
        headers=admin,
        json={"credit_code": bad, "name": "坏代码公司", "kind": "subsidiary"},
    )
    assert response.status_code == 422
    [error] = problem(response)["errors"]
    assert error["field"] == "body.credit_code"
    assert "check" in error["reason"].lower() or "校验" in error["reason"]


async def test_entity_crud_filters_and_pages(
    api: Any, make_entity: Any, db: asyncpg.Connection
) -> None:
    group = await make_entity("福清国资集团", kind="group")
    platform = await make_entity("城建投", kind="platform", segment="urban_construction")
    for i in range(3):
        await make_entity(f"城建子公司{i}", platform_id=platform, segment="urban_construction")
    await make_entity("文旅子公司", segment="culture_tourism")
    page = await api("GET", f"/api/v1/ledger/entities/?platform_id={platform}&limit=2")
    assert (page["total"], len(page["items"]), page["limit"]) == (3, 2, 2)
    assert [e["name"] for e in page["items"]] == ["城建子公司0", "城建子公司1"]
    assert page["items"][0]["kind_label"] == "子公司"
    second = await api("GET", f"/api/v1/ledger/entities/?platform_id={platform}&limit=2&offset=2")
    assert [e["name"] for e in second["items"]] == ["城建子公司2"]
    updated = await api("PATCH", f"/api/v1/ledger/entities/{group}", json={"short_name": "集团"})
    assert updated["short_name"] == "集团"
    duplicate_group = await api(
        "POST",
        "/api/v1/ledger/entities/",
        status=409,
        json={"credit_code": credit_code(99), "name": "第二个集团", "kind": "group"},
    )
    assert "one group" in duplicate_group["detail"]
    actions = [r["action"] for r in await db.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["entity.create"] * 6 + ["entity.update"]


async def test_domain_worked_example_of_effective_interest(
    api: Any, make_entity: Any, make_stake: Any
) -> None:
    s0 = await make_entity("S0", kind="group")
    s1, s2, s3 = [await make_entity(n) for n in ("S1", "S2", "S3")]
    await make_stake(s0, s1, "0.80")
    await make_stake(s0, s2, "0.60")
    await make_stake(s0, s3, "0.10")
    await make_stake(s2, s1, "0.10")
    await make_stake(s1, s3, "0.40")
    await make_stake(s2, s3, "0.20")
    view = await api("GET", f"/api/v1/ledger/entities/{s0}/ownership?as_of=2025-06-30")
    interest = {r["name"]: r["effective_interest"] for r in view["rows"]}
    assert interest == pytest.approx({"S1": 0.86, "S2": 0.60, "S3": 0.564}, abs=1e-12)
    # S3: votes 10% (S0) + 40% (S1, controlled) + 20% (S2, controlled) = 70% → controlled.
    methods = {r["name"]: (r["controlled"], r["method"]) for r in view["rows"]}
    assert methods["S3"] == (True, "full")
    before = await api("GET", f"/api/v1/ledger/entities/{s0}/ownership?as_of=2019-12-31")
    assert before["rows"] == []


async def test_stakes_over_100_percent_are_refused(
    api: Any, make_entity: Any, make_stake: Any
) -> None:
    a, b, c = [await make_entity(n) for n in ("A", "B", "C")]
    await make_stake(a, c, "0.70")
    refused = await api(
        "POST",
        "/api/v1/ledger/stakes",
        status=422,
        json={
            "holder_id": b,
            "held_id": c,
            "economic_share": "0.300001",
            "valid_from": "2021-01-01",
        },
    )
    assert refused["errors"][0]["field"] == "body.economic_share"
    assert "1.000001" in refused["errors"][0]["reason"]
    await make_stake(b, c, "0.30", valid_from="2021-01-01")
    stakes = await api("GET", f"/api/v1/ledger/entities/{c}/stakes")
    assert sorted(s["economic_share"] for s in stakes) == ["0.300000", "0.700000"]


async def test_entity_finance_sees_only_its_platform(
    client: AsyncTestClient, login_as: Any, make_entity: Any, make_stake: Any
) -> None:
    group = await make_entity("集团", kind="group")
    urban = await make_entity("城建投", kind="platform")
    transport = await make_entity("交通投", kind="platform")
    urban_sub = await make_entity("城建一公司", platform_id=urban)
    transport_sub = await make_entity("交通一公司", platform_id=transport)
    await make_stake(group, urban, "1")
    await make_stake(group, transport, "1")
    await make_stake(urban, urban_sub, "0.6")
    await make_stake(transport, transport_sub, "0.6")
    staff = await login_as("entity_finance", entity_id=urban)
    assert (
        await client.get(f"/api/v1/ledger/entities/{urban_sub}", headers=staff)
    ).status_code == 200
    other = await client.get(f"/api/v1/ledger/entities/{transport_sub}", headers=staff)
    assert other.status_code == 404
    assert problem(other)["status"] == 404
    listed = (await client.get("/api/v1/ledger/entities/", headers=staff)).json()
    assert sorted(e["name"] for e in listed["items"]) == ["城建一公司", "城建投"]
    tree = (await client.get("/api/v1/ledger/entities/tree?hierarchy=legal", headers=staff)).json()
    assert tree[0]["name"] == "城建投"
    assert [c["name"] for c in tree[0]["children"]] == ["城建一公司"]


async def test_board_cannot_write(client: AsyncTestClient, login_as: Any) -> None:
    board = await login_as("board")
    response = await client.post(
        "/api/v1/ledger/entities/",
        headers=board,
        json={"credit_code": credit_code(5), "name": "X", "kind": "subsidiary"},
    )
    assert response.status_code == 403


async def test_trees_by_platform_and_segment(api: Any, make_entity: Any) -> None:
    platform = await make_entity("水投", kind="platform", segment="water_environment")
    await make_entity("自来水公司", platform_id=platform, segment="water_environment")
    by_platform = await api("GET", "/api/v1/ledger/entities/tree?hierarchy=platform")
    assert [(p["name"], [c["name"] for c in p["children"]]) for p in by_platform] == [
        ("水投", ["自来水公司"])
    ]
    by_segment = await api("GET", "/api/v1/ledger/entities/tree?hierarchy=segment")
    water = next(s for s in by_segment if s["id"] == "segment:water_environment")
    assert water["name"] == "水务环保"
    assert sorted(c["name"] for c in water["children"]) == ["水投", "自来水公司"]


async def test_item_catalogue_has_chinese_labels_and_totals(api: Any) -> None:
    items = {i["code"]: i for i in await api("GET", "/api/v1/ledger/items")}
    assert items["total_equity"]["label"] == "所有者权益合计"
    assert items["total_equity"]["parts"] == [
        "paid_in_capital",
        "capital_reserve",
        "retained_earnings",
    ]
    assert items["revenue"]["flow"] is True
    assert items["cash"]["section"] == "balance_sheet"


async def test_stake_history_as_of_and_control_override(
    api: Any, make_entity: Any, make_stake: Any, db: asyncpg.Connection
) -> None:
    group = await make_entity("集团", kind="group")
    park = await make_entity("园区公司", kind="park_company")
    stake = await make_stake(group, park, "0.40", valid_from="2020-01-01")
    ended = await api("POST", f"/api/v1/ledger/stakes/{stake}/end", json={"valid_to": "2024-01-01"})
    assert ended["valid_to"] == "2024-01-01"
    await make_stake(group, park, "0.45", valid_from="2024-01-01")
    in_2023 = await api("GET", f"/api/v1/ledger/entities/{park}/stakes?as_of=2023-06-30")
    assert [s["economic_share"] for s in in_2023] == ["0.400000"]
    view = await api("GET", f"/api/v1/ledger/entities/{group}/ownership?as_of=2025-06-30")
    assert [(r["effective_interest"], r["method"]) for r in view["rows"]] == [(0.45, "equity")]
    too_short = await api(
        "POST",
        "/api/v1/ledger/control-overrides",
        status=400,
        json={"entity_id": park, "controlled": True, "reason": "x", "valid_from": "2025-01-01"},
    )
    assert too_short["errors"][0]["field"] == "body.reason"
    await api(
        "POST",
        "/api/v1/ledger/control-overrides",
        status=201,
        json={
            "entity_id": park,
            "controlled": True,
            "valid_from": "2025-01-01",
            "reason": "董事会多数席位由集团委派 (board majority appointed by the group)",
        },
    )
    view = await api("GET", f"/api/v1/ledger/entities/{group}/ownership?as_of=2025-06-30")
    assert [(r["effective_interest"], r["controlled"], r["method"]) for r in view["rows"]] == [
        (0.45, True, "full")
    ]
    earlier = await api("GET", f"/api/v1/ledger/entities/{group}/ownership?as_of=2024-12-31")
    assert earlier["rows"][0]["method"] == "equity"
    reason = await db.fetchval(
        "SELECT reason FROM audit_log WHERE action = 'control_override.create'"
    )
    assert reason.startswith("董事会多数席位")
    audit = await api("GET", f"/api/v1/audit/?object_type=stake&object_id={stake}")
    assert [r["action"] for r in audit["items"]] == ["stake.end", "stake.create"]
    assert audit["items"][0]["before"]["valid_to"] is None
    assert audit["items"][0]["after"]["valid_to"] == "2024-01-01"
