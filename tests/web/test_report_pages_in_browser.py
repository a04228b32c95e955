"""合并报表 and 审计日志 in a real browser over the demo group: the drill-down from the group's total
assets to a member's statement version, the workbook's download, and who sees the audit log.

Every page opened through `signed_in` must load everything from this machine.
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from typing import Any

import openpyxl
import pytest

from tests.web.conftest import SignedIn, needs_chromium

pytestmark = needs_chromium

PERIOD = "2026-Q3"
JIAOTONG = "福清市交通投资集团有限公司"


def _row(page: Any, link: str) -> list[str]:
    """The cell texts of the table row whose link reads `link`."""
    row = page.locator("table.data tbody tr").filter(
        has=page.get_by_role("link", name=link, exact=True)
    )
    return [t.strip() for t in row.locator("td").all_inner_texts()]


def _open_group_report(page: Any, base: str) -> None:
    page.goto(f"{base}/ledger/consolidation")
    page.select_option("select[name=node]", "group")
    page.fill("input[name=period]", PERIOD)
    page.get_by_role("button", name="查看").click()
    page.wait_for_url(f"**/ledger/consolidation/{PERIOD}/group")


def test_the_group_report_drills_down_to_a_members_statement_version(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("gf")
    _open_group_report(page, demo_server)
    _, aggregated, eliminated, consolidated = _row(page, "资产总计")
    summed, taken = Decimal(aggregated.replace(",", "")), Decimal(eliminated.replace(",", ""))
    assert Decimal(consolidated.replace(",", "")) == summed - taken and taken > 0
    # the demo's one mismatched pair is explained beside the report
    assert "两方不一致" in page.locator("section.report-notes").inner_text()

    page.get_by_role("link", name="资产总计", exact=True).click()
    page.wait_for_url("**/items/total_assets")
    assert page.locator("[data-figure=aggregated]").inner_text() == aggregated
    assert page.locator("[data-figure=consolidated]").inner_text() == consolidated
    assert page.locator("[data-figure=members]").inner_text() == aggregated
    _, amount, version, _state = _row(page, JIAOTONG)
    assert version.startswith("第 ") and version.endswith(" 版")

    page.locator("table.data tbody tr", has_text=JIAOTONG).get_by_role("link", name=version).click()
    number = version.removeprefix("第 ").removesuffix(" 版")
    page.wait_for_url(f"**/ledger/reports/*/{PERIOD}/{number}")
    assert f"正在查看第 {number} 版" in page.locator("main").inner_text()
    assert JIAOTONG in page.locator("section.statement h2").inner_text()
    total_row = page.locator("section.statement tr", has_text="资产总计")
    assert total_row.locator("td.money").inner_text().strip() == amount


def test_the_consolidation_workbook_downloads_with_the_pages_total_assets(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("gf")
    _open_group_report(page, demo_server)
    shown = _row(page, "资产总计")[3]
    with page.expect_download() as download:
        page.get_by_role("link", name="导出整张合并报表 XLSX").click()
    assert download.value.suggested_filename == f"consolidation-{PERIOD}.xlsx"
    book = openpyxl.load_workbook(BytesIO(download.value.path().read_bytes()))
    assert book.sheetnames[:3] == ["合并报表", "抵销分录", "少数股东权益"]
    rows = {r[0]: r for r in book["合并报表"].iter_rows(min_row=4, values_only=True)}
    _, name, _, _, total = rows["total_assets"]
    assert name == "资产总计"
    assert f"{Decimal(repr(total)).quantize(Decimal('0.01')):,}" == shown
    assert book["抵销分录"].max_row > 3 and book["少数股东权益"].max_row > 3


def test_the_auditor_sees_the_log_with_the_chain_verified(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("auditor")
    page.get_by_role("link", name="审计日志").click()
    page.wait_for_url("**/audit")
    chain = page.locator("section.chain")
    assert chain.get_attribute("data-chain") == "ok"
    assert "哈希链校验通过" in chain.inner_text()
    assert page.locator(".checked-at").inner_text()
    total = int(page.locator(".count").inner_text().removeprefix("共 ").removesuffix(" 条"))
    assert total > 100  # the demo load writes through the audited services

    page.fill("input[name=f_action]", "stake.create")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**f_action=stake.create*")
    actions = page.locator("table.data tbody tr td:nth-child(4)").all_inner_texts()
    assert actions and set(actions) == {"stake.create"}
    page.locator("table.data tbody tr td a").first.click()
    page.wait_for_url("**/audit/*")
    assert "修改前后对照" in page.locator("main").inner_text()
    assert page.locator("table.diff td.after").count() > 0


@pytest.mark.parametrize("path", ["/audit", "/audit/export.xlsx"])
def test_group_finance_gets_403_at_the_audit_log_and_no_menu_entry(
    signed_in: SignedIn, demo_server: str, path: str
) -> None:
    page = signed_in("gf")
    assert "审计日志" not in page.locator("nav.menu").inner_text()
    answer = page.goto(f"{demo_server}{path}")
    assert answer is not None and answer.status == 403
