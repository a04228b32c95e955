"""基金 and 母基金看板 in a real browser (SCENARIOS.md §4): a fund manager sees only their funds, a
call above an LP's unfunded amount is refused beside the amount with the numbers, and the mother
fund's dashboard draws its charts.

Two sub-funds of our own are made through the API on the demo server, under the demo's mother
fund when it has one, and the demo `fm` is assigned the first only: the tests then hold whatever
funds the demo carries.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from stateasset.demo import DEMO_PASSWORD
from tests.ledger.conftest import credit_code
from tests.web.conftest import SignedIn, needs_chromium

pytestmark = needs_chromium

OURS = "浏览器测试合作子基金"
OTHERS = "浏览器测试另一子基金"
TERMS = {
    "size": "100000000.00",
    "vintage": 2022,
    "first_close": "2022-01-01",
    "term_years": 7,
    "investment_period_end": "2026-12-31",
    "reinvestment_multiple": "1.2",
    "reinvestment_multipliers": {"local": "1"},
    "industries": ["new_energy"],
}


def _call(client: httpx.Client, method: str, url: str, status: int, **kwargs: Any) -> Any:
    response = client.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def seeded(demo_server: str) -> dict[str, str]:
    """Our two sub-funds (in the first, our LP 城投 committed 20,000,000.00 and paid 4,000,000.00,
    the mother fund 10,000,000.00 and 2,000,000.00, and a local 新能源 company bought), and `fm`
    assigned the first only."""
    with httpx.Client(base_url=demo_server, timeout=60) as client:
        token = _call(
            client,
            "POST",
            "/api/v1/auth/login",
            201,
            json={"username": "admin", "password": DEMO_PASSWORD},
        )["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        codes = iter(range(97_000_001, 97_000_100))

        def entity(name: str, kind: str) -> str:
            body = {"credit_code": credit_code(next(codes)), "name": name, "kind": kind}
            return _call(client, "POST", "/api/v1/ledger/entities/", 201, json=body)["id"]

        funds = _call(client, "GET", "/api/v1/funds/", 200)
        mother = next((f["id"] for f in funds if f["category"] == "mother"), None)
        if mother is None:
            mother = entity("浏览器测试母基金", "fund")
            body = {"entity_id": mother, "category": "mother", "terms": TERMS}
            _call(client, "POST", "/api/v1/funds/", 201, json=body)
        gp = entity("浏览器测试市场化管理人", "outside")
        body = {"entity_id": gp, "kind": "market", "registration_code": "P9700001"}
        _call(client, "POST", "/api/v1/funds/gps/", 201, json=body)
        ids = {"mother": mother}
        for label, name in (("ours", OURS), ("others", OTHERS)):
            ids[label] = entity(name, "fund")
            body = {
                "entity_id": ids[label],
                "category": "cooperative",
                "parent_id": mother,
                "gps": [{"gp_id": gp, "role": "executive_partner"}],
                "terms": TERMS,
            }
            _call(client, "POST", "/api/v1/funds/", 201, json=body)
        lp = entity("浏览器测试城投", "outside")
        commitment = _call(
            client,
            "POST",
            f"/api/v1/funds/{ids['ours']}/commitments",
            201,
            json={"lp_id": lp, "amount": "20000000.00", "committed_on": "2022-01-01"},
        )
        _call(
            client,
            "POST",
            f"/api/v1/funds/{ids['ours']}/calls",
            201,
            json={
                "commitment_id": commitment["id"],
                "amount": "4000000.00",
                "call_date": "2022-03-01",
                "paid_on": "2022-03-10",
            },
            headers={"Idempotency-Key": "browser-seed-call"},
        )
        # The mother fund's own position, paid in part, and one local 新能源 company bought.
        mine = _call(
            client,
            "POST",
            f"/api/v1/funds/{ids['ours']}/commitments",
            201,
            json={
                "lp_id": mother,
                "amount": "10000000.00",
                "committed_on": "2022-01-01",
                "government": True,
            },
        )
        _call(
            client,
            "POST",
            f"/api/v1/funds/{ids['ours']}/calls",
            201,
            json={
                "commitment_id": mine["id"],
                "amount": "2000000.00",
                "call_date": "2022-03-01",
                "paid_on": "2022-03-10",
            },
            headers={"Idempotency-Key": "browser-seed-mother-call"},
        )
        company = entity("浏览器测试本地新能源有限公司", "outside")
        _call(
            client,
            "POST",
            f"/api/v1/funds/{ids['ours']}/investments",
            201,
            json={
                "company_id": company,
                "industry": "new_energy",
                "local": True,
                "reinvestment_kind": "local",
                "stage": "growth",
                "invested_on": "2022-06-01",
                "amount": "3000000.00",
                "share": "0.05",
            },
        )
        users = _call(client, "GET", "/api/v1/users/", 200)
        fm = next(u for u in users if u["username"] == "fm")
        _call(client, "PATCH", f"/api/v1/users/{fm['id']}", 200, json={"fund_ids": [ids["ours"]]})
    return ids


def test_a_fund_manager_sees_only_their_funds(
    signed_in: SignedIn, demo_server: str, seeded: dict[str, str]
) -> None:
    page = signed_in("fm")
    page.goto(f"{demo_server}/funds")
    assert page.locator("table.tree tbody tr").all_inner_texts() != []
    names = page.locator("table.tree tbody tr td:first-child").all_inner_texts()
    assert [n.strip().lstrip("└ ") for n in names] == [OURS]
    page.click(f"text={OURS}")
    page.wait_for_url(f"**/funds/{seeded['ours']}")
    assert page.locator("form[aria-label=出资通知]").count() == 1
    for hidden in (seeded["others"], seeded["mother"]):
        response = page.goto(f"{demo_server}/funds/{hidden}")
        assert response is not None and response.status == 404
        assert "未找到此页面或记录，或您无权查看" in page.content()
    # group finance reads every fund, ours and the other, but is offered no call form
    board = signed_in("gf")
    board.goto(f"{demo_server}/funds")
    listed = board.locator("table.tree tbody").inner_text()
    assert OURS in listed and OTHERS in listed
    board.goto(f"{demo_server}/funds/{seeded['ours']}")
    assert board.locator("form[aria-label=出资通知]").count() == 0


def test_a_call_above_unfunded_shows_the_numbers_beside_the_amount_and_stores_nothing(
    signed_in: SignedIn, demo_server: str, seeded: dict[str, str]
) -> None:
    page = signed_in("fm")
    page.goto(f"{demo_server}/funds/{seeded['ours']}")
    capital = page.locator("#tbl-fund-capital tbody").inner_text()
    assert "16,000,000.00" in capital  # 20,000,000.00 − 4,000,000.00 called
    form = page.locator("form[aria-label=出资通知]")
    form.locator("select[name=commitment_id]").select_option(index=1)
    form.locator("input[name=amount]").fill("16000000.01")
    form.locator("input[name=call_date]").fill("2024-01-02")
    with page.expect_response(lambda r: r.url.endswith("/calls")) as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 422
    field = page.locator("[data-field=amount]")
    assert field.get_attribute("class") is not None
    assert "has-problem" in (field.get_attribute("class") or "")
    numbers = field.locator(".numbers").inner_text()
    for label, value in (
        ("未缴", "16,000,000.00"),
        ("本次出资", "16,000,000.01"),
        ("超出", "0.01"),
    ):
        assert re.search(rf"{label}\s+{re.escape(value)}", numbers), numbers
    assert field.locator("input[name=amount]").input_value() == "16000000.01"
    # Nothing stored: the capital account is as before.
    page.goto(f"{demo_server}/funds/{seeded['ours']}")
    assert page.locator("#tbl-fund-capital tbody").inner_text() == capital


def test_the_mother_dashboard_draws_its_charts(
    signed_in: SignedIn, demo_server: str, seeded: dict[str, str]
) -> None:
    page = signed_in("board")
    page.goto(f"{demo_server}/funds/mother")
    for chart in ("chart-vintage", "chart-reinvestment", "chart-industry"):
        page.wait_for_selector(f"#{chart} svg")
        assert page.locator(f"#{chart} svg path").count() > 0, chart
    assert "放大倍数" in page.locator("[aria-label=母基金指标]").inner_text()
    # The metrics table lists our funds; fm's own menu entry reaches the dashboard's scope note.
    assert OURS in page.locator("#tbl-fund-metrics tbody").inner_text()
    fm = signed_in("fm")
    fm.goto(f"{demo_server}/funds/mother")
    assert "母基金不在您负责的基金范围内" in fm.content()
