"""基金, a fund's page and 母基金看板 without a browser, over a small tree made through the API.

Every figure a page shows is checked against the funds API's answer for the same fund and date:
the pages call the same services, so they must agree to the cent.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient
from openpyxl import load_workbook

from stateasset.demo import DEMO_PASSWORD, load_demo
from stateasset.web import format as fmt
from tests.funds.conftest import TERMS, key, tree  # noqa: F401
from tests.ledger.conftest import admin, api, make_entity  # noqa: F401

PASSWORD = "correct horse battery staple"
AS_OF = "2024-01-01"


async def sign_in(client: AsyncTestClient, login_as: Any, role: str, username: str) -> None:
    """A user of `role` made in the table, signed in to the pages (session cookie)."""
    await login_as(role, username=username)
    client.cookies.clear()
    login = await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "_csrf_token": csrf(login.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def csrf(html: str) -> str:
    token = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert token is not None
    return token.group(1)


def form_key(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def metric(html: str, name: str) -> str:
    found = re.search(
        rf'data-metric="{name}"><span class="label">[^<]*</span><strong>([^<]*)<', html
    )
    assert found is not None, name
    return found.group(1)


def embedded(html: str, element_id: str) -> Any:
    """The JSON a page embeds for its charts."""
    found = re.search(
        rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S
    )
    assert found is not None, element_id
    return json.loads(found.group(1))


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The cells of a table component's body rows, as text."""
    box = html.split(f'id="tbl-{table_id}"', 1)[1].split("</table>", 1)[0]
    body = box.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


@pytest.fixture
async def funded(
    api: Any,  # noqa: F811
    admin: dict[str, str],  # noqa: F811
    make_entity: Any,  # noqa: F811
    tree: dict[str, Any],  # noqa: F811
) -> dict[str, Any]:
    """The tree's sub-fund with 20% called and paid from each LP on 2021-03-01, 2,000,000.00
    distributed to the market LP on 2023-06-30, a NAV of 21,000,000.00 at 2022-Q4 and one local
    新能源 investment of 5,000,000.00 (10%)."""
    sub = tree["sub"]
    for lp, amount in (
        ("mother", "6000000.00"),
        ("city", "4000000.00"),
        ("market_lp", "10000000.00"),
    ):
        call = {
            "commitment_id": tree[f"c_{lp}"],
            "amount": amount,
            "call_date": "2021-02-15",
            "paid_on": "2021-03-01",
        }
        headers = {**admin, **key(f"call-{lp}")}
        await api("POST", f"/api/v1/funds/{sub}/calls", json=call, headers=headers, status=201)
    await api(
        "POST",
        f"/api/v1/funds/{sub}/distributions",
        json={
            "commitment_id": tree["c_market_lp"],
            "amount": "2000000.00",
            "distribution_date": "2023-06-30",
        },
        headers={**admin, **key("dist")},
        status=201,
    )
    await api(
        "POST",
        f"/api/v1/funds/{sub}/navs",
        json={
            "period": "2022-Q4",
            "contributions": "20000000.00",
            "distributions": "0.00",
            "gains": "1000000.00",
            "fees": "0.00",
            "nav": "21000000.00",
        },
        status=201,
    )
    company = await make_entity("本地新能源科技有限公司", kind="outside")
    await api(
        "POST",
        f"/api/v1/funds/{sub}/investments",
        json={
            "company_id": company,
            "industry": "new_energy",
            "local": True,
            "reinvestment_kind": "local",
            "stage": "growth",
            "invested_on": "2021-06-01",
            "amount": "5000000.00",
            "share": "0.1",
        },
        status=201,
    )
    return tree


async def test_the_tree_shows_the_mother_and_its_sub_fund_with_gp_size_and_vintage(
    client: AsyncTestClient, login_as: Any, funded: dict[str, Any]
) -> None:
    await sign_in(client, login_as, "group_finance", "gf-tree")
    html = (await client.get("/funds")).text
    rows = re.findall(r'<tr data-fund="([^"]+)">(.*?)</tr>', html, re.S)
    assert [fund for fund, _ in rows] == [funded["mother"], funded["sub"]]
    sub = re.sub(r"<[^>]+>", "|", rows[1][1])
    assert "合作子基金一期" in sub and "合作子基金" in sub
    assert "市场化管理人 |执行事务合伙人" in sub and "|市场化|" in sub
    assert "10,000.00" in sub and "2021" in sub
    assert "padding-left: 28px" in rows[1][1]  # one level below the mother fund


async def test_a_fund_page_shows_the_apis_metrics_and_capital_account_for_the_same_date(
    client: AsyncTestClient,
    login_as: Any,
    api: Any,  # noqa: F811
    funded: dict[str, Any],
) -> None:
    sub = funded["sub"]
    metrics = await api("GET", f"/api/v1/funds/metrics?as_of={AS_OF}")
    mine = next(m for m in metrics if m["fund_id"] == sub)
    # 20,000,000.00 paid in; 2,000,000.00 back; NAV 21,000,000.00 − 2,000,000.00 since 2022-Q4.
    assert Decimal(mine["paid_in"]) == Decimal("20000000.00")
    assert mine["dpi"] == pytest.approx(0.1)
    assert mine["tvpi"] == pytest.approx(mine["dpi"] + mine["rvpi"])
    await sign_in(client, login_as, "group_finance", "gf-fund")
    html = (await client.get(f"/funds/{sub}?as_of={AS_OF}")).text
    assert metric(html, "paid_in") == fmt.wan(Decimal(mine["paid_in"])) == "2,000.00"
    assert metric(html, "unfunded") == fmt.wan(Decimal(mine["unfunded"])) == "8,000.00"
    assert metric(html, "nav") == fmt.wan(Decimal(mine["nav"]))
    assert metric(html, "dpi") == f"{mine['dpi']:.4f}" == "0.1000"
    assert metric(html, "tvpi") == f"{mine['tvpi']:.4f}"
    assert metric(html, "irr") == fmt.percent(mine["irr"])
    positions = await api("GET", f"/api/v1/funds/{sub}/positions?as_of={AS_OF}")
    lp_navs = {
        m["lp_id"]: m["nav"]
        for m in await api("GET", f"/api/v1/funds/{sub}/metrics/positions?as_of={AS_OF}")
    }
    rows = table_rows(html, "fund-capital")
    assert [r[0] for r in rows] == [p["lp_name"] for p in positions]
    for row, p in zip(rows, positions, strict=True):
        assert row[2:7] == [
            fmt.yuan(Decimal(p["commitment"])),
            fmt.yuan(Decimal(p["paid_in"])),
            fmt.yuan(Decimal(p["unfunded"])),
            fmt.yuan(Decimal(p["distributed"])),
            fmt.yuan(Decimal(lp_navs[p["lp_id"]])),
        ]
    assert rows[0][:5] == [
        "社会资本LP",
        "社会资本",
        "50,000,000.00",
        "10,000,000.00",
        "40,000,000.00",
    ]
    portfolio = table_rows(html, "fund-portfolio")
    assert portfolio[0][:6] == [
        "本地新能源科技有限公司",
        "新能源",
        "本地",
        "成长期",
        "2021-06-01",
        "5,000,000.00",
    ]
    # The J-curve's data is the API's, in 万元.
    curve = await api("GET", f"/api/v1/funds/{sub}/j-curve")
    chart = embedded(html, "jcurve-data")
    assert chart["quarters"] == [p["quarter"] for p in curve]
    assert chart["cumulative"] == [
        fmt.wan(Decimal(p["cumulative_net"])).replace(",", "") for p in curve
    ]
    assert chart["cumulative"][0] == "-2000.00"  # 2021-Q1: 20,000,000.00 paid in
    # group finance reads every fund but writes none: no call form.
    assert f'action="/funds/{sub}/calls"' not in html


async def test_the_capital_account_exports_with_chinese_labels(
    client: AsyncTestClient, login_as: Any, funded: dict[str, Any]
) -> None:
    await sign_in(client, login_as, "board", "board-xlsx")
    response = await client.get(f"/funds/{funded['sub']}/capital.xlsx?as_of={AS_OF}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "出资人（LP）",
        "出资性质",
        "认缴",
        "实缴",
        "未缴",
        "累计分配",
        "应享净值",
        "净值份额",
    )
    assert rows[1][:5] == ("社会资本LP", "社会资本", 50_000_000, 10_000_000, 40_000_000)
    assert sheet.title == "出资台账"


async def test_the_board_sees_no_call_form_and_a_forced_post_is_403(
    client: AsyncTestClient, login_as: Any, db: Any, funded: dict[str, Any]
) -> None:
    sub = funded["sub"]
    await sign_in(client, login_as, "board", "board-call")
    html = (await client.get(f"/funds/{sub}")).text
    assert "出资通知（按 LP）" not in html
    before = await db.fetchval("SELECT count(*) FROM fund_flow")
    response = await client.post(
        f"/funds/{sub}/calls",
        data={
            "_csrf_token": csrf(html),
            "idempotency_key": "board-1",
            "commitment_id": funded["c_city"],
            "amount": "1.00",
            "call_date": "2024-01-02",
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "您无权查看此页面" in response.text
    assert await db.fetchval("SELECT count(*) FROM fund_flow") == before


async def _fund_manager(
    client: AsyncTestClient, login_as: Any, db: Any, username: str, fund_ids: list[str]
) -> None:
    await login_as("fund_manager", username=username)
    await db.execute("UPDATE app_user SET fund_ids = $1 WHERE username = $2", fund_ids, username)
    await sign_in_existing(client, username)


async def sign_in_existing(client: AsyncTestClient, username: str) -> None:
    client.cookies.clear()
    login = await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "_csrf_token": csrf(login.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


async def test_a_call_above_unfunded_shows_the_numbers_beside_the_amount_and_stores_nothing(
    client: AsyncTestClient, login_as: Any, db: Any, funded: dict[str, Any]
) -> None:
    sub = funded["sub"]
    await _fund_manager(client, login_as, db, "fm-call", [sub])
    html = (await client.get(f"/funds/{sub}")).text
    assert "出资通知（按 LP）" in html
    before = await db.fetchval("SELECT count(*) FROM fund_flow")
    form = {
        "_csrf_token": csrf(html),
        "idempotency_key": form_key(html),
        "commitment_id": funded["c_city"],
        "amount": "16000000.01",
        "call_date": "2024-01-02",
        "purpose": "investment",
    }
    refused = await client.post(f"/funds/{sub}/calls", data=form, follow_redirects=False)
    assert refused.status_code == 422
    field = refused.text.split('data-field="amount"', 1)[1].split("</label>", 1)[0]
    # 城投: commitment 20,000,000.00 − called 4,000,000.00 = unfunded 16,000,000.00.
    assert "超出未缴金额 0.01 元" in field
    assert "exceeds the unfunded amount" in refused.text  # the API's own sentence, above
    numbers = dict(re.findall(r"<li><span>([^<]+)</span><span>([^<]+)</span></li>", field))
    assert numbers == {
        "认缴": "20,000,000.00",
        "已通知出资": "4,000,000.00",
        "可再次召回的分配": "0.00",
        "未缴": "16,000,000.00",
        "本次出资": "16,000,000.01",
        "超出": "0.01",
    }
    assert 'value="16000000.01"' in field  # what was typed stays
    assert await db.fetchval("SELECT count(*) FROM fund_flow") == before
    # The exact unfunded amount posts, and the same form sent twice posts once.
    page = refused.text
    again = {**form, "_csrf_token": csrf(page), "idempotency_key": form_key(page)}
    again["amount"] = "16000000.00"
    for _ in range(2):
        done = await client.post(f"/funds/{sub}/calls", data=again, follow_redirects=False)
        assert done.status_code == 303
        assert done.headers["location"] == f"/funds/{sub}?done=called"
    assert await db.fetchval("SELECT count(*) FROM fund_flow") == before + 1
    html = (await client.get(f"/funds/{sub}")).text
    city = next(r for r in table_rows(html, "fund-capital") if r[0] == "城投")
    assert city[4] == "0.00"  # nothing unfunded left


async def test_a_call_without_the_csrf_token_is_refused(
    client: AsyncTestClient, login_as: Any, db: Any, funded: dict[str, Any]
) -> None:
    sub = funded["sub"]
    await _fund_manager(client, login_as, db, "fm-csrf", [sub])
    html = (await client.get(f"/funds/{sub}")).text
    before = await db.fetchval("SELECT count(*) FROM fund_flow")
    response = await client.post(
        f"/funds/{sub}/calls",
        data={
            "idempotency_key": form_key(html),
            "commitment_id": funded["c_city"],
            "amount": "1.00",
            "call_date": "2024-01-02",
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM fund_flow") == before


async def test_a_fund_manager_sees_only_their_funds_and_cannot_post_to_another(
    client: AsyncTestClient,
    login_as: Any,
    db: Any,
    api: Any,  # noqa: F811
    make_entity: Any,  # noqa: F811
    funded: dict[str, Any],
) -> None:
    other = await make_entity("别人的子基金", kind="fund")
    await api(
        "POST",
        "/api/v1/funds/",
        json={
            "entity_id": other,
            "category": "cooperative",
            "parent_id": funded["mother"],
            "gps": [{"gp_id": funded["market_gp"], "role": "executive_partner"}],
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
    await _fund_manager(client, login_as, db, "fm-scope", [funded["sub"]])
    tree_html = (await client.get("/funds")).text
    assert re.findall(r'<tr data-fund="([^"]+)">', tree_html) == [funded["sub"]]
    assert "别人的子基金" not in tree_html
    for hidden in (other, funded["mother"]):
        response = await client.get(f"/funds/{hidden}")
        assert response.status_code == 404
        assert "未找到此页面或记录，或您无权查看" in response.text
    own = (await client.get(f"/funds/{funded['sub']}")).text
    before = await db.fetchval("SELECT count(*) FROM fund_flow")
    forced = await client.post(
        f"/funds/{other}/calls",
        data={
            "_csrf_token": csrf(own),
            "idempotency_key": str(uuid4()),
            "commitment_id": funded["c_city"],
            "amount": "1.00",
            "call_date": "2024-01-02",
        },
        follow_redirects=False,
    )
    assert forced.status_code == 404
    assert await db.fetchval("SELECT count(*) FROM fund_flow") == before
    mother = (await client.get("/funds/mother")).text
    assert "母基金不在您负责的基金范围内" in mother


async def test_the_mother_dashboard_shows_the_apis_leverage_reinvestment_vintage_and_look_through(
    client: AsyncTestClient,
    login_as: Any,
    api: Any,  # noqa: F811
    funded: dict[str, Any],
) -> None:
    mother_id = funded["mother"]
    mother = await api("GET", f"/api/v1/funds/{mother_id}/mother?as_of={AS_OF}")
    # 20,000,000.00 paid into the sub-fund by all its LPs / 6,000,000.00 by the mother fund.
    assert mother["leverage"] == pytest.approx(20_000_000 / 6_000_000)
    await sign_in(client, login_as, "board", "board-mother")
    html = (await client.get(f"/funds/mother?as_of={AS_OF}")).text
    assert metric(html, "leverage") == f"{mother['leverage']:.2f} 倍" == "3.33 倍"
    assert metric(html, "paid_in") == fmt.wan(Decimal(mother["mother_paid_in"])) == "600.00"
    assert metric(html, "tvpi") == f"{mother['metrics']['tvpi']:.4f}"
    assert metric(html, "irr") == fmt.percent(mother["metrics"]["irr"])
    # 返投: 5,000,000.00 local × 1 / 6,000,000.00 = 0.83 against 1.5 required.
    (row,) = mother["reinvestment"]
    reinvest = html.split(f'<tr data-fund="{funded["sub"]}">', 1)[1].split("</tr>", 1)[0]
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", reinvest)]
    assert cells[:6] == [
        row["name"],
        "600.00",
        "500.00",
        f"{row['achieved']:.2f}",
        f"{row['expected_now']:.2f}",
        "1.50",
    ]
    assert cells[3] == "0.83"
    charts = embedded(html, "mother-data")
    assert charts["reinvestment"]["achieved"] == [round(row["achieved"], 4)]
    # By vintage: the one 2021 sub-fund, so the mother fund's own figures.
    assert charts["vintage"]["years"] == ["2021"]
    assert charts["vintage"]["tvpi"] == [round(mother["metrics"]["tvpi"], 4)]
    assert charts["vintage"]["irr"] == [round(mother["metrics"]["irr"] * 100, 2)]
    # Look-through: the mother fund's 30% of the sub-fund × 5,000,000.00 = 1,500,000.00, local.
    look = await api("GET", f"/api/v1/funds/{mother_id}/look-through?as_of={AS_OF}")
    exposure = Decimal(look["rows"][0]["exposure"])
    industry = html.split('<tr data-industry="new_energy">', 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r'<td class="num">([^<]*)</td>', industry)
    assert cells == [fmt.wan(exposure), "0.00", fmt.wan(exposure), "1"]
    total = html.split('<tr data-industry="all">', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'<th class="num">([^<]*)</th>', total) == [
        fmt.wan(exposure),
        "0.00",
        fmt.wan(exposure),
        "1",
    ]
    assert charts["industry"] == {
        "industries": ["新能源"],
        "local": [fmt.wan(exposure)],
        "elsewhere": ["0.00"],
    }
    # Checks: what the API flags, with its numbers.
    flagged = await api("GET", f"/api/v1/funds/checks?as_of={AS_OF}")
    assert flagged  # behind on 返投 at least
    for check in flagged:
        assert f'data-check="{check["kind"]}"' in html
        for value in check["numbers"].values():
            assert value in html
    # The metrics table: every fund, the mother first.
    names = [r[0] for r in table_rows(html, "fund-metrics")]
    assert names == ["县产业引导母基金", "合作子基金一期"]


async def test_the_metrics_export_has_chinese_labels_and_the_apis_figures(
    client: AsyncTestClient,
    login_as: Any,
    api: Any,  # noqa: F811
    funded: dict[str, Any],
) -> None:
    await sign_in(client, login_as, "group_finance", "gf-metrics")
    response = await client.get(f"/funds/mother/metrics.xlsx?as_of={AS_OF}")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("基金", "类别", "设立年份", "认缴", "实缴")
    assert "TVPI" in rows[0] and "IRR 说明" in rows[0]
    sub = next(r for r in rows[1:] if r[0] == "合作子基金一期")
    api_sub = next(
        m
        for m in await api("GET", f"/api/v1/funds/metrics?as_of={AS_OF}")
        if m["fund_id"] == funded["sub"]
    )
    assert sub[1:5] == ("合作子基金", "2021", 100_000_000, 20_000_000)
    assert sub[rows[0].index("TVPI")] == f"{round(api_sub['tvpi'], 4)}"


async def test_a_fund_with_nothing_paid_in_shows_why_it_has_no_irr(
    client: AsyncTestClient,
    login_as: Any,
    tree: dict[str, Any],  # noqa: F811
) -> None:
    await sign_in(client, login_as, "group_finance", "gf-noirr")
    html = (await client.get(f"/funds/{tree['sub']}")).text
    irr = html.split('data-metric="irr">', 1)[1].split("</div>", 1)[0]
    assert "—" in irr and "尚无实缴出资，IRR 无定义" in irr


async def test_the_dashboard_pools_the_mother_funds_positions_by_vintage(
    client: AsyncTestClient,
    login_as: Any,
    api: Any,  # noqa: F811
    admin: dict[str, str],  # noqa: F811
    make_entity: Any,  # noqa: F811
    tree: dict[str, Any],  # noqa: F811
) -> None:
    """performance.vintage_metrics: one row per vintage, each here one sub-fund, so each the
    mother fund's own position in that sub-fund as the API gives it."""
    later = await make_entity("2022年合作子基金", kind="fund")
    await api(
        "POST",
        "/api/v1/funds/",
        json={
            "entity_id": later,
            "category": "cooperative",
            "parent_id": tree["mother"],
            "gps": [{"gp_id": tree["market_gp"], "role": "executive_partner"}],
            "terms": {**TERMS, "vintage": 2022, "first_close": "2022-01-01"},
        },
        status=201,
    )
    made = await api(
        "POST",
        f"/api/v1/funds/{later}/commitments",
        json={"lp_id": tree["mother"], "amount": "10000000.00", "committed_on": "2022-01-01"},
        status=201,
    )
    for n, (fund, commitment, amount, paid) in enumerate(
        (
            (tree["sub"], tree["c_mother"], "6000000.00", "2021-03-01"),
            (later, made["id"], "3000000.00", "2022-03-01"),
        )
    ):
        body = {"commitment_id": commitment, "amount": amount, "call_date": paid, "paid_on": paid}
        headers = {**admin, **key(f"v{n}")}
        await api("POST", f"/api/v1/funds/{fund}/calls", json=body, headers=headers, status=201)
    body = {
        "commitment_id": tree["c_mother"],
        "amount": "1200000.00",
        "distribution_date": "2023-06-30",
    }
    headers = {**admin, **key("v-dist")}
    await api(
        "POST", f"/api/v1/funds/{tree['sub']}/distributions", json=body, headers=headers, status=201
    )
    await sign_in(client, login_as, "board", "board-vintage")
    html = (await client.get(f"/funds/mother?as_of={AS_OF}")).text
    charts = embedded(html, "mother-data")["vintage"]
    assert charts["years"] == ["2021", "2022"]
    # 2021: 1,200,000.00 back on 6,000,000.00 paid in; 2022: nothing back yet.
    assert charts["dpi"] == [0.2, 0.0]
    rows = {
        v: re.findall(r'<td class="num">([^<]*)</td>', row)
        for v, row in re.findall(r'<tr data-vintage="(\d+)">(.*?)</tr>', html, re.S)
    }
    assert rows["2021"][:2] == ["600.00", "0.2000"] and rows["2022"][:2] == ["300.00", "0.0000"]
    for fund, index in ((tree["sub"], 0), (later, 1)):
        (position,) = [
            m
            for m in await api("GET", f"/api/v1/funds/{fund}/metrics/positions?as_of={AS_OF}")
            if m["lp_id"] == tree["mother"]
        ]
        assert charts["tvpi"][index] == round(position["tvpi"], 4)
        irr = position["irr"]
        assert charts["irr"][index] == (None if irr is None else round(irr * 100, 2))


async def test_sorting_one_table_of_a_fund_page_swaps_that_table_alone(
    client: AsyncTestClient, login_as: Any, funded: dict[str, Any]
) -> None:
    await sign_in(client, login_as, "group_finance", "gf-htmx")
    response = await client.get(
        f"/funds/{funded['sub']}?sort=paid_in",
        headers={"HX-Request": "true", "HX-Target": "tbl-fund-capital"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="tbl-fund-capital"')
    assert "tbl-fund-portfolio" not in response.text and "<html" not in response.text
    # 城投 4,000,000.00, the mother fund 6,000,000.00, the market LP 10,000,000.00 paid in
    assert [r[0] for r in table_rows(response.text, "fund-capital")] == [
        "城投",
        "县产业引导母基金",
        "社会资本LP",
    ]


async def test_a_bad_date_is_the_apis_problem_on_the_page(
    client: AsyncTestClient,
    login_as: Any,
    tree: dict[str, Any],  # noqa: F811
) -> None:
    await sign_in(client, login_as, "group_finance", "gf-date")
    for bad in ("2024-13-01", "0003-01-01"):
        response = await client.get(f"/funds/{tree['sub']}?as_of={bad}")
        assert response.status_code == 422
        assert "query.as_of" in response.text
        assert (await client.get(f"/funds/mother?as_of={bad}")).status_code == 422


@pytest.fixture
async def demo_client(db: Any) -> AsyncIterator[AsyncTestClient]:
    # Loaded before the app starts: the app's pool lives on the test client's own loop.
    await load_demo()
    from stateasset.app import create_app

    async with AsyncTestClient(app=create_app()) as demo:
        yield demo


async def test_over_the_demo_the_pages_show_the_apis_figures(demo_client: AsyncTestClient) -> None:
    """The demo's mother fund and a cooperative sub-fund, as the board reads them."""
    client = demo_client
    token = await client.post(
        "/api/v1/auth/login", json={"username": "board", "password": DEMO_PASSWORD}
    )
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    login = await client.get("/login")
    await client.post(
        "/login",
        data={"username": "board", "password": DEMO_PASSWORD, "_csrf_token": csrf(login.text)},
        follow_redirects=False,
    )
    funds = (await client.get("/api/v1/funds/", headers=bearer)).json()
    mother = next(f for f in funds if f["category"] == "mother")
    sub = next(f for f in funds if f["short_name"] == "合作·新能源")
    html = (await client.get(f"/funds/mother?as_of={AS_OF}")).text
    mine = (
        await client.get(f"/api/v1/funds/{mother['id']}/mother?as_of={AS_OF}", headers=bearer)
    ).json()
    assert metric(html, "leverage") == f"{mine['leverage']:.2f} 倍"
    assert metric(html, "paid_in") == fmt.wan(Decimal(mine["mother_paid_in"]))
    assert metric(html, "irr") == fmt.percent(mine["metrics"]["irr"])
    behind = {r["name"] for r in mine["reinvestment"] if r["behind"]}
    assert behind  # the demo has one sub-fund behind on 返投
    for name in behind:
        assert re.search(rf">{re.escape(name)}</a></td>.*?落后", html, re.S)
    page = (await client.get(f"/funds/{sub['id']}?as_of={AS_OF}")).text
    metrics = (await client.get(f"/api/v1/funds/metrics?as_of={AS_OF}", headers=bearer)).json()
    row = next(m for m in metrics if m["fund_id"] == sub["id"])
    assert metric(page, "paid_in") == fmt.wan(Decimal(row["paid_in"]))
    assert metric(page, "tvpi") == f"{row['tvpi']:.4f}"
    assert row["irr"] is not None and metric(page, "irr") == fmt.percent(row["irr"])
    assert "出资通知（按 LP）" not in page  # the board writes nothing
