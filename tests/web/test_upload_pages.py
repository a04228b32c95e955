"""导入 and 内部往来 pages over the demo group, without a browser: the figures, scope, CSRF, forms."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import openpyxl
import pytest
from litestar.testing import AsyncTestClient

from stateasset.demo import DEMO_PASSWORD, load_demo

PERIOD = "2026-Q3"
CHENGJIAN_DEV = "福清市城市建设开发有限公司"


@pytest.fixture
async def demo_client(db: asyncpg.Connection) -> AsyncIterator[AsyncTestClient]:
    # Loaded before the app starts: the app's pool lives on the test client's own loop.
    await load_demo()
    from stateasset.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


def _csrf(html: str) -> str:
    token = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert token is not None
    return token.group(1)


async def _sign_in(client: AsyncTestClient, username: str) -> dict[str, str]:
    """Sign the pages in (session cookie) and return the API's bearer header for the same user."""
    client.cookies.clear()
    login = await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": username, "password": DEMO_PASSWORD, "_csrf_token": _csrf(login.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    api = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
    )
    return {"Authorization": f"Bearer {api.json()['access_token']}"}


async def _filled_template(client: AsyncTestClient, bearer: dict[str, str]) -> openpyxl.Workbook:
    """The page's template for the period, filled with each entity's current amounts."""
    template = await client.get(f"/ledger/import/template.xlsx?period={PERIOD}")
    assert template.status_code == 200
    assert template.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    visible = await client.get("/api/v1/ledger/entities/?limit=500", headers=bearer)
    codes = {e["credit_code"]: e["id"] for e in visible.json()["items"]}
    for sheet in book.worksheets[1:]:
        current = await client.get(
            f"/api/v1/ledger/statements/{codes[sheet['B1'].value]}/{PERIOD}", headers=bearer
        )
        if current.status_code == 404:
            continue  # an agency or a fund: no statement to copy
        amounts = {line["item"]: line["amount"] for line in current.json()["lines"]}
        for row in range(5, sheet.max_row + 1):
            if (item := sheet.cell(row=row, column=1).value) in amounts:
                sheet.cell(row=row, column=3, value=float(amounts[item]))
    return book


def _bytes(book: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def _upload(
    client: AsyncTestClient, content: bytes, name: str = "q3.xlsx", key: str | None = None
) -> Any:
    form = await client.get("/ledger/import")
    fields = {"_csrf_token": _csrf(form.text), "period": PERIOD}
    if key:
        fields["idempotency_key"] = key
    return await client.post("/ledger/import", data=fields, files={"file": (name, content)})


def _rows(html: str, table_id: str) -> list[list[str]]:
    """The cells of a table component's body rows, as text."""
    box = html.split(f'id="tbl-{table_id}"', 1)[1].split("</table>", 1)[0]
    body = box.split("<tbody>", 1)[1]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        ]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


async def test_a_file_with_three_bad_cells_is_listed_cell_by_cell_and_nothing_is_stored(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    bearer = await _sign_in(client, "ef_chengjian")
    book = await _filled_template(client, bearer)
    first = book.worksheets[1]
    original = (first["C5"].value, first["C6"].value, first["A7"].value)
    first["C5"], first["C6"], first["A7"] = "一百万", 1.005, "no_such_item"
    versions = "SELECT count(*) FROM statement WHERE period = $1"
    before = await db.fetchval(versions, PERIOD)

    refused = await _upload(client, _bytes(book))
    assert refused.status_code == 200
    assert "/ledger/import/reports/" in str(refused.url)
    assert "文件中有 3 处错误，未保存任何数据" in refused.text
    rows = _rows(refused.text, "import-errors")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (first.title, "5", "C (金额)"),
        (first.title, "6", "C (金额)"),
        (first.title, "7", "A (项目编码)"),
    ]
    assert rows[0][3] == "货币资金（cash）"
    assert "金额不是数字" in rows[0][4]
    assert "金额超过两位小数" in rows[1][4]
    assert "未知项目编码" in rows[2][4]
    assert await db.fetchval(versions, PERIOD) == before

    # the report sorts (htmx swaps the table alone) and exports what it shows
    report = str(refused.url).removeprefix("http://testserver.local")
    sorted_ = await client.get(
        f"{report}?sort=row&desc=1",
        headers={"hx-request": "true", "hx-target": "tbl-import-errors"},
    )
    assert sorted_.text.startswith('<div id="tbl-import-errors"')
    assert [r[1] for r in _rows(sorted_.text, "import-errors")] == ["7", "6", "5"]
    export = await client.get(f"{report}/export/import-errors?sort=row")
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert [c.value for c in sheet[1]] == ["工作表", "行", "列", "项目", "原因"]
    assert [sheet.cell(row=r, column=3).value for r in (2, 3, 4)] == [
        "C (金额)",
        "C (金额)",
        "A (项目编码)",
    ]

    # corrected, with two flows below the half year's: stored whole, the two warnings shown
    first["C5"], first["C6"], first["A7"] = original
    items = {first.cell(row=r, column=1).value: r for r in range(5, first.max_row + 1)}
    first.cell(row=items["revenue"], column=3, value=0)
    first.cell(row=items["labor_cost"], column=3, value=0)
    # one file, sent twice below: openpyxl stamps the save time, so saving again is another file
    corrected = _bytes(book)
    stored = await _upload(client, corrected, key="q3-fixed")
    assert "导入成功" in stored.text
    assert "已保存 5 张报表" in stored.text
    assert await db.fetchval(versions, PERIOD) == before + 5
    # the same form sent again (a double click): the first answer, nothing stored twice
    again = await _upload(client, corrected, key="q3-fixed")
    assert "已保存 5 张报表" in again.text
    assert await db.fetchval(versions, PERIOD) == before + 5
    assert {r[0] for r in _rows(stored.text, "import-stored")} == {
        s["B3"].value for s in book.worksheets[1:]
    }
    assert {r[2] for r in _rows(stored.text, "import-stored")} == {"2"}
    warnings = _rows(stored.text, "import-warnings")
    # the demo's own statements carry no warnings: these two are the only ones
    assert {(w[2], w[3]) for w in warnings} == {
        ("营业收入（revenue）", "本年累计数"),
        ("职工薪酬（labor_cost）", "本年累计数"),
    }


async def test_another_platforms_company_is_refused_in_the_report(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    gf = await _sign_in(client, "gf")
    book = await _filled_template(client, gf)
    outside = next(s for s in book.worksheets[1:] if s.title.startswith("福清市公共交通"))
    for sheet in book.worksheets[1:]:
        if sheet is not outside:
            del book[sheet.title]
    before = await db.fetchval("SELECT count(*) FROM statement")
    await _sign_in(client, "ef_chengjian")
    refused = await _upload(client, _bytes(book))
    [row] = _rows(refused.text, "import-errors")
    assert row[:3] == [outside.title, "1", "B (统一社会信用代码)"]
    assert "不在您的填报范围内" in row[4]
    assert "未保存任何数据" in refused.text
    assert await db.fetchval("SELECT count(*) FROM statement") == before


async def test_the_exported_report_keeps_a_formula_looking_cell_as_text(
    demo_client: AsyncTestClient,
) -> None:
    client = demo_client
    await _sign_in(client, "ef_chengjian")
    csv = "统一社会信用代码,期间,项目编码,金额\n91350181MA2YK1XX4R,2026-Q3,=1+1,5\n"
    refused = await _upload(client, csv.encode(), "q3.csv")
    assert {r[3] for r in _rows(refused.text, "import-errors")} == {"=1+1"}
    report = str(refused.url).removeprefix("http://testserver.local")
    export = await client.get(f"{report}/export/import-errors?f_sheet=csv")
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    cell = next(c for c in sheet["D"][1:] if c.value == "=1+1")
    assert cell.data_type == "s"


async def test_import_needs_ledger_write_and_the_csrf_token(
    demo_client: AsyncTestClient,
) -> None:
    client = demo_client
    await _sign_in(client, "board")
    assert (await client.get("/ledger/import")).status_code == 403
    await _sign_in(client, "gf")
    page = await client.get("/ledger/import")
    assert page.status_code == 200
    assert '<option value="2026-Q3"' in page.text and "2026年第3季度" in page.text
    no_token = await client.post("/ledger/import", files={"file": ("a.csv", b"x")})
    assert no_token.status_code == 403
    no_file = await client.post("/ledger/import", data={"_csrf_token": _csrf(page.text)})
    assert no_file.status_code == 400
    assert 'class="field has-problem"' in no_file.text and "请选择要上传的文件" in no_file.text
    # someone else's report is not found
    other = await _upload(client, b"credit_code,period,item,amount\n", "empty.csv")
    report = str(other.url).removeprefix("http://testserver.local")
    await _sign_in(client, "admin")
    assert (await client.get(report)).status_code == 404


async def _mismatch_page(client: AsyncTestClient, path: str = "") -> Any:
    response = await client.get(f"/ledger/intercompany?period={PERIOD}{path}")
    assert response.status_code == 200, response.text
    return response


async def test_the_mismatch_report_shows_both_sides_and_the_difference(
    demo_client: AsyncTestClient,
) -> None:
    client = demo_client
    await _sign_in(client, "ef_chengjian")
    report = await _mismatch_page(client)
    assert str(report.url).endswith(f"/ledger/intercompany/{PERIOD}")
    [pair] = _rows(report.text, "ic-pairs")
    assert pair[0] == "应收/应付"
    assert pair[1] == CHENGJIAN_DEV
    assert pair[2] == "福清市交通建设工程有限公司"
    assert Decimal(pair[3].replace(",", "")) - Decimal(pair[4].replace(",", "")) == Decimal(
        "12000.00"
    )
    assert pair[5] == "12,000.00"
    assert _rows(report.text, "ic-missing") == [["没有符合条件的记录"]]


async def test_correcting_one_side_through_the_form_clears_the_pair(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    bearer = await _sign_in(client, "gf")
    [mismatch] = (
        await client.get(f"/api/v1/ledger/intercompany/mismatches?period={PERIOD}", headers=bearer)
    ).json()
    short = mismatch["partner_id"]
    page = await client.get(f"/ledger/intercompany/{PERIOD}/{short}")
    assert page.status_code == 200
    lines = _rows(page.text, "ic-lines")
    assert {r[0] for r in lines} == {"本方填报", "对方填报"}
    keys = re.findall(r'name="row" value="([^"]+)"', page.text)
    form: dict[str, Any] = {"_csrf_token": _csrf(page.text), "row": keys}
    for key in keys:
        partner = re.search(
            rf'name="partner_id_{key}".*?<option value="([^"]*)" selected', page.text, re.S
        )
        kind = re.search(rf'name="kind_{key}".*?<option value="([^"]*)" selected', page.text, re.S)
        amount = re.search(rf'name="amount_{key}" value="([^"]*)"', page.text)
        assert amount is not None
        form[f"partner_id_{key}"] = partner.group(1) if partner and amount.group(1) else ""
        form[f"kind_{key}"] = kind.group(1) if kind else "receivable"
        form[f"amount_{key}"] = amount.group(1)
    target = next(
        k
        for k in keys
        if form[f"partner_id_{k}"] == mismatch["entity_id"] and form[f"kind_{k}"] == "payable"
    )
    lines_before = await db.fetchval("SELECT count(*) FROM intercompany_line")

    # a bad amount: the API's problem beside the row's amount, nothing written
    bad = {**form, f"amount_{target}": "-5"}
    refused = await client.post(f"/ledger/intercompany/{PERIOD}/{short}", data=bad)
    assert refused.status_code == 422
    assert re.search(
        rf'name="amount_{target}" value="-5"[^>]*aria-invalid="true">\s*'
        r'<span class="problem">must not be negative</span>',
        refused.text,
    )
    not_a_number = await client.post(
        f"/ledger/intercompany/{PERIOD}/{short}", data={**form, f"amount_{target}": "十二"}
    )
    assert not_a_number.status_code == 422
    assert "Invalid decimal" in not_a_number.text
    assert await db.fetchval("SELECT count(*) FROM intercompany_line") == lines_before

    # too much: the pair now differs the other way, shown in red
    over = Decimal(form[f"amount_{target}"]) + Decimal("13000.00")
    await client.post(
        f"/ledger/intercompany/{PERIOD}/{short}", data={**form, f"amount_{target}": str(over)}
    )
    report = await _mismatch_page(client)
    assert _rows(report.text, "ic-pairs")[0][5] == "-1,000.00"
    assert re.search(r'<td class="money neg">-1,000.00</td>', report.text)

    # the corrected amount, typed with thousands separators
    corrected = Decimal(form[f"amount_{target}"]) + Decimal("12000.00")
    fixed = await client.post(
        f"/ledger/intercompany/{PERIOD}/{short}",
        data={**form, f"amount_{target}": f"{corrected:,}"},
        follow_redirects=False,
    )
    assert fixed.status_code == 303, fixed.text
    assert await db.fetchval("SELECT count(*) FROM intercompany_line") == lines_before
    report = await _mismatch_page(client)
    assert _rows(report.text, "ic-pairs") == [["没有符合条件的记录"]]
    assert f"{corrected:,}" in (await client.get(fixed.headers["location"])).text

    # a row ticked 删除 is left out: without the stock still held, the sale no longer matches
    held = next(
        k
        for k in keys
        if form[f"partner_id_{k}"] == mismatch["entity_id"]
        and form[f"kind_{k}"] == "inventory_held"
    )
    data = {**form, f"amount_{target}": str(corrected), "remove": [held]}
    assert (
        await client.post(f"/ledger/intercompany/{PERIOD}/{short}", data=data)
    ).status_code == 200
    assert await db.fetchval("SELECT count(*) FROM intercompany_line") == lines_before - 1
    [pair] = _rows((await _mismatch_page(client)).text, "ic-pairs")
    assert pair[0] == "内部收入/成本"
    assert pair[5] == f"{Decimal(form[f'amount_{held}']):,}"


async def test_board_sees_no_form_and_scoped_staff_no_other_platform(
    demo_client: AsyncTestClient,
) -> None:
    client = demo_client
    bearer = await _sign_in(client, "board")
    [mismatch] = (
        await client.get(f"/api/v1/ledger/intercompany/mismatches?period={PERIOD}", headers=bearer)
    ).json()
    page = await client.get(f"/ledger/intercompany/{PERIOD}/{mismatch['partner_id']}")
    assert page.status_code == 200
    assert _rows(page.text, "ic-lines")
    assert 'method="post" action="/ledger/intercompany' not in page.text
    blocked = await client.post(
        f"/ledger/intercompany/{PERIOD}/{mismatch['partner_id']}",
        data={"_csrf_token": _csrf(page.text), "row": []},
    )
    assert blocked.status_code == 403
    await _sign_in(client, "ef_chengjian")
    other = await client.get(f"/ledger/intercompany/{PERIOD}/{mismatch['partner_id']}")
    assert other.status_code == 403
    own = await client.get(f"/ledger/intercompany/{PERIOD}/{mismatch['entity_id']}")
    assert own.status_code == 200 and "修改本方填报的往来" in own.text
