"""任期考核 through the API: each year of a tenure as its year's scorecard gives it, the tenure
total as the average of the scored years, unscored years with their reason, and the scope."""

from __future__ import annotations

from typing import Any

from stateasset.auth.roles import ROLE_PERMISSIONS, Permission, Role
from tests.kpi.test_contracts_api import CONTRACTS, contract
from tests.ledger.test_rules import BALANCED


async def test_tenure_scorecard_by_year(api: Any, make_entity: Any, login_as: Any) -> None:
    company = await make_entity("城建投")
    for period in ("2025-Q4", "2026-Q4"):
        body = {"entity_id": company, "period": period, "items": BALANCED}
        await api("POST", "/api/v1/ledger/statements/", json=body, status=201)
    terms = contract(company)
    terms["targets"].append({"indicator": "profit", "year": 2026, "value": 2500, "basis": "预算"})
    terms["targets"].append({"indicator": "profit", "year": 2027, "value": 2600, "basis": "预算"})
    made = await api("POST", CONTRACTS, json=terms, status=201)
    for state in ("signed", "active"):
        await api("POST", f"{CONTRACTS}{made['id']}/transitions", json={"to": state})
    tenure = await api("GET", f"{CONTRACTS}{made['id']}/tenure")
    y2025, y2026, y2027 = tenure["years"]
    # 2025 is the year scorecard of test_contracts_api: ocr 24.97 + profit 68 = 92.97, A.
    assert (y2025["scored"], y2025["total"], y2025["grade"], y2025["rank"]) == (True, 92.97, "A", 1)
    assert (y2025["pay_coefficient"], y2025["review"]) == (1.5, False)
    # 2026, the same statement: ocr again 24.97; profit 2,250 against 2,500 = −10% → −3 steps
    # × 60/30 = −6 → 54 (the benchmark min(2,250, 2,250) is below the target: caps stay 12).
    # 24.97 + 54 = 78.97 → C (80 > 78.97 ≥ 70), pay 1.0.
    assert (y2026["scored"], y2026["total"], y2026["grade"], y2026["pay_coefficient"]) == (
        True,
        78.97,
        "C",
        1.0,
    )
    # 2027 has no statement: listed, not scored, with the reason.
    assert y2027 == {
        "year": 2027,
        "scored": False,
        "reason": "no statement for 2027-Q4",
        "total": None,
        "rank": None,
        "grade": None,
        "pay_coefficient": None,
        "review": None,
        "review_reason": None,
    }
    # Tenure total: (92.97 + 78.97) / 2 = 85.97 over 2 scored years.
    assert (tenure["total"], tenure["scored_years"]) == (85.97, 2)
    ocr, profit = tenure["indicators"]
    assert [(y["year"], y["actual"], y["target"], y["score"]) for y in profit["years"]] == [
        (2025, 2250.0, 2000.0, 68.0),
        (2026, 2250.0, 2500.0, 54.0),
        (2027, None, 2600.0, None),
    ]
    assert [y["score"] for y in ocr["years"]] == [24.97, 24.97, None]
    assert (profit["method_label"], profit["main"]) == ("同自身历史比", True)
    # The board reads it; a company's finance staff, where their role reads KPI at all, read
    # their own company's only (another company's contract is not found).
    board = await login_as("board")
    assert (await api("GET", f"{CONTRACTS}{made['id']}/tenure", headers=board))["total"] == 85.97
    other = await make_entity("水投")
    staff = await login_as("entity_finance", entity_id=other)
    reads = Permission.kpi_read in ROLE_PERMISSIONS[Role.entity_finance]
    await api("GET", f"{CONTRACTS}{made['id']}/tenure", headers=staff, status=404 if reads else 403)
    await api("GET", f"{CONTRACTS}{'0' * 8}-0000-4000-8000-{'0' * 12}/tenure", status=404)


async def test_a_draft_is_scored_in_no_year(api: Any, make_entity: Any) -> None:
    company = await make_entity("城建投")
    made = await api("POST", CONTRACTS, json=contract(company), status=201)
    tenure = await api("GET", f"{CONTRACTS}{made['id']}/tenure")
    assert tenure["total"] is None and tenure["scored_years"] == 0
    assert [y["year"] for y in tenure["years"]] == [2025, 2026, 2027]
    assert all("not the version scored" in y["reason"] for y in tenure["years"])
