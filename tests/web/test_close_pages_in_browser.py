"""集团概览, 快报 and 期间看板 in a real browser over the demo group (SCENARIOS.md §1–§2)."""

from __future__ import annotations

import json
import re
import urllib.request
from decimal import Decimal
from typing import Any

from stateasset.demo import DEMO_PASSWORD
from stateasset.web import format as fmt
from tests.web.conftest import SignedIn, needs_chromium

pytestmark = needs_chromium

PERIOD = "2026-Q3"


def _api(base: str, path: str) -> Any:
    """GET the JSON API as group finance, for the figures the pages must agree with."""
    login = urllib.request.Request(
        f"{base}/api/v1/auth/login",
        data=json.dumps({"username": "gf", "password": DEMO_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login) as response:
        token = json.load(response)["access_token"]
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def test_the_board_sees_the_overview_and_no_edit_control_on_statements(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("board")  # lands on the overview
    report = _api(demo_server, f"/api/v1/ledger/consolidation?period={PERIOD}&node=group")
    group = {row["item"]: Decimal(str(row["consolidated"])) for row in report["items"]}
    for item in ("total_assets", "total_liabilities", "total_equity", "revenue", "net_profit"):
        shown = page.locator(f".figure[data-item={item}] .value").inner_text()
        assert shown == fmt.wan(group[item]), item
    # the three charts drew (SVG), with a bar per platform and a point per quarter
    page.wait_for_selector("#chart-platforms svg")
    page.wait_for_selector("#chart-segments svg")
    page.wait_for_selector("#chart-trend svg")
    assert "2025年第1季度" in page.locator("#chart-trend").inner_text()
    assert "城建投" in page.locator("#chart-platforms").inner_text()
    assert page.locator(".progress").inner_text().count("编制中") == 1

    page.goto(f"{demo_server}/ledger/reports")
    page.wait_for_selector("h2:has-text('福清市国有资产营运投资集团有限公司')")
    assert page.locator("table.items").count() == 4
    assert page.locator("td.money").first.inner_text() != ""
    assert page.locator("main form[method=post]").count() == 0
    assert page.locator("main input:not([type=search]), main textarea").count() == 0
    assert page.get_by_role("button", name="保存为新版本").count() == 0

    page.goto(f"{demo_server}/ledger/periods")
    page.wait_for_selector("#tbl-periods")
    assert page.locator("main input[type=checkbox], main form[method=post]").count() == 0


def test_group_finance_bulk_validates_and_sees_per_row_results(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("gf")
    page.goto(f"{demo_server}/ledger/periods")
    page.wait_for_url(f"**/ledger/periods/{PERIOD}")
    assert page.locator("td.check input").count() == 27

    # every row selected: 城建投's open companies and 水投's validated ones refuse, nothing moves
    page.get_by_role("checkbox", name="全选本页").check()
    page.get_by_role("button", name="审核", exact=True).click()
    page.wait_for_selector("text=审核未执行")
    assert page.locator("table.results tr.refused").count() == 9
    assert page.locator("table.results tr.held").count() == 18
    assert (
        "福清市城市建设投资集团有限公司 is open, not submitted"
        in page.locator("table.results").inner_text()
    )
    assert "可执行，但整批未执行" in page.locator("table.results").inner_text()

    # then only the 18 submitted ones, from the offer beside the results
    page.get_by_role("button", name="只对可执行的 18 个主体审核").click()
    page.wait_for_selector("text=审核完成：18 个主体")
    assert page.locator("table.results tr.moved").count() == 18
    tally = page.locator(".tally").inner_text()
    assert re.search(r"已审核\s*21", tally) and re.search(r"已提交\s*0", tally), tally

    # the board shows it: filtering by state lists the 21 validated rows
    page.select_option("select[name=f_state_label]", "已审核")
    page.wait_for_url("**f_state_label=*")
    assert page.locator(".count").first.inner_text() == "共 21 条"


def test_a_bad_amount_shows_the_reason_beside_the_field_and_stores_nothing(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("ef_chengjian")
    page.goto(f"{demo_server}/ledger/reports")
    page.wait_for_selector("#statement-form")
    assert page.locator("#tbl-versions .count").inner_text() == "共 1 条"
    original = page.input_value("#item-cash")
    assert Decimal(original.replace(",", "")) > 0

    page.fill("#item-cash", "12,34x")
    page.get_by_role("button", name="保存为新版本").click()
    page.wait_for_selector("#problem-cash")
    assert page.locator("#problem-cash").inner_text() == (
        "金额不是数字 amount is not a number: '12,34x'"
    )
    assert page.get_attribute("#item-cash", "aria-invalid") == "true"
    assert page.input_value("#item-cash") == "12,34x"
    assert "未保存" in page.locator("[role=alert]").inner_text()

    # nothing was stored: still one version, with the amount it had
    page.goto(page.url)
    assert page.locator("#tbl-versions .count").inner_text() == "共 1 条"
    assert page.input_value("#item-cash") == original
