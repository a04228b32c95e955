"""The one-statement 审核公式 path finds exactly what the frame path finds for that statement."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stateasset.ledger.catalogue import ITEM_BY_CODE, ITEMS, TOTALS
from stateasset.ledger.frames import STATEMENT_SCHEMA
from stateasset.ledger.rules import check_statement, check_statements

ENTITY = "0b7c1f9e-2d4a-4f57-9a51-6f1d8e0c3a21"
CODES = [i.code for i in ITEMS]
FLOWS = [i.code for i in ITEMS if i.flow]
# Months and quarters that end on the same day (2025-03 and 2025-Q1) exercise the tie-break.
EARLIER_PERIODS = ["2024-12", "2025-01", "2025-03", "2025-Q1", "2025-06", "2025-Q2", "2025-09"]
CURRENT_PERIODS = ["2025-06", "2025-Q2", "2025-09", "2025-Q3", "2025"]

# Small amounts make ties and near-misses of the tolerance likely; large ones test the sums.
cents = st.one_of(st.integers(-300, 300), st.integers(-(10**14), 10**14))


def amount(c: int) -> Decimal:
    return Decimal(c).scaleb(-2)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Decimal | None]:
    chosen = draw(st.lists(st.sampled_from(CODES), unique=True, max_size=len(CODES)))
    items: dict[str, Decimal | None] = {code: amount(draw(cents)) for code in chosen}
    if draw(st.booleans()):  # balanced, or within a cent or two of it
        for total in ("total_assets", "total_equity"):
            items[total] = sum((items.get(p) or Decimal(0) for p in TOTALS[total]), Decimal(0))
        items["total_liabilities"] = items["total_assets"] - items["total_equity"]
        nudge = draw(st.sampled_from(["0", "0.01", "-0.01", "0.02"]))
        items[draw(st.sampled_from(list(TOTALS)))] += Decimal(nudge)
        for total in draw(st.sets(st.sampled_from(list(TOTALS)))):
            del items[total]
    if draw(st.booleans()):
        items[draw(st.sampled_from(["bogus", "Cash", "现金"]))] = amount(draw(cents))
    if items and draw(st.integers(0, 9)) == 0:  # null = not reported
        items[draw(st.sampled_from(sorted(items)))] = None
    if draw(st.booleans()):  # some whole amounts, as integers arrive from a Decimal(…, 0)
        for code in draw(st.sets(st.sampled_from(sorted(items)))) if items else ():
            if items[code] is not None:
                items[code] = items[code].to_integral_value() + 0
    return items


@st.composite
def earlier_rows(draw: st.DrawFn, current: dict[str, Decimal | None]) -> list[tuple]:
    rows = []
    seen: dict[str, Decimal] = {}
    for period in draw(st.sets(st.sampled_from(EARLIER_PERIODS))):
        for code in draw(st.sets(st.sampled_from([*FLOWS, "cash", "bogus"]))):
            near = current.get(code)
            how = draw(st.sampled_from(["near", "same", "any"]))
            if how == "near" and near is not None:  # equal or a cent either side
                value = near + Decimal(draw(st.sampled_from(["0", "0.01", "-0.01"])))
            elif how == "same" and code in seen:  # a tie with another period's amount
                value = seen[code]
            else:
                value = amount(draw(cents))
            seen[code] = value
            rows.append((period, code, value))
    return rows


def frame_path(period, items, earlier, tolerance) -> list[dict[str, str]]:
    def frame(rows: list[tuple]) -> pl.DataFrame:
        return pl.DataFrame(
            [(ENTITY, p, i, a) for p, i, a in rows], schema=STATEMENT_SCHEMA, orient="row"
        )

    current = frame([(period, code, value) for code, value in items.items()])
    return check_statements(
        current, None if earlier is None else frame(earlier), tolerance=tolerance
    ).to_dicts()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    items=statements(),
    period=st.sampled_from(CURRENT_PERIODS),
    tolerance=st.sampled_from([Decimal("0.01"), Decimal("0"), Decimal("0.005"), Decimal("1")]),
)
def test_one_statement_finds_what_the_frame_path_finds(data, items, period, tolerance) -> None:
    earlier = data.draw(st.none() | earlier_rows(items))
    fast = check_statement(ENTITY, period, items, earlier or (), tolerance=tolerance)
    assert fast == frame_path(period, items, earlier, tolerance)


def test_worked_example_with_every_rule() -> None:
    # assets' parts are not all given, so no sum_of_parts;
    # total assets 151.00 ≠ liabilities 100.00 + equity (blank = 0) → balance, diff 51.00;
    # equity: paid_in_capital given, total_equity not → missing_total 1/3;
    # cash -5.00 → non_negative; revenue 900.00 < 2025-Q2's 1000.00 → ytd_cumulative.
    items = {
        "cash": Decimal("-5.00"),
        "receivables": Decimal("155.00"),
        "total_assets": Decimal("151.00"),
        "total_liabilities": Decimal("100.00"),
        "paid_in_capital": Decimal("10.00"),
        "revenue": Decimal("900.00"),
        "nope": Decimal("1"),
    }
    earlier = [("2025-06", "revenue", Decimal("990.00")), ("2025-Q2", "revenue", Decimal("1000"))]
    fast = check_statement(ENTITY, "2025-09", items, earlier)
    assert fast == frame_path("2025-09", items, earlier, Decimal("0.01"))
    assert [(f["item"], f["rule"], f["severity"]) for f in fast] == [
        ("cash", "non_negative", "error"),
        ("nope", "unknown_item", "error"),
        ("revenue", "ytd_cumulative", "warning"),
        ("total_assets", "balance", "error"),
        ("total_equity", "missing_total", "warning"),
    ]
    assert fast[2]["message"] == (
        f"{ITEM_BY_CODE['revenue'].label} revenue 本年累计数 900.00 小于 2025-Q2 的累计数 "
        "1000.00: year-to-date amount is below the earlier period's [ytd_cumulative]"
    )
    assert (
        "(差额 51.00); 未填报按0计 not reported, counted as 0: total_equity" in fast[3]["message"]
    )


def test_refuses_what_the_frame_path_refuses() -> None:
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        check_statement(ENTITY, "2025-09", {"cash": Decimal("1.001")})
    with pytest.raises(TypeError, match="Decimal or integer"):
        check_statement(ENTITY, "2025-09", {"cash": 1.5})
    with pytest.raises(ValueError):
        check_statement(ENTITY, "2025-13", {"cash": Decimal(1)})


@pytest.mark.parametrize("current", ["2025-06", "2025-Q2"])
def test_tie_between_a_month_and_a_quarter_ending_together(current: str) -> None:
    # 2025-03 and 2025-Q1 both end on 31 March with 500.00: the frame path names the first code.
    items = {"revenue": Decimal("400.00")}
    earlier = [
        ("2025-Q1", "revenue", Decimal("500.00")),
        ("2025-03", "revenue", Decimal("500.00")),
        ("2025-01", "revenue", Decimal("900.00")),  # earlier end: not the reference
    ]
    fast = check_statement(ENTITY, current, items, earlier)
    assert fast == frame_path(current, items, earlier, Decimal("0.01"))
    assert [f["message"].split(" 的累计数")[0][-7:] for f in fast] == ["2025-03"]
