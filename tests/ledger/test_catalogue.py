"""The 财务快报 catalogue says what DOMAIN.md §3 says, and periods parse to the right dates."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stateasset.core.periods import Period, parse_period, periods_of_year, previous_in_year
from stateasset.ledger.catalogue import ITEM_BY_CODE, ITEMS, TOTALS, label

# DOMAIN.md §3, in its order, with its labels (the two unlabelled cash-flow lines use the
# standard 现金流量表 captions).
EXPECTED = [
    ("cash", "货币资金", "balance_sheet"),
    ("receivables", "应收款项", "balance_sheet"),
    ("inventory", "存货", "balance_sheet"),
    ("long_term_equity_investment", "长期股权投资", "balance_sheet"),
    ("investment_property", "投资性房地产", "balance_sheet"),
    ("fixed_assets", "固定资产", "balance_sheet"),
    ("construction_in_progress", "在建工程", "balance_sheet"),
    ("intangible_assets", "无形资产", "balance_sheet"),
    ("other_assets", "其他资产", "balance_sheet"),
    ("total_assets", "资产总计", "balance_sheet"),
    ("short_term_borrowings", "短期借款", "balance_sheet"),
    ("payables", "应付款项", "balance_sheet"),
    ("long_term_borrowings", "长期借款", "balance_sheet"),
    ("bonds_payable", "应付债券", "balance_sheet"),
    ("other_liabilities", "其他负债", "balance_sheet"),
    ("total_liabilities", "负债合计", "balance_sheet"),
    ("paid_in_capital", "实收资本", "balance_sheet"),
    ("capital_reserve", "资本公积", "balance_sheet"),
    ("retained_earnings", "未分配利润及盈余公积", "balance_sheet"),
    ("total_equity", "所有者权益合计", "balance_sheet"),
    ("state_capital", "国有资本", "balance_sheet"),
    ("state_exclusive_equity", "国有独享权益", "balance_sheet"),
    ("revenue", "营业收入", "income"),
    ("operating_cost", "营业成本", "income"),
    ("rd_expense", "研发经费投入", "income"),
    ("total_profit", "利润总额", "income"),
    ("net_profit", "净利润", "income"),
    ("operating_cash_flow", "经营活动现金流量净额", "cash_flow"),
    ("investing_cash_flow", "投资活动现金流量净额", "cash_flow"),
    ("financing_cash_flow", "筹资活动现金流量净额", "cash_flow"),
    ("employees_avg", "平均从业人数", "other"),
    ("labor_cost", "职工薪酬", "other"),
    ("depreciation", "折旧", "other"),
    ("taxes_net", "生产税净额", "other"),
]


def test_items_follow_domain_order_labels_and_sections() -> None:
    assert [(i.code, i.label, i.section) for i in ITEMS] == EXPECTED
    assert len(ITEMS) == 34
    assert ITEM_BY_CODE["retained_earnings"].label == "未分配利润及盈余公积"
    assert label("cash") == "货币资金"
    assert label("state_capital") == "国有资本"


def test_label_of_unknown_code_names_it() -> None:
    with pytest.raises(KeyError, match="goodwill"):
        label("goodwill")


def test_non_negative_set() -> None:
    may_be_negative = {
        "capital_reserve",
        "retained_earnings",
        "total_equity",
        "state_capital",
        "state_exclusive_equity",
        "total_profit",
        "net_profit",
        "operating_cash_flow",
        "investing_cash_flow",
        "financing_cash_flow",
        "taxes_net",
    }
    assert {i.code for i in ITEMS if not i.non_negative} == may_be_negative
    # Every asset and liability line, and paid-in capital, is non-negative.
    for total in ("total_assets", "total_liabilities"):
        assert all(ITEM_BY_CODE[p].non_negative for p in (*TOTALS[total], total))
    assert ITEM_BY_CODE["paid_in_capital"].non_negative


def test_flow_set_is_income_cash_flow_and_other_except_the_head_count() -> None:
    flows = {i.code for i in ITEMS if i.flow}
    assert flows == {
        "revenue",
        "operating_cost",
        "rd_expense",
        "total_profit",
        "net_profit",
        "operating_cash_flow",
        "investing_cash_flow",
        "financing_cash_flow",
        "labor_cost",
        "depreciation",
        "taxes_net",
    }
    assert not any(i.flow for i in ITEMS if i.section == "balance_sheet")


def test_totals_are_made_of_balance_sheet_items() -> None:
    assert TOTALS["total_assets"] == (
        "cash",
        "receivables",
        "inventory",
        "long_term_equity_investment",
        "investment_property",
        "fixed_assets",
        "construction_in_progress",
        "intangible_assets",
        "other_assets",
    )
    assert TOTALS["total_liabilities"] == (
        "short_term_borrowings",
        "payables",
        "long_term_borrowings",
        "bonds_payable",
        "other_liabilities",
    )
    assert TOTALS["total_equity"] == ("paid_in_capital", "capital_reserve", "retained_earnings")
    assert "state_capital" not in TOTALS["total_equity"]
    for total, parts in TOTALS.items():
        assert ITEM_BY_CODE[total].section == "balance_sheet"
        assert all(ITEM_BY_CODE[p].section == "balance_sheet" for p in parts)


@pytest.mark.parametrize(
    ("code", "kind", "year", "start", "end"),
    [
        ("2025-09", "month", 2025, date(2025, 9, 1), date(2025, 9, 30)),
        ("2024-02", "month", 2024, date(2024, 2, 1), date(2024, 2, 29)),  # leap year
        ("2025-02", "month", 2025, date(2025, 2, 1), date(2025, 2, 28)),
        ("2025-12", "month", 2025, date(2025, 12, 1), date(2025, 12, 31)),
        ("2025-Q1", "quarter", 2025, date(2025, 1, 1), date(2025, 3, 31)),
        ("2025-Q3", "quarter", 2025, date(2025, 7, 1), date(2025, 9, 30)),
        ("2025-Q4", "quarter", 2025, date(2025, 10, 1), date(2025, 12, 31)),
        ("2025", "year", 2025, date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_parse_period(code: str, kind: str, year: int, start: date, end: date) -> None:
    assert parse_period(code) == Period(code, kind, year, start, end)  # type: ignore[arg-type]
    assert parse_period(code).ytd_start == date(year, 1, 1)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("2025-13", "month must be 01..12"),
        ("2025-00", "month must be 01..12"),
        ("2025-Q5", "quarter must be Q1..Q4"),
        ("2025-Q0", "quarter must be Q1..Q4"),
        ("2025-9", "expected 'YYYY-MM'"),
        ("2025q3", "expected 'YYYY-MM'"),
        ("2025-q3", "expected 'YYYY-MM'"),
        (" 2025", "expected 'YYYY-MM'"),
        ("25-09", "expected 'YYYY-MM'"),
        ("", "expected 'YYYY-MM'"),
        ("２０２５", "expected 'YYYY-MM'"),  # full-width digits
        ("2025-09-30", "expected 'YYYY-MM'"),
        ("1899", "outside 1900..2100"),
    ],
)
def test_parse_period_rejects_with_reason(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_period(code)


def test_previous_in_year() -> None:
    def prev(code: str) -> str | None:
        p = previous_in_year(parse_period(code))
        return None if p is None else p.code

    assert prev("2025-09") == "2025-08"
    assert prev("2025-02") == "2025-01"
    assert prev("2025-01") is None
    assert prev("2025-Q3") == "2025-Q2"
    assert prev("2025-Q2") == "2025-Q1"
    assert prev("2025-Q1") is None
    assert prev("2025") is None


def test_sort_key_orders_by_end_then_month_quarter_year() -> None:
    codes = ["2025", "2025-Q3", "2025-12", "2025-09", "2024-Q4", "2025-01", "2025-Q4"]
    ordered = sorted((parse_period(c) for c in codes), key=lambda p: p.sort_key)
    assert [p.code for p in ordered] == [
        "2024-Q4",
        "2025-01",
        "2025-09",
        "2025-Q3",
        "2025-12",
        "2025-Q4",
        "2025",
    ]


def test_periods_of_year() -> None:
    assert [p.code for p in periods_of_year(2025, "quarter")] == [
        "2025-Q1",
        "2025-Q2",
        "2025-Q3",
        "2025-Q4",
    ]
    months = periods_of_year(2025, "month")
    assert len(months) == 12
    # Consecutive months tile the year without gaps.
    assert all((b.start - a.end).days == 1 for a, b in pairwise(months))


@given(st.integers(1900, 2100), st.integers(1, 12))
def test_month_codes_round_trip(year: int, month: int) -> None:
    period = parse_period(f"{year:04d}-{month:02d}")
    assert period.code == f"{year:04d}-{month:02d}"
    quarter = parse_period(f"{year}-Q{(month + 2) // 3}")
    assert quarter.start <= period.start <= period.end <= quarter.end
