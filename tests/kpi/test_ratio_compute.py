"""`ratio_compute`: the opening period, the grid with "no statement", the asset ratios' reasons."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from polars.testing import assert_frame_equal

from stateasset.core.periods import parse_period
from stateasset.kpi import compute, ratio_compute


def test_the_opening_is_the_previous_year_end_of_the_same_kind() -> None:
    # Flows are year-to-date, so every period of 2025 averages from the close of 2024.
    assert [
        ratio_compute.opening_period(parse_period(p)) for p in ("2025", "2025-Q3", "2025-09")
    ] == ["2024", "2024-Q4", "2024-12"]


def test_a_subject_without_a_statement_gets_every_ratio_null_with_the_reason() -> None:
    items = pl.LazyFrame(
        [
            ("E1", "2025", "operating_cash_flow", Decimal("6630.70")),
            ("E1", "2025", "revenue", Decimal("62500.00")),
        ],
        schema=compute.ITEMS_SCHEMA,
        orient="row",
    )
    subjects = pl.LazyFrame(
        [("entity", "E1"), ("entity", "E2"), ("node", "group")],
        schema=ratio_compute.SUBJECTS_SCHEMA,
        orient="row",
    )
    rows = ratio_compute.statement_ratios(items, subjects, "2025", "entity").collect()
    assert rows.height == 2 * len(ratio_compute.STATEMENT_RATIOS)  # the node is not an entity
    got = {
        (r["subject"], r["ratio"]): (r["value"], r["reason"]) for r in rows.iter_rows(named=True)
    }
    assert got[("E1", "operating_cash_ratio")] == (6630.70 / 62500, None)
    assert got[("E1", "debt_to_asset")] == (None, "missing total_assets")
    assert got[("E2", "operating_cash_ratio")] == (None, "no statement for 2025")


def test_asset_ratios_keep_the_registers_values_and_say_why_one_is_null() -> None:
    subjects = pl.LazyFrame(
        [("entity", "E1"), ("entity", "E2"), ("node", "group")],
        schema=ratio_compute.SUBJECTS_SCHEMA,
        orient="row",
    )
    share = pl.Decimal(38, 6)
    effective = pl.LazyFrame(
        {
            "node": ["entity:E1", "group"],
            "total_book": [Decimal("180000.00"), Decimal("0.00")],
            "cash": [Decimal("1000.00"), Decimal("500.00")],
            "effective_ratio": [Decimal("0.558011"), Decimal("1.000000")],
            "operating_share": [Decimal("0.833333"), None],
        },
        schema_overrides={"effective_ratio": share, "operating_share": share},
    )
    got = ratio_compute.asset_ratios(subjects, effective).sort("ratio", "subject").collect()
    expected = pl.DataFrame(
        [
            ("entity", "E1", "effective_asset_ratio", 0.558011, None),
            (
                "entity",
                "E2",
                "effective_asset_ratio",
                None,
                "no asset cards and no cash (zero book value and cash)",
            ),
            ("node", "group", "effective_asset_ratio", 1.0, None),
            ("entity", "E1", "operating_asset_share", 0.833333, None),
            ("entity", "E2", "operating_asset_share", None, "no asset cards (zero book value)"),
            ("node", "group", "operating_asset_share", None, "no asset cards (zero book value)"),
        ],
        schema=ratio_compute.ROWS_SCHEMA,
        orient="row",
    )
    assert_frame_equal(got, expected)
