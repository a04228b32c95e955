"""compute: balances, effective assets and depreciation on frames made by hand, values worked out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import polars as pl
from polars.testing import assert_frame_equal

from stateasset.ledger.assets import compute
from stateasset.ledger.assets.effective import thresholds_frame


def _events(rows: list[tuple]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema=compute.EVENTS_SCHEMA, orient="row")


def _cards(rows: list[tuple]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema=compute.CARDS_SCHEMA, orient="row")


CARDS = _cards(
    [
        ("mall", "a", "buildings", True, 480, D("0"), date(2024, 1, 10), "leased_out"),
        ("road", "a", "infrastructure", False, 0, D("0"), date(2024, 1, 10), "in_use"),
        ("bus", "b", "vehicles", True, 96, D("0"), date(2024, 1, 10), "in_use"),
    ]
)
EVENTS = _events(
    [
        ("mall", "a", "acquire", date(2024, 1, 10), D("600.00"), D("0"), D("0")),
        ("mall", "a", "depreciate", date(2024, 12, 31), D("0"), D("100.00"), D("0")),
        ("mall", "a", "income", date(2024, 6, 30), D("0"), D("0"), D("50.00")),  # > a year ago
        ("mall", "a", "income", date(2025, 3, 31), D("0"), D("0"), D("20.00")),
        ("road", "a", "acquire", date(2024, 1, 10), D("300.00"), D("0"), D("0")),
        ("bus", "a", "acquire", date(2024, 1, 10), D("200.00"), D("0"), D("0")),
        ("bus", "a", "transfer_out", date(2025, 1, 1), D("-200.00"), D("0"), D("0")),
        ("bus", "b", "transfer_in", date(2025, 1, 1), D("200.00"), D("0"), D("0")),
    ]
)


def test_effective_ratio_and_operating_share_per_entity_and_node() -> None:
    as_of = date(2025, 6, 30)
    cash = pl.LazyFrame({"entity_id": ["a"], "cash": [D("100.00")]}, schema=compute.CASH_SCHEMA)
    per_entity = compute.effective_by_entity(EVENTS, CARDS, thresholds_frame(""), as_of, cash)
    # a: mall 500 (operating, earned 20 in the year: effective) + road 300 (non-operating) + cash
    #    100 → effective (500 + 100) / (800 + 100) = 0.666667; operating 500 / 800 = 0.625.
    # b: bus 200, operating, earned nothing → effective 0 / 200; operating 1.
    # The bus's past holder a nets to zero and does not count.
    expected = pl.DataFrame(
        {
            "entity_id": ["a", "b"],
            "total_book": [D("800.00"), D("200.00")],
            "operating_book": [D("500.00"), D("200.00")],
            "effective_book": [D("500.00"), D("0.00")],
            "cash": [D("100.00"), D("0.00")],
            "effective_ratio": [D("0.666667"), D("0.000000")],
            "operating_share": [D("0.625000"), D("1.000000")],
        },
        schema={
            **{
                c: compute.MONEY for c in ("total_book", "operating_book", "effective_book", "cash")
            },
            "entity_id": pl.String(),
            "effective_ratio": compute.SHARE,
            "operating_share": compute.SHARE,
        },
    ).select(
        "entity_id",
        "total_book",
        "operating_book",
        "effective_book",
        "cash",
        "effective_ratio",
        "operating_share",
    )
    assert_frame_equal(per_entity.collect().sort("entity_id"), expected)
    members = pl.LazyFrame(
        [("a", "group"), ("b", "group"), ("b", "platform:p"), ("c", "platform:q")],
        schema=compute.MEMBERS_SCHEMA,
        orient="row",
    )
    nodes = compute.effective_by_node(per_entity, members).collect()
    # group: (500 + 100) / (1,000 + 100) = 0.545455; operating 700 / 1,000 = 0.7; q holds nothing.
    assert nodes.select("node", "effective_ratio", "operating_share").rows() == [
        ("group", D("0.545455"), D("0.700000")),
        ("platform:p", D("0.000000"), D("1.000000")),
        ("platform:q", None, None),
    ]
    # A threshold of 20 for buildings: 20 does not exceed it, so the mall is no longer effective.
    strict = compute.effective_by_entity(
        EVENTS, CARDS, thresholds_frame("buildings=20"), as_of, cash
    ).collect()
    assert strict.filter(pl.col("entity_id") == "a")["effective_book"].to_list() == [D("0.00")]


def test_depreciation_rounds_half_up_and_the_last_month_takes_the_rest() -> None:
    # 1,000.00 over 3 months: 333.33, 333.33, then the 333.34 left.
    cards = _cards([("x", "h", "equipment", True, 3, D("0"), date(2025, 1, 5), "in_use")])
    events = [("x", "h", "acquire", date(2025, 1, 5), D("1000.00"), D("0"), D("0"))]
    amounts = []
    for month in (2, 3, 4, 5):
        start, end = date(2025, month, 1), date(2025, month, 28)
        due = compute.depreciation_due(cards, _events(events), start, end).collect()
        amounts.append(due["amount"].to_list())
        events += [("x", "h", "depreciate", end, D("0"), a, D("0")) for a in due["amount"]]
    assert amounts == [[D("333.33")], [D("333.33")], [D("333.34")], []]


def test_year_before_keeps_the_day_or_takes_the_months_last() -> None:
    assert compute.year_before(date(2025, 6, 30)) == date(2024, 6, 30)
    assert compute.year_before(date(2024, 2, 29)) == date(2023, 2, 28)
