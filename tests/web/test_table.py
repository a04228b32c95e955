"""The table component over a small frame: filter, sort, pages, and an export of the same rows."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import openpyxl
import polars as pl

from stateasset.web.table import Column, Table

TABLE = Table(
    "t",
    [
        Column("name", "名称", "link", link="/x/{id}"),
        Column("platform", "平台", choices=True),
        Column("total", "总额", "money"),
        Column("share", "比例", "ratio"),
    ],
    search=("name",),
    page_size=2,
)
FRAME = pl.DataFrame(
    {
        "id": ["a", "b", "c", "d"],
        "name": ['=HYPERLINK("x")', "城建开发", "福清公交", "城投物业"],
        "platform": ["城建投", "城建投", "交通投", "城建投"],
        "total": [Decimal("1234567.89"), Decimal("-5.10"), None, Decimal("98765432109876.54")],
        "share": [1.0, 0.51, 0.45, 0.7],
    },
    schema_overrides={"total": pl.Decimal(20, 2)},
)


def test_filter_sort_and_pages_come_from_the_query() -> None:
    view = TABLE.view(FRAME, {"f_platform": "城建投", "sort": "total", "desc": "1", "page": "2"})
    assert view.total == 3 and view.pages == 2 and view.page == 2
    # descending by total: 98,765,432,109,876.54, 1,234,567.89, then -5.10 on page 2
    assert [r["id"] for r in view.rows] == ["b"]
    assert view.cell(view.rows[0], TABLE.columns[2]) == "-5.10"
    assert view.options["platform"] == ["交通投", "城建投"]
    assert view.url(page=None) == "?sort=total&desc=1&f_platform=%E5%9F%8E%E5%BB%BA%E6%8A%95"
    assert view.sort_url("total") == "?sort=total&f_platform=%E5%9F%8E%E5%BB%BA%E6%8A%95"
    assert TABLE.view(FRAME, {"q": "城"}).total == 2
    assert TABLE.view(FRAME, {"page": "99"}).page == 2  # past the end: the last page


def test_the_export_holds_every_matching_row_with_text_as_text() -> None:
    content = TABLE.xlsx(FRAME, {"sort": "share"}, "主体")
    rows = list(openpyxl.load_workbook(BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[0] == ("名称", "平台", "总额", "比例")
    assert [r[0] for r in rows[1:]] == ["福清公交", "城建开发", "城投物业", '=HYPERLINK("x")']
    assert rows[4][2] == 1234567.89 and rows[2][2] == -5.1 and rows[1][2] is None
    assert rows[3][2] == 98765432109876.54
    assert rows[2][3] == 0.51
    sheet = openpyxl.load_workbook(BytesIO(content)).active
    assert sheet.cell(5, 1).data_type == "s"  # a string, not a formula
