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
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from worked_examples import CAS33_LINES, CAS33_STAKES, CAS33_STATEMENTS

from stateasset.core.money import MONEY, round_half_up
from stateasset.ledger.compute import consolidation as consolidation_calc
from stateasset.ledger.compute.consolidation import aggregate, consolidate, intercompany_mismatches
from stateasset.ledger.compute.ownership import control, effective_interest, ownership
from stateasset.ledger.frames import (
    INTERCOMPANY_SCHEMA,
    OVERRIDES_SCHEMA,
    STAKES_SCHEMA,
    STATEMENT_SCHEMA,
)

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
    return pl.LazyFrame(list(rows), schema=STAKES_SCHEMA, orient="row")


def same(rows: Iterable[tuple[str, str, float]]) -> pl.LazyFrame:
    """Stakes whose voting share equals the economic share."""
    return stakes_frame((h, e, s, s) for h, e, s in rows)


def statements_frame(entities: dict[str, dict[str, str]]) -> pl.LazyFrame:
    rows = [(e, item, yuan(v)) for e, items in entities.items() for item, v in items.items()]
    # One period's statements: the loader's columns but the period.
    schema = {name: STATEMENT_SCHEMA[name] for name in ("entity_id", "item", "amount")}
    return pl.LazyFrame(rows, schema=schema, orient="row")


def lines_frame(rows: Iterable[tuple[str, str, str, str | Decimal]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        [(e, p, k, yuan(a) if isinstance(a, str) else a) for e, p, k, a in rows],
        schema=INTERCOMPANY_SCHEMA,
        orient="row",
    )


def overrides_frame(rows: dict[str, bool]) -> pl.LazyFrame:
    """Overrides without a method: the judgement alone, as most are recorded."""
    return pl.LazyFrame(
        [(e, c, None) for e, c in rows.items()], schema=OVERRIDES_SCHEMA, orient="row"
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
        "consolidated_interest",
        "group_votes",
        "controlled",
        "method",
        "parent_id",
    ]
    rows = {r[0]: (r[1], r[2], *r[4:]) for r in frame.iter_rows()}
    # B: 60% × 60% = 36% effective, yet controlled (子公司 through A), all of it through A.
    assert rows["B"][:2] == (pytest.approx(0.36, abs=1e-12), pytest.approx(0.36, abs=1e-12))
    assert rows["B"][2:] == (True, "full", "A")
    # N: 40% of the economics, 55% of the votes.
    assert rows["N"][:2] == (pytest.approx(0.4, abs=1e-12), pytest.approx(0.4, abs=1e-12))
    assert rows["N"][2] is True
    # P: 30% × 100% through C, an associate: exposure, but nothing the parent consolidates.
    assert rows["P"][:2] == (pytest.approx(0.3, abs=1e-12), 0.0)
    assert rows["P"][2:] == (False, "none", None)
    # M (50% of the votes: not controlled): R 10% + A 60% × 20% + B 36% × 20% = 29.2%
    # effective. It is no member, yet every path to it runs through consolidated members.
    assert rows["M"][:2] == (pytest.approx(0.292, abs=1e-12), pytest.approx(0.292, abs=1e-12))


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
    # DOMAIN.md §4: "not controlled" without a method, on 20% or more of the votes, is equity.
    assert rows["G"] == (pytest.approx(0.7), False, "equity", None)
    assert rows["H"] == (0.0, False, "none", None)
    # V has no stake from the group at all: controlled by override, hung under the root.
    assert rows["V"] == (0.0, True, "full", "R")


def test_control_override_methods() -> None:
    # DOMAIN.md §4: an override carries a method. G (70% of the votes) judged not controlled and
    # named 'none'; H (25%) judged not controlled with no method: equity, since ≥ 20%; K (10%)
    # judged an equity-method joint venture (合营) below the floor; F named 'full' is controlled
    # whatever its flag says.
    stakes = same([("R", "G", 0.7), ("R", "H", 0.25), ("R", "K", 0.1), ("R", "F", 0.05)])
    overrides = pl.LazyFrame(
        [("G", False, "none"), ("H", False, None), ("K", False, "equity"), ("F", False, "full")],
        schema=OVERRIDES_SCHEMA,
        orient="row",
    )
    rows = control_rows(control(stakes, "R", overrides=overrides))
    assert {e: r[1:3] for e, r in rows.items()} == {
        "F": (True, "full"),
        "G": (False, "none"),
        "H": (False, "equity"),
        "K": (False, "equity"),
    }
    # An override to equity takes the entity out of the consolidation: it stays an investment.
    own = ownership(stakes, "R", overrides=overrides)
    statements = statements_frame(
        {
            "R": {"long_term_equity_investment": "70.00", "total_assets": "70.00"},
            "F": {"total_assets": "1.00"},
            "G": {"total_assets": "100.00"},
        }
    )
    lines = lines_frame([("R", "G", "investment", "70.00")])
    result = consolidate(statements, lines, own, "R")
    assert result.members == ["F", "R"]
    assert consolidated(result)["long_term_equity_investment"] == yuan("70.00")
    assert consolidated(result)["total_assets"] == yuan("71.00")


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
# Aggregation 汇总 and consolidation 合并 by CAS 33 (DOMAIN.md §4)


NCI_SCHEMA = {
    "entity_id": pl.String,
    "consolidated_interest": pl.Float64,
    "own_net_assets": MONEY,
    "non_controlling_interest": MONEY,
    "net_profit": MONEY,
    "nci_profit": MONEY,
}

# DOMAIN.md §4's worked example (tests/worked_examples.py), with the associate A's statement
# for the aggregation test: it is never summed into a consolidation.
DOMAIN_STAKES = CAS33_STAKES
DOMAIN_STATEMENTS = {
    **CAS33_STATEMENTS,
    "A": {"cash": "999", "total_assets": "999", "paid_in_capital": "999", "total_equity": "999"},
}
DOMAIN_LINES = CAS33_LINES


def run(
    stakes: list[tuple[str, str, float]],
    statements: dict[str, dict[str, str]],
    lines: list[tuple[str, str, str, str]],
    root: str = "P",
    **options: Any,
) -> consolidation_calc.Consolidation:
    frame = same(stakes)
    return consolidate(
        statements_frame(statements),
        lines_frame(lines),
        ownership(frame, root),
        root,
        stakes=frame,
        **options,
    )


def test_aggregate_is_a_plain_sum_of_members() -> None:
    frame = aggregate(statements_frame(DOMAIN_STATEMENTS), ["S1", "S2", "A"]).collect()
    rows = dict(frame.iter_rows())
    assert frame.columns == ["item", "amount"]
    assert frame["item"].to_list() == sorted(rows)
    assert frame.schema["amount"] == MONEY
    assert rows["cash"] == yuan("1,099")  # 100 + 999
    assert rows["total_equity"] == yuan("2,299")  # 800 + 500 + 999


def test_consolidation_domain_worked_example() -> None:
    result = run(DOMAIN_STAKES, DOMAIN_STATEMENTS, DOMAIN_LINES)
    assert result.members == ["P", "S1", "S2"]
    own = {r[0]: r[1:3] for r in ownership(same(DOMAIN_STAKES), "P").collect().iter_rows()}
    # x_S2 = 0.8 × 0.6 = 0.48; the effective interest 0.51 also counts A's 30% × 10%.
    assert own["S2"] == (pytest.approx(0.51, abs=1e-12), pytest.approx(0.48, abs=1e-12))
    assert own["A"] == (pytest.approx(0.3), pytest.approx(0.3))
    # Every figure DOMAIN.md states, item: (aggregated, eliminated, consolidated):
    #   unrealized profit 12 × (1,000 − 700)/1,000 = 3.6 (0.72 the minority's, 2.88 the group's)
    #   total_assets 3,700 − 50 − 800 − 3.6 = 2,846.4; total_liabilities 800 − 50 = 750
    #   capital_reserve 200 + 0.8×600 + 0.48×400 − (1×500 + 0.8×300) = 132
    #   retained_earnings 400 + 0.8×200 + 0.48×100 − 2.88 = 605.12
    #   revenue 1,900 − 100; operating_cost 1,300 − 100 + 3.6; net_profit 410 − 3.6
    #   state_capital 1 × (1,737.12 − 0) + 0 (members' own 1,600 is internal)
    expected = {
        "capital_reserve": ("300", "168", "132"),
        "cash": ("100", "0", "100"),
        "fixed_assets": ("900", "0", "900"),
        "inventory": ("400", "3.6", "396.4"),
        "long_term_borrowings": ("350", "0", "350"),
        "long_term_equity_investment": ("900", "800", "100"),
        "net_profit": ("410", "3.6", "406.4"),
        "operating_cost": ("1,300", "96.4", "1,203.6"),
        "other_assets": ("1,350", "0", "1,350"),
        "paid_in_capital": ("1,900", "900", "1,000"),
        "payables": ("50", "50", "0"),
        "receivables": ("50", "50", "0"),
        "retained_earnings": ("700", "94.88", "605.12"),
        "revenue": ("1,900", "100", "1,800"),
        "state_capital": ("1,600", "-137.12", "1,737.12"),
        "total_assets": ("3,700", "853.6", "2,846.4"),
        "total_equity": ("2,900", "803.6", "2,096.4"),
        "total_liabilities": ("800", "50", "750"),
    }
    # NCI 0.2 × (800 − 300) + 0.52 × 500 − 0.72 = 99.28 + 260 = 359.28
    # attributable: cross-checked as 1,600 − 500 + 0.8×500 + 0.48×500 − 2.88 = 1,737.12
    # nci_profit 0.2×200 + 0.52×60 − 0.72 = 70.48; attributable profit 406.4 − 70.48 = 335.92
    summary = {
        "elimination_difference": "0",
        "unrealized_profit": "3.6",
        "reserve_shortfall": "0",
        "treasury_stock": "0",
        "non_controlling_interest": "359.28",
        "equity_attributable_to_parent": "1,737.12",
        "nci_profit": "70.48",
        "net_profit_attributable_to_parent": "335.92",
    }
    items_expected = pl.DataFrame(
        [(k, yuan(a), yuan(e), yuan(c)) for k, (a, e, c) in expected.items()]
        + [(k, None, None, yuan(v)) for k, v in summary.items()],
        schema={"item": pl.String, "aggregated": MONEY, "eliminated": MONEY, "consolidated": MONEY},
        orient="row",
    )
    assert_frame_equal(result.items, items_expected)
    nci_expected = pl.DataFrame(
        [
            ("S1", 0.8, yuan("500"), yuan("99.28"), yuan("200"), yuan("39.28")),
            ("S2", 0.48, yuan("500"), yuan("260"), yuan("60"), yuan("31.2")),
        ],
        schema=NCI_SCHEMA,
        orient="row",
    )
    assert_frame_equal(result.nci, nci_expected, abs_tol=1e-12)
    eliminations_expected = pl.DataFrame(
        [
            ("investment", "P", "S1", "P", yuan("500"), None, None),
            ("investment", "S1", "S2", "S1", yuan("300"), None, None),
            ("receivable_payable", "P", "S1", "P", yuan("50"), yuan("50"), yuan("0")),
            # The mismatch report matches S1's 100 against S2's 88 + 12.
            ("revenue_cost", "S1", "S2", "S1", yuan("100"), yuan("100"), yuan("0")),
            ("unrealized_profit", "S1", "S2", "S1", yuan("3.6"), yuan("12"), None),
        ],
        schema=consolidation_calc.ELIMINATIONS_SCHEMA,
        orient="row",
    )
    assert_frame_equal(result.eliminations, eliminations_expected)
    assert result.missing_investment_lines.is_empty()
    assert result.sales_without_inventory_line.is_empty()


def test_aggregated_less_eliminated_is_consolidated_on_every_item_row() -> None:
    result = run(DOMAIN_STAKES, DOMAIN_STATEMENTS, DOMAIN_LINES)
    rows = result.items.filter(pl.col("aggregated").is_not_null())
    assert rows.height == 18
    assert (rows["aggregated"] - rows["eliminated"] == rows["consolidated"]).all()
    summary = result.items.filter(pl.col("aggregated").is_null())
    assert summary["item"].to_list() == list(consolidation_calc.SUMMARY_ITEMS)
    assert summary["eliminated"].null_count() == summary.height


def test_consolidation_cross_holding_between_two_subsidiaries() -> None:
    # P holds S1 70%; S1 holds S2 60%; S2 holds S1 10% (交叉持股). Each investment is carried at
    # its share of the held company's book equity, so no reserve arises.
    #   x1 = 0.7 + 0.1·x2 and x2 = 0.6·x1 → x1 = 0.7 / 0.94 = 0.744680851…, x2 = 0.446808510…
    #   P: other 1,000 + investment in S1 700 = 1,700 = paid-in 1,700; net profit 100
    #   S1: other 400 + investment in S2 600 = 1,000 = paid-in 1,000; net profit 94
    #   S2: other 900 + investment in S1 100 = 1,000 = paid-in 1,000; net profit 47
    stakes = [("P", "S1", 0.7), ("S1", "S2", 0.6), ("S2", "S1", 0.1)]
    statements = {
        "P": {"other_assets": "1000", "long_term_equity_investment": "700",
              "total_assets": "1700", "paid_in_capital": "1700", "total_equity": "1700",
              "net_profit": "100"},
        "S1": {"other_assets": "400", "long_term_equity_investment": "600",
               "total_assets": "1000", "paid_in_capital": "1000", "total_equity": "1000",
               "net_profit": "94"},
        "S2": {"other_assets": "900", "long_term_equity_investment": "100",
               "total_assets": "1000", "paid_in_capital": "1000", "total_equity": "1000",
               "net_profit": "47"},
    }  # fmt: skip
    lines = [
        ("P", "S1", "investment", "700"),
        ("S1", "S2", "investment", "600"),
        ("S2", "S1", "investment", "100"),
    ]
    result = run(stakes, statements, lines)
    got = consolidated(result)
    # Assets: only the outside assets remain: 1,000 + 400 + 900 = 2,300.
    assert got["total_assets"] == yuan("2,300")
    assert got["long_term_equity_investment"] == yuan("0")
    # Reserve: 0.744680851×1,000 → 744.68, 0.446808510×1,000 → 446.81 in; out 1×700,
    # 0.744680851×600 → 446.81, 0.446808510×100 → 44.68: 744.68 + 446.81 − 700 − 446.81 − 44.68
    # = −0.00, so nothing is charged past the reserve.
    assert got["capital_reserve"] == yuan("0")
    assert got["reserve_shortfall"] == yuan("0")
    # NCI: S1 (1 − 0.744680851) × (1,000 − 600) = 102.13; S2 (1 − 0.446808510) × (1,000 − 100)
    # = 497.87; 600.00 in all.
    assert {r[0]: r[3] for r in result.nci.iter_rows()} == {
        "S1": yuan("102.13"),
        "S2": yuan("497.87"),
    }
    assert got["non_controlling_interest"] == yuan("600")
    # Attributable = the group's look-through share of the outside net assets:
    # 1,000 + 0.744680851 × 400 + 0.446808510 × 900 = 1,000 + 297.87 + 402.13 = 1,700.00.
    assert got["equity_attributable_to_parent"] == yuan("1,700")
    assert got["paid_in_capital"] == yuan("1,700")
    assert got["total_equity"] == yuan("2,300")
    # Profit: 0.255319149 × 94 = 24.00; 0.553191489 × 47 = 26.00 → nci_profit 50.
    assert got["nci_profit"] == yuan("50")
    assert got["net_profit_attributable_to_parent"] == yuan("191")  # 241 − 50


def test_consolidation_capital_reserve_shortfall_is_charged_to_retained_earnings() -> None:
    # P (paid-in 1,000, no reserve, retained 500) paid 900 for 80% of S, whose book equity is
    # 1,000 (paid-in 600, retained 400): a 100 premium that common control sends to reserve.
    #   reserve 0 + 0.8 × 600 − 900 = −420 < min(0, P's own 0): shortfall 420
    #   retained 500 + 0.8 × 400 − 420 = 400; attributable 1,000 + 0 + 400 = 1,400
    #   cross-check: P's equity 1,500 − the 900 paid + 0.8 × 1,000 = 1,400; NCI 0.2 × 1,000 = 200
    stakes = [("P", "S", 0.8)]
    statements = {
        "P": {"other_assets": "600", "long_term_equity_investment": "900",
              "total_assets": "1500", "paid_in_capital": "1000", "retained_earnings": "500",
              "total_equity": "1500"},
        "S": {"other_assets": "1000", "total_assets": "1000", "paid_in_capital": "600",
              "retained_earnings": "400", "total_equity": "1000"},
    }  # fmt: skip
    result = run(stakes, statements, [("P", "S", "investment", "900")])
    got = consolidated(result)
    assert got["capital_reserve"] == yuan("0")
    assert got["reserve_shortfall"] == yuan("420")
    assert got["retained_earnings"] == yuan("400")
    assert got["equity_attributable_to_parent"] == yuan("1,400")
    assert got["non_controlling_interest"] == yuan("200")
    assert got["total_assets"] == yuan("1,600") == got["total_equity"]
    # With a negative reserve of P's own (−50), the floor is −50: the shortfall is still 420.
    statements["P"] |= {"capital_reserve": "-50", "retained_earnings": "550"}
    got = consolidated(run(stakes, statements, [("P", "S", "investment", "900")]))
    assert got["capital_reserve"] == yuan("-50")
    assert got["reserve_shortfall"] == yuan("420")  # −50 − (−50 + 480 − 900)
    assert got["retained_earnings"] == yuan("450")  # 550 + 0.8 × 400 − 420


DOWNSTREAM_STATEMENTS = {
    "P": {"cash": "1000", "long_term_equity_investment": "300", "total_assets": "1300",
          "paid_in_capital": "1000", "retained_earnings": "300", "total_equity": "1300",
          "revenue": "500", "operating_cost": "400", "net_profit": "100"},
    "S": {"cash": "200", "inventory": "300", "total_assets": "500", "paid_in_capital": "500",
          "total_equity": "500", "revenue": "100", "operating_cost": "80", "net_profit": "20"},
}  # fmt: skip


def test_consolidation_downstream_sale_leaves_the_minority_untouched() -> None:
    # P sells 200 to S (P's margin (500 − 400)/500 = 0.2); S expensed 150 and holds 50.
    #   unrealized profit 50 × 0.2 = 10, all the group's (x_P = 1)
    #   revenue 600 − 200 = 400; operating_cost 480 − 200 + 10 = 290; net_profit 120 − 10 = 110
    #   inventory 300 − 10 = 290; total_assets 1,800 − 300 − 10 = 1,490
    #   reserve 0.6 × 500 − 300 = 0; retained 300 + 0.6 × 0 − 10 = 290
    #   NCI 0.4 × 500 = 200 (no share of the profit); nci_profit 0.4 × 20 = 8
    lines = [
        ("P", "S", "investment", "300"),
        ("P", "S", "revenue", "200"),
        ("S", "P", "cost", "150"),
        ("S", "P", "inventory_held", "50"),
    ]
    result = run([("P", "S", 0.6)], DOWNSTREAM_STATEMENTS, lines)
    got = consolidated(result)
    assert got["unrealized_profit"] == yuan("10")
    assert got["revenue"] == yuan("400")
    assert got["operating_cost"] == yuan("290")
    assert got["net_profit"] == yuan("110")
    assert got["inventory"] == yuan("290")
    assert got["total_assets"] == yuan("1,490")
    assert got["retained_earnings"] == yuan("290")
    assert got["non_controlling_interest"] == yuan("200")
    assert got["nci_profit"] == yuan("8")
    assert got["equity_attributable_to_parent"] == yuan("1,290")  # 1,300 − 300 + 0.6×500 − 10
    # The same sale upstream (S sells at its margin (100 − 80)/100 = 0.2): 10 again, of which
    # the minority bears 0.4 × 10 = 4: NCI 196, nci_profit 4.
    upstream = [
        ("P", "S", "investment", "300"),
        ("S", "P", "revenue", "50"),
        ("P", "S", "cost", "0"),
        ("P", "S", "inventory_held", "50"),
    ]
    got = consolidated(run([("P", "S", 0.6)], DOWNSTREAM_STATEMENTS, upstream))
    assert got["unrealized_profit"] == yuan("10")
    assert got["non_controlling_interest"] == yuan("196")
    assert got["nci_profit"] == yuan("4")
    assert got["equity_attributable_to_parent"] == yuan("1,294")  # 1,300 − 300 + 300 − 6


def test_consolidation_lists_missing_investment_lines_and_sales_without_inventory() -> None:
    # S1 holds 60% of S2 but reported no investment line; S1 sold to S2 with no inventory_held.
    lines = [line for line in DOMAIN_LINES if line[2] not in ("investment", "inventory_held")]
    lines += [("P", "S1", "investment", "500")]
    result = run(DOMAIN_STAKES, DOMAIN_STATEMENTS, lines)
    assert result.missing_investment_lines.rows() == [("S1", "S2", 0.6)]
    assert result.sales_without_inventory_line.rows() == [("S1", "S2")]
    assert consolidated(result)["unrealized_profit"] == yuan("0")
    # A stake in the root held by a member (库存股) needs a line too.
    stakes = [*DOMAIN_STAKES, ("S2", "P", 0.05)]
    result = run(stakes, DOMAIN_STATEMENTS, DOMAIN_LINES)
    assert result.missing_investment_lines.rows() == [("S2", "P", 0.05)]


def test_consolidation_treasury_stock_is_deducted_in_full_from_the_parents_equity() -> None:
    # S2 (x = 0.48) carries 5% of P at 40: it leaves the assets and comes off attributable
    # equity in full, not split 0.48 / 0.52: 1,737.12 − 40 = 1,697.12; NCI stays 359.28.
    stakes = [*DOMAIN_STAKES, ("S2", "P", 0.05)]
    statements = {**DOMAIN_STATEMENTS}
    statements["S2"] = {**statements["S2"], "cash": "60", "long_term_equity_investment": "40"}
    lines = [*DOMAIN_LINES, ("S2", "P", "investment", "40")]
    got = consolidated(run(stakes, statements, lines))
    assert got["treasury_stock"] == yuan("40")
    assert got["equity_attributable_to_parent"] == yuan("1,697.12")
    assert got["non_controlling_interest"] == yuan("359.28")
    assert got["total_assets"] == yuan("2,806.4")  # 2,846.4 − 40
    assert got["total_equity"] == yuan("2,056.4")


def test_consolidation_state_capital_uses_the_roots_state_share_and_exclusive_equity() -> None:
    # s = 0.9, E = 37.12: 0.9 × (1,737.12 − 37.12) + 37.12 = 1,530 + 37.12 = 1,567.12
    statements = {**DOMAIN_STATEMENTS}
    statements["P"] = {**statements["P"], "state_exclusive_equity": "37.12"}
    result = run(DOMAIN_STAKES, statements, DOMAIN_LINES, state_share=Decimal("0.9"))
    assert consolidated(result)["state_capital"] == yuan("1,567.12")


def test_consolidation_of_a_segment_uses_its_members_and_the_roots_interests() -> None:
    result = run(DOMAIN_STAKES, DOMAIN_STATEMENTS, DOMAIN_LINES, members=["S1", "S2"])
    got = consolidated(result)
    # Only S1–S2 eliminations: investment 300, the sale 100 and its unrealized profit 3.6.
    # total_assets 1,200 + 500 − 300 − 3.6 = 1,396.4.
    assert got["total_assets"] == yuan("1,396.4")
    assert [r[3] for r in result.eliminations.iter_rows()] == ["S1", "S1", "S1"]
    # NCI still with the root's interests: 99.28 + 260 = 359.28.
    assert got["non_controlling_interest"] == yuan("359.28")


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
    # 10 + 0.9 × 0.05 = 10.045: what is not the minority's 0.01 is the parent's.
    assert got["equity_attributable_to_parent"] == yuan("10.04")
    assert got["net_profit_attributable_to_parent"] == yuan("-0.22")  # −0.25 − (−0.03)


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
            ("C", "B", "revenue", "100.00"),
            ("B", "C", "cost", "88.00"),
            ("B", "C", "inventory_held", "12.00"),  # 88 + 12 matches the seller's 100
            ("C", "D", "investment", "300.00"),  # not a pair: the held side reports no line
            ("D", "C", "equity", "300.00"),  # old kind: accepted, never paired
            ("D", "C", "payable", "5.00"),  # C reported nothing
        ]
    )
    frame = intercompany_mismatches(lines).collect()
    expected = pl.DataFrame(
        [
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


KINDS = ["receivable", "payable", "revenue", "cost", "inventory_held", "investment", "equity"]
PARTNER_KIND = {"receivable": "payable", "revenue": "cost"}


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
    # The database refuses a line toward the entity itself.
    return stakes, statements, [line for line in lines if line[0] != line[1]]


def run_group(group: GroupCase) -> tuple[consolidation_calc.Consolidation, pl.DataFrame]:
    stakes, statements, lines = group
    own = ownership(stakes_frame(stakes), "N0").collect()
    result = consolidate(
        statements_frame({e: {k: str(v) for k, v in i.items()} for e, i in statements.items()}),
        lines_frame(lines),
        own.lazy(),
        "N0",
        stakes=stakes_frame(stakes),
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
    got = consolidated(result)
    assert got.get("total_assets", Decimal(0)) == (
        members_total - asset_side - got["unrealized_profit"]
    )


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


@PROPERTY
@given(groups())
def test_polars_agrees_with_the_plain_python_reference(group: GroupCase) -> None:
    stakes, statements, lines = group
    result, own = run_group(group)
    econ = [(h, e, s) for h, e, s, _ in stakes]
    x = reference.effective_interest(econ, "N0")
    ctl = reference.control([(h, e, v) for h, e, _, v in stakes], "N0")
    parents = {e: r.parent_id for e, r in ctl.items() if r.controlled}
    inside = reference.consolidated_interest(econ, "N0", parents)
    rows = {r["entity_id"]: r for r in own.iter_rows(named=True)}
    assert rows.keys() == ctl.keys()
    for entity, row in rows.items():
        assert abs(row["effective_interest"] - x.get(entity, 0.0)) < 1e-9
        assert abs(row["consolidated_interest"] - inside.get(entity, 0.0)) < 1e-9
        ref = ctl[entity]
        assert (row["controlled"], row["method"], row["parent_id"]) == (
            ref.controlled,
            ref.method,
            ref.parent_id,
        )
        assert abs(row["group_votes"] - ref.group_votes) < 1e-12
    # The same interests go in, so a half-cent tie cannot fall differently for float noise.
    want = reference.consolidate(
        [(e, k, v) for e, items in statements.items() for k, v in items.items()],
        lines,
        {e: r["consolidated_interest"] for e, r in rows.items()},
        "N0",
        result.members,
        econ,
        parent=parents,
    )
    got_items = {r[0]: r[1:] for r in result.items.iter_rows()}
    summary = set(consolidation_calc.SUMMARY_ITEMS)
    assert got_items.keys() - summary == want.items.keys()
    for item, triple in want.items.items():
        assert got_items[item] == triple, item
    for item, value in want.extras.items():
        assert got_items[item][2] == value, item
    got_eliminations = result.eliminations.rows()
    assert [r[:5] for r in got_eliminations] == [r[:5] for r in want.eliminations]
    pairs = ("receivable_payable", "revenue_cost")
    assert [r for r in got_eliminations if r[0] in pairs] == [
        r for r in want.eliminations if r[0] in pairs
    ]
    assert {r[0]: r[2:] for r in result.nci.iter_rows()} == want.nci
    assert [r[:2] for r in result.missing_investment_lines.rows()] == want.missing_investment_lines
    assert result.sales_without_inventory_line.rows() == want.no_inventory_held
