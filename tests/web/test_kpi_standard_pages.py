"""考核标准值 without a browser, over the demo group: the board reads the standard values and the
catalogue with no upload form; group finance downloads the template, uploads a file with three bad
cells (listed cell by cell, nothing stored), then the corrected one (exactly its rows stored)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import openpyxl
import pytest
from litestar.testing import AsyncTestClient

from stateasset.demo import load_demo
from tests.web.test_upload_pages import _csrf, _rows, _sign_in

PAGE = "/kpi/standards"


@pytest.fixture
async def demo_client(db: asyncpg.Connection) -> AsyncIterator[AsyncTestClient]:
    # Loaded before the app starts: the app's pool lives on the test client's own loop.
    await load_demo()
    from stateasset.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


def _book(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "行业标准值"
    sheet.append(["行业", "指标", "年度", "优秀", "良好", "平均", "较低", "较差"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def _upload(client: AsyncTestClient, content: bytes, key: str | None = None) -> Any:
    form = await client.get(PAGE)
    fields = {"_csrf_token": _csrf(form.text)}
    if key:
        fields["idempotency_key"] = key
    return await client.post(
        f"{PAGE}/import", data=fields, files={"file": ("标准值.xlsx", content)}
    )


async def test_the_board_reads_the_values_and_the_catalogue_and_finds_no_upload(
    demo_client: AsyncTestClient,
) -> None:
    client = demo_client
    await _sign_in(client, "board")
    response = await client.get(PAGE)
    assert response.status_code == 200, response.text
    # The demo's one standard: 国有资本投资运营's operating cash ratio for 2025.
    assert _rows(response.text, "kpi-standards") == [
        ["国有资本投资运营", "ocr", "（不在指标库）", "2025", "20.0", "12.0", "6.0", "2.0", "-5.0",
         "企业绩效评价标准值2025（国有资本投资运营）"]
    ]  # fmt: skip
    catalogue = {r[0]: r for r in _rows(response.text, "kpi-catalogue")}
    assert catalogue["roe"][1:5] == ["净资产收益率", "财务比率", "%", "越高越好"]
    assert catalogue["debt_to_asset"][4] == "越低越好"
    assert catalogue["objective_factors"][2] == "录入（内置）"
    assert 'action="/kpi/standards/import"' not in response.text
    assert 'href="/kpi/standards"' in response.text  # the menu's entry
    refused = await client.post(
        f"{PAGE}/import",
        data={"_csrf_token": _csrf(response.text)},
        files={"file": ("x.xlsx", _book([]))},
    )
    assert refused.status_code == 403
    # Filtered to a year and exported: the rows shown, with the Chinese headers.
    export = await client.get(f"{PAGE}/export/kpi-standards?f_year=2025")
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:5] == ["行业", "指标编码", "指标", "年度", "优秀"]
    assert sheet.max_row == 2


async def test_three_bad_cells_are_listed_then_the_corrected_file_is_stored(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    await _sign_in(client, "gf")
    page = await client.get(PAGE)
    assert 'action="/kpi/standards/import"' in page.text
    template = await client.get(f"{PAGE}/template.xlsx?industry=建筑业&year=2025")
    assert template.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    assert [c.value for c in book["行业标准值"][1]] == [
        "行业", "指标", "年度", "优秀", "良好", "平均", "较低", "较差"
    ]  # fmt: skip
    before = await db.fetchval("SELECT count(*) FROM kpi_peer_standard")
    bad = [
        ["建筑业", "roe", 2025, 12.5, 9.5, 6, 1.7, -2.1],
        ["建筑业", "no_such_ratio", 2025, 5, 4, 3, 2, 1],  # B3
        ["建筑业", "debt_to_asset", 2025, 50, "六十", 70, 80, 90],  # E4
        ["建筑业", "roe", 2026, 12, 13, 6, 1.7, -2.1],  # E5: 良好 13 ≥ 优秀 12
    ]
    refused = await _upload(client, _book(bad))
    assert refused.status_code == 200
    assert "/kpi/standards/reports/" in str(refused.url)
    assert "文件中有 3 处错误，未保存任何数据" in refused.text
    rows = _rows(refused.text, "import-errors")
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("行业标准值", "3", "B (指标)", "no_such_ratio"),
        ("行业标准值", "4", "E (良好)", "debt_to_asset"),
        ("行业标准值", "5", "E (良好)", "roe"),
    ]
    assert "未知指标" in rows[0][4]
    assert "不是数字" in rows[1][4]
    assert "档次顺序错误" in rows[2][4]
    assert await db.fetchval("SELECT count(*) FROM kpi_peer_standard") == before

    bad[1][1], bad[2][4], bad[3][4] = "rd_intensity", 60, 9
    corrected = _book(bad)
    stored = await _upload(client, corrected, key="standards-fixed")
    assert "导入成功" in stored.text
    assert "已保存 4 行标准值：新增 4，替换 0" in stored.text
    assert sorted(r[:3] for r in _rows(stored.text, "kpi-standards-stored")) == [
        ["建筑业", "debt_to_asset", "2025"],
        ["建筑业", "rd_intensity", "2025"],
        ["建筑业", "roe", "2025"],
        ["建筑业", "roe", "2026"],
    ]
    again = await _upload(client, corrected, key="standards-fixed")  # a double click
    assert "已保存 4 行标准值" in again.text
    stored_rows = await db.fetch(
        "SELECT indicator, year, tier_1, tier_2, tier_5 FROM kpi_peer_standard "
        "WHERE industry = '建筑业' ORDER BY indicator, year"
    )
    assert [tuple(r) for r in stored_rows] == [
        ("debt_to_asset", 2025, Decimal(50), Decimal(60), Decimal(90)),
        ("rd_intensity", 2025, Decimal(5), Decimal(4), Decimal(1)),
        ("roe", 2025, Decimal("12.5"), Decimal("9.5"), Decimal("-2.1")),
        ("roe", 2026, Decimal(12), Decimal(9), Decimal("-2.1")),
    ]
    # The page's table now lists them beside the demo's.
    listed = _rows((await client.get(f"{PAGE}?f_industry=建筑业")).text, "kpi-standards")
    assert [(r[1], r[3]) for r in listed] == [
        ("debt_to_asset", "2025"),
        ("rd_intensity", "2025"),
        ("roe", "2025"),
        ("roe", "2026"),
    ]
