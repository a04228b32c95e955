"""KPI contracts through the API: validation naming the field, states and versions, the board's
read-only access, and a scorecard from a filed statement with its arithmetic."""

from __future__ import annotations

import copy
from typing import Any

import asyncpg

from tests.ledger.test_rules import BALANCED

CONTRACTS = "/api/v1/kpi/contracts/"


def contract(company: str) -> dict[str, Any]:
    return {
        "company_id": company,
        "name": "2025—2027年任期经营业绩责任书",
        "industry": "建筑",
        "tenure_start": 2025,
        "tenure_years": 3,
        "managers": ["张三", "李四"],
        "indicators": [
            {
                "code": "ocr",
                "name": "营业现金比率",
                "weight": 40,
                "method": "efficacy",
                "source": "operating_cash_ratio",
                "parameters": {"tiers": [20, 15, 10, 5, 0]},
            },
            {
                "code": "profit",
                "name": "净利润",
                "weight": 60,
                "method": "target_step",
                "source": "net_profit",
                "main": True,
            },
        ],
        "targets": [{"indicator": "profit", "year": 2025, "value": 2000, "basis": "上年实际×1.05"}],
        "adjustments": [],
    }


async def test_bad_contracts_answer_422_naming_the_field(api: Any, make_entity: Any) -> None:
    company = await make_entity("城建投")
    body = contract(company)
    bad = copy.deepcopy(body)
    bad["indicators"][0]["weight"] = 30
    problem = await api("POST", CONTRACTS, json=bad, status=422)
    assert {"field": "body.indicators", "reason": "weights sum to 90, not 100"} in problem["errors"]
    bad = copy.deepcopy(body)
    bad["indicators"][0]["parameters"] = {}
    problem = await api("POST", CONTRACTS, json=bad, status=422)
    assert [e["field"] for e in problem["errors"]] == ["body.indicators[0].parameters.tiers"]
    bad = copy.deepcopy(body)
    bad["targets"].append({"indicator": "roe", "year": 2025, "value": 8})
    problem = await api("POST", CONTRACTS, json=bad, status=422)
    assert [e["field"] for e in problem["errors"]] == ["body.targets[1].indicator"]
    bad = copy.deepcopy(body)
    bad["indicators"][1]["method"] = "macro"
    problem = await api("POST", CONTRACTS, json=bad, status=422)
    assert [e["field"] for e in problem["errors"]] == [
        "body.indicators[1].parameters.macro_series",
        "body.indicators[1].parameters.offsets",
    ]


async def test_signed_contract_changes_only_by_a_new_version(
    api: Any, make_entity: Any, login_as: Any, db: asyncpg.Connection
) -> None:
    company = await make_entity("城建投")
    draft = await api("POST", CONTRACTS, json=contract(company), status=201)
    assert (draft["state"], draft["version"]) == ("draft", 1)
    edited = contract(company)
    edited["name"] = "修订稿"
    assert (await api("PUT", f"{CONTRACTS}{draft['id']}", json=edited))["name"] == "修订稿"
    signed = await api("POST", f"{CONTRACTS}{draft['id']}/transitions", json={"to": "signed"})
    assert (signed["state"], signed["state_label"]) == ("signed", "已签订")
    problem = await api("PUT", f"{CONTRACTS}{draft['id']}", json=contract(company), status=409)
    assert "new version" in problem["detail"]
    await api("POST", f"{CONTRACTS}{draft['id']}/transitions", json={"to": "closed"}, status=409)
    v2 = await api("POST", f"{CONTRACTS}{draft['id']}/versions", json=contract(company), status=201)
    assert (v2["version"], v2["lineage"], v2["state"]) == (2, draft["id"], "draft")
    old = await api("GET", f"{CONTRACTS}{draft['id']}")
    assert (old["name"], old["state"]) == ("修订稿", "signed")
    board = await login_as("board")
    assert len(await api("GET", CONTRACTS, headers=board)) == 2
    await api("POST", CONTRACTS, json=contract(company), headers=board, status=403)
    actions = await db.fetch(
        "SELECT action FROM audit_log WHERE object_type = 'kpi_contract' ORDER BY at, action"
    )
    assert [a["action"] for a in actions] == [
        "kpi_contract.create",
        "kpi_contract.update",
        "kpi_contract.signed",
        "kpi_contract.version",
    ]


async def test_scorecard_from_the_statement_with_its_arithmetic(api: Any, make_entity: Any) -> None:
    company = await make_entity("城建投")
    filed = await api(
        "POST",
        "/api/v1/ledger/statements/",
        json={"entity_id": company, "period": "2025-Q4", "items": BALANCED},
        status=201,
    )
    made = await api("POST", CONTRACTS, json=contract(company), status=201)
    for state in ("signed", "active"):
        await api("POST", f"{CONTRACTS}{made['id']}/transitions", json={"to": state})
    card = await api("GET", f"{CONTRACTS}{made['id']}/scorecard?year=2025")
    ocr, profit = card["indicators"]
    # 6,630.70 / 62,500 = 10.6091%: 平均 (10) reached, base 40 × 0.6 = 24,
    # efficacy 0.6091 / 5 = 0.1218, adjustment 0.1218 × (32 − 24) = 0.97 → 24.97.
    assert round(ocr["actual"], 2) == 10.61
    assert (ocr["tier"], ocr["base"], round(ocr["efficacy"], 4), ocr["score"]) == (
        "平均",
        24.0,
        0.1218,
        24.97,
    )
    # Net profit 2,250 against 2,000: +12.5% = 4 steps × 60/30 = 8, under the cap 12 → 68.
    assert (
        profit["actual"],
        profit["target"],
        profit["adjustment"],
        profit["cap"],
        profit["score"],
    ) == (
        2250.0,
        2000.0,
        8.0,
        12.0,
        68.0,
    )
    assert (card["total"], card["grade"], card["pay_coefficient"], card["review"]) == (
        92.97,
        "A",
        1.5,
        False,
    )
    assert [(s["period"], s["version"]) for s in card["statements"]] == [
        ("2025-Q4", filed["version"])
    ]
    ranking = await api("GET", "/api/v1/kpi/scorecards?year=2025")
    assert [(r["company_name"], r["rank"], r["grade"]) for r in ranking] == [("城建投", 1, "A")]
    await api("GET", "/api/v1/kpi/scorecards?year=1900", status=400)
