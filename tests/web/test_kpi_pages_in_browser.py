"""考核评分 in a real browser (SCENARIOS.md §5): the board reads the 2025 ranking of every demo
company with its grade, finds nothing to edit, and opens one company's scorecard."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import SignedIn, needs_chromium

pytestmark = needs_chromium

# The demo's 2025 grades (tests/kpi/test_demo_kpi.py): A to D, the A cap, one review.
GRADES = {
    "福清市城市建设投资集团有限公司": "A",
    "福清市交通投资集团有限公司": "B",
    "福清市水务投资集团有限公司": "B",
    "福清市文化旅游投资集团有限公司": "C",
    "福清市产业投资集团有限公司": "D",
}


def _column(page: Any, label: str) -> list[str]:
    headers = page.locator("table.data thead th").all_inner_texts()
    index = next(i for i, h in enumerate(headers) if h.strip().rstrip(" ▲▼") == label)
    return page.locator(f"table.data tbody tr td:nth-child({index + 1})").all_inner_texts()


def test_the_board_reads_the_ranking_and_opens_a_scorecard(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("board")
    page.get_by_role("link", name="考核评分").click()
    page.wait_for_selector("table.data tbody tr")
    page.goto(f"{demo_server}/kpi?year=2025")
    names = [n.strip() for n in _column(page, "公司")]
    grades = [g.strip() for g in _column(page, "等级")]
    assert dict(zip(names, grades, strict=True)) == GRADES
    assert [r.strip() for r in _column(page, "排名")] == ["1", "2", "3", "4", "5"]
    assert page.locator("main form[method=post]").count() == 0
    assert page.locator("main textarea").count() == 0
    page.get_by_role("link", name="福清市产业投资集团有限公司").click()
    page.wait_for_selector("#kpi-indicators tbody tr")
    assert page.locator("h1").inner_text() == "福清市产业投资集团有限公司 2025 年度考核"
    assert page.locator("[data-metric=grade] strong").inner_text() == "D"
    assert page.locator("[data-metric=review] strong").inner_text() == "是"
    assert page.locator("#kpi-statements a").first.inner_text().startswith("2025年第4季度 第 ")
    assert page.locator("#chart-scores svg").count() == 1
    # The tenure trends draw: the total per year, and each indicator's actual against its target.
    for chart in ("total", "profit", "ocr", "growth"):
        assert page.locator(f"#chart-tenure-{chart} svg").count() == 1
    assert page.locator("main form[method=post]").count() == 0
