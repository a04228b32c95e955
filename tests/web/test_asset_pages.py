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
    assert {r[7] for r in rows} == {"闲置"}
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
