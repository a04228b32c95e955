"""Peer standard values from a workbook: the template, per-cell problems with nothing stored,
then exactly the corrected file's tiers; text stays text; the board cannot import."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import asyncpg
import openpyxl

TEMPLATE = "/api/v1/kpi/peer-standards/template.xlsx"
IMPORT = "/api/v1/kpi/peer-standards/import"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


GOOD = [
    ["建筑业", "roe", 2025, 12.5, 9.5, 6, 1.7, -2.1],  # row 2
    ["建筑业", "debt_to_asset", 2025, 50, 60, 70, 80, 90],  # row 3: lower is better, rising
    ["建筑业", "营业现金比率", 2025, "20", "15", "10", "5", "0"],  # row 4: by name, as text
]


def _upload(content: bytes, name: str = "标准值.xlsx") -> dict[str, Any]:
    return {"files": {"file": (name, content, XLSX)}}


async def _stored(db: asyncpg.Connection) -> list[tuple[Any, ...]]:
    rows = await db.fetch(
        "SELECT industry, indicator, year, tier_1, tier_2, tier_3, tier_4, tier_5 "
        "FROM kpi_peer_standard ORDER BY industry, indicator, year"
    )
    return [tuple(r) for r in rows]


async def test_three_bad_cells_store_nothing_then_the_corrected_file_stores_its_rows(
    api: Any, db: asyncpg.Connection
) -> None:
    bad = [
        ["建筑业", "roe", 2025, 12.5, 9.5, 6, 1.7, -2.1],  # row 2: fine
        ["建筑业", "no_such_ratio", 2025, 5, 4, 3, 2, 1],  # row 3: B3 unknown
        ["建筑业", "debt_to_asset", 2025, 50, "六十", 70, 80, 90],  # row 4: E4 not a number
        ["建筑业", "营业现金比率", 2025, 20, 15, 16, 5, 0],  # row 5: F5 平均 16 ≥ 良好 15
    ]
    problem = await api("POST", IMPORT, status=422, **_upload(_book(bad)))
    assert [e["field"] for e in problem["errors"]] == [
        "file.行业标准值!B3",
        "file.行业标准值!E4",
        "file.行业标准值!F5",
    ]
    assert "unknown indicator 'no_such_ratio'" in problem["errors"][0]["reason"]
    assert "not a number: '六十'" in problem["errors"][1]["reason"]
    assert "平均 应低于良好" in problem["errors"][2]["reason"]
    assert [(p["row"], p["column"]) for p in problem["import_errors"]] == [
        (3, "B (指标)"),
        (4, "E (良好)"),
        (5, "F (平均)"),
    ]
    assert await _stored(db) == []
    report = await api("POST", IMPORT, status=201, **_upload(_book(GOOD)))
    assert (report["rows"], report["created"], report["replaced"]) == (3, 3, 0)
    D = Decimal
    assert await _stored(db) == [
        ("建筑业", "debt_to_asset", 2025, D("50"), D("60"), D("70"), D("80"), D("90")),
        ("建筑业", "operating_cash_ratio", 2025, D("20"), D("15"), D("10"), D("5"), D("0")),
        ("建筑业", "roe", 2025, D("12.5"), D("9.5"), D("6"), D("1.7"), D("-2.1")),
    ]
    # Again with ROE corrected: its tiers are replaced, the others stay, the old ones audited.
    again = [["建筑业", "roe", 2025, 13, 10, 6.5, 2, -2]]
    report = await api("POST", IMPORT, status=201, **_upload(_book(again)))
    assert (report["created"], report["replaced"]) == (0, 1)
    assert (await _stored(db))[2] == ("建筑业", "roe", 2025, D(13), D(10), D("6.5"), D(2), D(-2))
    audits = await db.fetch(
        "SELECT before, after FROM audit_log WHERE action = 'kpi_peer_standard.import' ORDER BY id"
    )
    assert len(audits) == 2
    assert '"tier_1": "12.500000"' in audits[1]["before"]


async def test_duplicate_rows_and_a_csv(api: Any, db: asyncpg.Connection) -> None:
    rows = [*GOOD, ["建筑业", "roe", 2025, 1, 0.5, 0, -1, -2]]  # row 5 repeats row 2's key
    problem = await api("POST", IMPORT, status=422, **_upload(_book(rows)))
    assert [e["field"] for e in problem["errors"]] == ["file.行业标准值!B5"]
    assert "行业标准值 row 2" in problem["errors"][0]["reason"]
    csv = "行业,指标,年度,优秀,良好,平均,较低,较差\n交通运输业,roe,2024,10,8,6,4,2\n"
    report = await api(
        "POST",
        IMPORT,
        status=201,
        files={"file": ("standards.csv", csv.encode(), "text/csv")},
    )
    assert report["rows"] == 1
    assert await _stored(db) == [
        ("交通运输业", "roe", 2024, Decimal(10), Decimal(8), Decimal(6), Decimal(4), Decimal(2))
    ]


async def test_the_template_reads_back_and_its_text_is_text(api: Any, client: Any, admin: Any):
    response = await client.get(f"{TEMPLATE}?year=2025&industry==1%2B1", headers=admin)
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["行业标准值"]
    assert [c.value for c in sheet[1]] == [
        "行业",
        "指标",
        "年度",
        "优秀",
        "良好",
        "平均",
        "较低",
        "较差",
    ]
    # A formula-looking industry is written as a string cell, never a formula.
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("=1+1", "s")
    assert (sheet["B2"].value, sheet["C2"].value) == ("debt_to_asset", 2025)
    assert "说明" in book.sheetnames
    # Filled in, it imports as is: every ratio row with its tiers.
    for row in range(2, sheet.max_row + 1):
        lower = sheet.cell(row, 2).value == "debt_to_asset"
        for n, col in enumerate(range(4, 9)):
            sheet.cell(row, col, value=10 + 10 * n if lower else 50 - 10 * n)
    buffer = io.BytesIO()
    book.save(buffer)
    report = await api("POST", IMPORT, status=201, **_upload(buffer.getvalue()))
    assert report["rows"] == sheet.max_row - 1
    assert {s["industry"] for s in report["standards"]} == {"=1+1"}


async def test_the_board_cannot_import_and_a_retry_is_answered_once(
    api: Any, login_as: Any, admin: dict[str, str], db: asyncpg.Connection
) -> None:
    content = _book(GOOD)  # once: saving again stamps a new time, which is another request
    board = await login_as("board")
    await api("POST", IMPORT, status=403, headers=board, **_upload(content))
    assert await _stored(db) == []
    keyed = {**admin, "Idempotency-Key": "standards-2025-1"}
    first = await api("POST", IMPORT, status=201, headers=keyed, **_upload(content))
    again = await api("POST", IMPORT, status=201, headers=keyed, **_upload(content))
    assert first == again
    assert (
        await db.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'kpi_peer_standard.import'"
        )
        == 1
    )


async def test_columns_in_another_order_are_read_by_their_headers(
    api: Any, db: asyncpg.Connection
) -> None:
    # 指标 first, 行业 second: the problem names the cell and header where they are in this file.
    csv = "指标,行业,年度,较差,较低,平均,良好,优秀\nroe,建筑业,2025,-2,x,6,10,13\n"
    problem = await api(
        "POST", IMPORT, status=422, files={"file": ("s.csv", csv.encode(), "text/csv")}
    )
    assert [(e["row"], e["column"]) for e in problem["import_errors"]] == [(2, "E (较低)")]
    assert [e["field"] for e in problem["errors"]] == ["file.csv!E2"]
    fixed = csv.replace(",x,", ",2,")
    await api("POST", IMPORT, status=201, files={"file": ("s.csv", fixed.encode(), "text/csv")})
    assert await _stored(db) == [
        ("建筑业", "roe", 2025, Decimal(13), Decimal(10), Decimal(6), Decimal(2), Decimal(-2))
    ]
