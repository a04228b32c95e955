"""审核公式: every rule fires on a crafted statement and stays silent on a balanced one."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from stateasset.ledger.frames import STATEMENT_SCHEMA as SCHEMA
from stateasset.ledger.rules import FINDING_SCHEMA, check_statements

D = Decimal

# A balanced 2025-09 statement, worked out by hand:
#   assets      1,000.00 + 2,500.50 + 300.25 + 5,000.00 + 1,200.00 + 8,000.75 + 3,000.00
#               + 499.50 + 100.00                                      = 21,601.00
#   liabilities 2,000.00 + 3,100.40 + 6,000.00 + 1,500.00 + 400.60     = 13,001.00
#   equity      7,000.00 + 1,000.00 + 600.00                           =  8,600.00
#   13,001.00 + 8,600.00 = 21,601.00 = total assets.
BALANCED: dict[str, str] = {
    "cash": "1000.00",
    "receivables": "2500.50",
    "inventory": "300.25",
    "long_term_equity_investment": "5000.00",
    "investment_property": "1200.00",
    "fixed_assets": "8000.75",
    "construction_in_progress": "3000.00",
    "intangible_assets": "499.50",
    "other_assets": "100.00",
    "total_assets": "21601.00",
    "short_term_borrowings": "2000.00",
    "payables": "3100.40",
    "long_term_borrowings": "6000.00",
    "bonds_payable": "1500.00",
    "other_liabilities": "400.60",
    "total_liabilities": "13001.00",
    "paid_in_capital": "7000.00",
    "capital_reserve": "1000.00",
    "retained_earnings": "600.00",
    "total_equity": "8600.00",
    "state_capital": "7000.00",
    "revenue": "62500.00",
    "operating_cost": "50000.00",
    "rd_expense": "1250.00",
    "total_profit": "3000.00",
    "net_profit": "2250.00",
    "operating_cash_flow": "6630.70",
    "investing_cash_flow": "-2000.00",  # cash flows may be negative
    "financing_cash_flow": "-1500.00",
    "employees_avg": "120",
    "labor_cost": "9600.00",
    "depreciation": "800.00",
    "taxes_net": "-50.00",  # subsidies above production taxes: negative is allowed
}

# August, year to date: smaller than September, so cumulative.
AUGUST = {"revenue": "55000.00", "operating_cost": "44000.00", "net_profit": "2400.00"}


def frame(
    amounts: dict[str, str | None], entity: str = "E1", period: str = "2025-09"
) -> pl.DataFrame:
    return pl.DataFrame(
        [(entity, period, item, None if a is None else D(a)) for item, a in amounts.items()],
        schema=SCHEMA,
        orient="row",
    )


def changed(**changes: str | None) -> dict[str, str | None]:
    """BALANCED with some amounts replaced; None removes the item."""
    out: dict[str, str | None] = {**BALANCED, **changes}
    return {k: v for k, v in out.items() if v is not None}


def findings(*rows: tuple[str, str, str, str, str]) -> pl.DataFrame:
    """Expected findings without messages: (entity, period, item, rule, severity)."""
    return pl.DataFrame(
        list(rows),
        schema=["entity_id", "period", "item", "rule", "severity"],
        orient="row",
    )


def check(current: pl.DataFrame, earlier: pl.DataFrame | None = None, **kw: D) -> pl.DataFrame:
    out = check_statements(current, earlier, **kw)
    assert out.schema == pl.Schema(FINDING_SCHEMA)
    return out


def test_balanced_statement_is_silent() -> None:
    out = check(frame(BALANCED), frame(AUGUST, period="2025-08"))
    assert out.height == 0
    assert out.columns == ["entity_id", "period", "item", "rule", "severity", "message"]


def test_balance_rule_fires_when_totals_do_not_balance() -> None:
    # capital_reserve 999.00: equity 7,000 + 999 + 600 = 8,599.00 (parts agree with the total),
    # but 13,001.00 + 8,599.00 = 21,600.00 ≠ 21,601.00.
    out = check(frame(changed(capital_reserve="999.00", total_equity="8599.00")))
    assert_frame_equal(
        out.drop("message"), findings(("E1", "2025-09", "total_assets", "balance", "error"))
    )
    assert out["message"][0] == (
        "资产总计 total_assets 21601.00 ≠ 负债合计 total_liabilities 13001.00 + "
        "所有者权益合计 total_equity 8599.00 (差额 1.00): balance sheet does not balance "
        "[balance]"
    )


@pytest.mark.parametrize(
    ("capital_reserve", "fires"),
    [("999.99", False), ("999.98", True), ("1000.01", False), ("1000.02", True)],
)
def test_balance_tolerance_is_one_cent(capital_reserve: str, fires: bool) -> None:
    equity = D("7600.00") + D(capital_reserve)
    out = check(frame(changed(capital_reserve=capital_reserve, total_equity=str(equity))))
    assert out["rule"].to_list() == (["balance"] if fires else [])


def test_tolerance_is_configurable() -> None:
    unbalanced = frame(changed(capital_reserve="999.00", total_equity="8599.00"))
    assert check(unbalanced, tolerance=D("1.00")).height == 0
    assert check(unbalanced, tolerance=D("0.99")).height == 1
    with pytest.raises(ValueError, match="tolerance"):
        check(unbalanced, tolerance=D("-1"))


def test_balance_counts_an_unreported_total_as_zero() -> None:
    only_assets = frame({"total_assets": "100.00", "total_liabilities": "100.00"})
    assert check(only_assets).height == 0  # no equity line: zero, and 100 = 100 + 0
    out = check(frame({"total_assets": "100.00"}))
    assert out["rule"].to_list() == ["balance"]
    assert (
        "未填报按0计 not reported, counted as 0: total_liabilities, total_equity"
        in (out["message"][0])
    )
    # Income items alone are not a balance sheet: nothing to balance.
    assert check(frame({"revenue": "10.00", "net_profit": "-3.00"})).height == 0


def test_sum_of_parts_fires_on_a_total_that_differs_from_its_parts() -> None:
    # cash 1,001.00: parts sum to 21,602.00 but total_assets says 21,601.00 (and still
    # balances against liabilities + equity).
    out = check(frame(changed(cash="1001.00")))
    assert_frame_equal(
        out.drop("message"),
        findings(("E1", "2025-09", "total_assets", "sum_of_parts", "error")),
    )
    assert out["message"][0] == (
        "资产总计 total_assets 填报 21601.00 ≠ 各组成项目之和 21602.00 (差额 -1.00): "
        "total differs from the sum of its parts [sum_of_parts]"
    )


def test_sum_of_parts_needs_every_part() -> None:
    # Without other_assets the parts sum to 21,501.00; not all given, so no check.
    assert check(frame(changed(other_assets=None))).height == 0


def test_sum_of_parts_on_each_total() -> None:
    out = check(
        frame(changed(payables="3100.00", paid_in_capital="7000.10", total_equity="8600.10"))
    )
    # payables 3,100.00: liabilities parts 13,000.60 ≠ 13,001.00 → sum_of_parts;
    # equity 8,600.10 matches its parts, but 13,001.00 + 8,600.10 = 21,601.10 → balance.
    assert_frame_equal(
        out.drop("message"),
        findings(
            ("E1", "2025-09", "total_assets", "balance", "error"),
            ("E1", "2025-09", "total_liabilities", "sum_of_parts", "error"),
        ),
    )


def test_non_negative_fires_only_on_items_that_cannot_be_negative() -> None:
    # Losses and negative reserves are allowed; negative R&D spending is not.
    out = check(
        frame(
            changed(
                rd_expense="-1250.00",
                total_profit="-3000.00",
                net_profit="-2250.00",
                capital_reserve="-1000.00",
                retained_earnings="2600.00",  # equity still 7,000 − 1,000 + 2,600 = 8,600
            )
        )
    )
    assert_frame_equal(
        out.drop("message"), findings(("E1", "2025-09", "rd_expense", "non_negative", "error"))
    )
    assert out["message"][0] == (
        "研发经费投入 rd_expense 不能为负数 must not be negative: -1250.00 [non_negative]"
    )


def test_unknown_item_fires() -> None:
    out = check(frame(changed(goodwill="10.00")))
    assert_frame_equal(
        out.drop("message"), findings(("E1", "2025-09", "goodwill", "unknown_item", "error"))
    )
    assert "goodwill" in out["message"][0]
    assert "[unknown_item]" in out["message"][0]


def test_ytd_cumulative_warns_when_a_flow_shrinks() -> None:
    earlier = pl.concat(
        [
            # August revenue 70,000 > September's 62,500: not cumulative. Net profit may fall.
            frame({"revenue": "70000.00", "net_profit": "9000.00"}, period="2025-08"),
            # Last year's December does not count against this year.
            frame({"operating_cost": "999999.00"}, period="2024-12"),
        ]
    )
    out = check(frame(BALANCED), earlier)
    assert_frame_equal(
        out.drop("message"),
        findings(("E1", "2025-09", "revenue", "ytd_cumulative", "warning")),
    )
    assert out["message"][0] == (
        "营业收入 revenue 本年累计数 62500.00 小于 2025-08 的累计数 70000.00: "
        "year-to-date amount is below the earlier period's [ytd_cumulative]"
    )


def test_ytd_compares_with_the_nearest_earlier_period_across_kinds() -> None:
    # Q3 against June (nearest end before 30 Sep) rather than against Q1.
    earlier = pl.concat(
        [
            frame({"revenue": "10.00"}, period="2025-Q1"),
            frame({"revenue": "40.00"}, period="2025-06"),
            frame({"revenue": "35.00"}, period="2025-Q2"),  # same end as June: larger one used
        ]
    )
    out = check(frame({"revenue": "39.99"}, period="2025-Q3"), earlier)
    assert out["rule"].to_list() == ["ytd_cumulative"]
    assert "2025-06 的累计数 40.00" in out["message"][0]
    assert check(frame({"revenue": "40.00"}, period="2025-Q3"), earlier).height == 0


def test_ytd_within_one_multi_period_upload_and_replacing_earlier_versions() -> None:
    current = pl.concat(
        [
            frame({"labor_cost": "500.00"}, period="2025-07"),
            frame({"labor_cost": "450.00"}, period="2025-08"),
        ]
    )
    # The stored July (300) is superseded by the uploaded July (500), which August undercuts.
    earlier = frame({"labor_cost": "300.00"}, period="2025-07")
    out = check(current, earlier)
    assert_frame_equal(
        out.drop("message"),
        findings(("E1", "2025-08", "labor_cost", "ytd_cumulative", "warning")),
    )


def test_missing_total_warns_and_balance_counts_it_as_zero() -> None:
    out = check(frame(changed(total_liabilities=None)))
    assert_frame_equal(
        out.drop("message"),
        findings(
            ("E1", "2025-09", "total_assets", "balance", "error"),
            ("E1", "2025-09", "total_liabilities", "missing_total", "warning"),
        ),
    )
    assert out["message"][1] == (
        "负债合计 total_liabilities 未填报，但已填报 5/5 个组成项目: "
        "total missing while parts are reported [missing_total]"
    )


def test_missing_total_with_some_parts() -> None:
    out = check(frame({"paid_in_capital": "10.00"}))
    assert out["rule"].to_list() == ["missing_total"]
    assert "1/3" in out["message"][0]


def test_output_is_sorted_by_entity_period_item_rule() -> None:
    current = pl.concat(
        [
            frame({"goodwill": "1.00", "cash": "-1.00"}, entity="E2", period="2025-Q3"),
            frame({"zzz": "1.00"}, entity="E1", period="2025"),
            frame({"cash": "-5.00"}, entity="E1", period="2025-09"),
            frame({"aaa": "1.00"}, entity="E2", period="2025-08"),
        ]
    )
    out = check(current)
    assert out.select("entity_id", "period", "item", "rule").rows() == [
        ("E1", "2025-09", "cash", "non_negative"),
        ("E1", "2025-09", "total_assets", "missing_total"),
        ("E1", "2025", "zzz", "unknown_item"),
        ("E2", "2025-08", "aaa", "unknown_item"),
        ("E2", "2025-Q3", "cash", "non_negative"),
        ("E2", "2025-Q3", "goodwill", "unknown_item"),
        ("E2", "2025-Q3", "total_assets", "missing_total"),
    ]


def test_null_amount_means_not_reported() -> None:
    assert check(frame(changed(other_assets=None) | {"other_assets": None})).height == 0


def test_malformed_input_is_refused() -> None:
    good = frame(BALANCED)
    with pytest.raises(TypeError, match="Decimal or integer"):
        check_statements(good.with_columns(pl.col("amount").cast(pl.Float64)))
    with pytest.raises(ValueError, match="missing columns"):
        check_statements(good.drop("period"))
    with pytest.raises(ValueError, match="'2025-9' is not a period code"):
        check_statements(frame({"cash": "1.00"}, period="2025-9"))
    with pytest.raises(ValueError, match="share an"):
        check_statements(pl.concat([frame({"cash": "1.00"}), frame({"cash": "2.00"})]))
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        check_statements(good.with_columns(amount=pl.lit(D("1.005")).cast(pl.Decimal(38, 3))))
    # Integers and exact wider decimals are fine.
    wide = good.with_columns(pl.col("amount").cast(pl.Decimal(38, 4)))
    assert check_statements(wide).is_empty()
    assert check_statements(frame({"employees_avg": "12"}).cast({"amount": pl.Int64})).is_empty()


cents = st.integers(0, 10**13).map(lambda c: D(c).scaleb(-2))
signed_cents = st.integers(-(10**13), 10**13).map(lambda c: D(c).scaleb(-2))


@st.composite
def balanced_statements(draw: st.DrawFn) -> dict[str, D]:
    assets = {p: draw(cents) for p in BALANCED if p in _ASSET_PARTS}
    liabilities = {p: draw(cents) for p in _LIABILITY_PARTS}
    total_assets = sum(assets.values(), D("0.00"))
    total_liabilities = sum(liabilities.values(), D("0.00"))
    total_equity = total_assets - total_liabilities  # may be negative (资不抵债)
    paid_in = draw(cents)
    reserve = draw(signed_cents)
    return {
        **assets,
        **liabilities,
        "total_assets": total_assets,
        "total_liabilities": total_liabilities,
        "paid_in_capital": paid_in,
        "capital_reserve": reserve,
        "retained_earnings": total_equity - paid_in - reserve,
        "total_equity": total_equity,
    }


_ASSET_PARTS = list(BALANCED)[:9]
_LIABILITY_PARTS = list(BALANCED)[10:15]


def _frame_of(amounts: dict[str, D]) -> pl.DataFrame:
    return pl.DataFrame(
        [("E", "2025-12", k, v) for k, v in amounts.items()], schema=SCHEMA, orient="row"
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(balanced_statements(), st.integers(2, 10**6))
def test_property_balanced_is_silent_and_any_drift_is_caught(
    statement: dict[str, D], drift_cents: int
) -> None:
    assert check_statements(_frame_of(statement)).is_empty()
    drifted = {**statement, "total_assets": statement["total_assets"] + D(drift_cents) / 100}
    rules = check_statements(_frame_of(drifted))["rule"].to_list()
    assert rules == ["balance", "sum_of_parts"]
