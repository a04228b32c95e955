"""合并报表 and 审计日志 pages without a browser: DOMAIN.md §4's worked example as a page, its
drill-down to the members' statement versions, its workbook, scope, bad input; the audit log's
listing, filters, an entry's before and after, and the chain's check."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from io import BytesIO
from typing import Any

import asyncpg
import openpyxl
import pytest
from litestar.testing import AsyncTestClient
from worked_examples import CAS33_LINES, CAS33_STAKES, CAS33_STATEMENTS

from stateasset.ledger.credit_code import check_character
from tests.conftest import Login

PERIOD = "2025-Q4"
HTMX = {"HX-Request": "true"}
Api = Callable[..., Awaitable[Any]]


def _credit_code(n: int) -> str:
    first17 = f"913501{n:011d}"
    return first17 + check_character(first17)


@pytest.fixture
async def admin(login_as: Login) -> dict[str, str]:
    return await login_as("admin", username="admin")


@pytest.fixture
def api(client: AsyncTestClient, admin: dict[str, str]) -> Api:
    async def call(method: str, url: str, *, status: int = 200, **kwargs: Any) -> Any:
        response = await client.request(method, url, headers=admin, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    return call


@pytest.fixture
async def worked_example(api: Api) -> dict[str, str]:
    """DOMAIN.md §4's group (P, S1 the platform, A the associate, S2), filed for PERIOD."""
    kinds = {"P": ("集团", "group"), "S1": ("城建投", "platform"), "A": ("联营公司", "subsidiary"),
             "S2": ("城建一公司", "subsidiary")}  # fmt: skip
    ids = {}
    for n, (key, (name, kind)) in enumerate(kinds.items(), start=1):
        body = {"credit_code": _credit_code(n), "name": name, "kind": kind}
        ids[key] = (await api("POST", "/api/v1/ledger/entities/", json=body, status=201))["id"]
    for holder, held, share in CAS33_STAKES:
        body = {
            "holder_id": ids[holder],
            "held_id": ids[held],
            "economic_share": str(share),
            "valid_from": "2020-01-01",
        }
        await api("POST", "/api/v1/ledger/stakes", json=body, status=201)
    for name, items in CAS33_STATEMENTS.items():
        body = {"entity_id": ids[name], "period": PERIOD, "items": items}
        await api("POST", "/api/v1/ledger/statements/", json=body, status=201)
    lines: dict[str, list[dict[str, str]]] = {}
    for entity, partner, kind, amount in CAS33_LINES:
        lines.setdefault(entity, []).append(
            {"partner_id": ids[partner], "kind": kind, "amount": amount}
        )
    for name, rows in lines.items():
        body = {"entity_id": ids[name], "period": PERIOD, "lines": rows}
        await api("POST", "/api/v1/ledger/intercompany/", json=body, status=201)
    return ids


def _cells(html: str, row_text: str) -> list[str]:
    """The cell texts of the first table row containing `row_text`."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S):
        if row_text in row:
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]
    raise AssertionError(f"no row with {row_text!r}")


# --- 合并报表 -------------------------------------------------------------------------------


async def test_the_group_report_shows_the_worked_example(
    client: AsyncTestClient, login_as: Login, worked_example: dict[str, str]
) -> None:
    gf = await login_as("group_finance")
    chosen = await client.get(
        f"/ledger/consolidation?node=group&period={PERIOD}", headers=gf, follow_redirects=False
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == f"/ledger/consolidation/{PERIOD}/group"
    page = await client.get(f"/ledger/consolidation/{PERIOD}/group", headers=gf)
    assert page.status_code == 200
    html = page.text
    assert "集团 · 2025年第4季度 · 合并报表" in html
    assert 'data-source="computed"' in html and "即时计算" in html
    # 资产总计: 3,700 summed, 853.6 eliminated (50 + 800 + 3.6), 2,846.4 consolidated
    assert _cells(html, "资产总计") == ["资产总计", "3,700.00", "853.60", "2,846.40"]
    assert _cells(html, ">存货<") == ["存货", "400.00", "3.60", "396.40"]
    assert f'href="/ledger/consolidation/{PERIOD}/group/items/total_assets"' in html
    # summary rows apart from the items, with their amounts
    summary = html.split('class="card summary-rows"')[1].split("</section>")[0]
    assert re.search(r"少数股东权益</dt><dd[^>]*><a [^>]*>359.28</a>", summary)
    assert re.search(r"归属于母公司所有者权益</dt><dd[^>]*>1,737.12</dd>", summary)
    assert re.search(r"未实现内部销售利润</dt><dd[^>]*>3.60</dd>", summary)
    items_table = html.split('id="tbl-consolidation-items"')[1].split("</table>")[0]
    assert "资产总计" in items_table and "少数股东权益" not in items_table
    assert "抵销差额为零" in html
    assert 'href="/ledger/consolidation/2025-Q4/group/report.xlsx"' in html
    # htmx asks for the table only
    fragment = await client.get(
        f"/ledger/consolidation/{PERIOD}/group?q=总计", headers={**gf, **HTMX}
    )
    assert fragment.text.startswith('<div id="tbl-consolidation-items"')
    assert "<html" not in fragment.text, fragment.text
    assert "共 1 条" in fragment.text, fragment.text


async def test_an_item_drills_down_to_each_members_statement_version(
    client: AsyncTestClient, api: Api, login_as: Login, worked_example: dict[str, str]
) -> None:
    ids = worked_example
    # S2 files a second version: the report and the drill-down use it.
    s2 = {**CAS33_STATEMENTS["S2"], "cash": "110", "inventory": "390"}
    await api(
        "POST",
        "/api/v1/ledger/statements/",
        json={"entity_id": ids["S2"], "period": PERIOD, "items": s2},
        status=201,
    )
    gf = await login_as("group_finance")
    page = await client.get(f"/ledger/consolidation/{PERIOD}/group/items/inventory", headers=gf)
    assert page.status_code == 200
    html = page.text
    assert "<h1>存货 · 成员明细</h1>" in html
    assert re.search(r'data-figure="aggregated">390.00<', html)
    assert re.search(r'data-figure="consolidated">386.40<', html)  # 390 − 3.6
    assert re.search(r'data-figure="members">390.00<', html)
    assert _cells(html, "城建一公司") == ["城建一公司", "390.00", "第 2 版", "编制中"]
    link = f"/ledger/reports/{ids['S2']}/{PERIOD}/2"
    assert f'href="{link}"' in html
    assert f'href="/ledger/entities/{ids["S2"]}"' in html
    # total assets: each member at its own amount and version 1
    page = await client.get(f"/ledger/consolidation/{PERIOD}/group/items/total_assets", headers=gf)
    assert _cells(page.text, ">集团<") == ["集团", "2,000.00", "第 1 版", "编制中"]
    assert _cells(page.text, "城建投") == ["城建投", "1,200.00", "第 1 版", "编制中"]
    assert "联营公司" not in page.text  # the associate is not a member
    assert (
        await client.get(f"/ledger/consolidation/{PERIOD}/group/items/nope", headers=gf)
    ).status_code == 404


async def test_eliminations_by_pair_and_minority_interest_by_member(
    client: AsyncTestClient, login_as: Login, worked_example: dict[str, str]
) -> None:
    gf = await login_as("group_finance")
    page = await client.get(f"/ledger/consolidation/{PERIOD}/group/eliminations", headers=gf)
    assert page.status_code == 200
    assert _cells(page.text, "内部往来（应收应付）") == [
        "内部往来（应收应付）", "集团", "城建投", "集团", "50.00", "50.00", "0.00"
    ]  # fmt: skip
    assert _cells(page.text, "内部交易（收入成本）")[1:] == [
        "城建投", "城建一公司", "城建投", "100.00", "100.00", "0.00"
    ]  # fmt: skip
    assert "共 5 条" in page.text
    nci = await client.get(f"/ledger/consolidation/{PERIOD}/group/nci", headers=gf)
    # S2: x = 0.8 × 0.6 = 48%; 52% of its 500 of net assets = 260
    assert _cells(nci.text, "城建一公司") == [
        "城建一公司", "48.00%", "500.00", "260.00", "60.00", "31.20"
    ]  # fmt: skip
    assert _cells(nci.text, ">城建投<")[3] == "99.28"


async def test_the_workbook_holds_the_report_as_sheets(
    client: AsyncTestClient, login_as: Login, worked_example: dict[str, str]
) -> None:
    gf = await login_as("group_finance")
    response = await client.get(f"/ledger/consolidation/{PERIOD}/group/report.xlsx", headers=gf)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(BytesIO(response.content))
    assert book.sheetnames[:3] == ["合并报表", "抵销分录", "少数股东权益"]
    rows = {r[0]: r for r in book["合并报表"].iter_rows(min_row=4, values_only=True)}
    assert [c.value for c in book["合并报表"][3]] == [
        "项目编码",
        "项目名称",
        "汇总数",
        "抵销数",
        "合并数",
    ]
    assert rows["total_assets"][1:] == ("资产总计", 3700, 853.6, 2846.4)
    # one tab's table, as filtered
    export = await client.get(
        f"/ledger/consolidation/{PERIOD}/group/export/nci?q=城建一", headers=gf
    )
    sheet = openpyxl.load_workbook(BytesIO(export.content))["少数股东权益"]
    assert [c.value for c in sheet[1]][:4] == ["成员", "归母权益比例", "自身净资产", "少数股东权益"]
    assert sheet.cell(2, 1).value == "城建一公司" and sheet.max_row == 2


async def test_a_locked_period_reads_back_the_stored_result(
    client: AsyncTestClient, api: Api, login_as: Login, worked_example: dict[str, str]
) -> None:
    for action in ("submit", "validate", "lock"):
        await api("POST", f"/api/v1/ledger/periods/{PERIOD}/transitions", json={"action": action})
    gf = await login_as("group_finance")
    first = await client.get(f"/ledger/consolidation/{PERIOD}/group", headers=gf)
    second = await client.get(f"/ledger/consolidation/{PERIOD}/group", headers=gf)
    assert 'data-source="computed"' in first.text
    assert 'data-source="stored"' in second.text and "存储结果" in second.text
    assert _cells(second.text, "资产总计")[3] == "2,846.40"
    drill = await client.get(f"/ledger/consolidation/{PERIOD}/group/items/cash", headers=gf)
    assert _cells(drill.text, "城建一公司")[3] == "已锁定"


async def test_a_platform_user_sees_its_platform_and_gets_403_elsewhere(
    client: AsyncTestClient, login_as: Login, worked_example: dict[str, str]
) -> None:
    s1 = worked_example["S1"]
    ef = await login_as("entity_finance", entity_id=s1)
    start = await client.get("/ledger/consolidation", headers=ef, follow_redirects=False)
    assert start.status_code == 303
    # its own platform, in the newest period it filed
    assert start.headers["location"] == f"/ledger/consolidation/{PERIOD}/platform:{s1}"
    own = await client.get(f"/ledger/consolidation/{PERIOD}/entity:{s1}", headers=ef)
    assert own.status_code == 200
    # S1 with S2: 1,200 + 500 less S1's 300 investment in S2 and the 3.6 of profit in S2's stock
    assert _cells(own.text, "资产总计") == ["资产总计", "1,700.00", "303.60", "1,396.40"]
    assert "集团</option>" not in own.text  # the group is not offered
    for path in ("group", f"entity:{worked_example['P']}", "segment:culture_tourism"):
        denied = await client.get(f"/ledger/consolidation/{PERIOD}/{path}", headers=ef)
        assert denied.status_code == 403, path
        assert "您无权查看此页面" in denied.text
    drill = await client.get(
        f"/ledger/consolidation/{PERIOD}/group/items/cash", headers=ef, follow_redirects=False
    )
    assert drill.status_code == 403
    fm = await login_as("fund_manager")
    assert (await client.get("/ledger/consolidation", headers=fm)).status_code == 403


async def test_bad_choices_show_the_problem_next_to_the_field(
    client: AsyncTestClient, login_as: Login, worked_example: dict[str, str]
) -> None:
    gf = await login_as("group_finance")
    response = await client.get("/ledger/consolidation?node=group&period=2025-Q5", headers=gf)
    assert response.status_code == 422
    field = re.search(r'<label class="field has-problem">期间(.*?)</label>', response.text, re.S)
    assert field is not None and 'aria-invalid="true"' in field.group(1)
    assert re.search(r'<span class="problem">[^<]*2025-Q5', field.group(1))
    response = await client.get(
        f"/ledger/consolidation?node=segment:nowhere&period={PERIOD}", headers=gf
    )
    assert response.status_code == 422
    assert re.search(
        r'class="field has-problem">合并范围.*?class="problem">请选择', response.text, re.S
    )
    # a bad period typed into the address shows the API's problem
    typed = await client.get("/ledger/consolidation/2025-Q9/group", headers=gf)
    assert typed.status_code == 422 and "query.period" in typed.text


# --- 审计日志 -------------------------------------------------------------------------------


async def test_the_auditor_reads_the_log_with_the_chain_verified(
    client: AsyncTestClient, api: Api, login_as: Login, db: asyncpg.Connection,
    worked_example: dict[str, str],
) -> None:  # fmt: skip
    for n in range(6):  # enough entries by admin for two pages of 20
        await api(
            "PATCH", f"/api/v1/ledger/entities/{worked_example['A']}", json={"industry": f"行业{n}"}
        )
    await api(
        "PATCH",
        f"/api/v1/ledger/entities/{worked_example['S2']}",
        json={"short_name": "城建一", "industry": "城市建设"},
    )
    auditor = await login_as("auditor")
    page = await client.get("/audit", headers=auditor)
    assert page.status_code == 200
    html = page.text
    assert 'data-chain="ok"' in html and "哈希链校验通过" in html
    total = await db.fetchval("SELECT count(*) FROM audit_log")
    assert f"共 {total} 条" in html
    assert re.search(r'class="checked-at">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d<', html)
    assert re.search(r'<a href="/audit" class="active"[^>]*>.*?审计日志</a>', html)  # the menu
    # filtered by person and object: the listing's own filters, in SQL
    update = await db.fetchrow(
        "SELECT id FROM audit_log WHERE action = 'entity.update' AND object_id = $1",
        worked_example["S2"],
    )
    filtered = await client.get(
        f"/audit?f_actor=admin&f_object_type=entity&f_object_id={worked_example['S2']}",
        headers={**auditor, **HTMX},
    )
    assert filtered.text.startswith('<div id="tbl-audit"')
    assert "共 2 条" in filtered.text  # created, then updated
    assert _cells(filtered.text, "entity.update")[0] == str(update["id"])
    # paging is the service's: one page of 20 out of every entry, and the pager keeps the filter
    paged = await client.get("/audit?f_actor=admin&size=20&page=2", headers={**auditor, **HTMX})
    admin_total = await db.fetchval("SELECT count(*) FROM audit_log WHERE actor = 'admin'")
    assert f"共 {admin_total} 条" in paged.text and admin_total > 20
    assert paged.text.count('<a href="/audit/') == min(20, admin_total - 20)
    assert 'href="?page=1&amp;size=20&amp;f_actor=admin"' in paged.text
    # an entry: before and after side by side
    entry = await client.get(f"/audit/{update['id']}", headers=auditor)
    assert entry.status_code == 200
    assert _cells(entry.text, "short_name")[1:] == ["", "城建一"]
    assert re.search(r'<tr class="changed"><td>industry</td>', entry.text)
    assert (await client.get("/audit/999999", headers=auditor)).status_code == 404
    # a statement's items, one row each
    filed = await db.fetchval(
        "SELECT id FROM audit_log WHERE action = 'statement.submit' AND object_id LIKE $1",
        f"{worked_example['P']}%",
    )
    statement = await client.get(f"/audit/{filed}", headers=auditor)
    assert _cells(statement.text, "items.total_assets")[1] == ""
    assert _cells(statement.text, "items.total_assets")[2].startswith("2000")
    # export: every matching row
    export = await client.get(
        f"/audit/export.xlsx?f_action=entity.update&f_object_id={worked_example['S2']}",
        headers=auditor,
    )
    sheet = openpyxl.load_workbook(BytesIO(export.content))["审计日志"]
    assert [c.value for c in sheet[1]][:3] == ["编号", "时间（北京时间）", "操作人"]
    assert sheet.max_row == 2 and sheet.cell(2, 1).value == str(update["id"])


async def test_a_date_the_log_cannot_read_is_shown_at_its_field(
    client: AsyncTestClient, login_as: Login
) -> None:
    auditor = await login_as("auditor")
    page = await client.get("/audit?f_since=2026-13-01", headers=auditor)
    assert page.status_code == 422
    assert re.search(
        r'<label class="field has-problem"><input type="date" name="f_since" value="2026-13-01"'
        r'[^>]*aria-invalid="true"><span class="problem">[^<]*不是日期',
        page.text,
    )
    assert "共 0 条" in page.text


async def test_a_changed_entry_breaks_the_chain_on_the_page(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection,
    worked_example: dict[str, str],
) -> None:  # fmt: skip
    auditor = await login_as("auditor")
    assert 'data-chain="ok"' in (await client.get("/audit", headers=auditor)).text
    await db.execute("SET session_replication_role = replica")  # past the append-only trigger
    await db.execute("UPDATE audit_log SET reason = 'edited' WHERE id = 2")
    await db.execute("SET session_replication_role = DEFAULT")
    page = await client.get("/audit", headers=auditor)
    assert 'data-chain="broken"' in page.text and "哈希链校验未通过" in page.text
    assert 'href="/audit/2"' in page.text


async def test_group_finance_has_no_audit_log(client: AsyncTestClient, login_as: Login) -> None:
    gf = await login_as("group_finance")
    assert (await client.get("/audit", headers=gf)).status_code == 403
    assert (await client.get("/audit/1", headers=gf)).status_code == 403
    assert (await client.get("/audit/export.xlsx", headers=gf)).status_code == 403
    home = await client.get("/", headers=gf)
    assert "合并报表" in home.text and "审计日志" not in home.text
