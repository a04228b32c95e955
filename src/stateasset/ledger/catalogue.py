"""The statement item catalogue (财务快报项目).

One place that says which line items exist, how staff call them, which ones may not be
negative, which ones are year-to-date flows and how totals are made of parts, so the importer,
the validation rules (审核公式) and the templates cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Section = Literal["balance_sheet", "income", "cash_flow", "other"]


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
    # 国有独享权益: equity that belongs to the state alone (DOMAIN.md §4); optional, default 0.
    _bs("state_exclusive_equity", "国有独享权益", non_negative=False),
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
