"""The Jinja filters show amounts, ratios, dates and periods as staff write them."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from stateasset.web import format as fmt


@pytest.mark.parametrize(
    ("value", "yuan", "wan"),
    [
        (Decimal("1234567.89"), "1,234,567.89", "123.46"),
        (Decimal("-1234567.89"), "-1,234,567.89", "-123.46"),
        (Decimal("0.005"), "0.01", "0.00"),  # half up, as the ledger rounds
        (Decimal("98765432109876.54"), "98,765,432,109,876.54", "9,876,543,210.99"),
        (Decimal("1000"), "1,000.00", "0.10"),
        (None, "", ""),
    ],
)
def test_money_in_yuan_and_wan(value: Decimal | None, yuan: str, wan: str) -> None:
    assert fmt.yuan(value) == yuan
    assert fmt.wan(value) == wan


def test_money_beyond_a_doubles_precision_stays_exact() -> None:
    # 17 significant digits: a float would print ...876.50 or ...876.52
    assert fmt.yuan(Decimal("987654321098765.51")) == "987,654,321,098,765.51"


def test_negative_amounts_get_the_red_class() -> None:
    assert fmt.money_class(Decimal("-0.01")) == "neg"
    assert fmt.money_class(Decimal("0")) == ""
    assert fmt.money_class(None) == ""


def test_ratios_as_percent() -> None:
    assert fmt.percent(0.5125) == "51.25%"
    assert fmt.percent(Decimal("0.333333")) == "33.33%"
    assert fmt.percent(1.0) == "100.00%"
    assert fmt.percent(0.2) == "20.00%"  # not 20.000000000000004
    assert fmt.percent(None) == ""


def test_dates_and_periods() -> None:
    assert fmt.cn_date(date(2026, 9, 30)) == "2026年9月30日"
    assert fmt.iso_date(date(2026, 9, 30)) == "2026-09-30"
    assert fmt.iso_date(datetime(2026, 9, 30, 23, 59)) == "2026-09-30"
    assert fmt.period_label("2026-Q3") == "2026年第3季度"
    assert fmt.period_label("2026-09") == "2026年9月"
    assert fmt.period_label("2026") == "2026年度"


def test_vendored_assets_match_their_record() -> None:
    vendor = Path(fmt.__file__).parent / "static" / "vendor"
    record = (vendor / "VENDOR.md").read_text()
    files = sorted(vendor.glob("*.js"))
    assert [f.name for f in files] == ["echarts-5.6.0.min.js", "htmx-2.0.4.min.js"]
    for file in files:
        assert hashlib.sha256(file.read_bytes()).hexdigest() in record, file.name
