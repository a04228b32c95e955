"""考核评分 without a browser, over the demo group (SCENARIOS.md §5): the board's 2025 ranking and a
company's scorecard agree with the KPI API figure for figure, and nothing on them writes."""

from __future__ import annotations

import html
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from openpyxl import load_workbook

from stateasset.demo import DEMO_PASSWORD, load_demo
from stateasset.kpi.pages import arithmetic, num
from stateasset.kpi.schemas import IndicatorScore


@pytest.fixture
async def client(db: asyncpg.Connection) -> AsyncIterator[AsyncTestClient]:
    # Loaded before the app starts: the app's pool lives on the test client's own loop.
    await load_demo()
    from stateasset.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


async def _sign_in(client: AsyncTestClient, username: str) -> dict[str, str]:
    """Signed in to the pages (cookie) and to the API (the returned bearer header)."""
    login = await client.get("/login")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text)
    assert token is not None
    response = await client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _post_forms(page: str) -> list[str]:
    """Where the page's forms post, but for the shell's sign-out."""
    return [a for a in re.findall(r'<form method="post" action="([^"]+)"', page) if a != "/logout"]


def _rows(page: str) -> list[list[str]]:
    """The data table's body rows as cell texts."""
    body = page.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        ]
        for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


async def test_the_board_reads_the_ranking_as_the_api_gives_it(client: AsyncTestClient) -> None:
    board = await _sign_in(client, "board")
    api = (await client.get("/api/v1/kpi/scorecards?year=2025", headers=board)).json()
    assert len(api) == 5
    response = await client.get("/kpi?year=2025")
    assert response.status_code == 200, response.text
    assert _post_forms(response.text) == []
    shown = {r[1]: r for r in _rows(response.text)}
    assert set(shown) == {r["company_name"] for r in api}
    for r in api:
        row = shown[r["company_name"]]
        assert row[0] == str(r["rank"])
        assert float(row[2]) == pytest.approx(r["total"], abs=1e-9)
        assert row[3] == r["grade"]
        assert float(row[4]) == r["pay_coefficient"]
        assert row[5] == ("是" if r["review"] else "否")
        assert f"/kpi/contracts/{r['contract_id']}?year=2025" in response.text
    assert sorted(r[3] for r in shown.values()) == ["A", "B", "B", "C", "D"]
    # The export is the API's workbook: the same rows in the same order.
    book = await client.get("/kpi/scorecards.xlsx?year=2025")
    assert book.status_code == 200 and book.content[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(book.content)).active
    cells = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert [(c[1], c[3]) for c in cells] == [(r["company_name"], r["grade"]) for r in api]


async def test_a_scorecard_shows_the_api_arithmetic(client: AsyncTestClient) -> None:
    board = await _sign_in(client, "board")
    api = (await client.get("/api/v1/kpi/scorecards?year=2025", headers=board)).json()
    contract = next(r for r in api if "产业" in r["company_name"])["contract_id"]
    card: dict[str, Any] = (
        await client.get(f"/api/v1/kpi/contracts/{contract}/scorecard?year=2025", headers=board)
    ).json()
    response = await client.get(f"/kpi/contracts/{contract}?year=2025")
    assert response.status_code == 200, response.text
    text = response.text
    assert card["company_name"] in text and _post_forms(text) == []
    for ind in card["indicators"]:
        row = text.split(f'data-indicator="{ind["code"]}"', 1)[1].split("</tr>", 1)[0]
        for col in (
            "weight",
            "actual",
            "target",
            "history_benchmark",
            "tier",
            "base",
            "efficacy",
            "adjustment",
            "cap",
            "score",
        ):
            cell = re.search(rf'data-col="{col}">(.*?)</td>', row, re.S)
            assert cell is not None, col
            value = re.sub(r"<[^>]+>", "", cell.group(1)).strip()
            expected = ind[col]
            if expected is None:
                assert value.startswith("—"), (col, value)
            elif isinstance(expected, str):
                assert value == expected, col
            elif value.endswith("%"):  # a percent ratio, given in percent: 20.4824 → 20.48%
                shown = float(value.removesuffix("%"))
                assert shown == pytest.approx(expected, abs=0.005), (ind["code"], col)
            elif value.endswith(" 万元"):  # a statement amount in 元, shown in 万元
                shown = float(value.removesuffix(" 万元").replace(",", "")) * 10_000
                assert shown == pytest.approx(expected, abs=50), (ind["code"], col)
            else:
                shown = float(value.replace(",", ""))
                assert shown == pytest.approx(expected, abs=5e-5), (ind["code"], col)
        if ind["method"] == "target_step":
            assert f"= {ind['score']:g}<" in row
    assert "主要指标低于目标70%: profit" in html.unescape(text)
    for s in card["statements"]:
        assert f'/ledger/reports/{card["company_id"]}/{s["period"]}/{s["version"]}"' in text


async def test_entity_finance_reads_only_its_own_company(client: AsyncTestClient) -> None:
    board = await _sign_in(client, "board")
    api = (await client.get("/api/v1/kpi/scorecards?year=2025", headers=board)).json()
    await _sign_in(client, "ef_chengjian")
    response = await client.get("/kpi?year=2025")
    assert response.status_code == 200, response.text
    # 城建投's staff: their own row, at its rank among all five; no other company.
    assert [(r[0], r[1], r[3]) for r in _rows(response.text)] == [
        ("1", "福清市城市建设投资集团有限公司", "A")
    ]
    own = next(r for r in api if "城市建设" in r["company_name"])["contract_id"]
    other = next(r for r in api if "产业" in r["company_name"])["contract_id"]
    assert (await client.get(f"/kpi/contracts/{own}?year=2025")).status_code == 200
    assert (await client.get(f"/kpi/contracts/{other}?year=2025")).status_code == 404


def test_the_arithmetic_reads_as_domain_s_worked_examples() -> None:
    """DOMAIN.md §8: ROE 8%, weight 20, 平均 1.7%, 良好 9.5% → base 12, efficacy 0.8077,
    adjustment 3.23, score 15.23; weight 30, target 100, actual 109 → 33."""
    common: dict[str, Any] = {
        "direction": "higher",
        "main": False,
        "actual_reason": None,
        "history_benchmark": None,
        "macro_benchmark": None,
        "peer_benchmark": None,
        "percentile": None,
    }
    roe = IndicatorScore(
        code="roe",
        name="净资产收益率",
        weight=20,
        method="efficacy",
        method_label="功效系数法",
        actual=8,
        target=None,
        tier="平均",
        base=12,
        efficacy=0.80769,
        adjustment=3.23,
        cap=None,
        score=15.23,
        **common,
    )
    assert arithmetic(roe) == "平均：基础分 12，功效系数 0.8077，调整 3.23，得分 12 + 3.23 = 15.23"
    profit = IndicatorScore(
        code="profit",
        name="净利润",
        weight=30,
        method="target_step",
        method_label="同自身历史比",
        actual=109,
        target=100,
        tier=None,
        base=None,
        efficacy=None,
        adjustment=3,
        cap=6,
        score=33,
        **common,
    )
    assert arithmetic(profit) == "达标得权重 30，每满 3% ±1（封顶 ±6）：30 + 3 = 33"
    below = msgspec.structs.replace(profit, actual=91, adjustment=-3, score=27)
    assert arithmetic(below) == "达标得权重 30，每满 3% ±1（封顶 ±6）：30 − 3 = 27"
    assert num(164945006.63) == "164,945,006.63" and num(None) == "—"
