"""A posted statement is checked against the right earlier periods of its year."""

from __future__ import annotations

from typing import Any

URL = "/api/v1/ledger/statements/"


async def test_ytd_compares_with_the_latest_version_of_the_nearest_earlier_period(
    api: Any, make_entity: Any
) -> None:
    e = await make_entity("城建一公司")
    other = await make_entity("城建二公司")

    async def post(entity: str, period: str, revenue: str) -> Any:
        body = {"entity_id": entity, "period": period, "items": {"revenue": revenue}}
        return await api("POST", URL, json=body, status=201)

    await post(e, "2025-07", "700")
    await post(e, "2025-08", "800")
    await post(e, "2025-08", "850")  # the latest version of August is the reference
    await post(e, "2025-Q3", "9000")  # a quarter: not compared with months
    await post(e, "2024-12", "9000")  # last year
    await post(other, "2025-08", "9000")  # another company
    await post(e, "2025-10", "9000")  # later than September
    answer = await post(e, "2025-09", "820.50")
    # 820.50 < August's latest 850.00 (not 800.00, not 700.00, not the quarter's 9,000).
    assert [(f["item"], f["rule"], f["severity"]) for f in answer["findings"]] == [
        ("revenue", "ytd_cumulative", "warning")
    ]
    assert "本年累计数 820.50 小于 2025-08 的累计数 850.00" in answer["findings"][0]["message"]
    read = await api("GET", f"{URL}{e}/2025-09")
    assert read["findings"] == answer["findings"]
    # A year-to-date figure that did not fall: nothing to say.
    assert (await post(e, "2025-09", "850"))["findings"] == []
