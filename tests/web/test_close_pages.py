"""集团概览, 快报 and 期间看板 through the test client, over the demo group.

2026-Q3 in the demo: 城建投 and its five companies open, three 水投 companies validated, the other
eighteen reporting entities submitted; every earlier quarter locked. Expected figures come from
the consolidation service the API answers with, formatted as the page formats them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from stateasset.demo import DEMO_PASSWORD, load_demo
from stateasset.web import format as fmt

PERIOD = "2026-Q3"
CHENGJIAN = "福清市城市建设投资集团有限公司"
PLATFORMS = ["产业投", "交通投", "城建投", "文旅投", "水投"]


@pytest.fixture
async def client(db: asyncpg.Connection) -> AsyncIterator[AsyncTestClient]:
    """The app over the demo group, loaded before the app opens its pool on its own loop."""
    await load_demo()
    from stateasset.app import create_app

    async with AsyncTestClient(app=create_app()) as test_client:
        yield test_client


@pytest.fixture
def demo(client: AsyncTestClient, db: asyncpg.Connection) -> asyncpg.Connection:
    return db


async def _sign_in(client: AsyncTestClient, username: str) -> None:
    token = _token((await client.get("/login")).text)
    response = await client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _token(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def _entity(db: asyncpg.Connection, name: str) -> UUID:
    return await db.fetchval("SELECT id FROM entity WHERE name = $1", name)


async def _figures(client: AsyncTestClient, node: str, period: str = PERIOD) -> dict[str, Decimal]:
    """The consolidated items as the API answers them (signed in as group finance)."""
    login = await client.post(
        "/api/v1/auth/login", json={"username": "gf", "password": DEMO_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    report = await client.get(
        "/api/v1/ledger/consolidation", params={"period": period, "node": node}, headers=headers
    )
    assert report.status_code == 200, report.text
    return {row["item"]: Decimal(row["consolidated"]) for row in report.json()["items"]}


def _amount(text: str) -> Decimal:
    """An amount as the form shows it (元 with separators)."""
    return Decimal(text.replace(",", ""))


def _charts(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="overview-data">(.*?)</script>', html)
    assert found is not None
    return json.loads(found.group(1))


def _card(html: str, item: str) -> str:
    found = re.search(
        rf'data-item="{item}">\s*<div class="label">[^<]*</div>\s*'
        r'<div class="value[^"]*">([^<]*)<',
        html,
    )
    assert found is not None, item
    return found.group(1)


async def test_the_board_sees_the_groups_consolidated_figures_and_the_close(
    client: AsyncTestClient, demo: asyncpg.Connection
) -> None:
    await _sign_in(client, "board")
    page = await client.get("/")
    assert page.status_code == 200
    html = page.text
    group = await _figures(client, "group")
    for item in (
        "total_assets",
        "total_liabilities",
        "total_equity",
        "revenue",
        "net_profit",
        "non_controlling_interest",
    ):
        assert _card(html, item) == fmt.wan(group[item]), item
    # the demo group's Q3: 6 open (城建投's), 18 submitted, 3 validated (水投's), none locked
    assert re.search(r"编制中 <strong>6</strong>", html)
    assert re.search(r"已提交 <strong>18</strong>", html)
    assert re.search(r"已审核 <strong>3</strong>", html)
    assert re.search(r"已锁定 <strong>0</strong>", html)
    charts = _charts(html)
    assert sorted(charts["platforms"]["categories"]) == sorted(PLATFORMS)
    assert len(charts["segments"]["categories"]) == 5
    # the trend runs over the seven demo quarters, the last being the chosen one
    assert charts["trend"]["periods"][0] == "2025年第1季度"
    assert charts["trend"]["periods"][-1] == "2026年第3季度"
    assets = next(s for s in charts["trend"]["series"] if s["name"] == "资产总计")
    assert assets["data"][-1] == fmt.wan(group["total_assets"]).replace(",", "")
    earlier = await _figures(client, "group", "2025-Q1")
    assert assets["data"][0] == fmt.wan(earlier["total_assets"]).replace(",", "")
    # the table by platform and segment, in 元
    chengjian = await _figures(client, f"platform:{await _entity(demo, CHENGJIAN)}")
    assert fmt.yuan(chengjian["total_assets"]) in html
    # another period through the selector
    older = await client.get("/?period=2026-Q2")
    assert older.status_code == 200 and "2026年第2季度" in older.text
    q2 = await _figures(client, "group", "2026-Q2")
    assert _card(older.text, "total_assets") == fmt.wan(q2["total_assets"])
    assert re.search(r"已锁定 <strong>27</strong>", older.text)


async def test_entity_finance_sees_its_platform_as_the_node(
    client: AsyncTestClient, demo: asyncpg.Connection
) -> None:
    await _sign_in(client, "ef_chengjian")
    html = (await client.get("/")).text
    own = await _figures(client, f"entity:{await _entity(demo, CHENGJIAN)}")
    assert f"{CHENGJIAN} · 2026年第3季度" in html
    assert _card(html, "total_assets") == fmt.wan(own["total_assets"])
    charts = _charts(html)
    assert charts["platforms"]["categories"] == ["城建投"]
    assert 'id="chart-segments"' not in html
    # 城建投's five entities, all still open
    assert re.search(r"编制中 <strong>5</strong>", html)


async def test_a_reader_without_statements_gets_no_figures(
    client: AsyncTestClient, demo: asyncpg.Connection
) -> None:
    await _sign_in(client, "fm")
    page = await client.get("/")
    assert page.status_code == 200
    assert "合并数据需要快报查看权限" in page.text and "data-item" not in page.text
    assert (await client.get("/overview/2026-Q3/export.xlsx")).status_code == 403


async def test_the_board_reads_a_statement_without_edit_controls(
    client: AsyncTestClient, demo: asyncpg.Connection
) -> None:
    await _sign_in(client, "board")
    first = await client.get("/ledger/reports", follow_redirects=False)
    assert first.status_code == 303
    group = await demo.fetchval("SELECT id FROM entity WHERE kind = 'group'")
    assert first.headers["location"] == f"/ledger/reports/{group}/{PERIOD}"
    html = (await client.get(first.headers["location"])).text
    cash = await demo.fetchval(
        "SELECT l.amount FROM statement s JOIN statement_line l ON l.statement = s.id "
        "WHERE s.entity = $1 AND s.period = $2 AND l.item = 'cash'",
        group,
        PERIOD,
    )
    assert fmt.yuan(cash) in html
    assert "货币资金" in html and "资产负债表" in html and "现金流量表" in html
    assert 'method="post"' not in html.split("<main>")[1]
    assert 'name="items.' not in html
    assert "第 1 版" in html  # the version history
    # the board may not post, even with a token
    posted = await client.post(
        f"/ledger/reports/{group}/{PERIOD}",
        data={"items.cash": "1", "_csrf_token": _token(html)},
    )
    assert posted.status_code == 403


async def test_a_bad_amount_shows_its_reason_beside_the_field_and_stores_nothing(
    client: AsyncTestClient, demo: asyncpg.Connection
) -> None:
    await _sign_in(client, "ef_chengjian")
    entity = await _entity(demo, CHENGJIAN)
    url = f"/ledger/reports/{entity}/{PERIOD}"
    html = (await client.get(url)).text
    form = dict(re.findall(r'name="(items\.[a-z_]+)" value="([^"]*)"', html))
    assert len(form) == 34 and form["items.cash"]
    before = await demo.fetchval("SELECT count(*) FROM statement")
    audit = await demo.fetchval("SELECT count(*) FROM audit_log")

    # the form as shown (元 with separators) reads back as the stored version: nothing added
    same = await client.post(
        url, data={**form, "_csrf_token": _token(html)}, follow_redirects=False
    )
    assert same.headers["location"] == f"{url}?saved=1&added=0"
    assert await demo.fetchval("SELECT count(*) FROM statement") == before

    bad = {**form, "items.cash": "12,34x", "items.inventory": "1.234", "_csrf_token": _token(html)}
    refused = await client.post(url, data=bad)
    assert refused.status_code == 422
    assert re.search(
        r'id="problem-cash" data-field="body.items.cash">金额不是数字 amount is not a number: '
        r"&#39;12,34x&#39;<",
        refused.text,
    )
    assert 'data-field="body.items.inventory">金额超过两位小数' in refused.text
    assert 'value="12,34x"' in refused.text  # the form comes back as typed
    assert await demo.fetchval("SELECT count(*) FROM statement") == before
    assert await demo.fetchval("SELECT count(*) FROM audit_log") == audit

    # a 审核公式 error (assets no longer the sum of their parts) blocks it too, beside the item
    cash = _amount(form["items.cash"])
    unbalanced = {**form, "items.cash": str(cash + 100), "_csrf_token": _token(html)}
    refused = await client.post(url, data=unbalanced)
    assert refused.status_code == 422
    assert re.search(r'data-field="body.items.total_assets">sum_of_parts: ', refused.text)
    assert await demo.fetchval("SELECT count(*) FROM statement") == before

    # a balanced correction is the next version, entered on the page
    fixed = {
        **unbalanced,
        "items.total_assets": str(_amount(form["items.total_assets"]) + 100),
        "items.payables": str(_amount(form["items.payables"]) + 100),
        "items.total_liabilities": str(_amount(form["items.total_liabilities"]) + 100),
        "_csrf_token": _token(html),
    }
    saved = await client.post(url, data=fixed, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"{url}?saved=2&added=1"
    shown = (await client.get(saved.headers["location"])).text
    assert "已保存为第 2 版" in shown
    assert f'value="{fmt.yuan(cash + 100)}"' in shown  # read back as it was shown
    assert "页面录入" in shown and ">第 1 版<" in shown and ">第 2 版<" in shown
    row = await demo.fetchrow(
        "SELECT version, source, created_by FROM statement WHERE entity = $1 AND period = $2 "
        "ORDER BY version DESC LIMIT 1",
        entity,
        PERIOD,
    )
    assert dict(row) == {"version": 2, "source": "web", "created_by": "ef_chengjian"}
    # version 1 stays readable, without a form
    old = (await client.get(f"{url}/1")).text
    assert "正在查看第 1 版（只读）" in old and 'name="items.' not in old
    assert fmt.yuan(cash) in old

    # a warning does not block: revenue below Q2's year-to-date figure is saved and shown beside it
    q2_revenue = await demo.fetchval(
        "SELECT l.amount FROM statement s JOIN statement_line l ON l.statement = s.id "
        "WHERE s.entity = $1 AND s.period = '2026-Q2' AND l.item = 'revenue'",
        entity,
    )
    lower = {**fixed, "items.revenue": str(q2_revenue - 1), "_csrf_token": _token(html)}
    warned = await client.post(url, data=lower, follow_redirects=False)
    assert warned.headers["location"] == f"{url}?saved=3&added=1"
    shown = (await client.get(warned.headers["location"])).text
    assert "已保存为第 3 版。 有 1 条审核提示" in shown
    assert re.search(
        r'<span class="finding warning" data-rule="ytd_cumulative">提示：营业收入 revenue ', shown
    )


async def test_a_statement_form_needs_the_csrf_token_and_stays_in_scope(
    client: AsyncTestClient, demo: asyncpg.Connection
) -> None:
    await _sign_in(client, "ef_chengjian")
    entity = await _entity(demo, CHENGJIAN)
    before = await demo.fetchval("SELECT count(*) FROM statement")
    posted = await client.post(f"/ledger/reports/{entity}/{PERIOD}", data={"items.cash": "1"})
    assert posted.status_code == 403
    bus = await _entity(demo, "福清市公共交通有限公司")
    assert (await client.get(f"/ledger/reports/{bus}/{PERIOD}")).status_code == 403
    html = (await client.get(f"/ledger/reports/{entity}/{PERIOD}")).text
    other = await client.post(
        f"/ledger/reports/{bus}/{PERIOD}", data={"items.cash": "1", "_csrf_token": _token(html)}
    )
    assert other.status_code == 403
    assert await demo.fetchval("SELECT count(*) FROM statement") == before


async def _states(db: asyncpg.Connection, period: str = PERIOD) -> Counter[str]:
    rows = await db.fetch("SELECT state FROM period_state WHERE period = $1", period)
    return Counter(r["state"] for r in rows)


async def test_group_finance_validates_the_selected_rows_with_per_row_results(
    client: AsyncTestClient, demo: asyncpg.Connection
) -> None:
    await _sign_in(client, "gf")
    first = await client.get("/ledger/periods", follow_redirects=False)
    assert first.headers["location"] == f"/ledger/periods/{PERIOD}"
    html = (await client.get(first.headers["location"])).text
    rows = re.findall(r'name="entity_ids" value="([^"]+)" form="periods-selected"', html)
    assert len(rows) == 27
    assert 'value="validate">审核<' in html and 'value="reopen"' not in html
    before = await _states(demo)

    # every row: the open ones cannot be validated, so nothing moves
    refused = await client.post(
        f"/ledger/periods/{PERIOD}",
        data={"action": "validate", "entity_ids": rows, "_csrf_token": _token(html)},
    )
    assert refused.status_code == 409
    assert await _states(demo) == before
    assert f"{CHENGJIAN} is open, not submitted" in refused.text
    # the refusals first (6 open, 3 already validated), then the 18 that could move
    assert refused.text.count('<tr class="refused">') == 9
    assert refused.text.count('<tr class="held">') == 18
    assert refused.text.index('<tr class="refused">') < refused.text.index('<tr class="held">')
    movable = re.findall(r'<input type="hidden" name="entity_ids" value="([^"]+)">', refused.text)
    assert len(movable) == 18  # the submitted ones
    assert "只对可执行的 18 个主体审核" in refused.text

    moved = await client.post(
        f"/ledger/periods/{PERIOD}",
        data={"action": "validate", "entity_ids": movable, "_csrf_token": _token(html)},
    )
    assert moved.status_code == 200
    assert "审核完成：18 个主体" in moved.text
    assert moved.text.count('<tr class="moved">') == 18
    states = await _states(demo)
    assert states["validated"] == 21 and states["submitted"] == 0

    # locking the 21 validated: 交建公司's side of the ¥12,000.00 pair does not match
    validated = [
        str(r["entity"])
        for r in await demo.fetch(
            "SELECT entity FROM period_state WHERE period = $1 AND state = 'validated'", PERIOD
        )
    ]
    lock = {"action": "lock", "entity_ids": validated, "_csrf_token": _token(html)}
    refused = await client.post(f"/ledger/periods/{PERIOD}", data=lock)
    assert refused.status_code == 409
    assert refused.text.count('<tr class="refused">') == 1
    assert re.search(
        r'<tr class="refused"><td>福清市交通建设工程有限公司</td><td>被拒绝</td>'
        r"<td>内部往来对账不符，见内部往来页 .*has intercompany pairs that do not match",
        refused.text,
    )
    assert "只对可执行的 20 个主体锁定" in refused.text
    assert (await _states(demo))["locked"] == 0


async def test_reopen_is_for_admins_and_needs_a_reason(
    client: AsyncTestClient, demo: asyncpg.Connection
) -> None:
    dev = await _entity(demo, "福清市城市建设开发有限公司")
    await _sign_in(client, "gf")
    html = (await client.get("/ledger/periods/2026-Q2")).text
    assert 'value="reopen"' not in html
    posted = await client.post(
        "/ledger/periods/2026-Q2",
        data={
            "action": "reopen",
            "entity_ids": [str(dev)],
            "reason": "late correction",
            "_csrf_token": _token(html),
        },
    )
    assert posted.status_code == 403
    assert (await _states(demo, "2026-Q2")) == Counter({"locked": 27})

    client.cookies.clear()
    await _sign_in(client, "admin")
    html = (await client.get("/ledger/periods/2026-Q2")).text
    assert 'value="reopen">重开<' in html
    short = await client.post(
        "/ledger/periods/2026-Q2",
        data={
            "action": "reopen",
            "entity_ids": [str(dev)],
            "reason": "no",
            "_csrf_token": _token(html),
        },
    )
    assert short.status_code == 400
    assert 'data-field="body.reason">重开原因：Expected `str` of length &gt;= 4' in short.text
    assert ">no</textarea>" in short.text  # as typed
    assert (await _states(demo, "2026-Q2")) == Counter({"locked": 27})

    reopened = await client.post(
        "/ledger/periods/2026-Q2",
        data={
            "action": "reopen",
            "entity_ids": [str(dev)],
            "reason": "迟到的更正 late correction",
            "_csrf_token": _token(html),
        },
    )
    assert reopened.status_code == 200
    # the company, 城建投 above it and the group above that
    assert "重开完成：3 个主体" in reopened.text
    assert "随下级级联重开" in reopened.text
    assert (await _states(demo, "2026-Q2")) == Counter({"locked": 24, "open": 3})


async def test_the_board_is_scoped_and_read_only_for_readers(
    client: AsyncTestClient, demo: asyncpg.Connection
) -> None:
    await _sign_in(client, "ef_chengjian")
    html = (await client.get(f"/ledger/periods/{PERIOD}")).text
    assert len(re.findall(r'name="entity_ids" value=', html)) == 5
    assert 'value="submit">提交<' in html and 'value="validate"' not in html
    client.cookies.clear()
    await _sign_in(client, "board")
    html = (await client.get(f"/ledger/periods/{PERIOD}?f_state_label=已审核")).text
    assert 'name="entity_ids"' not in html and 'method="post" action="/ledger/periods' not in html
    assert "共 3 条" in html
    export = await client.get(f"/ledger/periods/{PERIOD}/export.xlsx?f_state_label=已审核")
    assert export.status_code == 200
    from io import BytesIO

    import openpyxl

    sheet = openpyxl.load_workbook(BytesIO(export.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("主体", "平台", "状态", "最后操作人", "最后操作时间（北京时间）")
    assert len(values) == 4 and {v[1] for v in values[1:]} == {"水投"}
