"""导入 and 内部往来 in a real browser over the demo group (SCENARIOS.md §1 steps 2 and 3)."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import openpyxl

from stateasset.demo import DEMO_PASSWORD
from tests.web.conftest import SignedIn, needs_chromium

pytestmark = needs_chromium

PERIOD = "2026-Q3"


def _api(base: str, username: str) -> Any:
    """GET the JSON API as `username` (bearer token), for what the pages do not show."""
    login = urllib.request.Request(
        f"{base}/api/v1/auth/login",
        data=json.dumps({"username": username, "password": DEMO_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login) as response:
        token = json.load(response)["access_token"]

    def get(path: str) -> Any:
        request = urllib.request.Request(
            f"{base}{path}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request) as response:
            return json.load(response)

    return get


def _table(page: Any, table_id: str) -> list[list[str]]:
    """The rows of a table component on the page, cell texts."""
    rows = page.locator(f"#tbl-{table_id} table.data tbody tr")
    return [
        [t.strip() for t in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def _upload(page: Any, path: Path) -> None:
    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="上传并检查").click()
    page.wait_for_url("**/ledger/import/reports/**")


def test_three_bad_cells_are_listed_and_nothing_stored_then_the_fix_passes(
    signed_in: SignedIn, demo_server: str, tmp_path: Path
) -> None:
    page = signed_in("ef_chengjian")
    api = _api(demo_server, "ef_chengjian")
    page.goto(f"{demo_server}/ledger/import")
    page.select_option("select[name=period]", PERIOD)
    with page.expect_download() as download:
        page.get_by_role("button", name="下载模板 (XLSX)").click()
    book = openpyxl.load_workbook(BytesIO(Path(download.value.path()).read_bytes()))
    assert book.sheetnames[0] == "说明"
    entities = {
        e["credit_code"]: e["id"] for e in api("/api/v1/ledger/entities/?limit=500")["items"]
    }
    assert len(book.worksheets) == 1 + len(entities)
    versions = {}
    for sheet in book.worksheets[1:]:
        statement = api(f"/api/v1/ledger/statements/{entities[sheet['B1'].value]}/{PERIOD}")
        versions[statement["entity_id"]] = statement["version"]
        amounts = {line["item"]: line["amount"] for line in statement["lines"]}
        for row in range(5, sheet.max_row + 1):
            if (item := sheet.cell(row=row, column=1).value) in amounts:
                sheet.cell(row=row, column=3, value=float(amounts[item]))
    first = book.worksheets[1]
    original = (first["C5"].value, first["C8"].value, first["A9"].value)
    first["C5"], first["C8"], first["A9"] = "一百万", 1.005, "cashh"
    bad = tmp_path / "q3-bad.xlsx"
    book.save(bad)

    _upload(page, bad)
    assert "文件中有 3 处错误，未保存任何数据" in page.locator("[role=status]").inner_text()
    errors = _table(page, "import-errors")
    assert [(e[0], e[1], e[2]) for e in errors] == [
        (first.title, "5", "C (金额)"),
        (first.title, "8", "C (金额)"),
        (first.title, "9", "A (项目编码)"),
    ]
    assert "金额不是数字" in errors[0][4]
    assert "金额超过两位小数" in errors[1][4]
    assert "未知项目编码" in errors[2][4]
    # nothing stored: every entity's latest version is the one it had
    for entity_id, version in versions.items():
        assert api(f"/api/v1/ledger/statements/{entity_id}/{PERIOD}")["version"] == version
    # the report exports as the table shows it
    with page.expect_download() as export:
        page.locator("#tbl-import-errors a.button", has_text="导出 XLSX").click()
    sheet = openpyxl.load_workbook(BytesIO(Path(export.value.path()).read_bytes())).active
    assert [sheet.cell(row=r, column=2).value for r in (2, 3, 4)] == ["5", "8", "9"]

    # fixed, with two flows below the half year's: stored, the two warnings shown, not blocking
    first["C5"], first["C8"], first["A9"] = original
    rows = {first.cell(row=r, column=1).value: r for r in range(5, first.max_row + 1)}
    first.cell(row=rows["revenue"], column=3, value=0)
    first.cell(row=rows["labor_cost"], column=3, value=0)
    fixed = tmp_path / "q3.xlsx"
    book.save(fixed)
    page.goto(f"{demo_server}/ledger/import")
    _upload(page, fixed)
    status = page.locator("[role=status]").inner_text()
    assert f"已保存 {len(entities)} 张报表" in status and "2 条提示" in status
    stored = _table(page, "import-stored")
    assert {s[0] for s in stored} == {s["B3"].value for s in book.worksheets[1:]}
    warnings = _table(page, "import-warnings")
    assert len(warnings) == 2
    assert {(w[0], w[2], w[3]) for w in warnings} == {
        (first["B3"].value, "营业收入（revenue）", "本年累计数"),
        (first["B3"].value, "职工薪酬（labor_cost）", "本年累计数"),
    }
    for entity_id, version in versions.items():
        assert api(f"/api/v1/ledger/statements/{entity_id}/{PERIOD}")["version"] == version + 1


def test_a_mismatch_is_corrected_through_the_form(signed_in: SignedIn, demo_server: str) -> None:
    page = signed_in("gf")
    page.goto(f"{demo_server}/ledger/intercompany?period={PERIOD}")
    [pair] = _table(page, "ic-pairs")
    assert pair[:3] == ["应收/应付", "福清市城市建设开发有限公司", "福清市交通建设工程有限公司"]
    assert pair[5] == "12,000.00"
    short_amount = Decimal(pair[4].replace(",", ""))

    page.locator("#tbl-ic-pairs").get_by_role("link", name="福清市交通建设工程有限公司").click()
    page.wait_for_selector("#ic-edit")
    mismatch = _api(demo_server, "gf")(f"/api/v1/ledger/intercompany/mismatches?period={PERIOD}")
    partner = mismatch[0]["entity_id"]
    rows = page.locator("#ic-rows tr")
    shown = rows.count()
    page.get_by_role("button", name="添加一行").click()
    page.wait_for_function(f"document.querySelectorAll('#ic-rows tr').length == {shown + 1}")
    row = next(
        rows.nth(i)
        for i in range(rows.count())
        if rows.nth(i).locator("select[name^=partner_id]").input_value() == partner
        and rows.nth(i).locator("select[name^=kind]").input_value() == "payable"
    )
    amount = row.locator("input[name^=amount]")
    assert Decimal(amount.input_value()) == short_amount
    amount.fill("-1")
    page.get_by_role("button", name="保存（替换本期全部本方往来）").click()
    assert row.locator(".problem").inner_text() == "must not be negative"
    assert row.locator("input[name^=amount]").get_attribute("aria-invalid") == "true"

    row.locator("input[name^=amount]").fill(f"{short_amount + Decimal('12000.00'):,}")
    page.get_by_role("button", name="保存（替换本期全部本方往来）").click()
    page.wait_for_selector("text=已保存")
    assert _table(page, "ic-pairs") == [["没有符合条件的记录"]]


def test_the_board_reads_the_lines_without_a_form(signed_in: SignedIn, demo_server: str) -> None:
    page = signed_in("board")
    page.goto(f"{demo_server}/ledger/intercompany?period={PERIOD}&entity=交建公司")
    lines = _table(page, "ic-lines")
    assert len(lines) == 11
    assert page.locator("main form[method=post]").count() == 0
    # sorting swaps only that table (htmx), the address keeps the period and the entity
    page.locator("#tbl-ic-lines th a", has_text="金额").click()
    page.wait_for_url("**/ledger/intercompany/2026-Q3/*?sort=amount")
    amounts = [Decimal(r[4].replace(",", "")) for r in _table(page, "ic-lines")]
    assert amounts == sorted(amounts) and len(amounts) == 11
    assert page.locator("h1").count() == 1 and page.locator("#tbl-ic-pairs").count() == 1
    assert page.get_by_role("button", name="添加一行").count() == 0
