"""The pages in a real browser, over the demo group: menus by role, scope, the entities table.

Every page opened through `signed_in` must load everything from this machine (the fixture fails
the test on any request elsewhere).
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import openpyxl
import pytest

from tests.web.conftest import SignedIn, needs_chromium

pytestmark = needs_chromium

# The asset register's pages read with `ledger:read`, as its API: every role sees them.
ASSET_ENTRIES = ["资产台账", "划拨", "资产盘点", "有效资产"]
# The funds' pages read with `funds:read`, as the funds API: every role but entity finance.
FUND_ENTRIES = ["基金", "母基金看板"]
# The KPI pages read with `kpi:read`, as the KPI API: every role but fund managers (entity
# finance their own company's); the contract editor is `kpi:write`'s: admin and group finance.
KPI_ENTRIES = ["考核评分", "考核标准值"]
KPI_EDITOR_ENTRIES = ["业绩合同"]
# The jobs page (作业) runs with `jobs:run`, as the jobs API: admin and group finance.
JOB_ENTRIES = ["作业"]
EVERY_ENTRY = [
    "集团概览",
    "主体与股权",
    "快报",
    "期间看板",
    "导入",
    "内部往来",
    "合并报表",
    *ASSET_ENTRIES,
    *FUND_ENTRIES,
    *KPI_ENTRIES,
    *KPI_EDITOR_ENTRIES,
    "审计日志",
    *JOB_ENTRIES,
]
MENUS = {
    "admin": (EVERY_ENTRY, "系统管理员"),
    "gf": ([e for e in EVERY_ENTRY if e != "审计日志"], "集团财务"),
    "ef_chengjian": (
        [
            e
            for e in EVERY_ENTRY
            if e not in ("审计日志", *FUND_ENTRIES, *KPI_EDITOR_ENTRIES, *JOB_ENTRIES)
        ],
        "子公司财务",
    ),
    "board": (
        [
            e
            for e in EVERY_ENTRY
            if e not in ("导入", "审计日志", *KPI_EDITOR_ENTRIES, *JOB_ENTRIES)
        ],
        "董事会",
    ),
    "auditor": (
        [e for e in EVERY_ENTRY if e not in ("导入", *KPI_EDITOR_ENTRIES, *JOB_ENTRIES)],
        "审计",
    ),
    "fm": (["集团概览", "主体与股权", *ASSET_ENTRIES, *FUND_ENTRIES], "基金管理人"),
}
# 城建投 and what it controls; 智慧停车 (40% 城建投, 20% 交通投) is controlled by neither alone.
CHENGJIAN_SUBTREE = {"城建投", "城建开发", "安居公司", "城投物业", "东部新城"}


def _column(page: Any, label: str) -> list[str]:
    """The texts of one column of the table on the page, by its header label."""
    headers = page.locator("table.data thead th").all_inner_texts()
    index = next(i for i, h in enumerate(headers) if h.strip().rstrip(" ▲▼") == label)
    return page.locator(f"table.data tbody tr td:nth-child({index + 1})").all_inner_texts()


@pytest.mark.parametrize("username", sorted(MENUS))
def test_each_role_sees_its_menu(signed_in: SignedIn, username: str) -> None:
    page = signed_in(username)
    entries, role = MENUS[username]
    assert page.locator("nav.menu a").all_inner_texts() == [
        f"{icon}{label}"
        for icon, label in zip(
            page.locator("nav.menu .icon").all_inner_texts(), entries, strict=True
        )
    ]
    assert page.locator(".who .user").inner_text() == username
    assert page.locator(".who .role").inner_text() == role
    assert page.locator("h1").inner_text() == "集团概览"
    assert page.get_by_role("button", name="退出").is_visible()


def test_the_board_sees_no_edit_control(signed_in: SignedIn, demo_server: str) -> None:
    page = signed_in("board")
    # By search: the group's entities (funds and their GPs and LPs too) fill more than a page.
    page.goto(f"{demo_server}/ledger/entities?q=城市建设投资集团")
    page.get_by_role("link", name="福清市城市建设投资集团有限公司").click()
    page.wait_for_selector("h1:has-text('福清市城市建设投资集团有限公司')")
    assert page.locator("main form[method=post]").count() == 0
    # its statements, newest first, each a link to that period's 快报 (2025-Q1 … 2026-Q3)
    filed = page.locator("p.periods a")
    assert filed.count() == 7
    assert filed.first.inner_text() == "2026年第3季度"
    assert filed.last.inner_text() == "2025年第1季度"
    assert filed.first.get_attribute("href").endswith("/2026-Q3")
    assert page.locator("main input:not([type=search]), main textarea").count() == 0


def test_entity_finance_sees_only_its_platform(signed_in: SignedIn, demo_server: str) -> None:
    gf = signed_in("gf")
    gf.goto(f"{demo_server}/ledger/entities?q=福清公交")
    bus = gf.get_by_role("link", name="福清市公共交通有限公司").get_attribute("href")

    page = signed_in("ef_chengjian")
    page.goto(f"{demo_server}/ledger/entities")
    assert set(_column(page, "简称")) == CHENGJIAN_SUBTREE
    assert page.locator(".count").inner_text() == f"共 {len(CHENGJIAN_SUBTREE)} 条"
    page.goto(f"{demo_server}/ledger/entities?view=tree&hierarchy=legal")
    top = page.locator("table.tree tbody tr").first.inner_text()
    assert top.startswith("福清市城市建设投资集团有限公司")
    answer = page.goto(f"{demo_server}{bus}")
    assert answer is not None and answer.status == 403
    assert "无权查看" in page.locator("main").inner_text()


def test_the_entities_table_filters_sorts_pages_and_exports(
    signed_in: SignedIn, demo_server: str
) -> None:
    page = signed_in("gf")
    page.goto(f"{demo_server}/ledger/entities")
    # 41 of the group and 75 of the funds (funds, market GPs and LPs, portfolio companies)
    assert page.locator(".count").inner_text() == "共 116 条"

    # filter by platform: the 交通投 companies only, and the choice is in the address
    page.select_option("select[name=f_platform]", "交通投")
    page.wait_for_url("**f_platform=*")
    assert set(_column(page, "平台")) == {"交通投"}
    assert set(_column(page, "简称")) == {"福清公交", "港口物流", "交建公司", "充电公司"}

    # search by short name
    page.goto(f"{demo_server}/ledger/entities")
    page.fill("input[name=q]", "城建")
    page.wait_for_url("**q=*")
    names = _column(page, "名称")
    assert names and all("城建" in n or "城市建设" in n for n in names), names

    # sort by effective interest, ascending then descending, by clicking the header
    page.goto(f"{demo_server}/ledger/entities?f_platform=城建投")
    page.get_by_role("link", name="穿透持股比例").click()
    page.wait_for_url("**sort=effective_interest*")
    up = [float(v.rstrip("%")) for v in _column(page, "穿透持股比例") if v]
    assert up == sorted(up) and len(up) == 5
    page.get_by_role("link", name="穿透持股比例 ▲").click()
    page.wait_for_url("**desc=1*")
    down = [float(v.rstrip("%")) for v in _column(page, "穿透持股比例") if v]
    assert down == sorted(up, reverse=True)

    # pages of 20, sorted by name descending; the export has every row in the same order
    page.goto(f"{demo_server}/ledger/entities?sort=name&desc=1&size=20")
    assert page.locator("nav.pager a").all_inner_texts() == ["1", "2", "3", "6"]
    shown = _column(page, "名称")
    for number in ("2", "3", "4", "5", "6"):
        page.locator("nav.pager a", has_text=number).click()
        page.wait_for_url(f"**page={number}*")
        shown += _column(page, "名称")
    assert len(shown) == 116 and shown == sorted(shown, reverse=True)
    page.reload()  # the state is in the address: page 6 again
    assert page.locator("nav.pager a.current").inner_text() == "6"
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 XLSX").click()
    sheet = openpyxl.load_workbook(BytesIO(download.value.path().read_bytes())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("名称", "简称", "统一社会信用代码")
    assert [r[0] for r in rows[1:]] == shown
    assert all(isinstance(r[2], str) and len(r[2]) == 18 for r in rows[1:])
