"""业绩合同 in a real browser, over the demo group: group finance's save of an active contract shows
the 409 reason; a draft whose weights sum to 90 is refused beside the weights, then fixed and
saved; the board reads every scorecard and finds nothing that edits."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import SignedIn, needs_chromium
from tests.web.test_kpi_pages_in_browser import GRADES, _column

pytestmark = needs_chromium


def test_saving_an_active_contract_shows_the_409_reason(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("gf")
    page.get_by_role("link", name="业绩合同").click()
    page.wait_for_selector("table.data tbody tr")
    assert sorted(n.strip() for n in _column(page, "公司")) == sorted(GRADES)
    assert {s.strip() for s in _column(page, "状态")} == {"执行中"}
    page.get_by_role("link", name="福清市城市建设投资集团有限公司").click()
    page.wait_for_selector("#contract-form")
    assert page.locator("[data-metric=state] strong").inner_text() == "执行中"
    page.fill('input[name="name"]', "2025—2027年任期经营业绩责任书（修订）")
    page.click("#save")
    alert = page.locator("#problem")
    alert.wait_for()
    assert "不能修改（409）" in alert.inner_text()
    assert "is active: a change is a new version" in alert.inner_text()
    # The typed change is still there, and the way forward is offered.
    assert page.input_value('input[name="name"]').endswith("（修订）")
    assert page.locator("#new-version").is_visible()


def test_a_draft_with_weights_summing_to_90_is_refused_beside_the_weights(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("gf")
    page.goto(f"{demo_server}/kpi/contracts")
    page.click("#new-contract")
    page.wait_for_selector("#contract-form")
    page.select_option('select[name="company_id"]', label="福清市水务投资集团有限公司")
    for name, value in {
        "name": "2028—2030年任期经营业绩责任书",
        "industry": "水务",
        "tenure_start": "2028",
        "managers": "黄志强、吴丽华",
        "indicators.n0.code": "profit",
        "indicators.n0.name": "净利润",
        "indicators.n0.weight": "60",
        "indicators.n0.source": "net_profit",
        "indicators.n1.code": "ocr",
        "indicators.n1.name": "营业现金比率",
        "indicators.n1.weight": "30",
        "indicators.n1.source": "operating_cash_ratio",
        "indicators.n1.tiers": "20 / 15 / 10 / 5 / 0",
        "targets.n0.indicator": "profit",
        "targets.n0.year": "2028",
        "targets.n0.value": "1000000",
    }.items():
        page.fill(f'[name="{name}"]', value)
    # A fourth target row from 添加一行 (htmx fetches a blank row into the table).
    page.locator("#target-rows + p button").click()
    page.wait_for_function("document.querySelectorAll('#target-rows tbody tr').length === 4")
    added = page.locator("#target-rows tbody tr").nth(3)
    added.locator('input[aria-label="指标代码"]').fill("profit")
    added.locator('input[aria-label="年度"]').fill("2029")
    added.locator('input[aria-label="目标值"]').fill("1,050,000")
    page.select_option('select[name="indicators.n0.method"]', "target_step")
    page.select_option('select[name="indicators.n1.method"]', "efficacy")
    page.click("#save")
    problem = page.locator("#weights-problem")
    problem.wait_for()
    assert problem.inner_text() == "权重：weights sum to 90, not 100"
    # Beside the weights: they are the inputs marked, and the problem follows their table.
    assert page.locator('input[aria-invalid="true"]').count() == 2
    assert (
        page.locator('input[name="indicators.n1.weight"]').get_attribute("aria-invalid") == "true"
    )
    page.fill('input[name="indicators.n1.weight"]', "40")
    page.click("#save")
    page.wait_for_url("**/edit?done=created")
    assert page.locator("[role=status]").inner_text() == "已创建草稿。"
    assert page.locator("[data-metric=state] strong").inner_text() == "草稿"
    assert page.input_value('input[name="indicators.r1.weight"]') == "40"
    assert page.input_value('input[name="targets.r1.value"]') == "1050000"
    assert page.locator("#moves button").inner_text() == "签订"


def _no_edit_control(page: Any) -> None:
    assert page.locator('a[href^="/kpi/contracts/new"], a[href$="/edit"]').count() == 0
    assert page.locator('a[href="/kpi/contracts"]').count() == 0
    assert page.locator("main form[method=post]").count() == 0
    assert page.locator("main textarea, main input[type=text]").count() == 0


def test_the_board_reads_every_scorecard_and_finds_nothing_to_edit(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("board")
    assert "业绩合同" not in page.locator("nav.menu").inner_text()
    page.goto(f"{demo_server}/kpi?year=2025")
    page.wait_for_selector("table.data tbody tr")
    names = [n.strip() for n in _column(page, "公司")]
    assert dict(zip(names, (g.strip() for g in _column(page, "等级")), strict=True)) == GRADES
    _no_edit_control(page)
    for name in names:
        page.goto(f"{demo_server}/kpi?year=2025")
        page.get_by_role("link", name=name).click()
        page.wait_for_selector("#kpi-indicators tbody tr")
        assert page.locator("h1").inner_text() == f"{name} 2025 年度考核"
        _no_edit_control(page)
    for path in ("/kpi/contracts", "/kpi/contracts/new"):
        response = page.goto(f"{demo_server}{path}")
        assert response is not None and response.status == 403, path
