"""SCENARIOS.md §1 and §2 walked through the API on the demo group (the ledger's part of them).

A platform's finance staff close 2026-Q3 from the Excel template; group finance locks the
quarter, reads the consolidations and, after a late correction, an admin reopens it.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import asyncpg
import openpyxl
import pytest
from litestar.testing import AsyncTestClient

from stateasset.demo import DEMO_PASSWORD, load_demo
from stateasset.ledger.catalogue import TOTALS

PERIOD = "2026-Q3"


@pytest.fixture
async def demo_client(db: asyncpg.Connection) -> AsyncIterator[AsyncTestClient]:
    # Loaded before the app starts: the app's pool lives on the test client's own loop.
    await load_demo()
    from stateasset.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


async def _sign_in(client: AsyncTestClient, username: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _get(client: AsyncTestClient, url: str, headers: dict[str, str]) -> Any:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_quarter_close_and_group_consolidation(
    demo_client: AsyncTestClient, db: asyncpg.Connection
) -> None:
    client = demo_client
    staff = await _sign_in(client, "ef_chengjian")
    finance = await _sign_in(client, "gf")
    admin = await _sign_in(client, "admin")

    # §1.1 — staff see only 城建投 and what it controls.
    platform = (await _get(client, "/api/v1/ledger/entities/?q=城建投", finance))["items"][0]
    ownership = await _get(client, f"/api/v1/ledger/entities/{platform['id']}/ownership", finance)
    expected = {platform["id"]} | {r["entity_id"] for r in ownership["rows"] if r["controlled"]}
    visible = await _get(client, "/api/v1/ledger/entities/?limit=500", staff)
    assert {e["id"] for e in visible["items"]} == expected
    codes = {e["credit_code"]: e["id"] for e in visible["items"]}

    # §1.2 — the template, filled in Excel with three wrong cells, is refused whole.
    template = await client.get(
        f"/api/v1/ledger/statements/template?period={PERIOD}", headers=staff
    )
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    assert len(book.sheetnames) == 1 + len(expected)
    for sheet in book.worksheets[1:]:
        entity_id = codes[sheet["B1"].value]
        current = await _get(client, f"/api/v1/ledger/statements/{entity_id}/{PERIOD}", staff)
        amounts = {line["item"]: line["amount"] for line in current["lines"]}
        for row in range(5, sheet.max_row + 1):
            if (item := sheet.cell(row=row, column=1).value) in amounts:
                sheet.cell(row=row, column=3, value=float(amounts[item]))
    first = book.worksheets[1]
    bad = {(first.title, 5, "C"): "一百万", (first.title, 6, "C"): 1.005}
    original_item = first["A7"].value
    first["A7"] = "no_such_item"
    for (title, row, column), value in bad.items():
        book[title][f"{column}{row}"] = value
    buffer = io.BytesIO()
    book.save(buffer)
    refused = await client.post(
        "/api/v1/ledger/statements/import",
        headers=staff,
        files={"file": ("q3.xlsx", buffer.getvalue())},
    )
    assert refused.status_code == 422
    located = sorted((e["row"], e["column"][0]) for e in refused.json()["import_errors"])
    assert located == [(5, "C"), (6, "C"), (7, "A")]
    versions = "SELECT count(*) FROM statement WHERE period = $1"
    assert await db.fetchval(versions, PERIOD) == 27

    first["A7"], first["C5"], first["C6"] = original_item, 1_000_000, 1.01
    buffer = io.BytesIO()
    book.save(buffer)
    # The edited cells unbalance that sheet's statement: put the difference in other assets.
    fixed = await client.post(
        "/api/v1/ledger/statements/import",
        headers=staff,
        files={"file": ("q3.xlsx", _rebalance(book))},
    )
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["statements"] == len(expected)
    assert await db.fetchval(versions, PERIOD) == 27 + len(expected)

    # §1.3 — the one pair that disagrees with 交通投's side by ¥12,000.00 is corrected.
    [mismatch] = await _get(
        client, f"/api/v1/ledger/intercompany/mismatches?period={PERIOD}", staff
    )
    assert Decimal(mismatch["difference"]) == Decimal("12000.00")
    short_side = mismatch["partner_id"]
    lines = await _get(
        client, f"/api/v1/ledger/intercompany/?period={PERIOD}&entity_id={short_side}", finance
    )
    own = [line for line in lines if line["entity_id"] == short_side]
    corrected = [
        {
            "partner_id": line["partner_id"],
            "kind": line["kind"],
            "amount": str(
                Decimal(line["amount"])
                + (
                    Decimal("12000.00")
                    if line["partner_id"] == mismatch["entity_id"] and line["kind"] == "payable"
                    else 0
                )
            ),
        }
        for line in own
    ]
    blocked = await client.post(
        "/api/v1/ledger/intercompany/",
        headers=staff,
        json={"entity_id": short_side, "period": PERIOD, "lines": corrected},
    )
    assert blocked.status_code == 404  # 交通投's side is not 城建投 staff's to edit
    ok = await client.post(
        "/api/v1/ledger/intercompany/",
        headers=finance,
        json={"entity_id": short_side, "period": PERIOD, "lines": corrected},
    )
    assert ok.status_code == 201, ok.text
    assert (
        await _get(client, f"/api/v1/ledger/intercompany/mismatches?period={PERIOD}", finance) == []
    )

    # §1.4 — staff submit Q3 for the platform (every reporting entity in their scope).
    submitted = await client.post(
        f"/api/v1/ledger/periods/{PERIOD}/transitions", headers=staff, json={"action": "submit"}
    )
    assert submitted.status_code == 200, submitted.text
    assert {s["entity_id"] for s in submitted.json()} == expected

    # §2.1–2.2 — the board, then submit what is left, validate and lock for all.
    board = await _get(client, f"/api/v1/ledger/periods/{PERIOD}", finance)
    still_open = [b["entity_id"] for b in board if b["state"] == "open"]
    url = f"/api/v1/ledger/periods/{PERIOD}/transitions"
    if still_open:
        await client.post(url, headers=finance, json={"action": "submit", "entity_ids": still_open})
    submitted_now = [
        b["entity_id"]
        for b in await _get(client, f"/api/v1/ledger/periods/{PERIOD}", finance)
        if b["state"] == "submitted"
    ]
    validate = await client.post(
        url, headers=finance, json={"action": "validate", "entity_ids": submitted_now}
    )
    assert validate.status_code == 200, validate.text
    lock = await client.post(url, headers=finance, json={"action": "lock"})
    assert lock.status_code == 200, lock.text
    board = await _get(client, f"/api/v1/ledger/periods/{PERIOD}", finance)
    assert {b["state"] for b in board} == {"locked"}

    # §2.3 — consolidations for the group, each platform and the 文旅 segment, and XLSX.
    nodes = ["group", "segment:culture_tourism"] + [
        f"platform:{p['id']}"
        for p in (await _get(client, "/api/v1/ledger/entities/?kind=platform", finance))["items"]
    ]
    for node in nodes:
        report = await _get(
            client, f"/api/v1/ledger/consolidation/?period={PERIOD}&node={node}", finance
        )
        items = {i["item"]: Decimal(i["consolidated"]) for i in report["items"]}
        assert items["elimination_difference"] == 0, node
        assert items["total_assets"] == items["total_liabilities"] + items["total_equity"], node
        assert report["missing_statements"] == [], node
    xlsx = await client.get(f"/api/v1/ledger/consolidation/xlsx?period={PERIOD}", headers=finance)
    assert xlsx.status_code == 200

    # §2.4 — a late correction: an admin reopens one company; everything above it reopens.
    company = next(iter(expected - {platform["id"]}))
    reopened = await client.post(
        url,
        headers=admin,
        json={"action": "reopen", "entity_ids": [company], "reason": "城建一公司 late correction"},
    )
    assert reopened.status_code == 200, reopened.text
    group = (await _get(client, "/api/v1/ledger/entities/?kind=group", finance))["items"][0]
    assert {company, platform["id"], group["id"]} <= {r["entity_id"] for r in reopened.json()}
    log = await _get(client, "/api/v1/audit/?action=period.reopen", admin)
    assert {r["actor"] for r in log["items"]} == {"admin"}
    assert all("城建一公司 late correction" in r["reason"] for r in log["items"])


def _rebalance(book: openpyxl.Workbook) -> bytes:
    """Make the edited first sheet balance again through other_assets (the staff's fix)."""
    sheet = book.worksheets[1]
    rows = {sheet.cell(row=r, column=1).value: r for r in range(5, sheet.max_row + 1)}

    def amount(item: str) -> Decimal:
        value = sheet.cell(row=rows[item], column=3).value
        return Decimal(repr(value)) if value is not None else Decimal(0)

    parts = [part for part in TOTALS["total_assets"] if part != "other_assets"]
    other = amount("total_assets") - sum((amount(p) for p in parts), Decimal(0))
    sheet.cell(row=rows["other_assets"], column=3, value=float(other))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
