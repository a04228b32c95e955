"""Uploading statements: the whole file is checked, every error located, nothing half-written."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
import openpyxl
import xlsxwriter
from litestar.testing import AsyncTestClient

from tests.conftest import problem
from tests.ledger.conftest import credit_code

PERIOD = "2025-Q3"
ENTITIES = 250


def _items(n: int) -> dict[str, Decimal]:
    """Twenty balanced items for entity n (assets = liabilities + equity)."""
    cash, receivables, inventory, fixed = (
        Decimal(f"{1000 + n}.{n % 100:02d}"),
        Decimal(500 + n),
        Decimal(300),
        Decimal(2000 + 3 * n),
    )
    total_assets = cash + receivables + inventory + fixed
    payables, borrowings = Decimal(400), Decimal(600 + n)
    total_liabilities = payables + borrowings
    paid_in, reserve = Decimal(1500), Decimal(100)
    retained = total_assets - total_liabilities - paid_in - reserve
    return {
        "cash": cash,
        "receivables": receivables,
        "inventory": inventory,
        "fixed_assets": fixed,
        "total_assets": total_assets,
        "payables": payables,
        "short_term_borrowings": borrowings,
        "total_liabilities": total_liabilities,
        "paid_in_capital": paid_in,
        "capital_reserve": reserve,
        "retained_earnings": retained,
        "total_equity": paid_in + reserve + retained,
        "revenue": Decimal(800 + n),
        "operating_cost": Decimal(500),
        "total_profit": Decimal(120),
        "net_profit": Decimal(90),
        "operating_cash_flow": Decimal(70),
        "employees_avg": Decimal(30 + n % 7),
        "labor_cost": Decimal(200),
        "depreciation": Decimal(50),
    }


def _workbook(bad: dict[tuple[int, str], Any]) -> bytes:
    """A 5,000-row long table; `bad` replaces cells at (row, column letter)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("数据")
    sheet.write_row(0, 0, ["统一社会信用代码", "期间", "项目编码", "项目名称", "金额"])
    row = 1
    for n in range(ENTITIES):
        for item, amount in _items(n).items():
            values = [credit_code(n), PERIOD, item, "", float(amount)]
            for col, value in enumerate(values):
                cell = (row + 1, "ABCDE"[col])
                sheet.write(row, col, bad.get(cell, value))
            row += 1
    book.close()
    return buffer.getvalue()


async def _register(db: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    await db.executemany(
        "INSERT INTO entity (id, credit_code, name, kind, second_level, status, created_at, "
        "updated_at) VALUES ($1, $2, $3, 'subsidiary', false, 'active', $4, $4)",
        [(uuid4(), credit_code(n), f"子公司{n:03d}", now) for n in range(ENTITIES)],
    )


async def test_5000_rows_with_three_bad_cells_then_the_corrected_file(
    client: AsyncTestClient, admin: Any, db: asyncpg.Connection
) -> None:
    await _register(db)
    # Row 101 is entity 4's first item; 2501 and 4999 are amounts further down.
    bad = {(101, "C"): "cashh", (2501, "E"): "一千", (4999, "E"): 12.345}
    upload = await client.post(
        "/api/v1/ledger/statements/import",
        headers=admin,
        files={"file": ("q3.xlsx", _workbook(bad), "application/octet-stream")},
    )
    assert upload.status_code == 422
    body = problem(upload)
    located = [(e["sheet"], e["row"], e["column"][0]) for e in body["import_errors"]]
    assert located == [("数据", 101, "C"), ("数据", 2501, "E"), ("数据", 4999, "E")]
    # each names the item on its row, as written in the file
    assert [e["item"] for e in body["import_errors"]] == [
        "cashh",
        "depreciation",
        "employees_avg",
    ]
    assert "nothing was imported" in body["detail"]
    assert await db.fetchval("SELECT count(*) FROM statement") == 0
    assert await db.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'statement%'") == 0

    good = await client.post(
        "/api/v1/ledger/statements/import",
        headers=admin,
        files={"file": ("q3.xlsx", _workbook({}), "application/octet-stream")},
    )
    assert good.status_code == 201, good.text
    report = good.json()
    assert (report["imported"], report["statements"], report["rows"]) == (True, 250, 5000)
    assert len(report["stored"]) == 250
    assert {(s["period"], s["version"]) for s in report["stored"]} == {(PERIOD, 1)}
    assert await db.fetchval("SELECT count(*) FROM statement_line") == 5000
    expected = sum(_items(n)["cash"] for n in range(ENTITIES))
    assert (
        await db.fetchval("SELECT sum(amount) FROM statement_line WHERE item = 'cash'") == expected
    )


async def test_rule_failures_in_an_upload_block_it_whole(
    client: AsyncTestClient, admin: Any, db: asyncpg.Connection
) -> None:
    await _register(db)
    lines = ["统一社会信用代码,期间,项目编码,金额"]
    for n in (0, 1):
        items = _items(n)
        if n == 1:
            items["total_assets"] += 1
        lines += [f"{credit_code(n)},{PERIOD},{k},{v}" for k, v in items.items()]
    upload = await client.post(
        "/api/v1/ledger/statements/import",
        headers=admin,
        files={"file": ("q3.csv", "\n".join(lines).encode(), "text/csv")},
    )
    assert upload.status_code == 422
    fields = {e["field"] for e in problem(upload)["errors"]}
    assert f"file.{credit_code(1)}.{PERIOD}.total_assets" in fields
    rules = {(r["item"], r["rule"]) for r in problem(upload)["rule_errors"]}
    assert ("total_assets", "balance") in rules
    assert await db.fetchval("SELECT count(*) FROM statement") == 0


async def test_template_has_a_sheet_per_entity_with_chinese_labels(
    client: AsyncTestClient, admin: Any, db: asyncpg.Connection
) -> None:
    await _register(db)
    response = await client.get(
        f"/api/v1/ledger/statements/template?period={PERIOD}", headers=admin
    )
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[0] == "说明"
    assert len(book.sheetnames) == ENTITIES + 1
    first = book[book.sheetnames[1]]
    assert (first["A1"].value, first["B2"].value) == ("统一社会信用代码", PERIOD)
    labels = {
        first.cell(row=r, column=1).value: first.cell(row=r, column=2).value for r in range(5, 40)
    }
    assert labels["total_assets"] == "资产总计"
    assert labels["state_capital"] == "国有资本"


async def test_an_upload_without_a_file_is_400_naming_the_field(
    client: AsyncTestClient, admin: Any
) -> None:
    response = await client.post(
        "/api/v1/ledger/statements/import", headers=admin, files={"other": ("x.txt", b"x")}
    )
    assert response.status_code == 400
    assert problem(response)["errors"][0]["field"] == "body.file"
