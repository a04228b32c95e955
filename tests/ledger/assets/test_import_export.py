"""Cards by XLSX: the Chinese template, per-row errors with nothing stored, and the export."""

from __future__ import annotations

import io
from typing import Any

import asyncpg
import openpyxl

from .conftest import CARDS, keyed


def _workbook(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["持有单位统一社会信用代码*", "资产编码*", "资产名称*", "资产类别*", "来源*",
                  "取得日期*", "原值*", "经营性", "存放地点", "使用年限(月)", "残值", "状态"])  # fmt: skip
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_an_upload_with_a_bad_row_stores_nothing_then_a_good_one_stores_all(
    api: Any,
    admin: dict[str, str],
    client: Any,
    group: dict[str, str],
    make_card: Any,
    db: asyncpg.Connection,
) -> None:
    template = await client.get(f"{CARDS}template", headers=admin)
    headers = [c.value for c in openpyxl.load_workbook(io.BytesIO(template.content))["资产卡片"][1]]
    assert headers[:3] == ["持有单位统一社会信用代码*", "资产编码*", "资产名称*"]
    code = await db.fetchval("SELECT credit_code FROM entity WHERE id = $1::uuid", group["cj"])
    good = [code, "CJ-FW-1", "城建大厦", "房屋建筑物", "自建", "2025-03-01", "1200000.50", "是",
            "玉屏街道", "480", "60000", "出租"]  # fmt: skip
    bad = [code, "CJ-FW-2", "仓库", "飞机", "购置", "2025-03-01", "12.345", "也许", "", "", "", ""]
    files = {"file": ("cards.xlsx", _workbook([good, bad]))}
    response = await client.post(f"{CARDS}import", files=files, headers=keyed(admin))
    assert response.status_code == 422, response.text
    problems = {(p["row"], p["column"]) for p in response.json()["import_errors"]}
    assert problems == {(3, "D"), (3, "G"), (3, "H")}  # category, amount, 经营性
    assert await db.fetchval("SELECT count(*) FROM asset_card") == 0
    bad[3], bad[6], bad[7] = "设备", "12.34", "否"
    files = {"file": ("cards.xlsx", _workbook([good, bad]))}
    report = await api("POST", f"{CARDS}import", files=files, status=201, headers=keyed(admin))
    assert (report["imported"], report["cards"]) == (True, 2)
    await make_card(group["cj"], "0.01", code="ZZ-1", name="=1+1", operating=False)
    export = await client.get(f"{CARDS}export?holder_id={group['cj']}", headers=admin)
    sheet = openpyxl.load_workbook(io.BytesIO(export.content))["资产台账"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    # Text stays text: the name "=1+1" is not a formula; amounts are exact decimal text.
    assert [(r[0], r[1], r[6], r[9], r[11]) for r in rows] == [
        ("CJ-FW-1", "城建大厦", "是", "1200000.50", "1200000.50"),
        ("CJ-FW-2", "仓库", "否", "12.34", "12.34"),
        ("ZZ-1", "=1+1", "否", "0.01", "0.01"),
    ]
    assert sheet["B4"].data_type == "s"
