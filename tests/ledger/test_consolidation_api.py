"""Consolidation by CAS 33 through the API: DOMAIN.md §4's worked example, a cross holding,
missing investment lines, an override to the equity method, and stored results for locked
periods."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from worked_examples import CAS33_LINES, CAS33_STAKES, CAS33_STATEMENTS

PERIOD = "2025-Q4"
CONSOLIDATION = f"/api/v1/ledger/consolidation/?period={PERIOD}"

# DOMAIN.md §4's worked example (tests/worked_examples.py), filed through the API.
DOMAIN_STATEMENTS = CAS33_STATEMENTS
DOMAIN_LINES: dict[str, list[tuple[str, str, str]]] = {}
for _entity, _partner, _kind, _amount in CAS33_LINES:
    DOMAIN_LINES.setdefault(_entity, []).append((_partner, _kind, _amount))


async def _file(api: Any, ids: dict[str, str], statements: dict, lines: dict) -> None:
    for name, items in statements.items():
        body = {"entity_id": ids[name], "period": PERIOD, "items": items}
        await api("POST", "/api/v1/ledger/statements/", json=body, status=201)
    for name, rows in lines.items():
        body = {
            "entity_id": ids[name],
            "period": PERIOD,
            "lines": [{"partner_id": ids[p], "kind": k, "amount": a} for p, k, a in rows],
        }
        await api("POST", "/api/v1/ledger/intercompany/", json=body, status=201)


@pytest.fixture
async def domain_group(api: Any, make_entity: Any, make_stake: Any) -> dict[str, str]:
    ids = {
        "P": await make_entity("集团", kind="group"),
        "S1": await make_entity("城建投", kind="platform"),
        "A": await make_entity("联营公司"),
        "S2": await make_entity("城建一公司"),
    }
    for holder, held, share in CAS33_STAKES:
        await make_stake(ids[holder], ids[held], str(share))
    await _file(api, ids, DOMAIN_STATEMENTS, DOMAIN_LINES)
    return ids


def _figures(report: dict[str, Any]) -> dict[str, Decimal]:
    return {i["item"]: Decimal(i["consolidated"]) for i in report["items"]}


async def test_domain_worked_example_through_the_api(api: Any, domain_group: dict) -> None:
    ids = domain_group
    report = await api("GET", f"{CONSOLIDATION}&node=group&eliminations=all")
    got = _figures(report)
    # DOMAIN.md §4, every figure it states.
    assert got["total_assets"] == Decimal("2846.4")  # 3,700 − 50 − 800 − 3.6
    assert got["inventory"] == Decimal("396.4")
    assert got["total_liabilities"] == 750
    assert got["paid_in_capital"] == 1000
    assert got["capital_reserve"] == 132  # 200 + 0.8×600 + 0.48×400 − (500 + 0.8×300)
    assert got["retained_earnings"] == Decimal("605.12")  # 400 + 160 + 48 − 2.88
    assert got["non_controlling_interest"] == Decimal("359.28")  # 99.28 + 260
    assert got["total_equity"] == Decimal("2096.4")
    assert got["equity_attributable_to_parent"] == Decimal("1737.12")
    assert got["state_capital"] == Decimal("1737.12")  # 1 × (1,737.12 − 0) + 0
    assert got["long_term_equity_investment"] == 100  # A, the associate
    assert got["revenue"] == 1800
    assert got["operating_cost"] == Decimal("1203.6")
    assert got["net_profit"] == Decimal("406.4")
    assert got["nci_profit"] == Decimal("70.48")
    assert got["net_profit_attributable_to_parent"] == Decimal("335.92")
    assert got["unrealized_profit"] == Decimal("3.6")
    # aggregated − eliminated = consolidated on every item row; summary rows have neither.
    for row in report["items"]:
        if row["aggregated"] is None:
            assert row["eliminated"] is None, row["item"]
            assert row["item"] in {"non_controlling_interest", "nci_profit", "unrealized_profit",
                                   "equity_attributable_to_parent", "reserve_shortfall",
                                   "elimination_difference", "treasury_stock",
                                   "net_profit_attributable_to_parent"}  # fmt: skip
        else:
            assert Decimal(row["aggregated"]) - Decimal(row["eliminated"]) == Decimal(
                row["consolidated"]
            ), row["item"]
    nci = {n["entity_id"]: n for n in report["nci"]}
    assert nci[ids["S2"]]["consolidated_interest"] == pytest.approx(0.48)
    assert Decimal(nci[ids["S1"]]["non_controlling_interest"]) == Decimal("99.28")
    assert sorted(report["members"]) == sorted([ids["P"], ids["S1"], ids["S2"]])
    assert report["missing_investment_lines"] == []
    kinds = sorted(e["kind"] for e in report["eliminations"])
    assert kinds == [
        "investment",
        "investment",
        "receivable_payable",
        "revenue_cost",
        "unrealized_profit",
    ]
    summary = {s["kind"]: s for s in report["elimination_summary"]}
    assert summary["investment"]["count"] == 2
    assert Decimal(summary["investment"]["entity_amount"]) == 800
    # The ownership view shows both interests: S2 is 51% look-through, 48% the parent's.
    view = await api("GET", f"/api/v1/ledger/entities/{ids['P']}/ownership?as_of=2025-12-31")
    s2 = next(r for r in view["rows"] if r["entity_id"] == ids["S2"])
    assert (s2["effective_interest"], s2["consolidated_interest"]) == (
        pytest.approx(0.51),
        pytest.approx(0.48),
    )
    # The mismatch report matches S1's 100 against S2's 88 + 12: nothing to clear.
    assert await api("GET", f"/api/v1/ledger/intercompany/mismatches?period={PERIOD}") == []


async def test_the_summary_is_the_default_and_every_elimination_is_asked_for(
    api: Any, domain_group: dict
) -> None:
    report = await api("GET", f"{CONSOLIDATION}&node=group")
    assert report["eliminations"] == []
    assert {s["kind"] for s in report["elimination_summary"]} == {
        "investment",
        "receivable_payable",
        "revenue_cost",
        "unrealized_profit",
    }


async def test_cross_holding_between_two_subsidiaries(
    api: Any, make_entity: Any, make_stake: Any
) -> None:
    # P holds S1 70%; S1 holds S2 60%; S2 holds S1 10%. x1 = 0.7 / 0.94 = 0.744680851…,
    # x2 = 0.6 × x1 = 0.446808510…; each investment carried at its share of book equity.
    ids = {
        "P": await make_entity("集团", kind="group"),
        "S1": await make_entity("交通投", kind="platform"),
        "S2": await make_entity("交通物流公司"),
    }
    await make_stake(ids["P"], ids["S1"], "0.7")
    await make_stake(ids["S1"], ids["S2"], "0.6")
    await make_stake(ids["S2"], ids["S1"], "0.1")
    statements = {
        "P": {"other_assets": "1000", "long_term_equity_investment": "700",
              "total_assets": "1700", "total_liabilities": "0", "paid_in_capital": "1700",
              "total_equity": "1700", "net_profit": "100"},
        "S1": {"other_assets": "400", "long_term_equity_investment": "600",
               "total_assets": "1000", "total_liabilities": "0", "paid_in_capital": "1000",
               "total_equity": "1000", "net_profit": "94"},
        "S2": {"other_assets": "900", "long_term_equity_investment": "100",
               "total_assets": "1000", "total_liabilities": "0", "paid_in_capital": "1000",
               "total_equity": "1000", "net_profit": "47"},
    }  # fmt: skip
    lines = {
        "P": [("S1", "investment", "700")],
        "S1": [("S2", "investment", "600")],
        "S2": [("S1", "investment", "100")],
    }
    await _file(api, ids, statements, lines)
    report = await api("GET", f"{CONSOLIDATION}&node=group")
    got = _figures(report)
    # Only the outside assets remain: 1,000 + 400 + 900.
    assert got["total_assets"] == 2300
    # NCI: (1 − 0.744680851) × (1,000 − 600) = 102.13; (1 − 0.446808510) × (1,000 − 100) = 497.87.
    nci = {n["entity_id"]: Decimal(n["non_controlling_interest"]) for n in report["nci"]}
    assert nci == {ids["S1"]: Decimal("102.13"), ids["S2"]: Decimal("497.87")}
    # Attributable: the group's look-through share of the outside net assets,
    # 1,000 + 0.744680851 × 400 + 0.446808510 × 900 = 1,000 + 297.87 + 402.13.
    assert got["equity_attributable_to_parent"] == 1700
    assert got["capital_reserve"] == 0
    # Profit: 0.255319149 × 94 = 24; 0.553191489 × 47 = 26.
    assert got["nci_profit"] == 50
    assert got["net_profit_attributable_to_parent"] == 191


async def test_missing_investment_lines_are_listed_on_the_consolidation_and_the_mismatch_report(
    api: Any, domain_group: dict
) -> None:
    ids = domain_group
    # S1 files its lines again without the investment in S2.
    body = {
        "entity_id": ids["S1"],
        "period": PERIOD,
        "lines": [
            {"partner_id": ids["P"], "kind": "payable", "amount": "50"},
            {"partner_id": ids["S2"], "kind": "revenue", "amount": "100"},
        ],
    }
    await api("POST", "/api/v1/ledger/intercompany/", json=body, status=201)
    report = await api("GET", f"{CONSOLIDATION}&node=group")
    assert report["missing_investment_lines"] == [
        {"holder_id": ids["S1"], "held_id": ids["S2"], "economic_share": 0.6}
    ]
    assert any("investment" in note for note in report["notes"])
    mismatches = await api("GET", f"/api/v1/ledger/intercompany/mismatches?period={PERIOD}")
    assert [(m["kind"], m["entity_id"], m["partner_id"]) for m in mismatches] == [
        ("missing_investment_line", ids["S1"], ids["S2"])
    ]


async def test_an_override_to_the_equity_method(api: Any, domain_group: dict) -> None:
    ids = domain_group
    override = {
        "entity_id": ids["S1"],
        "controlled": False,
        "method": "equity",
        "reason": "托管给县国资委,集团不能主导其经营决策",
        "valid_from": "2025-10-01",
    }
    created = await api("POST", "/api/v1/ledger/control-overrides", json=override, status=201)
    assert created["method"] == "equity"
    view = await api("GET", f"/api/v1/ledger/entities/{ids['P']}/ownership?as_of=2025-12-31")
    methods = {r["entity_id"]: (r["controlled"], r["method"]) for r in view["rows"]}
    assert methods[ids["S1"]] == (False, "equity")
    # S2 was controlled through S1 only: it leaves with it.
    assert methods[ids["S2"]][0] is False
    report = await api("GET", f"{CONSOLIDATION}&node=group")
    assert report["members"] == [ids["P"]]
    # P alone: its investments in S1 (500) and A (100) stay in 长期股权投资.
    assert _figures(report)["long_term_equity_investment"] == 600
    # A method must agree with the judgement.
    bad = {**override, "controlled": True}
    problem = await api("POST", "/api/v1/ledger/control-overrides", json=bad, status=422)
    assert problem["errors"][0]["field"] == "body.method"


async def test_a_locked_period_is_stored_and_a_reopen_invalidates_it(
    api: Any, domain_group: dict
) -> None:
    transitions = f"/api/v1/ledger/periods/{PERIOD}/transitions"
    for action in ("submit", "validate", "lock"):
        await api("POST", transitions, json={"action": action})
    first = await api("GET", f"{CONSOLIDATION}&node=group")
    second = await api("GET", f"{CONSOLIDATION}&node=group")
    assert (first["source"], second["source"]) == ("computed", "stored")
    assert {**first, "source": None} == {**second, "source": None}
    assert _figures(second)["total_assets"] == Decimal("2846.4")
    reopen = {"action": "reopen", "entity_ids": [domain_group["S2"]], "reason": "补录期末存货"}
    await api("POST", transitions, json=reopen)
    third = await api("GET", f"{CONSOLIDATION}&node=group")
    assert third["source"] == "computed"


async def test_ownership_is_computed_once_per_version_and_a_stake_write_moves_it(
    api: Any, domain_group: dict, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stateasset.ledger.compute import ownership as ownership_calc

    calls: list[str] = []
    compute = ownership_calc.ownership

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1])
        return compute(*args, **kwargs)

    monkeypatch.setattr(ownership_calc, "ownership", counted)
    ids = domain_group
    view = f"/api/v1/ledger/entities/{ids['P']}/ownership?as_of=2025-12-31"
    before = await api("GET", view)
    await api("GET", view)
    await api("GET", f"{CONSOLIDATION}&node=group")  # the same root and date: no recompute
    assert calls == [ids["P"]]
    token = await db.fetchval("SELECT token FROM ownership_version")
    # A new stake changes the version in its own transaction: the next read recomputes.
    body = {
        "holder_id": ids["S1"],
        "held_id": ids["A"],
        "economic_share": "0.25",
        "valid_from": "2025-01-01",
    }
    await api("POST", "/api/v1/ledger/stakes", json=body, status=201)
    assert await db.fetchval("SELECT token FROM ownership_version") != token
    after = await api("GET", view)
    assert calls == [ids["P"], ids["P"]]
    rows = {r["entity_id"]: r for r in after["rows"]}
    assert rows[ids["A"]]["group_votes"] == pytest.approx(0.55)  # 30% + S1's 25%
    assert rows[ids["A"]]["controlled"] is True
    assert {r["entity_id"]: r["controlled"] for r in before["rows"]}[ids["A"]] is False
