"""The statement item catalogue (财务快报项目) and reporting periods (报告期).

One place that says which line items exist, how staff call them, which ones may not be
negative, which ones are year-to-date flows and how totals are made of parts, so the importer,
the validation rules (审核公式) and the templates cannot disagree.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

Section = Literal["balance_sheet", "income", "cash_flow", "other"]
PeriodKind = Literal["month", "quarter", "year"]


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the 财务快报: its API code, the label staff see, and how it behaves.

    `non_negative` marks amounts that cannot be below zero in accounting sense (assets,
    liabilities, revenue-like flows); `flow` marks amounts reported year-to-date (累计数) rather
    than as period-end balances (期末数).
    """

    code: str
    label: str
    section: Section
    non_negative: bool
    flow: bool


def _bs(code: str, label: str, *, non_negative: bool) -> Item:
    return Item(code, label, "balance_sheet", non_negative, flow=False)


ITEMS: tuple[Item, ...] = (
    # 资产 (assets): balances, never negative.
    _bs("cash", "货币资金", non_negative=True),
    _bs("receivables", "应收款项", non_negative=True),
    _bs("inventory", "存货", non_negative=True),
    _bs("long_term_equity_investment", "长期股权投资", non_negative=True),
    _bs("investment_property", "投资性房地产", non_negative=True),
    _bs("fixed_assets", "固定资产", non_negative=True),
    _bs("construction_in_progress", "在建工程", non_negative=True),
    _bs("intangible_assets", "无形资产", non_negative=True),
    _bs("other_assets", "其他资产", non_negative=True),
    _bs("total_assets", "资产总计", non_negative=True),
    # 负债 (liabilities): balances, never negative.
    _bs("short_term_borrowings", "短期借款", non_negative=True),
    _bs("payables", "应付款项", non_negative=True),
    _bs("long_term_borrowings", "长期借款", non_negative=True),
    _bs("bonds_payable", "应付债券", non_negative=True),
    _bs("other_liabilities", "其他负债", non_negative=True),
    _bs("total_liabilities", "负债合计", non_negative=True),
    # 所有者权益 (equity): paid-in capital cannot go below zero; reserves, retained earnings,
    # total equity (资不抵债) and state capital can.
    _bs("paid_in_capital", "实收资本", non_negative=True),
    _bs("capital_reserve", "资本公积", non_negative=False),
    _bs("retained_earnings", "未分配利润及盈余公积", non_negative=False),
    _bs("total_equity", "所有者权益合计", non_negative=False),
    _bs("state_capital", "国有资本", non_negative=False),
    # 利润表 (income): year-to-date flows; profits may be losses.
    Item("revenue", "营业收入", "income", non_negative=True, flow=True),
    Item("operating_cost", "营业成本", "income", non_negative=True, flow=True),
    Item("rd_expense", "研发经费投入", "income", non_negative=True, flow=True),
    Item("total_profit", "利润总额", "income", non_negative=False, flow=True),
    Item("net_profit", "净利润", "income", non_negative=False, flow=True),
    # 现金流量表 (cash flow): net flows, either sign. DOMAIN.md gives no Chinese label for the
    # investing and financing lines; these are the standard 现金流量表 captions.
    Item("operating_cash_flow", "经营活动现金流量净额", "cash_flow", non_negative=False, flow=True),
    Item("investing_cash_flow", "投资活动现金流量净额", "cash_flow", non_negative=False, flow=True),
    Item("financing_cash_flow", "筹资活动现金流量净额", "cash_flow", non_negative=False, flow=True),
    # 其他 (for 全员劳动生产率): the head count is an average, not a running total; 生产税净额 is
    # production taxes less subsidies and can be negative.
    Item("employees_avg", "平均从业人数", "other", non_negative=True, flow=False),
    Item("labor_cost", "职工薪酬", "other", non_negative=True, flow=True),
    Item("depreciation", "折旧", "other", non_negative=True, flow=True),
    Item("taxes_net", "生产税净额", "other", non_negative=False, flow=True),
)

ITEM_BY_CODE: dict[str, Item] = {item.code: item for item in ITEMS}

TOTALS: dict[str, tuple[str, ...]] = {
    "total_assets": (
        "cash",
        "receivables",
        "inventory",
        "long_term_equity_investment",
        "investment_property",
        "fixed_assets",
        "construction_in_progress",
        "intangible_assets",
        "other_assets",
    ),
    "total_liabilities": (
        "short_term_borrowings",
        "payables",
        "long_term_borrowings",
        "bonds_payable",
        "other_liabilities",
    ),
    # state_capital is the state's share of equity, not a component of it.
    "total_equity": ("paid_in_capital", "capital_reserve", "retained_earnings"),
}


def label(code: str) -> str:
    """Return the Chinese label staff know an item by; KeyError names an unknown code."""
    try:
        return ITEM_BY_CODE[code].label
    except KeyError:
        raise KeyError(f"unknown statement item {code!r}") from None


# --- periods -------------------------------------------------------------------------------

_KIND_RANK: dict[str, int] = {"month": 0, "quarter": 1, "year": 2}
MIN_YEAR = 1900
MAX_YEAR = 2100

# [0-9], not \d: \d also matches full-width digits, which would give one period two spellings.
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_QUARTER = re.compile(r"([0-9]{4})-Q([0-9])")
_YEAR = re.compile(r"([0-9]{4})")


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period (报告期): a month '2025-09', a quarter '2025-Q3' or a year '2025'.

    `start`/`end` span the period itself; flows reported for it are still year-to-date, i.e.
    from 1 January of `year` to `end`.
    """

    code: str
    kind: PeriodKind
    year: int
    start: date
    end: date

    @property
    def sort_key(self) -> tuple[date, int, date]:
        """Order by end date, then month < quarter < year, so 2025-09 sorts before 2025-Q3."""
        return (self.end, _KIND_RANK[self.kind], self.start)

    @property
    def ytd_start(self) -> date:
        """First day of the year-to-date window (本年累计) the flows of this period cover."""
        return date(self.year, 1, 1)


def _check_year(code: str, year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"period {code!r}: year {year} outside {MIN_YEAR}..{MAX_YEAR}")


def month_period(year: int, month: int) -> Period:
    """Return the month period of `year`/`month`; ValueError outside 1..12 or the year range."""
    code = f"{year:04d}-{month:02d}"
    _check_year(code, year)
    if not 1 <= month <= 12:
        raise ValueError(f"period {code!r}: month must be 01..12")
    last = calendar.monthrange(year, month)[1]
    return Period(code, "month", year, date(year, month, 1), date(year, month, last))


def quarter_period(year: int, quarter: int) -> Period:
    """Return the quarter period of `year`/`quarter`; ValueError outside 1..4 or the range."""
    code = f"{year:04d}-Q{quarter}"
    _check_year(code, year)
    if not 1 <= quarter <= 4:
        raise ValueError(f"period {code!r}: quarter must be Q1..Q4")
    first = 3 * quarter - 2
    last_month = 3 * quarter
    last = calendar.monthrange(year, last_month)[1]
    return Period(code, "quarter", year, date(year, first, 1), date(year, last_month, last))


def year_period(year: int) -> Period:
    """Return the calendar-year period; ValueError outside the supported year range."""
    code = f"{year:04d}"
    _check_year(code, year)
    return Period(code, "year", year, date(year, 1, 1), date(year, 12, 31))


def parse_period(code: str) -> Period:
    """Return the Period for 'YYYY-MM', 'YYYY-Qn' or 'YYYY'; ValueError says what is wrong.

    Only canonical codes are accepted (no '2025-9', no lowercase 'q', no spaces) so one period
    has exactly one spelling in the database.
    """
    if not isinstance(code, str):
        raise ValueError(f"period must be text, got {type(code).__name__}")
    if m := _MONTH.fullmatch(code):
        return month_period(int(m[1]), int(m[2]))
    if m := _QUARTER.fullmatch(code):
        return quarter_period(int(m[1]), int(m[2]))
    if _YEAR.fullmatch(code):
        return year_period(int(code))
    raise ValueError(
        f"period {code!r} is not a period code: expected 'YYYY-MM' (month), "
        "'YYYY-Qn' (quarter, n = 1..4) or 'YYYY' (year)"
    )


def previous_in_year(period: Period) -> Period | None:
    """Return the preceding period of the same kind within the same year, None at its start.

    The year-to-date rule (累计数不应减少) compares a month with the month before and a quarter
    with the quarter before; January, Q1 and whole years have nothing earlier in their year.
    """
    if period.kind == "month" and period.start.month > 1:
        return month_period(period.year, period.start.month - 1)
    if period.kind == "quarter" and period.start.month > 1:
        return quarter_period(period.year, (period.start.month + 2) // 3 - 1)
    return None


def periods_of_year(year: int, kind: PeriodKind) -> tuple[Period, ...]:
    """Return every period of `kind` in `year`, in calendar order (for templates and checks)."""
    if kind == "month":
        return tuple(month_period(year, m) for m in range(1, 13))
    if kind == "quarter":
        return tuple(quarter_period(year, q) for q in range(1, 5))
    return (year_period(year),)
