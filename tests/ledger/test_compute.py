"""Tests for ledger.compute: worked examples by hand, properties by Hypothesis, no database.

Every expected value below is worked out by hand (in the comments) or by plain Python Decimal
arithmetic, never copied from the code's output.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from stateasset.core.money import MONEY, round_half_up
from stateasset.ledger.compute import consolidation as consolidation_calc
from stateasset.ledger.compute.consolidation import aggregate, consolidate, intercompany_mismatches
from stateasset.ledger.compute.ownership import control, effective_interest, ownership

PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load_reference() -> ModuleType:
    """bench/reference.py, the plain-Python implementation, as an independent cross-check."""
    path = Path(__file__).resolve().parents[2] / "bench" / "reference.py"
    spec = importlib.util.spec_from_file_location("stateasset_bench_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


reference = _load_reference()


# --------------------------------------------------------------------------------------------
# Frame builders


def yuan(text: str) -> Decimal:
    """A money literal as staff write it: "1,000.00"."""
    return Decimal(text.replace(",", ""))


def stakes_frame(rows: Iterable[tuple[str, str, float, float]]) -> pl.LazyFrame:
    """(holder, held, economic share, voting share) rows."""
    return pl.LazyFrame(
        list(rows),
        schema={
            "holder_id": pl.String,
            "held_id": pl.String,
            "economic_share": pl.Float64,
            "voting_share": pl.Float64,
        },
        orient="row",
    )


def same(rows: Iterable[tuple[str, str, float]]) -> pl.LazyFrame:
    """Stakes whose voting share equals the economic share."""
    return stakes_frame((h, e, s, s) for h, e, s in rows)


def statements_frame(entities: dict[str, dict[str, str]]) -> pl.LazyFrame:
    rows = [(e, item, yuan(v)) for e, items in entities.items() for item, v in items.items()]
    return pl.LazyFrame(
        rows, schema={"entity_id": pl.String, "item": pl.String, "amount": MONEY}, orient="row"
    )


def lines_frame(rows: Iterable[tuple[str, str, str, str | Decimal]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        [(e, p, k, yuan(a) if isinstance(a, str) else a) for e, p, k, a in rows],
        schema={
            "entity_id": pl.String,
            "partner_id": pl.String,
            "kind": pl.String,
            "amount": MONEY,
        },
        orient="row",
    )


def overrides_frame(rows: dict[str, bool]) -> pl.LazyFrame:
    return pl.LazyFrame(
        list(rows.items()), schema={"entity_id": pl.String, "controlled": pl.Boolean}, orient="row"
    )


def interests(stakes: pl.LazyFrame, root: str) -> dict[str, float]:
    frame = effective_interest(stakes, root).collect()
    return dict(frame.iter_rows())


def consolidated(result: consolidation_calc.Consolidation) -> dict[str, Decimal]:
    return {item: value for item, _, _, value in result.items.iter_rows()}


# --------------------------------------------------------------------------------------------
# Effective interest 穿透持股比例


def test_effective_interest_domain_worked_example() -> None:
    # DOMAIN.md §2: S1 = 80% + 60%×10% = 86%; S2 = 60%;
    # S3 = 10% + 80%×40% + 60%×10%×40% + 60%×20% = 0.10 + 0.32 + 0.024 + 0.12 = 56.4%.
    stakes = same(
        [
            ("S0", "S1", 0.8),
            ("S0", "S2", 0.6),
            ("S0", "S3", 0.1),
            ("S2", "S1", 0.1),
            ("S1", "S3", 0.4),
            ("S2", "S3", 0.2),
        ]
    )
    frame = effective_interest(stakes, "S0").collect()
    assert frame.columns == ["entity_id", "effective_interest"]
    assert frame["entity_id"].to_list() == ["S1", "S2", "S3"]
    expected = [0.86, 0.60, 0.564]
    for got, want in zip(frame["effective_interest"].to_list(), expected, strict=True):
        assert abs(got - want) < 1e-12


def test_effective_interest_cross_holding_solves_the_system_not_the_paths() -> None:
    # R holds A 80%; A holds B 50%; B holds A 10% (交叉持股).
    # x_A = 0.8 + 0.1·x_B and x_B = 0.5·x_A  →  x_A = 0.8 / 0.95 = 16/19, x_B = 8/19.
    # Path sums that stop at the cycle give A 0.80 and B 0.40, both wrong.
    stakes = same([("R", "A", 0.8), ("A", "B", 0.5), ("B", "A", 0.1)])
    x_a = Fraction(8, 10) / (1 - Fraction(1, 10) * Fraction(5, 10))  # the same, in fractions
    assert x_a == Fraction(16, 19)
    got = interests(stakes, "R")
    assert abs(got["A"] - float(x_a)) < 1e-12
    assert abs(got["B"] - float(x_a / 2)) < 1e-12
    assert abs(got["A"] - 0.8) > 0.04
    assert abs(got["B"] - 0.4) > 0.02


def test_effective_interest_excludes_root_unreachable_and_shares_in_the_root() -> None:
    # A holds 5% of the root back: that is not an interest of the root in anything.
    # Z is held only by an outsider O, so it is not below the root.
    stakes = same([("R", "A", 0.5), ("A", "R", 0.05), ("O", "Z", 1.0), ("A", "C", 0.0)])
    got = interests(stakes, "R")
    assert got == {"A": 0.5, "C": 0.0}


def test_effective_interest_sums_duplicate_stake_rows() -> None:
    # Two share classes recorded as two rows: 30% + 25% = 55%.
    got = interests(same([("R", "A", 0.3), ("R", "A", 0.25)]), "R")
    assert abs(got["A"] - 0.55) < 1e-12


def test_effective_interest_non_shrinking_cycle_raises() -> None:
    # A and B hold all of each other: x = b + x·A never settles.
    stakes = same([("R", "A", 0.5), ("A", "B", 1.0), ("B", "A", 1.0)])
    with pytest.raises(ValueError, match=r"did not converge|diverged"):
        effective_interest(stakes, "R", max_iterations=50).collect()


def test_effective_interest_empty_group() -> None:
    frame = effective_interest(same([("X", "Y", 1.0)]), "R").collect()
    assert frame.height == 0
    assert frame.schema == pl.Schema({"entity_id": pl.String, "effective_interest": pl.Float64})


@st.composite
def ownership_dags(draw: st.DrawFn) -> tuple[list[tuple[str, str, float]], int]:
    """Random DAG: node i may be held only by nodes < i, shares per held node summing ≤ 1."""
    n = draw(st.integers(min_value=1, max_value=7))
    rows = []
    for held in range(1, n + 1):
        holders = draw(st.sets(st.integers(min_value=0, max_value=held - 1), max_size=3))
        for holder in sorted(holders):
            cents = draw(st.integers(min_value=1, max_value=100))
            rows.append((f"N{holder}", f"N{held}", cents / (100 * len(holders))))
    return rows, n


@PROPERTY
@given(ownership_dags())
def test_effective_interest_equals_sum_over_paths_on_dags(
    dag: tuple[list[tuple[str, str, float]], int],
) -> None:
    rows, _ = dag
    children: dict[str, list[tuple[str, float]]] = {}
    for holder, held, share in rows:
        children.setdefault(holder, []).append((held, share))

    totals: dict[str, float] = {}

    def walk(node: str, product: float) -> None:
        for held, share in children.get(node, []):
            totals[held] = totals.get(held, 0.0) + product * share
            walk(held, product * share)

    walk("N0", 1.0)
    got = interests(same(rows), "N0")
    assert got.keys() == totals.keys()
    for entity, value in totals.items():
        assert abs(got[entity] - value) < 1e-12


# --------------------------------------------------------------------------------------------
# Control 控制 and method


CONTROL_STAKES = [
    # holder, held, economic, voting
    ("R", "A", 0.6, 0.6),  # controlled directly
    ("A", "B", 0.6, 0.6),  # controlled through A, effective 0.6 × 0.6 = 36%
    ("R", "C", 0.3, 0.3),  # 联营: equity method
    ("R", "D", 0.1, 0.1),  # financial investment: none
    ("R", "K", 0.3, 0.3),  # 30% + A's 25% = 55% of the votes → controlled, parent R
    ("A", "K", 0.25, 0.25),
    ("R", "M", 0.1, 0.1),  # 10% + 20% + 20% = exactly 50%: not more than half
    ("A", "M", 0.2, 0.2),
    ("B", "M", 0.2, 0.2),
    ("R", "N", 0.4, 0.55),  # votes differ from economics: controlled at 40% effective
    ("C", "P", 1.0, 1.0),  # held through an uncontrolled company: no group votes
]


def control_rows(frame: pl.LazyFrame) -> dict[str, tuple[object, ...]]:
    df = frame.collect()
    return {r[0]: r[1:] for r in df.iter_rows()}


def test_control_follows_votes_along_the_controlled_chain() -> None:
    stakes = stakes_frame(CONTROL_STAKES)
    frame = control(stakes, "R").collect()
    assert frame.columns == ["entity_id", "group_votes", "controlled", "method", "parent_id"]
    assert frame["entity_id"].to_list() == sorted(frame["entity_id"].to_list())
    rows = {r[0]: r[1:] for r in frame.iter_rows()}
    assert rows["A"] == (pytest.approx(0.6), True, "full", "R")
    assert rows["B"] == (pytest.approx(0.6), True, "full", "A")
    assert rows["C"] == (pytest.approx(0.3), False, "equity", None)
    assert rows["D"] == (pytest.approx(0.1), False, "none", None)
    assert rows["K"] == (pytest.approx(0.55), True, "full", "R")
    assert rows["M"][1:] == (False, "equity", None)
    assert rows["N"] == (pytest.approx(0.55), True, "full", "R")
    assert rows["P"] == (0.0, False, "none", None)


def test_ownership_consolidates_below_fifty_percent_effective_interest() -> None:
    frame = ownership(stakes_frame(CONTROL_STAKES), "R").collect()
    assert frame.columns == [
        "entity_id",
        "effective_interest",
        "group_votes",
        "controlled",
        "method",
        "parent_id",
    ]
    rows = {r[0]: r[1:] for r in frame.iter_rows()}
    # B: 60% × 60% = 36% effective, yet controlled (子公司 through A).
    assert rows["B"][0] == pytest.approx(0.36, abs=1e-12)
    assert rows["B"][2:] == (True, "full", "A")
    # N: 40% of the economics, 55% of the votes.
    assert rows["N"][0] == pytest.approx(0.4, abs=1e-12)
    assert rows["N"][2] is True
    # P: 30% × 100% through C.
    assert rows["P"][0] == pytest.approx(0.3, abs=1e-12)
    assert rows["P"][2:] == (False, "none", None)


def test_control_overrides_force_both_ways() -> None:
    stakes = stakes_frame(
        [
            ("R", "F", 0.1, 0.1),  # override True: 协议控制 with 10%
            ("R", "G", 0.7, 0.7),  # override False: 70% but in receivership
            ("G", "H", 1.0, 1.0),  # G is not controlled, so H is not reached by votes
            ("F", "J", 0.6, 0.6),  # F controlled by override, so its 60% counts
        ]
    )
    overrides = overrides_frame({"F": True, "G": False, "V": True})
    rows = control_rows(control(stakes, "R", overrides=overrides))
    assert rows["F"] == (pytest.approx(0.1), True, "full", "R")
    assert rows["J"] == (pytest.approx(0.6), True, "full", "F")
    # Brief: equity only when equity_floor ≤ votes ≤ threshold, else none.
    assert rows["G"] == (pytest.approx(0.7), False, "none", None)
    assert rows["H"] == (0.0, False, "none", None)
    # V has no stake from the group at all: controlled by override, hung under the root.
    assert rows["V"] == (0.0, True, "full", "R")


def test_control_threshold_and_equity_floor_are_configurable() -> None:
    stakes = stakes_frame(CONTROL_STAKES)
    rows = control_rows(control(stakes, "R", threshold=0.25, equity_floor=0.05))
    assert rows["C"][1:] == (True, "full", "R")  # 30% > 25%
    assert rows["P"][1:] == (True, "full", "C")  # now reached through C
    assert rows["D"][1:] == (False, "equity", None)  # 5% ≤ 10% ≤ 25%


def test_control_compares_summed_shares_as_recorded_not_as_float_noise() -> None:
    # 10% + 20% is 30% exactly; in floats 0.1 + 0.2 = 0.30000000000000004 in any order.
    # With threshold 30%, M is at, not above, the threshold: equity method, not controlled.
    assert 0.1 + 0.2 > 0.3
    stakes = same([("R", "A", 0.6), ("R", "M", 0.1), ("A", "M", 0.2)])
    rows = control_rows(control(stakes, "R", threshold=0.3))
    assert rows["M"][1:] == (False, "equity", None)
    # The other way: 0.1 + 0.7 = 0.7999999999999999, yet 80% is at an 80% equity floor.
    assert 0.1 + 0.7 < 0.8
    stakes = same([("R", "A", 0.95), ("R", "M", 0.1), ("A", "M", 0.7)])
    rows = control_rows(control(stakes, "R", threshold=0.9, equity_floor=0.8))
    assert rows["M"][1:] == (False, "equity", None)


def test_control_parent_loop_is_broken_at_the_earliest_controlled_member() -> None:
    # Round 1: A (60%). Round 2: B (R 30% + A 30%). Round 3: C (B 60%).
    # The largest holder of B is C (35%) while C's parent is B: a loop. B came under control
    # first, so B hangs under its largest holder among earlier ones: R and A tie at 30%, and
    # the smaller id, A, wins.
    stakes = same(
        [("R", "A", 0.6), ("R", "B", 0.3), ("A", "B", 0.3), ("C", "B", 0.35), ("B", "C", 0.6)]
    )
    rows = control_rows(control(stakes, "R"))
    assert {e: r[3] for e, r in rows.items()} == {"A": "R", "B": "A", "C": "B"}
    assert rows["B"][0] == pytest.approx(0.95)


# --------------------------------------------------------------------------------------------
# Aggregation 汇总 and the hand-worked consolidation 合并


GROUP_STAKES = [("P", "S1", 0.8), ("S1", "S2", 0.6), ("P", "E", 0.3)]

GROUP_STATEMENTS = {
    "P": {
        "cash": "1,000.00", "receivables": "300.00", "long_term_equity_investment": "900.00",
        "total_assets": "2,200.00", "payables": "200.00", "total_liabilities": "200.00",
        "paid_in_capital": "1,500.00", "retained_earnings": "500.00", "total_equity": "2,000.00",
        "revenue": "1,000.00", "operating_cost": "600.00", "net_profit": "300.00",
    },
    "S1": {
        "cash": "900.00", "receivables": "150.00", "long_term_equity_investment": "360.00",
        "total_assets": "1,410.00", "payables": "100.00", "total_liabilities": "100.00",
        "paid_in_capital": "1,000.00", "retained_earnings": "310.00", "total_equity": "1,310.00",
        "revenue": "500.00", "operating_cost": "350.00", "net_profit": "100.00",
    },
    "S2": {
        "cash": "700.00", "receivables": "80.00", "total_assets": "780.00",
        "payables": "130.00", "total_liabilities": "130.00",
        "paid_in_capital": "600.00", "retained_earnings": "50.00", "total_equity": "650.00",
        "revenue": "200.00", "operating_cost": "120.00", "net_profit": "50.00",
    },
    # E is an associate (30%, 权益法): never summed.
    "E": {"cash": "999.00", "total_assets": "999.00", "total_equity": "999.00"},
}  # fmt: skip

GROUP_LINES = [
    ("P", "S1", "receivable", "100.00"),
    ("S1", "P", "payable", "100.00"),  # matched
    ("S1", "S2", "receivable", "50.00"),
    ("S2", "S1", "payable", "38.00"),  # mismatched by 12.00
    ("S2", "P", "receivable", "30.00"),  # one-sided: P reported no payable
    ("P", "S2", "revenue", "70.00"),
    ("S2", "P", "cost", "70.00"),
    ("P", "S1", "investment", "800.00"),
    ("S1", "P", "equity", "800.00"),
    ("S1", "S2", "investment", "360.00"),
    ("S2", "S1", "equity", "360.00"),
    ("P", "E", "investment", "100.00"),  # E is not a member: stays as 长期股权投资
    ("E", "P", "equity", "100.00"),
]


def group_consolidation(members: list[str] | None = None) -> consolidation_calc.Consolidation:
    return consolidate(
        statements_frame(GROUP_STATEMENTS),
        lines_frame(GROUP_LINES),
        ownership(same(GROUP_STAKES), "P"),
        "P",
        members=members,
    )


def test_aggregate_is_a_plain_sum_of_members() -> None:
    frame = aggregate(statements_frame(GROUP_STATEMENTS), ["S1", "S2", "E"]).collect()
    rows = dict(frame.iter_rows())
    assert frame.columns == ["item", "amount"]
    assert frame["item"].to_list() == sorted(rows)
    assert frame.schema["amount"] == MONEY
    assert rows["cash"] == yuan("900.00") + yuan("700.00") + yuan("999.00")  # 2,599.00
    assert rows["long_term_equity_investment"] == yuan("360.00")
    assert rows["total_equity"] == yuan("2,959.00")  # 1,310 + 650 + 999


def test_consolidation_hand_worked_multi_level() -> None:
    result = group_consolidation()
    assert result.members == ["P", "S1", "S2"]

    # Aggregated (P + S1 + S2) and eliminated, by hand:
    #   receivable/payable pairs: (P,S1) 100/100, (S1,S2) 50/38, (S2,P) 30/0
    #     receivables & total_assets −(100+50+30)=180; payables & total_liabilities −(100+38+0)=138
    #   revenue/cost: (P,S2) 70/70 → revenue −70, operating_cost −70
    #   investment/equity: (P,S1) 800/800, (S1,S2) 360/360 → LTEI & total_assets −1,160;
    #     paid_in_capital & total_equity −1,160.  (P's 100 in E stays.)
    expected = {
        # item: (aggregated, eliminated, consolidated)
        "cash": ("2,600.00", "0.00", "2,600.00"),
        "long_term_equity_investment": ("1,260.00", "1,160.00", "100.00"),
        "net_profit": ("450.00", "0.00", "450.00"),
        "operating_cost": ("1,070.00", "70.00", "1,000.00"),
        "paid_in_capital": ("3,100.00", "1,160.00", "1,940.00"),
        "payables": ("430.00", "138.00", "292.00"),
        "receivables": ("530.00", "180.00", "350.00"),
        "retained_earnings": ("860.00", "0.00", "860.00"),
        "revenue": ("1,700.00", "70.00", "1,630.00"),
        "total_assets": ("4,390.00", "1,340.00", "3,050.00"),
        "total_equity": ("3,960.00", "1,160.00", "2,800.00"),
        "total_liabilities": ("430.00", "138.00", "292.00"),
    }
    # Extras:
    #   elimination_difference = (100−100) + (50−38) + (30−0) + (800−800) + (360−360) = 42.00
    #     check: 3,050 + 42 = 3,092 = 292 + 2,800.
    #   NCI S1 = (1 − 0.8) × (1,310 − 360) = 0.2 × 950 = 190.00
    #   NCI S2 = (1 − 0.8×0.6) × 650 = 0.52 × 650 = 338.00           → 528.00
    #   equity attributable to parent = 2,800 − 528 = 2,272.00
    #   NCI profit = 0.2 × 100 + 0.52 × 50 = 20 + 26 = 46.00; parent's net profit = 404.00
    extras = {
        "elimination_difference": "42.00",
        "non_controlling_interest": "528.00",
        "equity_attributable_to_parent": "2,272.00",
        "nci_profit": "46.00",
        "net_profit_attributable_to_parent": "404.00",
    }
    items_expected = pl.DataFrame(
        [(k, yuan(a), yuan(e), yuan(c)) for k, (a, e, c) in expected.items()]
        + [(k, None, None, yuan(v)) for k, v in extras.items()],
        schema={"item": pl.String, "aggregated": MONEY, "eliminated": MONEY, "consolidated": MONEY},
        orient="row",
    )
    assert_frame_equal(result.items, items_expected)

    eliminations_expected = pl.DataFrame(
        [
            ("investment_equity", "P", "S1", "P", yuan("800.00"), yuan("800.00"), yuan("0.00")),
            ("investment_equity", "S1", "S2", "S1", yuan("360.00"), yuan("360.00"), yuan("0.00")),
            ("receivable_payable", "P", "S1", "P", yuan("100.00"), yuan("100.00"), yuan("0.00")),
            ("receivable_payable", "S1", "S2", "S1", yuan("50.00"), yuan("38.00"), yuan("12.00")),
            ("receivable_payable", "S2", "P", "P", yuan("30.00"), yuan("0.00"), yuan("30.00")),
            ("revenue_cost", "P", "S2", "P", yuan("70.00"), yuan("70.00"), yuan("0.00")),
        ],
        schema={
            "kind": pl.String,
            "entity_id": pl.String,
            "partner_id": pl.String,
            "at_entity_id": pl.String,
            "entity_amount": MONEY,
            "partner_amount": MONEY,
            "difference": MONEY,
        },
        orient="row",
    )
    assert_frame_equal(result.eliminations, eliminations_expected)

    nci_expected = pl.DataFrame(
        [
            ("S1", 0.8, yuan("950.00"), yuan("190.00"), yuan("100.00"), yuan("20.00")),
            ("S2", 0.48, yuan("650.00"), yuan("338.00"), yuan("50.00"), yuan("26.00")),
        ],
        schema={
            "entity_id": pl.String,
            "effective_interest": pl.Float64,
            "own_net_assets": MONEY,
            "non_controlling_interest": MONEY,
            "net_profit": MONEY,
            "nci_profit": MONEY,
        },
        orient="row",
    )
    assert_frame_equal(result.nci, nci_expected, abs_tol=1e-12)


def test_consolidation_of_a_segment_uses_its_members_and_the_roots_interests() -> None:
    result = group_consolidation(members=["S1", "S2"])
    got = consolidated(result)
    # Only (S1,S2) pairs: receivable 50 vs payable 38, investment 360 vs equity 360.
    # total_assets 1,410 + 780 − 50 − 360 = 1,780; difference 12.00.
    assert got["total_assets"] == yuan("1,780.00")
    assert got["total_liabilities"] == yuan("230.00") - yuan("38.00")
    assert got["elimination_difference"] == yuan("12.00")
    assert [r[3] for r in result.eliminations.iter_rows()] == ["S1", "S1"]
    # NCI still with the root's interests: S1 0.2 × (1,310 − 360) + S2 0.52 × 650 = 528.00.
    assert got["non_controlling_interest"] == yuan("528.00")


def test_consolidation_nci_rounds_half_up() -> None:
    # x = 0.9: the minority holds 0.1 exactly (the ratio is a 12-place Decimal, never the float
    # 0.09999999999999998 times money). Own net assets 0.05 → 0.005 → 0.01 half-up (half-even
    # would give 0.00, and the raw float product 0.0049999… would give 0.00 too).
    # Net profit −0.25 → −0.025 → −0.03 (away from zero; half-even gives −0.02).
    statements = statements_frame(
        {"R": {"total_equity": "10.00"}, "S": {"total_equity": "0.05", "net_profit": "-0.25"}}
    )
    result = consolidate(statements, lines_frame([]), ownership(same([("R", "S", 0.9)]), "R"), "R")
    row = result.nci.row(0, named=True)
    assert row["non_controlling_interest"] == yuan("0.01")
    assert row["nci_profit"] == yuan("-0.03")
    got = consolidated(result)
    assert got["equity_attributable_to_parent"] == yuan("10.04")  # 10.05 − 0.01
    assert got["net_profit_attributable_to_parent"] == yuan("-0.22")  # −0.25 − (−0.03)


def test_round_half_up_helper_on_decimals() -> None:
    values = [
        yuan("0.005"),
        yuan("0.015"),
        yuan("0.025"),
        yuan("-0.005"),
        yuan("2.675"),
        yuan("1.004"),
    ]
    frame = pl.DataFrame({"v": values}, schema={"v": pl.Decimal(38, 3)})
    got = frame.select(round_half_up(pl.col("v")))["v"].to_list()
    want = [v.quantize(yuan("0.01"), rounding=ROUND_HALF_UP) for v in values]
    assert want == [
        yuan("0.01"),
        yuan("0.02"),
        yuan("0.03"),
        yuan("-0.01"),
        yuan("2.68"),
        yuan("1.00"),
    ]
    assert got == want


def test_consolidation_without_lines_or_minority() -> None:
    # A wholly owned subsidiary: nothing to eliminate, no minority.
    statements = statements_frame(
        {"R": {"total_assets": "5.00", "total_equity": "5.00"}, "S": {"total_equity": "3.00"}}
    )
    result = consolidate(statements, lines_frame([]), ownership(same([("R", "S", 1.0)]), "R"), "R")
    got = consolidated(result)
    assert got["total_equity"] == yuan("8.00")
    assert got["non_controlling_interest"] == yuan("0.00")
    assert got["elimination_difference"] == yuan("0.00")
    assert result.eliminations.height == 0
    # An item nobody reported and nothing eliminated is absent.
    assert "revenue" not in got


# --------------------------------------------------------------------------------------------
# Intercompany mismatches 内部往来核对


def test_intercompany_mismatches() -> None:
    lines = lines_frame(
        [
            ("A", "B", "receivable", "100.00"),
            ("B", "A", "payable", "100.00"),  # matched: not listed
            ("A", "C", "receivable", "20.00"),
            ("C", "A", "payable", "20.01"),  # 0.01 apart: within tolerance
            ("A", "B", "revenue", "512,000.00"),
            ("B", "A", "cost", "500,000.00"),  # ¥12,000.00 apart
            ("C", "D", "investment", "300.00"),  # D reported nothing
            ("D", "C", "payable", "5.00"),  # C reported nothing
        ]
    )
    frame = intercompany_mismatches(lines).collect()
    expected = pl.DataFrame(
        [
            ("investment_equity", "C", "D", yuan("300.00"), None, yuan("300.00")),
            ("receivable_payable", "C", "D", None, yuan("5.00"), yuan("-5.00")),
            ("revenue_cost", "A", "B", yuan("512,000.00"), yuan("500,000.00"), yuan("12,000.00")),
        ],
        schema={
            "kind": pl.String,
            "entity_id": pl.String,
            "partner_id": pl.String,
            "entity_amount": MONEY,
            "partner_amount": MONEY,
            "difference": MONEY,
        },
        orient="row",
    )
    assert_frame_equal(frame, expected)


def test_intercompany_mismatches_tolerance_is_configurable() -> None:
    lines = lines_frame([("A", "C", "receivable", "20.00"), ("C", "A", "payable", "20.01")])
    assert intercompany_mismatches(lines, Decimal("0.001")).collect().height == 1
    assert intercompany_mismatches(lines, Decimal("0.01")).collect().height == 0


# --------------------------------------------------------------------------------------------
# Properties over random groups


KINDS = ["receivable", "payable", "revenue", "cost", "investment", "equity"]
PARTNER_KIND = {
    "receivable": "payable",
    "revenue": "cost",
    "investment": "equity",
}


Stake = tuple[str, str, float, float]
Line = tuple[str, str, str, Decimal]
GroupCase = tuple[list[Stake], dict[str, dict[str, Decimal]], list[Line]]


@st.composite
def groups(draw: st.DrawFn, *, balanced: bool = False) -> GroupCase:
    """A random group: stakes (maybe cross holdings), statements, intercompany lines."""
    n = draw(st.integers(min_value=1, max_value=6))
    names = [f"N{i}" for i in range(n + 1)]
    stakes: list[Stake] = []
    for held in names[1:]:
        holders = draw(st.sets(st.sampled_from(names), max_size=3).map(sorted))
        holders = [h for h in holders if h != held]
        for holder in holders:
            pct = draw(st.integers(min_value=1, max_value=80))  # cycles must shrink
            econ = pct / (100 * len(holders))
            votes = draw(st.sampled_from([econ, min(1.0, econ * 2), econ / 2]))
            stakes.append((holder, held, econ, votes))
    cents = st.integers(min_value=-(10**9), max_value=10**9).map(lambda c: Decimal(c) / 100)
    statements: dict[str, dict[str, Decimal]] = {}
    for name in names:
        items = {
            item: draw(cents)
            for item in ("cash", "receivables", "long_term_equity_investment", "payables",
                         "paid_in_capital", "retained_earnings", "net_profit", "revenue")
            if draw(st.booleans())
        }  # fmt: skip
        if balanced:
            liabilities = draw(cents)
            equity = items.get("paid_in_capital", Decimal(0)) + items.get(
                "retained_earnings", Decimal(0)
            )
            items["total_liabilities"] = liabilities
            items["total_equity"] = equity
            items["total_assets"] = liabilities + equity
        else:
            for item in ("total_assets", "total_liabilities", "total_equity"):
                if draw(st.booleans()):
                    items[item] = draw(cents)
        statements[name] = items
    lines = [
        (draw(st.sampled_from(names)), draw(st.sampled_from(names)), kind, draw(cents))
        for kind in draw(st.lists(st.sampled_from(KINDS), max_size=8))
    ]
    return stakes, statements, lines


def run_group(group: GroupCase) -> tuple[consolidation_calc.Consolidation, pl.DataFrame]:
    stakes, statements, lines = group
    own = ownership(stakes_frame(stakes), "N0").collect()
    result = consolidate(
        statements_frame({e: {k: str(v) for k, v in i.items()} for e, i in statements.items()}),
        lines_frame(lines),
        own.lazy(),
        "N0",
    )
    return result, own


@PROPERTY
@given(groups())
def test_consolidated_total_assets_is_members_less_asset_side_eliminations(
    group: GroupCase,
) -> None:
    _, statements, lines = group
    result, own = run_group(group)
    members = {"N0", *own.filter(pl.col("controlled"))["entity_id"].to_list()}
    assert result.members == sorted(members)
    members_total = sum(
        (s["total_assets"] for e, s in statements.items() if e in members and "total_assets" in s),
        Decimal(0),
    )
    asset_side = sum(
        (a for e, f, k, a in lines if e in members and f in members
         and k in ("receivable", "investment")),
        Decimal(0),
    )  # fmt: skip
    got = consolidated(result).get("total_assets", Decimal(0))
    assert got == members_total - asset_side


@PROPERTY
@given(groups(balanced=True), st.booleans())
def test_balanced_members_stay_balanced_after_elimination(group: GroupCase, matched: bool) -> None:
    if matched:  # replace the lines by matched pairs over the same entity pairs
        stakes, statements, lines = group
        lines = [line for line in lines if line[2] in PARTNER_KIND]
        lines += [(f, e, PARTNER_KIND[k], a) for e, f, k, a in lines]
        group = (stakes, statements, lines)
    result, _ = run_group(group)
    got = consolidated(result)
    zero = Decimal(0)
    assert got.get("total_assets", zero) + got["elimination_difference"] == got.get(
        "total_liabilities", zero
    ) + got.get("total_equity", zero)
    if matched:
        assert got["elimination_difference"] == zero
    assert got["equity_attributable_to_parent"] + got["non_controlling_interest"] == got.get(
        "total_equity", zero
    )


@PROPERTY
@given(groups())
def test_polars_agrees_with_the_plain_python_reference(group: GroupCase) -> None:
    stakes, statements, lines = group
    result, own = run_group(group)
    x = reference.effective_interest([(h, e, s) for h, e, s, _ in stakes], "N0")
    ctl = reference.control([(h, e, v) for h, e, _, v in stakes], "N0")
    rows = {r[0]: r[1:] for r in own.iter_rows()}
    assert rows.keys() == ctl.keys()
    for entity, (interest, votes, controlled, method, parent) in rows.items():
        assert abs(interest - x.get(entity, 0.0)) < 1e-9
        ref = ctl[entity]
        assert (controlled, method, parent) == (ref.controlled, ref.method, ref.parent_id)
        assert abs(votes - ref.group_votes) < 1e-12
    parents = {e: r.parent_id for e, r in ctl.items() if r.controlled}
    want = reference.consolidate(
        [(e, k, v) for e, items in statements.items() for k, v in items.items()],
        lines,
        {e: r[0] for e, r in rows.items()},
        parents,
        "N0",
        result.members,
    )
    got_items = {r[0]: r[1:] for r in result.items.iter_rows()}
    assert got_items.keys() == want.items.keys() | set(consolidation_calc.EXTRA_ITEMS)
    for item, triple in want.items.items():
        assert got_items[item] == triple
    for item, value in want.extras.items():
        assert got_items[item][2] == value
    assert result.eliminations.rows() == want.eliminations
    assert {r[0]: (r[2], r[3], r[4], r[5]) for r in result.nci.iter_rows()} == want.nci
