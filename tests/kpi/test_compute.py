"""The KPI arithmetic on DOMAIN §6/§8's worked examples and hand-worked cases."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from stateasset.kpi import compute
from stateasset.kpi.compute import ITEMS_SCHEMA


def _items(rows: list[tuple[str, str, str, str]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        [(e, p, i, Decimal(a)) for e, p, i, a in rows], schema=ITEMS_SCHEMA, orient="row"
    )


def _ratio_map(lf: pl.LazyFrame) -> dict[tuple[str, str, str], tuple[float | None, str | None]]:
    return {
        (r["entity"], r["period"], r["ratio"]): (r["value"], r["reason"])
        for r in lf.collect().to_dicts()
    }


def test_worked_ratios_of_domain() -> None:
    # Opening 50,000 and closing 53,000 total assets average to 51,500.
    got = _ratio_map(
        compute.ratios(
            _items(
                [
                    ("A", "2025", "operating_cash_flow", "6630.70"),
                    ("A", "2025", "revenue", "62500.00"),
                    ("A", "2025", "opening_total_assets", "50000.00"),
                    ("A", "2025", "total_assets", "53000.00"),
                ]
            )
        )
    )
    assert round(got[("A", "2025", "operating_cash_ratio")][0] * 100, 2) == 10.61
    assert round(got[("A", "2025", "cash_recovery_on_assets")][0] * 100, 2) == 12.88
    # Nothing else entered: nulls with a reason, never infinity.
    assert got[("A", "2025", "roe")] == (None, "missing average total_equity")
    assert got[("A", "2025", "cash_earnings_coverage")] == (None, "missing net_profit")


def test_ratios_average_from_previous_period_zero_denominator_and_preservation() -> None:
    got = _ratio_map(
        compute.ratios(
            _items(
                [
                    ("B", "2024", "total_equity", "900.00"),
                    ("B", "2024", "state_capital", "1000.00"),
                    ("B", "2025", "total_equity", "1100.00"),
                    ("B", "2025", "net_profit", "80.00"),
                    ("B", "2025", "revenue", "0.00"),
                    ("B", "2025", "rd_expense", "5.00"),
                    ("B", "2025", "state_capital", "1150.00"),
                    ("B", "2025", "objective_factors", "50.00"),
                    ("B", "2025", "total_liabilities", "600.00"),
                    ("B", "2025", "total_assets", "1700.00"),
                ]
            )
        )
    )
    # roe = 80 / ((900 + 1100) / 2) = 0.08; opening equity is 2024's closing.
    assert got[("B", "2025", "roe")][0] == pytest.approx(0.08)
    # Zero revenue: null and why.
    assert got[("B", "2025", "rd_intensity")] == (None, "zero revenue")
    # (1150 − 50 objective) / 1000 = 1.10
    assert got[("B", "2025", "capital_preservation")][0] == pytest.approx(1.10)
    assert got[("B", "2025", "debt_to_asset")][0] == pytest.approx(600 / 1700)
    # 2024 has no opening: ROE null with a reason.
    assert got[("B", "2024", "roe")][1] == "missing average total_equity"


def test_efficacy_worked_example_of_domain() -> None:
    lf = pl.LazyFrame(
        {
            "weight": [20.0],
            "direction": ["higher"],
            "actual": [8.0],
            "tier_1": [16.0],
            "tier_2": [9.5],
            "tier_3": [1.7],
            "tier_4": [-3.0],
            "tier_5": [-8.0],
        }
    )
    r = compute.efficacy(lf).collect().row(0, named=True)
    assert r["tier"] == "平均"
    assert r["base"] == pytest.approx(12.0)
    assert round(r["efficacy"], 4) == 0.8077
    assert round(r["adjustment"], 2) == 3.23
    assert r["score"] == 15.23


def test_efficacy_lower_is_better_is_mirrored() -> None:
    # Debt ratio (lower is better) 62%, weight 10; tiers 优秀 45 良好 55 平均 65 较低 75 较差 85.
    # 62 is between 平均 65 and 良好 55: base = 10 × 0.6 = 6; efficacy = (65 − 62) / (65 − 55) = 0.3;
    # adjustment = 0.3 × (10 × 0.8 − 6) = 0.6; score 6.6.
    # 40 is better than 优秀 → the weight, 10; 90 is worse than 较差 → 0.
    lf = pl.LazyFrame(
        {
            "weight": [10.0, 10.0, 10.0],
            "direction": ["lower"] * 3,
            "actual": [62.0, 40.0, 90.0],
            "tier_1": [45.0] * 3,
            "tier_2": [55.0] * 3,
            "tier_3": [65.0] * 3,
            "tier_4": [75.0] * 3,
            "tier_5": [85.0] * 3,
        }
    )
    rows = compute.efficacy(lf).collect().to_dicts()
    assert rows[0]["tier"] == "平均"
    assert rows[0]["efficacy"] == pytest.approx(0.3)
    assert rows[0]["score"] == 6.6
    assert (rows[1]["tier"], rows[1]["score"]) == ("优秀", 10.0)
    assert (rows[2]["tier"], rows[2]["score"]) == ("较差以下", 0.0)


def _step(
    actual: float,
    target: float,
    last_year: float | None,
    avg_3y: float | None,
    direction: str = "higher",
):
    lf = pl.LazyFrame(
        {
            "weight": [30.0],
            "direction": [direction],
            "actual": [actual],
            "target": [target],
            "last_year": [last_year],
            "avg_3y": [avg_3y],
        },
        schema_overrides={"last_year": pl.Float64, "avg_3y": pl.Float64},
    )
    return compute.target_step(lf).collect().row(0, named=True)


def test_target_step_worked_example_of_domain() -> None:
    # 109 vs 100: 9% = 3 full steps × 30/30 = +3 → 33.
    assert _step(109.0, 100.0, None, None)["score"] == 33.0


def test_target_step_below_target_and_caps() -> None:
    # 94 vs 100: −6% = −2 steps × 1 = −2 → 28.
    assert _step(94.0, 100.0, None, None)["score"] == 28.0
    # 92 vs 100: −8% → −2 full steps (toward zero) → 28.
    assert _step(92.0, 100.0, None, None)["steps"] == -2
    # 130 vs 100: 10 steps = +10, capped at 30/5 = 6 → 36.
    r = _step(130.0, 100.0, 95.0, 90.0)
    assert (r["benchmark"], r["cap_up"], r["score"]) == (90.0, 6.0, 36.0)
    # Target 100 below the benchmark min(120, 110) = 110 → bonus cap halved to 3 → 33.
    r = _step(130.0, 100.0, 120.0, 110.0)
    assert (r["benchmark"], r["cap_up"], r["score"]) == (110.0, 3.0, 33.0)
    # Far below: −40% = −13 steps, floored at −6 → 24 (the soft target does not soften losses).
    assert _step(60.0, 100.0, 120.0, 110.0)["score"] == 24.0


def test_target_step_lower_is_better() -> None:
    # Cost ratio target 80, actual 74: (80 − 74) / 80 = 7.5% better = 2 steps → +2 → 32.
    # Benchmark for lower-is-better = max(78, 82) = 82; the target 80 is stricter, cap stays 6.
    r = _step(74.0, 80.0, 78.0, 82.0, "lower")
    assert (r["benchmark"], r["cap_up"], r["score"]) == (82.0, 6.0, 32.0)


def test_macro_sets_tiers_from_the_macro_value() -> None:
    # GDP 5%; offsets +4/+2/0/−2/−4 → tiers 9/7/5/3/1; growth 6%, weight 10:
    # base 6, efficacy (6 − 5) / (7 − 5) = 0.5, adjustment 0.5 × (8 − 6) = 1 → 7.
    lf = pl.LazyFrame({"weight": [10.0], "direction": ["higher"], "actual": [6.0], "macro": [5.0]})
    r = compute.macro(lf, [4.0, 2.0, 0.0, -2.0, -4.0]).collect().row(0, named=True)
    assert (r["tier_2"], r["tier"], r["score"]) == (7.0, "平均", 7.0)


def test_peer_rank_percentile() -> None:
    # Peers 1, 2, 3, 4; actual 3: beats 2, ties 1 → (2 + 0.5) / 4 = 0.625 × 10 = 6.25.
    scores = pl.LazyFrame(
        {
            "weight": [10.0, 10.0],
            "direction": ["higher", "lower"],
            "actual": [3.0, 3.0],
            "industry": ["建筑", "建筑"],
            "year": [2025, 2025],
            "indicator": ["roe", "debt"],
        }
    )
    peers = pl.LazyFrame(
        {
            "industry": ["建筑"] * 8,
            "year": [2025] * 8,
            "indicator": ["roe"] * 4 + ["debt"] * 4,
            "value": [1.0, 2.0, 3.0, 4.0] * 2,
        }
    )
    rows = compute.peer_rank(scores, peers).collect().to_dicts()
    assert (rows[0]["peers"], rows[0]["score"]) == (4, 6.25)
    # Lower is better: beats 4, ties 3 → (1 + 0.5) / 4 = 0.375 → 3.75.
    assert rows[1]["score"] == 3.75


BANDS = {"A": 90.0, "B": 80.0, "C": 70.0}
PAY = {"A": 1.5, "B": 1.2, "C": 1.0, "D": 0.6}


def test_totals_grades_a_cap_and_review() -> None:
    scores = pl.LazyFrame(
        {
            "contract": ["c1", "c2", "c3", "c4", "c4"],
            "year": [2025] * 5,
            "indicator": ["profit", "profit", "profit", "profit", "roe"],
            "main": [True, True, True, True, False],
            "direction": ["higher"] * 5,
            "actual": [110.0, 100.0, 100.0, 65.0, 1.0],
            "target": [100.0, 100.0, 100.0, 100.0, 5.0],
            "score": [93.0, 92.0, 84.0, 70.0, 5.0],
        }
    )
    adjustments = pl.LazyFrame(
        {
            "contract": ["c1", "c3"],
            "year": [2025, 2025],
            "kind": ["bonus", "deduction"],
            "points": [Decimal("2.00"), Decimal("20.00")],
        }
    )
    # Totals: c1 93 + 2 = 95; c2 92; c3 84 − 20 = 64; c4 70 + 5 = 75.
    t = compute.totals(scores, adjustments)
    g = compute.grades(t, BANDS, a_cap=1, pay=PAY)
    r = compute.review_flags(g, scores).collect()
    by = {row["contract"]: row for row in r.to_dicts()}
    assert [by[c]["total"] for c in ("c1", "c2", "c3", "c4")] == [95.0, 92.0, 64.0, 75.0]
    # c2 reaches the A band but only one A is allowed: rank 2 → B.
    assert (by["c1"]["grade"], by["c1"]["rank"]) == ("A", 1)
    assert (by["c2"]["band_grade"], by["c2"]["grade"], by["c2"]["a_capped"]) == ("A", "B", True)
    assert by["c2"]["pay_coefficient"] == 1.2
    assert (by["c3"]["grade"], by["c3"]["rank"]) == ("D", 4)
    # Appointment floor: c3's total 64 < 70; c4's main indicator 65 / 100 < 70% (roe is not main).
    assert by["c3"]["review"] and by["c3"]["review_reason"].startswith("总分")
    assert by["c4"]["review"] and by["c4"]["review_reason"] == "主要指标低于目标70%: profit"
    assert not by["c1"]["review"] and not by["c2"]["review"]
