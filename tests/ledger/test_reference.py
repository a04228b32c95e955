"""bench/reference.py against DOMAIN.md §4 by hand: the worked example and cases of our own.

The plain-Python reference is the independent cross-check of the Polars consolidation, so it is
itself checked here against figures worked out by hand (in the comments), never against code.
"""

from __future__ import annotations

import importlib.util
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest


def _load_reference() -> ModuleType:
    """bench/reference.py, the plain-Python implementation (bench/ is not a package)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "reference.py"
    spec = importlib.util.spec_from_file_location("stateasset_bench_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


reference = _load_reference()


def yuan(text: str) -> Decimal:
    """A money literal as staff write it: "1,000.00"."""
    return Decimal(text.replace(",", ""))


def statement(**items: str) -> dict[str, Decimal]:
    return {item: yuan(amount) for item, amount in items.items()}


def consolidate_group(
    statements: dict[str, dict[str, Decimal]],
    lines: list[tuple[str, str, str, Decimal]],
    stakes: list[tuple[str, str, float, float]],
    root: str = "P",
    **options: object,
) -> tuple[object, dict[str, float], dict[str, object]]:
    """Control from the votes, x from the economic shares through members, then consolidate."""
    ctl = reference.control([(h, e, v) for h, e, _, v in stakes], root)
    controlled = sorted(e for e, row in ctl.items() if row.controlled)
    x = reference.consolidated_interest([(h, e, s) for h, e, s, _ in stakes], root, controlled)
    parents = {e: ctl[e].parent_id for e in controlled}
    result = reference.consolidate(
        statements,
        lines,
        x,
        root,
        [root, *controlled],
        [(h, e, s) for h, e, s, _ in stakes],
        parent=parents,
        **options,
    )
    return result, x, ctl


def figures(result: object) -> dict[str, Decimal]:
    """Consolidated items and summary figures in one mapping."""
    return {**{k: v[2] for k, v in result.items.items()}, **result.extras}


# --------------------------------------------------------------------------------------------
# DOMAIN.md §4 worked example (万元)

# P (root) holds S1 80% (votes 80%) and A 30% (associate); S1 holds S2 60%; A holds S2 10%.
EXAMPLE_STAKES = [
    ("P", "S1", 0.8, 0.8),
    ("P", "A", 0.3, 0.3),
    ("S1", "S2", 0.6, 0.6),
    ("A", "S2", 0.1, 0.1),
]
EXAMPLE_STATEMENTS = {
    "P": statement(
        receivables="50",
        long_term_equity_investment="600",
        other_assets="1,350",
        total_assets="2,000",
        total_liabilities="400",
        paid_in_capital="1,000",
        capital_reserve="200",
        retained_earnings="400",
        total_equity="1,600",
        state_capital="1,600",
        revenue="500",
        operating_cost="300",
        net_profit="150",
    ),
    "S1": statement(
        long_term_equity_investment="300",
        fixed_assets="900",
        total_assets="1,200",
        payables="50",
        long_term_borrowings="350",
        total_liabilities="400",
        paid_in_capital="500",
        capital_reserve="100",
        retained_earnings="200",
        total_equity="800",
        revenue="1,000",
        operating_cost="700",
        net_profit="200",
    ),
    "S2": statement(
        cash="100",
        inventory="400",
        total_assets="500",
        total_liabilities="0",
        paid_in_capital="400",
        retained_earnings="100",
        total_equity="500",
        revenue="400",
        operating_cost="300",
        net_profit="60",
    ),
    # The associate is not a member: nothing of it may be summed.
    "A": statement(cash="999", total_assets="999", paid_in_capital="999", total_equity="999"),
}
EXAMPLE_LINES = [
    ("P", "S1", "receivable", yuan("50")),
    ("S1", "P", "payable", yuan("50")),
    ("S1", "S2", "revenue", yuan("100")),
    ("S2", "S1", "cost", yuan("88")),
    ("S2", "S1", "inventory_held", yuan("12")),
    ("P", "S1", "investment", yuan("500")),
    ("P", "A", "investment", yuan("100")),  # stays: A is equity-accounted
    ("S1", "S2", "investment", yuan("300")),
    ("A", "S2", "investment", yuan("40")),  # A's own books: not a member's line
]


def test_worked_example_interests_and_control() -> None:
    stakes = EXAMPLE_STAKES
    ctl = reference.control([(h, e, v) for h, e, _, v in stakes], "P")
    assert {e: (r.controlled, r.method, r.parent_id) for e, r in ctl.items()} == {
        "S1": (True, "full", "P"),
        "S2": (True, "full", "S1"),  # S1's 60% of the votes; A's 10% does not count
        "A": (False, "equity", None),
    }
    effective = reference.effective_interest([(h, e, s) for h, e, s, _ in stakes], "P")
    x = reference.consolidated_interest([(h, e, s) for h, e, s, _ in stakes], "P", ["S1", "S2"])
    # effective: 0.8 × 0.6 + 0.3 × 0.1 = 0.51; consolidated: A's path is the minority's, 0.48.
    assert effective["S2"] == pytest.approx(0.51, abs=1e-12)
    assert x["S2"] == pytest.approx(0.48, abs=1e-12)
    assert x["S1"] == pytest.approx(0.8, abs=1e-12)
    assert x["P"] == 1.0


@pytest.mark.parametrize("totals_reported", [True, False], ids=["totals", "parts-only"])
def test_worked_example_consolidated(totals_reported: bool) -> None:
    statements = EXAMPLE_STATEMENTS
    if not totals_reported:  # total_equity defaults to the sum of its parts
        statements = {
            e: {k: v for k, v in row.items() if k != "total_equity"}
            for e, row in statements.items()
        }
    result, _, _ = consolidate_group(statements, EXAMPLE_LINES, EXAMPLE_STAKES)
    got = figures(result)
    want = {
        # 400 − 3.6
        "inventory": yuan("396.4"),
        # 3,700 − 50 − 800 − 3.6
        "total_assets": yuan("2,846.4"),
        # 800 − 50
        "total_liabilities": yuan("750"),
        "paid_in_capital": yuan("1,000"),
        # 200 + 0.8×600 + 0.48×400 − (1×500 + 0.8×300)
        "capital_reserve": yuan("132"),
        # 400 + 0.8×200 + 0.48×100 − 2.88
        "retained_earnings": yuan("605.12"),
        # 0.2×(800 − 300) + 0.52×500 − 0.72 = 99.28 + 260
        "non_controlling_interest": yuan("359.28"),
        # 2,900 − 800 − 3.6 = 1,737.12 + 359.28
        "total_equity": yuan("2,096.4"),
        # 1,000 + 132 + 605.12; cross-check 1,600 − 500 + 0.8×500 + 0.48×500 − 2.88
        "equity_attributable_to_parent": yuan("1,737.12"),
        # 1 × (1,737.12 − 0) + 0
        "state_capital": yuan("1,737.12"),
        # 600 + 300 − 500 − 300: the associate A
        "long_term_equity_investment": yuan("100"),
        # 1,900 − 100
        "revenue": yuan("1,800"),
        # 1,300 − 100 + 3.6
        "operating_cost": yuan("1,203.6"),
        # 410 − 3.6
        "net_profit": yuan("406.4"),
        # 0.2×200 + 0.52×60 − 0.72
        "nci_profit": yuan("70.48"),
        # 406.4 − 70.48
        "net_profit_attributable_to_parent": yuan("335.92"),
        # 12 × (1,000 − 700)/1,000
        "unrealized_profit": yuan("3.6"),
        "receivables": yuan("0"),
        "payables": yuan("0"),
        "elimination_difference": yuan("0"),
        "reserve_shortfall": yuan("0"),
        "treasury_stock": yuan("0"),
    }
    assert {k: got[k] for k in want} == want
    assert "total_profit" not in result.items  # no member reported it: not invented
    # Members' state capital is internal: aggregated is the plain sum, P's 1,600 only.
    assert result.items["state_capital"] == (
        yuan("1,600"),
        yuan("1,600") - yuan("1,737.12"),
        yuan("1,737.12"),
    )
    # Aggregated = P + S1 + S2 (not A); eliminated = aggregated − consolidated.
    assert result.items["capital_reserve"] == (yuan("300"), yuan("168"), yuan("132"))
    assert result.items["total_assets"] == (yuan("3,700"), yuan("853.6"), yuan("2,846.4"))
    # Per member: own net assets, NCI, net profit, NCI profit.
    assert result.nci == {
        # 800 − 300 own net assets; 800 − 400 − 80 − 160 − (300 − 240) − 0.72 = 99.28;
        # 200 − 160 − 0.72 = 39.28
        "S1": (yuan("500"), yuan("99.28"), yuan("200"), yuan("39.28")),
        # 500 − 192 − 0 − 48 = 260; 60 − round(0.48×60 = 28.8) = 31.2
        "S2": (yuan("500"), yuan("260"), yuan("60"), yuan("31.2")),
    }
    assert result.eliminations == [
        ("investment", "P", "S1", "P", yuan("500"), yuan("500"), yuan("0")),
        ("investment", "S1", "S2", "S1", yuan("300"), yuan("240"), yuan("60")),
        ("receivable_payable", "P", "S1", "P", yuan("50"), yuan("50"), yuan("0")),
        # S1's 100 matched against S2's 88 + 12
        ("revenue_cost", "S1", "S2", "S1", yuan("100"), yuan("100"), yuan("0")),
        # 3.6: 0.8 × 3.6 = 2.88 the group's, 0.72 the minority's
        ("unrealized_profit", "S1", "S2", "S1", yuan("3.6"), yuan("2.88"), yuan("0.72")),
    ]
    assert result.missing_investment_lines == []
    assert result.no_inventory_held == []
    # Balanced: total_assets + elimination_difference = total_liabilities + total_equity.
    assert got["total_assets"] + got["elimination_difference"] == (
        got["total_liabilities"] + got["total_equity"]
    )


def test_unrealized_profit_comes_off_total_profit_when_members_report_it() -> None:
    statements = {e: dict(row) for e, row in EXAMPLE_STATEMENTS.items()}
    for entity in ("P", "S1", "S2"):  # no tax: total_profit = net_profit
        statements[entity]["total_profit"] = statements[entity]["net_profit"]
    result, _, _ = consolidate_group(statements, EXAMPLE_LINES, EXAMPLE_STAKES)
    # 150 + 200 + 60 − 3.6
    assert result.items["total_profit"] == (yuan("410"), yuan("3.6"), yuan("406.4"))


def test_consolidating_with_the_effective_interest_would_differ() -> None:
    """The example's point: A's slice of S2 is the minority's, not the group's."""
    interest = reference.effective_interest([(h, e, s) for h, e, s, _ in EXAMPLE_STAKES], "P")
    wrong = reference.consolidate(
        EXAMPLE_STATEMENTS, EXAMPLE_LINES, interest, "P", ["P", "S1", "S2"]
    )
    # S2's NCI would be 500 − round(0.51×400) − round(0.51×100) = 500 − 204 − 51 = 245, not 260.
    assert wrong.nci["S2"][1] == yuan("245")


# --------------------------------------------------------------------------------------------
# Our own case: a capital reserve shortfall, a receivable/payable difference, half-up rounding,
# a state share below 1 and state-exclusive equity.
#
# P (root) holds S 90% (votes 90%); an outsider O holds the other 10%. P carries S at 900 (the
# transfer was booked above S's book equity of 600). P: cash 70, receivables 30 (from S),
# long_term_equity_investment 900, total_assets 1,000; no liabilities; paid_in_capital 800,
# capital_reserve −20, retained_earnings 220, total_equity 1,000; net_profit 30; 国有股权比例 0.8,
# state_exclusive_equity 15.5. S: fixed_assets 700; payables 25 (to P; P says 30),
# other_liabilities 75, total_liabilities 100; paid_in_capital 400, capital_reserve 100,
# retained_earnings 100, total_equity 600; net_profit 40.25.
#
# x_S = 0.9.
# capital_reserve: −20 + 100 aggregated; S's own 100 out; 0.9×400 = 360 and 0.9×100 = 90 in;
#   P's investment 1×900 = 900 out: −20 + 360 + 90 − 900 = −470.
#   Floor min(0, P's own −20) = −20: shortfall −20 − (−470) = 450; capital_reserve −20.
# retained_earnings: P's 220 + 0.9×(600 − 400 − 100 = 100) = 90 → 310; − 450 shortfall = −140.
# paid_in_capital: P's 800.
# NCI: 600 − 360 − 90 − 90 = 60 (no minority part of P's investment: x_P = 1).
# attributable: 800 − 20 − 140 = 640; total_equity 1,600 − 900 = 700 = 640 + 60.
# total_assets 1,700 − 30 − 900 = 770; total_liabilities 100 − 25 = 75;
#   elimination_difference 30 − 25 = 5: 770 + 5 = 75 + 700.
# net_profit 30 + 40.25 = 70.25; nci_profit round_half_up(0.1 × 40.25 = 4.025) = 4.03 (the
#   minority's share is what DOMAIN states and what is rounded; half-to-even would give 4.02);
#   attributable profit 70.25 − 4.03 = 66.22.
# state_capital: 0.8 × (640 − 15.5) + 15.5 = 499.6 + 15.5 = 515.1.

SHORTFALL_STAKES = [("P", "S", 0.9, 0.9), ("O", "S", 0.1, 0.1)]
SHORTFALL_STATEMENTS = {
    "P": statement(
        cash="70",
        receivables="30",
        long_term_equity_investment="900",
        total_assets="1,000",
        total_liabilities="0",
        paid_in_capital="800",
        capital_reserve="-20",
        retained_earnings="220",
        total_equity="1,000",
        net_profit="30",
        state_capital="800",
        state_exclusive_equity="15.5",
    ),
    "S": statement(
        fixed_assets="700",
        total_assets="700",
        payables="25",
        other_liabilities="75",
        total_liabilities="100",
        paid_in_capital="400",
        capital_reserve="100",
        retained_earnings="100",
        total_equity="600",
        net_profit="40.25",
        state_capital="360",
    ),
}
SHORTFALL_LINES = [
    ("P", "S", "receivable", yuan("30")),
    ("S", "P", "payable", yuan("25")),
    ("P", "S", "investment", yuan("900")),
]


def test_capital_reserve_shortfall_is_charged_to_retained_earnings() -> None:
    result, x, _ = consolidate_group(
        SHORTFALL_STATEMENTS, SHORTFALL_LINES, SHORTFALL_STAKES, state_share=Decimal("0.8")
    )
    assert x["S"] == pytest.approx(0.9, abs=1e-12)
    got = figures(result)
    want = {
        "capital_reserve": yuan("-20"),
        "reserve_shortfall": yuan("450"),
        "retained_earnings": yuan("-140"),
        "paid_in_capital": yuan("800"),
        "non_controlling_interest": yuan("60"),
        "equity_attributable_to_parent": yuan("640"),
        "total_equity": yuan("700"),
        "total_assets": yuan("770"),
        "total_liabilities": yuan("75"),
        "elimination_difference": yuan("5"),
        "long_term_equity_investment": yuan("0"),
        "net_profit": yuan("70.25"),
        "nci_profit": yuan("4.03"),
        "net_profit_attributable_to_parent": yuan("66.22"),
        "state_capital": yuan("515.1"),
        "unrealized_profit": yuan("0"),
        "treasury_stock": yuan("0"),
    }
    assert {k: got[k] for k in want} == want
    # Aggregated −20 + 100 = 80; consolidated −20; so 100 eliminated.
    assert result.items["capital_reserve"] == (yuan("80"), yuan("100"), yuan("-20"))
    # Aggregated state capital 800 + 360 = 1,160 (plain sum); consolidated 515.1.
    assert result.items["state_capital"][0] == yuan("1,160")
    assert result.nci == {"S": (yuan("600"), yuan("60"), yuan("40.25"), yuan("4.03"))}
    assert got["total_assets"] + got["elimination_difference"] == (
        got["total_liabilities"] + got["total_equity"]
    )


def test_no_shortfall_when_the_reserve_stays_above_the_floor() -> None:
    # Same group, P carrying S at 400 instead of 900 (P's cash 570 instead of 70):
    # capital_reserve −20 + 360 + 90 − 400 = 30 ≥ −20: no shortfall;
    # retained_earnings 220 + 90 = 310; attributable 800 + 30 + 310 = 1,140; NCI 60;
    # total_equity 1,600 − 400 = 1,200.
    statements = {e: dict(row) for e, row in SHORTFALL_STATEMENTS.items()}
    statements["P"].update(cash=yuan("570"), long_term_equity_investment=yuan("400"))
    lines = [*SHORTFALL_LINES[:2], ("P", "S", "investment", yuan("400"))]
    result, _, _ = consolidate_group(statements, lines, SHORTFALL_STAKES)
    got = figures(result)
    assert (got["capital_reserve"], got["reserve_shortfall"], got["retained_earnings"]) == (
        yuan("30"),
        yuan("0"),
        yuan("310"),
    )
    assert got["equity_attributable_to_parent"] == yuan("1,140")
    assert got["total_equity"] == yuan("1,200") == got["equity_attributable_to_parent"] + yuan("60")


# --------------------------------------------------------------------------------------------
# Treasury stock, a missing investment line, a sale with no inventory_held line.
#
# P holds S 60% (votes 60%); S holds P 5% (carried at 50) and T 100%, but reported no
# investment line toward T. S sold 20 to P; P reported cost 20 and no inventory_held.
# P: cash 700, long_term_equity_investment 300 (S), total_assets 1,000; paid_in_capital 1,000,
#   total_equity 1,000; revenue 50, operating_cost 40.
# S: cash 450, long_term_equity_investment 50 (P), total_assets 500; paid_in_capital 500,
#   total_equity 500; revenue 100, operating_cost 60.
# T: cash 10, total_assets 10; paid_in_capital 10, total_equity 10.
#
# x_S = 0.6, x_T = 0.6 (S's stake in P is not a path: the root's shares are treasury stock).
# capital_reserve: 0.6×500 + 0.6×10 − 1×300 = 6; retained_earnings 0.
# treasury stock 50, deducted in full: attributable 1,000 + 6 + 0 − 50 = 956.
# NCI: S 500 − 300 = 200 (the treasury stake is not split), T 10 − 6 = 4: 204.
# total_equity 1,510 − 300 − 50 = 1,160 = 956 + 204; total_assets 1,510 − 350 = 1,160;
# long_term_equity_investment 350 − 350 = 0.
# revenue 150 − 20 = 130; operating_cost 100 − 20 = 80; no unrealized profit (no stock line).


def test_treasury_stock_missing_investment_line_and_sale_without_stock() -> None:
    stakes = [("P", "S", 0.6, 0.6), ("S", "P", 0.05, 0.05), ("S", "T", 1.0, 1.0)]
    statements = {
        "P": statement(
            cash="700",
            long_term_equity_investment="300",
            total_assets="1,000",
            paid_in_capital="1,000",
            total_equity="1,000",
            revenue="50",
            operating_cost="40",
        ),
        "S": statement(
            cash="450",
            long_term_equity_investment="50",
            total_assets="500",
            paid_in_capital="500",
            total_equity="500",
            revenue="100",
            operating_cost="60",
        ),
        "T": statement(cash="10", total_assets="10", paid_in_capital="10", total_equity="10"),
    }
    lines = [
        ("P", "S", "investment", yuan("300")),
        ("S", "P", "investment", yuan("50")),
        ("S", "P", "revenue", yuan("20")),
        ("P", "S", "cost", yuan("20")),
    ]
    result, x, _ = consolidate_group(statements, lines, stakes)
    assert (x["S"], x["T"]) == (pytest.approx(0.6, abs=1e-12), pytest.approx(0.6, abs=1e-12))
    got = figures(result)
    want = {
        "capital_reserve": yuan("6"),
        "retained_earnings": yuan("0"),
        "treasury_stock": yuan("50"),
        "equity_attributable_to_parent": yuan("956"),
        "non_controlling_interest": yuan("204"),
        "total_equity": yuan("1,160"),
        "total_assets": yuan("1,160"),
        "long_term_equity_investment": yuan("0"),
        "revenue": yuan("130"),
        "operating_cost": yuan("80"),
        "unrealized_profit": yuan("0"),
        "state_capital": yuan("956"),
    }
    assert {k: got[k] for k in want} == want
    assert result.nci["S"][1] == yuan("200")
    assert result.nci["T"][1] == yuan("4")
    assert result.missing_investment_lines == [("S", "T")]
    assert result.no_inventory_held == [("S", "P")]
    assert ("treasury_stock", "S", "P", "P", yuan("50"), yuan("50"), yuan("0")) in (
        result.eliminations
    )


# --------------------------------------------------------------------------------------------
# Control overrides and rounding conventions


def test_control_overrides_carry_a_method() -> None:
    stakes = [
        ("P", "B", 0.55),  # overridden "not controlled", no method: ≥ 20% of votes → equity
        ("P", "C", 0.10),  # overridden "full": controlled on 10%
        ("P", "D", 0.60),  # overridden method "none": out, and not equity either
        ("P", "E", 0.25),  # no override: equity
        ("P", "F", 0.10),  # no override: none
        ("P", "G", 0.05),  # (controlled flag, method) form: the method decides
        ("C", "H", 0.70),  # controlled through C
    ]
    overrides = {"B": False, "C": "full", "D": "none", "G": (False, "equity")}
    ctl = reference.control(stakes, "P", overrides=overrides)
    assert {e: (r.controlled, r.method) for e, r in ctl.items()} == {
        "B": (False, "equity"),
        "C": (True, "full"),
        "D": (False, "none"),
        "E": (False, "equity"),
        "F": (False, "none"),
        "G": (False, "equity"),
        "H": (True, "full"),
    }
    assert ctl["H"].parent_id == "C"
    with pytest.raises(ValueError, match="unknown consolidation method"):
        reference.control(stakes, "P", overrides={"B": "proportional"})


def test_shares_are_cast_to_twelve_places_and_rounded_half_up_once() -> None:
    assert reference.ratio12(0.48) == Decimal("0.480000000000")
    assert reference.ratio12(0.8 * 0.6) == Decimal("0.480000000000")
    assert reference.group_share(0.9, yuan("40.25")) == yuan("36.23")  # 36.225 → up
    assert reference.group_share(0.9, yuan("-40.25")) == yuan("-36.23")  # away from zero
    # The minority's share is rounded on its own: 0.1 × 40.25 = 4.025 → 4.03 (half-up).
    assert reference.minority_share(0.9, yuan("40.25")) == yuan("4.03")
    assert reference.group_share(Decimal("0.8"), yuan("624.5")) == yuan("499.6")
