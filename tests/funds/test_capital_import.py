"""A fund's capital account from XLSX: every problem by row and column, all or nothing."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import openpyxl

from tests.funds.conftest import key

HEADERS = ("LP统一社会信用代码", "类型", "日期", "金额", "到账日期", "可再投资")


def _workbook(rows: list[tuple[Any, ...]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


async def test_an_import_with_bad_rows_stores_nothing_and_a_good_one_stores_all(
    client: Any, admin: dict[str, str], tree: dict[str, Any], db: Any
) -> None:
    codes = {
        r["id"]: r["credit_code"]
        for r in await db.fetch("SELECT id::text AS id, credit_code FROM entity")
    }
    city, market = codes[tree["city"]], codes[tree["market_lp"]]
    url = f"/api/v1/funds/{tree['sub']}/capital/import"
    bad = _workbook(
        [
            (city, "出资", "2021-03-01", "5000000.00", "2021-03-10", None),
            # 城投's commitment is 20,000,000.00: 5,000,000 called above, 15,000,000 left.
            (city, "出资", "2021-06-01", "15000000.01", None, None),
            ("91350100MA00000000", "出资", "2021-03-01", "1.00", None, None),
            (market, "分配", "2021-12-01", "12.345", None, "是"),
        ]
    )
    files = {"file": ("capital.xlsx", bad)}
    refused = await client.post(url, files=files, headers={**admin, **key("imp-1")})
    assert refused.status_code == 422, refused.text
    errors = {(e["row"], e["column"]): e["reason"] for e in refused.json()["import_errors"]}
    assert "has no commitment to this fund" in errors[(4, "A")]
    assert "more than 2 decimal places" in errors[(5, "D")]
    assert await db.fetchval("SELECT count(*) FROM fund_flow") == 0

    # Row 3 alone is wrong once the others parse: over the unfunded amount, with the numbers.
    over = _workbook(
        [
            (city, "出资", "2021-03-01", "5000000.00", "2021-03-10", None),
            (city, "出资", "2021-06-01", "15000000.01", None, None),
        ]
    )
    files = {"file": ("capital.xlsx", over)}
    refused = await client.post(url, files=files, headers={**admin, **key("imp-2")})
    assert refused.status_code == 422
    (problem,) = refused.json()["import_errors"]
    assert (problem["row"], problem["column"]) == (3, "D")
    assert "unfunded 15000000.00" in problem["reason"]
    assert await db.fetchval("SELECT count(*) FROM fund_flow") == 0

    good = _workbook(
        [
            (city, "出资", "2021-03-01", "5000000.00", "2021-03-10", None),
            (market, "出资", "2021-03-01", "12500000.00", None, None),
            (market, "分配", "2021-12-01", "1000000.00", None, "是"),
        ]
    )
    files = {"file": ("capital.xlsx", good)}
    done = await client.post(url, files=files, headers={**admin, **key("imp-3")})
    assert done.status_code == 201, done.text
    assert (done.json()["calls"], done.json()["distributions"]) == (2, 1)
    accounts = {
        a["lp_id"]: a
        for a in (await client.get(f"/api/v1/funds/{tree['sub']}/positions", headers=admin)).json()
    }
    # The market LP: 50,000,000 − 12,500,000 called + 1,000,000 recallable = 38,500,000.
    assert accounts[tree["market_lp"]]["unfunded"] == "38500000.00"
    assert accounts[tree["city"]]["paid_in"] == "5000000.00"
