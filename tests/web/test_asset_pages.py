"""资产台账, 划拨, 资产盘点 and 有效资产 pages over the demo group, without a browser.

Each figure a page shows is checked against the asset API's answer (or the tables) for the same
user: the pages call the same services, so they must agree to the cent.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset.demo import DEMO_PASSWORD, load_demo
from stateasset.web import format as fmt


@pytest.fixture
async def demo_client(db: asyncpg.Connection) -> AsyncIterator[AsyncTestClient]:
    # Loaded before the app starts: the app's pool lives on the test client's own loop.
    await load_demo()
    from stateasset.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


def _csrf(html: str) -> str:
    token = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert token is not None
    return token.group(1)


def _key(html: str) -> str:
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert key is not None
    return key.group(1)


async def _sign_in(client: AsyncTestClient, username: str) -> dict[str, str]:
    """Sign the pages in (session cookie) and return the API's bearer header for the same user."""
    client.cookies.clear()
    login = await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "_csrf_token": _csrf(login.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    api = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
    )
    return {"Authorization": f"Bearer {api.json()['access_token']}"}


def _rows(html: str, table_id: str) -> list[list[str]]:
    """The cells of a table component's body rows, as text."""
    box = html.split(f'id="tbl-{table_id}"', 1)[1].split("</table>", 1)[0]
    body = box.split("<tbody>", 1)[1]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        ]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _total(html: str, key: str) -> str:
    found = re.search(rf'data-total="{key}">([^<]*)<', html)
    assert found is not None, key
    return found.group(1)


async def _entity_id(db: asyncpg.Connection, short_or_name: str) -> Any:
    return await db.fetchval(
        "SELECT id FROM entity WHERE short_name = $1 OR name = $1", short_or_name
    )


BOOK = "SELECT coalesce(sum(original - depreciation), 0) FROM asset_event"


async def test_the_list_shows_every_card_in_scope_with_totals_as_the_api_and_the_books(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    bearer = await _sign_in(client, "gf")
    listed = await client.get("/ledger/assets")
    assert listed.status_code == 200
    cards = await db.fetchval("SELECT count(*) FROM asset_card")
    assert _total(listed.text, "cards") == str(cards)
    assert _total(listed.text, "book_value") == fmt.yuan(await db.fetchval(BOOK))
    api = await client.get("/api/v1/ledger/assets/cards?limit=1", headers=bearer)
    assert api.json()["total"] == cards
    assert len(_rows(listed.text, "asset-cards")) == 50  # the first page

    # 水投's subtree, idle only: as the API filters them
    shuitou = await _entity_id(db, "水投")
    query = f"holder_id={shuitou}&idle=true&limit=500"
    api = (await client.get(f"/api/v1/ledger/assets/cards?{query}", headers=bearer)).json()
    assert api["total"] > 0
    idle = await client.get(f"/ledger/assets?f_holder={shuitou}&f_idle=1&size=200")
    rows = _rows(idle.text, "asset-cards")
    assert sorted(r[0] for r in rows) == sorted(c["code"] for c in api["items"])
    assert {r[6] for r in rows} == {"闲置"}
    # the filter form asks the path alone, so a second filter does not repeat the first's keys
    assert 'hx-get="/ledger/assets" hx-target="#tbl-asset-cards"' in idle.text
    assert '<input type="hidden" name="size" value="200">' in idle.text
    book = sum(Decimal(str(c["book_value"])) for c in api["items"])
    assert _total(idle.text, "book_value") == fmt.yuan(book)

    # the export writes the same rows, the service's workbook
    export = await client.get(f"/ledger/assets/export.xlsx?f_holder={shuitou}&f_idle=1")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")
    import io

    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:3] == ["资产编码", "资产名称", "资产类别"]
    assert sorted(r[0].value for r in sheet.iter_rows(min_row=2)) == sorted(
        c["code"] for c in api["items"]
    )


async def test_chengjian_finance_lists_only_its_subtree_and_is_refused_another_platforms_card(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    bearer = await _sign_in(client, "ef_chengjian")
    api = (await client.get("/api/v1/ledger/assets/cards?limit=1", headers=bearer)).json()
    listed = await client.get("/ledger/assets?size=200")
    assert _total(listed.text, "cards") == str(api["total"])
    cj = await _entity_id(db, "城建投")
    subtree = await client.get(
        f"/api/v1/ledger/assets/cards?holder_id={cj}&limit=1", headers=bearer
    )
    assert subtree.json()["total"] == api["total"]
    assert "水投" not in listed.text and "SW-" not in listed.text
    other = await db.fetchval("SELECT id FROM asset_card WHERE code LIKE 'SW-%' LIMIT 1")
    refused = await client.get(f"/ledger/assets/cards/{other}")
    assert refused.status_code == 403


async def test_a_card_from_an_agency_shows_its_balances_and_lineage_with_the_transfer_in(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    bearer = await _sign_in(client, "ef_chengjian")
    card_id = await db.fetchval("SELECT id FROM asset_card WHERE code = 'GOVHOUSING-FW-0001'")
    card = (await client.get(f"/api/v1/ledger/assets/cards/{card_id}", headers=bearer)).json()
    shown = await client.get(f"/ledger/assets/cards/{card_id}")
    assert shown.status_code == 200
    html = shown.text
    for key in ("original_value", "accumulated_depreciation", "book_value"):
        found = re.search(rf'data-balance="{key}">([^<]*)<', html)
        assert found is not None and found.group(1) == fmt.yuan(Decimal(str(card[key]))), key
    kinds = re.findall(r'data-kind="(\w+)"', html)
    events = await db.fetchval("SELECT count(*) FROM asset_event WHERE card = $1", card_id)
    assert len(kinds) == events
    assert kinds[0] == "acquire"
    # out of the agency and into 城建投 on the same day, marked as coming into the group
    at = kinds.index("transfer_out")
    assert kinds[at + 1] == "transfer_in"
    assert html.count('class="badge group">划入集团') == 1
    agency = await db.fetchval(
        "SELECT e.name FROM asset_event v JOIN entity e ON e.id = v.holder "
        "WHERE v.card = $1 AND v.kind = 'acquire'",
        card_id,
    )
    assert f"自 {agency}" in html
    assert "申请 gf · 批准 admin · 过账 admin" in html
    holders = re.findall(r"<ul class=\"holders\">(.*?)</ul>", html, re.S)[0]
    assert holders.index("福清市城市建设投资集团有限公司") > 0
    assert "至今" in holders.split("福清市城市建设投资集团有限公司", 1)[1]


async def _cj_cards(db: asyncpg.Connection, n: int) -> list[str]:
    """Codes of `n` of 城建投's own cards in use, by code."""
    rows = await db.fetch(
        "SELECT c.code FROM asset_card c JOIN entity e ON e.id = c.holder "
        "WHERE e.short_name = '城建投' AND c.status <> 'disposed' ORDER BY c.code LIMIT $1",
        n,
    )
    return [r["code"] for r in rows]


async def test_a_transfer_request_refuses_bad_codes_beside_the_field_and_stores_once(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    await _sign_in(client, "gf")
    cj, jt = await _entity_id(db, "城建投"), await _entity_id(db, "交通投")
    codes = await _cj_cards(db, 2)
    before = await db.fetchval("SELECT count(*) FROM asset_transfer")

    form = await client.get("/ledger/assets/transfers/new")
    assert form.status_code == 200
    fields = {
        "_csrf_token": _csrf(form.text),
        "idempotency_key": _key(form.text),
        "from_holder_id": str(cj),
        "to_holder_id": str(jt),
        "codes": f"{codes[0]}\nNO-SUCH-CARD",
        "transfer_date": "2026-11-27",
        "note": "划转经营性资产",
    }
    refused = await client.post("/ledger/assets/transfers", data=fields)
    assert refused.status_code == 422
    assert "划出单位名下没有这些资产编码：NO-SUCH-CARD" in refused.text
    assert 'aria-invalid="true">' + f"{codes[0]}\nNO-SUCH-CARD" in refused.text  # as typed
    assert await db.fetchval("SELECT count(*) FROM asset_transfer") == before

    # without the CSRF token the form is refused before anything runs
    no_csrf = {k: v for k, v in fields.items() if k != "_csrf_token"}
    assert (await client.post("/ledger/assets/transfers", data=no_csrf)).status_code == 403

    fields["codes"] = "，".join(codes)
    made = await client.post("/ledger/assets/transfers", data=fields, follow_redirects=False)
    assert made.status_code == 303
    again = await client.post("/ledger/assets/transfers", data=fields, follow_redirects=False)
    assert again.headers["location"] == made.headers["location"]  # the same transfer, once
    assert await db.fetchval("SELECT count(*) FROM asset_transfer") == before + 1
    shown = await client.get(made.headers["location"])
    assert "已提交划拨申请" in shown.text
    assert "待审批" in shown.text
    assert "/approve" not in shown.text  # the requester is offered no approval
    assert "申请人不能审批自己的申请" in shown.text


async def test_the_requester_forcing_an_approval_gets_403_and_another_approver_posts_it(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    bearer = await _sign_in(client, "gf")
    cj, jt = await _entity_id(db, "城建投"), await _entity_id(db, "交通投")
    codes = await _cj_cards(db, 3)
    ids = [await db.fetchval("SELECT id FROM asset_card WHERE code = $1", c) for c in codes]
    group_book = await db.fetchval(
        BOOK + " v JOIN entity e ON e.id = v.holder WHERE e.kind <> ALL($1)",
        ["agency", "institution", "outside"],
    )
    made = await client.post(
        "/api/v1/ledger/assets/transfers",
        headers={**bearer, "Idempotency-Key": "page-test-1"},
        json={
            "card_ids": [str(i) for i in ids],
            "to_holder_id": str(jt),
            "transfer_date": "2026-11-27",
        },
    )
    assert made.status_code == 201, made.text
    transfer = made.json()["id"]

    page = await client.get(f"/ledger/assets/transfers/{transfer}")
    forced = await client.post(
        f"/ledger/assets/transfers/{transfer}/approve",
        data={"_csrf_token": _csrf(page.text), "idempotency_key": "forced"},
    )
    assert forced.status_code == 403
    assert "无权执行（403）" in forced.text
    assert "申请人不能审批自己的划拨申请" in forced.text
    assert (
        await db.fetchval("SELECT status FROM asset_transfer WHERE id = $1", transfer)
        == "requested"
    )

    await _sign_in(client, "admin")
    listed = await client.get("/ledger/assets/transfers")
    assert f'data-transfer="{transfer}"' in listed.text  # awaiting admin's approval
    page = await client.get(f"/ledger/assets/transfers/{transfer}")
    assert "/approve" in page.text
    # a rejection needs its reason, shown beside the field; nothing changes
    no_reason = await client.post(
        f"/ledger/assets/transfers/{transfer}/reject",
        data={"_csrf_token": _csrf(page.text), "reason": ""},
    )
    assert no_reason.status_code == 422
    assert re.search(r'name="reason" value="" size="40" aria-invalid="true"', no_reason.text)
    approved = await client.post(
        f"/ledger/assets/transfers/{transfer}/approve",
        data={"_csrf_token": _csrf(page.text), "idempotency_key": _key(page.text)},
    )
    assert approved.status_code == 200
    assert "已批准并过账：3 张卡片已划入" in approved.text
    holders = await db.fetch(
        "SELECT DISTINCT holder FROM asset_card WHERE id = ANY($1::uuid[])", ids
    )
    assert [r["holder"] for r in holders] == [jt]
    after = await db.fetchval(
        BOOK + " v JOIN entity e ON e.id = v.holder WHERE e.kind <> ALL($1)",
        ["agency", "institution", "outside"],
    )
    assert after == group_book
    card = await client.get(f"/ledger/assets/cards/{ids[0]}")
    kinds = re.findall(r'data-kind="(\w+)"', card.text)
    assert kinds[-2:] == ["transfer_out", "transfer_in"]
    assert "申请 gf · 批准 admin · 过账 admin" in card.text
    assert cj != jt


async def test_the_demo_campaign_reports_its_surplus_and_shortages_with_values(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    bearer = await _sign_in(client, "gf")
    campaign = await db.fetchval("SELECT id FROM asset_campaign")
    report = (
        await client.get(f"/api/v1/ledger/assets/campaigns/{campaign}/report", headers=bearer)
    ).json()
    assert (report["matched"], report["surplus"], report["shortage"]) == (134, 1, 2)
    shown = await client.get(f"/ledger/assets/campaigns/{campaign}?f_outcome_label=盘盈")
    assert shown.status_code == 200
    for outcome in ("matched", "surplus", "shortage"):
        box = shown.text.split(f'data-outcome="{outcome}">', 1)[1].split("</div>", 1)[0]
        assert f"<strong>{report[outcome]}</strong>" in box
        assert fmt.yuan(Decimal(str(report[f"{outcome}_value"]))) in box
    rows = _rows(shown.text, "campaign-lines")
    assert rows == [
        [
            "盘盈",
            "福清市水务投资集团有限公司",
            "SW-SB-9001",
            "未入账潜水泵",
            "",
            "海口镇",
            "56,000.00",
        ]
    ]

    listed = await client.get("/ledger/assets/campaigns")
    assert "水投2026年资产盘点" in listed.text and "进行中" in listed.text
    # 城建投's staff do not see 水投's campaign
    await _sign_in(client, "ef_chengjian")
    assert "水投2026年资产盘点" not in (await client.get("/ledger/assets/campaigns")).text
    assert (await client.get(f"/ledger/assets/campaigns/{campaign}")).status_code == 403


async def test_a_campaign_counted_by_hand_reports_and_closes_with_its_adjustments(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    await _sign_in(client, "gf")
    cj = await _entity_id(db, "城建投")
    index = await client.get("/ledger/assets/campaigns")
    created = await client.post(
        "/ledger/assets/campaigns",
        data={
            "_csrf_token": _csrf(index.text),
            "name": "城建投车辆盘点",
            "as_of": "2026-11-27",
            "entity_ids": str(cj),
            "categories": "vehicles",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    books = await db.fetch(
        "SELECT c.code, sum(v.original - v.depreciation) AS book FROM asset_card c "
        "JOIN asset_event v ON v.card = c.id AND v.holder = c.holder "
        "WHERE c.holder = $1 AND c.category = 'vehicles' AND c.status <> 'disposed' "
        "GROUP BY c.code ORDER BY c.code",
        cj,
    )
    assert len(books) >= 3
    page = await client.get(url)
    csrf = _csrf(page.text)
    for row in books[:-1]:  # the last one is not found
        counted = await client.post(
            f"{url}/counts",
            data={"_csrf_token": csrf, "holder_id": str(cj), "code": row["code"]},
            follow_redirects=False,
        )
        assert counted.status_code == 303
    # a bad value is refused beside its field, nothing recorded
    bad = await client.post(
        f"{url}/counts",
        data={"_csrf_token": csrf, "holder_id": str(cj), "code": "CJ-NEW-1", "value": "1.005"},
    )
    assert bad.status_code in (400, 422)
    assert 'name="value" value="1.005" aria-invalid="true"' in bad.text
    await client.post(
        f"{url}/counts",
        data={
            "_csrf_token": csrf,
            "holder_id": str(cj),
            "code": "CJ-NEW-1",
            "name": "账外电动车",
            "category": "vehicles",
            "value": "12,345.67",
        },
    )
    report = await client.get(url)
    matched = sum((r["book"] for r in books[:-1]), Decimal(0))
    for outcome, n, value in (
        ("matched", len(books) - 1, matched),
        ("surplus", 1, Decimal("12345.67")),
        ("shortage", 1, books[-1]["book"]),
    ):
        box = report.text.split(f'data-outcome="{outcome}">', 1)[1].split("</div>", 1)[0]
        assert f"<strong>{n}</strong>" in box and fmt.yuan(value) in box, outcome

    confirm = await client.get(f"{url}/close")
    assert "确认结束并过账" in confirm.text
    closed = await client.post(
        f"{url}/close",
        data={"_csrf_token": _csrf(confirm.text), "idempotency_key": _key(confirm.text)},
    )
    assert closed.status_code == 200
    assert "盘点已结束" in closed.text and "已结束" in closed.text
    assert f"{url}/counts" not in closed.text  # locked: no more counting
    assert (
        await db.fetchval("SELECT status FROM asset_card WHERE code = $1", books[-1]["code"])
        == "disposed"
    )
    assert await db.fetchval("SELECT source FROM asset_card WHERE code = 'CJ-NEW-1'") == "surplus"
    late = await client.post(
        f"{url}/counts", data={"_csrf_token": csrf, "holder_id": str(cj), "code": "X"}
    )
    assert late.status_code == 409


async def test_effective_assets_show_the_services_ratios_and_a_chart_by_platform(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    bearer = await _sign_in(client, "gf")
    rows = (
        await client.get("/api/v1/ledger/assets/effective?as_of=2026-09-30", headers=bearer)
    ).json()
    group = next(r for r in rows if r["node"] == "group")
    shown = await client.get("/ledger/assets/effective?f_as_of=2026-09-30")
    assert shown.status_code == 200
    box = shown.text.split('data-node="group">', 1)[1].split("</div>", 1)[0]
    assert fmt.percent(Decimal(str(group["effective_ratio"]))) in box
    data = re.search(r'id="effective-data">(.*?)</script>', shown.text, re.S)
    assert data is not None
    import json

    chart = json.loads(data.group(1))
    assert chart["dates"][0] == "2025-03-31" and chart["dates"][-1] == "2026-09-30"
    platforms = [r for r in rows if r["node"].startswith("platform:")]
    assert sorted(s["name"] for s in chart["ratio"]) == sorted(p["name"] for p in platforms)
    # sorting keeps the date; a new date reloads the page, whose charts and figures follow it
    here = {
        "hx-request": "true",
        "hx-current-url": "http://testserver.local/ledger/assets/effective?f_as_of=2026-09-30",
    }
    sorted_ = await client.get(
        "/ledger/assets/effective?f_as_of=2026-09-30&sort=name", headers=here
    )
    assert (
        sorted_.text.startswith('<div id="tbl-effective"') and "f_as_of=2026-09-30" in sorted_.text
    )
    moved = await client.get("/ledger/assets/effective?f_as_of=2026-06-30&sort=name", headers=here)
    assert moved.headers["hx-redirect"] == "/ledger/assets/effective?f_as_of=2026-06-30&sort=name"
    table = _rows(shown.text, "effective")
    assert table[0][:2] == ["集团", "集团"]
    assert table[0][2] == fmt.yuan(Decimal(str(group["total_book"])))


async def test_the_transfer_list_filters_by_state_and_counts_are_uploaded_all_or_nothing(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    import io

    import openpyxl

    client = demo_client
    bearer = await _sign_in(client, "gf")
    posted = await client.get("/ledger/assets/transfers?f_status=posted")
    rows = _rows(posted.text, "asset-transfers")
    assert len(rows) == 2  # the two agencies' property moved into the group
    assert {r[4] for r in rows} == {"划入集团"} and {r[7] for r in rows} == {"已过账"}
    assert {r[5] for r in rows} == {"14", "8"}
    into_chengjian = await db.fetchrow(
        "SELECT id, to_holder, transfer_date FROM asset_transfer WHERE status = 'posted' "
        "AND note = '划拨经营性房产' ORDER BY transfer_date LIMIT 1"
    )
    ratios = []
    for day in ("2025-06-29", "2025-06-30"):
        rows = (
            await client.get(
                f"/api/v1/ledger/assets/effective?as_of={day}&node=entity:{into_chengjian['to_holder']}",
                headers=bearer,
            )
        ).json()
        ratios.append(fmt.percent(Decimal(str(rows[0]["effective_ratio"]))))
    assert into_chengjian["transfer_date"].isoformat() == "2025-06-30"
    shown = await client.get(f"/ledger/assets/transfers/{into_chengjian['id']}")
    assert f"{ratios[0]} → {ratios[1]}" in shown.text
    assert ratios[0] != ratios[1]  # 14 earning buildings came in
    awaiting = _rows(
        (await client.get("/ledger/assets/transfers?f_status=requested")).text, "asset-transfers"
    )
    assert [(r[2], r[7], r[8]) for r in awaiting] == [("福清市财政局", "待审批", "admin")]

    campaign = await db.fetchval("SELECT id FROM asset_campaign")
    sw = await db.fetchrow("SELECT id, credit_code FROM entity WHERE short_name = '水投'")
    code = await db.fetchval(
        "SELECT code FROM asset_card WHERE holder = $1 AND code NOT IN "
        "(SELECT code FROM asset_count WHERE campaign = $2) AND status <> 'disposed' LIMIT 1",
        sw["id"],
        campaign,
    )
    assert code is not None  # one of the two the demo's counters missed
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        ["持有单位统一社会信用代码", "资产编码", "存放地点", "资产名称", "资产类别", "评估价值"]
    )
    sheet.append([sw["credit_code"], code, "音西街道", None, None, None])
    sheet.append(["NOT-A-CODE", "SW-X-1", None, None, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    page = await client.get(f"/ledger/assets/campaigns/{campaign}")
    counts = await db.fetchval("SELECT count(*) FROM asset_count WHERE campaign = $1", campaign)
    refused = await client.post(
        f"/ledger/assets/campaigns/{campaign}/counts/import",
        data={"_csrf_token": _csrf(page.text)},
        files={"file": ("counts.xlsx", buffer.getvalue())},
    )
    assert refused.status_code == 422
    assert "第 3 行 A 列：unknown entity NOT-A-CODE" in refused.text
    assert (
        await db.fetchval("SELECT count(*) FROM asset_count WHERE campaign = $1", campaign)
        == counts
    )

    sheet.delete_rows(3)
    buffer = io.BytesIO()
    book.save(buffer)
    stored = await client.post(
        f"/ledger/assets/campaigns/{campaign}/counts/import",
        data={"_csrf_token": _csrf(page.text)},
        files={"file": ("counts.xlsx", buffer.getvalue())},
    )
    assert stored.status_code == 200
    assert "已录入 1 条盘点记录" in stored.text
    box = stored.text.split('data-outcome="shortage">', 1)[1].split("</div>", 1)[0]
    assert "<strong>1</strong>" in box  # one of the two missing was found after all


async def test_chengjian_finance_sees_its_own_platform_only_and_no_approval(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    import json

    client = demo_client
    bearer = await _sign_in(client, "ef_chengjian")
    shown = await client.get("/ledger/assets/effective?f_as_of=2026-09-30")
    assert shown.status_code == 200
    data = re.search(r'id="effective-data">(.*?)</script>', shown.text, re.S)
    assert data is not None
    chart = json.loads(data.group(1))
    assert [s["name"] for s in chart["ratio"]] == ["福清市城市建设投资集团有限公司"]
    rows = (
        await client.get("/api/v1/ledger/assets/effective?as_of=2026-09-30", headers=bearer)
    ).json()
    assert len(_rows(shown.text, "effective")) == len(rows)
    assert 'data-node="group"' not in shown.text

    transfers = await client.get("/ledger/assets/transfers")
    assert "待我审批" not in transfers.text and "/approve" not in transfers.text
    # the posted transfer into 城建投 is theirs to read; the one into 交通投 is not listed
    rows = _rows(transfers.text, "asset-transfers")
    assert [(r[3], r[7]) for r in rows] == [("福清市城市建设投资集团有限公司", "已过账")]
    pending = await db.fetchval("SELECT id FROM asset_transfer WHERE status = 'requested'")
    assert (await client.get(f"/ledger/assets/transfers/{pending}")).status_code == 403
    forced = await client.post(
        f"/ledger/assets/transfers/{pending}/approve",
        data={"_csrf_token": _csrf(transfers.text), "idempotency_key": "x"},
    )
    assert forced.status_code == 403  # no approval rights at all


async def test_an_approver_rejects_the_demos_pending_transfer_with_a_reason_and_nothing_moves(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    await _sign_in(client, "gf")
    pending = await db.fetchval("SELECT id FROM asset_transfer WHERE status = 'requested'")
    holders = "SELECT c.holder FROM asset_transfer_item i JOIN asset_card c ON c.id = i.card "
    holders += "WHERE i.transfer = $1"
    before = sorted(r["holder"] for r in await db.fetch(holders, pending))
    page = await client.get(f"/ledger/assets/transfers/{pending}")
    assert "批准</button>" in page.text and "驳回原因（必填）" in page.text
    rejected = await client.post(
        f"/ledger/assets/transfers/{pending}/reject",
        data={"_csrf_token": _csrf(page.text), "reason": "门面房尚有租赁纠纷，待处理后再划拨"},
    )
    assert rejected.status_code == 200
    assert "已驳回。" in rejected.text
    assert "门面房尚有租赁纠纷，待处理后再划拨" in rejected.text
    assert 'data-status="rejected"' in rejected.text
    assert "/approve" not in rejected.text  # decided: nothing more to approve
    assert sorted(r["holder"] for r in await db.fetch(holders, pending)) == before


async def test_each_tables_export_writes_its_rows_as_filtered(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    import io

    import openpyxl

    client = demo_client
    await _sign_in(client, "gf")

    async def sheet(url: str) -> list[list[Any]]:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        return [[c.value for c in row] for row in book.active.iter_rows()]  # type: ignore[union-attr]

    campaign = await db.fetchval("SELECT id FROM asset_campaign")
    shortages = await sheet(f"/ledger/assets/campaigns/{campaign}/report.xlsx?f_outcome_label=盘亏")
    assert shortages[0][:3] == ["结果", "持有单位", "资产编码"]
    assert [r[0] for r in shortages[1:]] == ["盘亏", "盘亏"]

    moved = await sheet("/ledger/assets/transfers/export.xlsx?f_status=posted")
    assert moved[0][0] == "申请时间" and len(moved) == 3
    into_chengjian = await db.fetchval(
        "SELECT id FROM asset_transfer WHERE status = 'posted' ORDER BY transfer_date LIMIT 1"
    )
    cards = await sheet(f"/ledger/assets/transfers/{into_chengjian}/cards.xlsx")
    assert len(cards) == 1 + 14

    nodes = await sheet("/ledger/assets/effective/export.xlsx?f_as_of=2026-09-30&f_level=平台")
    assert nodes[0][:2] == ["层级", "名称"]
    assert {r[0] for r in nodes[1:]} == {"平台"} and len(nodes) == 1 + 5
