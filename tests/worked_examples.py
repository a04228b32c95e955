"""DOMAIN.md's worked examples as data, shared by the compute tests and the API tests.

Amounts are strings of yuan (the example is in 万元; the arithmetic is the same).
"""

from __future__ import annotations

# DOMAIN.md §4: P holds S1 80% and the associate A 30%; S1 holds S2 60%; A holds S2 10%.
CAS33_STAKES: list[tuple[str, str, float]] = [
    ("P", "S1", 0.8),
    ("P", "A", 0.3),
    ("S1", "S2", 0.6),
    ("A", "S2", 0.1),
]
CAS33_STATEMENTS: dict[str, dict[str, str]] = {
    "P": {
        "receivables": "50", "long_term_equity_investment": "600", "other_assets": "1350",
        "total_assets": "2000", "total_liabilities": "400", "paid_in_capital": "1000",
        "capital_reserve": "200", "retained_earnings": "400", "total_equity": "1600",
        "state_capital": "1600", "revenue": "500", "operating_cost": "300", "net_profit": "150",
    },
    "S1": {
        "long_term_equity_investment": "300", "fixed_assets": "900", "total_assets": "1200",
        "payables": "50", "long_term_borrowings": "350", "total_liabilities": "400",
        "paid_in_capital": "500", "capital_reserve": "100", "retained_earnings": "200",
        "total_equity": "800", "revenue": "1000", "operating_cost": "700", "net_profit": "200",
    },
    "S2": {
        "cash": "100", "inventory": "400", "total_assets": "500", "total_liabilities": "0",
        "paid_in_capital": "400", "retained_earnings": "100", "total_equity": "500",
        "revenue": "400", "operating_cost": "300", "net_profit": "60",
    },
}  # fmt: skip
"""The members' statements; A, the associate, is never summed and needs none."""
CAS33_LINES: list[tuple[str, str, str, str]] = [
    ("P", "S1", "receivable", "50"),
    ("S1", "P", "payable", "50"),
    ("P", "S1", "investment", "500"),
    ("P", "A", "investment", "100"),  # A is not a member: stays in 长期股权投资
    ("S1", "S2", "investment", "300"),
    ("S1", "S2", "revenue", "100"),
    ("S2", "S1", "cost", "88"),
    ("S2", "S1", "inventory_held", "12"),
]
"""(entity, partner, kind, amount): what each reports toward the other."""
