"""The fund arithmetic on hand-worked cases, and its identities as property tests."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

import polars as pl
import pyxirr
from hypothesis import given, settings
from hypothesis import strategies as st

from stateasset.funds import compute
from stateasset.funds.compute import (
    COMMITMENTS_SCHEMA,
    FLOWS_SCHEMA,
    INDEX_SCHEMA,
    INVESTMENTS_SCHEMA,
    NAVS_SCHEMA,
)

# DOMAIN.md §7's worked example.
WORKED_DATES = [
    date(2008, 1, 1),
    date(2008, 3, 1),
    date(2008, 10, 30),
    date(2009, 2, 15),
    date(2009, 4, 1),
]
WORKED_AMOUNTS = [-10_000.0, 2_750.0, 4_250.0, 3_250.0, 2_750.0]


def _cash(rows: list[tuple[str, date, float]]) -> pl.LazyFrame:
    return pl.LazyFrame(rows, schema=compute.CASHFLOW_SCHEMA, orient="row")


def _flows(rows: list[tuple[str, str, date, str]]) -> pl.LazyFrame:
    """(key, kind, date, amount) rows, inside the commitment, not recallable."""
    return pl.LazyFrame(
        [(k, kind, d, Decimal(a), False, False) for k, kind, d, a in rows],
        schema=FLOWS_SCHEMA,
        orient="row",
    )


def _exact_root(dates: list[date], amounts: list[float]) -> Decimal:
    """The root of Σ a·(1+r)^(−days/365) by bisection in 50-digit decimals (NPV falls with r)."""

    def npv(r: Decimal) -> Decimal:
        return sum(
            Decimal(a) * ((1 + r).ln() * -Decimal((d - dates[0]).days) / 365).exp()
            for d, a in zip(dates, amounts, strict=True)
        )

    with localcontext(prec=50):
        lo, hi = Decimal("0.3"), Decimal("0.4")
        for _ in range(120):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if npv(mid) > 0 else (lo, mid)
        return lo


def test_the_worked_xirr_by_the_vectorised_solver_equals_pyxirr() -> None:
    rows = [("w", d, a) for d, a in zip(WORKED_DATES, WORKED_AMOUNTS, strict=True)]
    irr = compute.xirr(_cash(rows)).collect().row(0, named=True)
    assert irr["irr_reason"] is None
    # The exact root is 0.37336253351883151…; the solver has it to the last bit of a float.
    exact = _exact_root(WORKED_DATES, WORKED_AMOUNTS)
    assert abs(Decimal(repr(irr["irr"])) - exact) < Decimal("1e-15")
    # pyxirr stops within its own tolerance (1e-10): 0.3733625335095556, 9.3e-12 below.
    assert abs(irr["irr"] - pyxirr.xirr(WORKED_DATES, WORKED_AMOUNTS)) < 1e-10
    # DOMAIN.md quotes Excel's 0.373362535: Excel stops iterating at 1e-8 (0.000001%) and shows
    # its last iterate, 1.48e-9 above the root. Both round to 0.37336253 at eight places.
    assert abs(irr["irr"] - 0.373362535) < 1.5e-9
    assert f"{irr['irr']:.8f}" == f"{0.373362535:.8f}" == "0.37336253"


def test_metrics_on_a_hand_worked_fund_and_the_edge_cases() -> None:
    as_of = date(2022, 12, 31)
    flows = _flows(
        [
            # A: 100 called 2020-01-01, 50 called 2021-01-01, 60 back 2022-01-01, NAV 120.
            ("A", "call", date(2020, 1, 1), "100.00"),
            ("A", "call", date(2021, 1, 1), "50.00"),
            ("A", "distribution", date(2022, 1, 1), "60.00"),
            # B: no distributions, 100 in, NAV 110 a year (366 days) later.
            ("B", "call", date(2021, 12, 30), "100.00"),
            # C: an all-loss history: 100 in, nothing back, NAV 0.
            ("C", "call", date(2020, 1, 1), "100.00"),
        ]
    )
    navs = pl.LazyFrame(
        [
            ("A", as_of, Decimal("120.00")),
            ("B", as_of, Decimal("110.00")),
            ("C", as_of, Decimal("0.00")),
        ],
        schema=NAVS_SCHEMA,
        orient="row",
    )
    commitments = pl.LazyFrame(
        [
            ("A", Decimal("200.00")),
            ("B", Decimal("100.00")),
            ("C", Decimal("100.00")),
            ("D", Decimal("100.00")),  # D: committed, nothing called yet
        ],
        schema=COMMITMENTS_SCHEMA,
        orient="row",
    )
    got = {
        r["key"]: r
        for r in compute.metrics(flows, navs, commitments, as_of).collect().iter_rows(named=True)
    }
    a = got["A"]
    # paid-in 100 + 50 = 150; unfunded 200 − 150 = 50; PICC 150/200 = 0.75;
    # DPI 60/150 = 0.4; RVPI 120/150 = 0.8; TVPI 0.4 + 0.8 = 1.2.
    assert (a["paid_in"], a["unfunded"], a["distributed"], a["nav"]) == (
        Decimal("150.00"),
        Decimal("50.00"),
        Decimal("60.00"),
        Decimal("120.00"),
    )
    assert (a["picc"], a["dpi"], a["rvpi"]) == (0.75, 0.4, 0.8)
    assert abs(a["tvpi"] - 1.2) < 1e-15
    expected = pyxirr.xirr(
        [date(2020, 1, 1), date(2021, 1, 1), date(2022, 1, 1), as_of], [-100, -50, 60, 120]
    )
    assert abs(a["irr"] - expected) < 1e-9
    # B: DPI 0, RVPI 110/100 = 1.1, and 110 = 100·(1+r)^(366/365): r = 1.1^(365/366) − 1.
    b = got["B"]
    assert (b["dpi"], b["rvpi"]) == (0.0, 1.1)
    assert abs(b["irr"] - (1.1 ** (365 / 366) - 1)) < 1e-12
    # C: every flow out and nothing left: TVPI 0 and no IRR, with the reason.
    c = got["C"]
    assert (c["dpi"], c["rvpi"], c["tvpi"]) == (0.0, 0.0, 0.0)
    assert c["irr"] is None and c["irr_reason"] == compute.NO_INFLOW
    # D: nothing paid in: the multiples are undefined (null), not zero, and so is the IRR.
    d = got["D"]
    assert (d["paid_in"], d["unfunded"]) == (Decimal("0.00"), Decimal("100.00"))
    assert (d["dpi"], d["rvpi"], d["tvpi"], d["irr"]) == (None, None, None, None)
    assert d["picc"] == 0.0 and d["irr_reason"] == compute.NO_OUTFLOW


def test_no_rate_is_null_with_the_reason() -> None:
    # −100, +250, −160 a year apart: NPV(r) = −100 + 250/(1+r) − 160/(1+r)² is negative for every
    # r > −1 (its discriminant 250² − 4·100·160 = −1,500 < 0), so no IRR exists.
    rows = [
        ("x", date(2020, 1, 1), -100.0),
        ("x", date(2021, 1, 1), 250.0),
        ("x", date(2022, 1, 1), -160.0),
    ]
    got = compute.xirr(_cash(rows)).collect().row(0, named=True)
    assert got["irr"] is None and got["irr_reason"] == compute.NO_ROOT


def test_nav_is_rolled_forward_by_the_flows_after_the_statement() -> None:
    # 100 stated at 2022-06-30; 10 called (paid) on 2022-08-01; 5 distributed on 2022-09-01:
    # 100 + 10 − 5 = 105 on 2022-09-15.
    navs = pl.LazyFrame(
        [("A", date(2022, 6, 30), Decimal("100.00"))], schema=NAVS_SCHEMA, orient="row"
    )
    flows = _flows(
        [
            ("A", "call", date(2022, 1, 1), "90.00"),
            ("A", "call", date(2022, 8, 1), "10.00"),
            ("A", "distribution", date(2022, 9, 1), "5.00"),
        ]
    )
    got = compute.nav_as_of(navs, flows, date(2022, 9, 15)).collect()
    assert got.row(0) == ("A", Decimal("105.00"))


def test_ks_pme_on_a_hand_worked_case() -> None:
    # 100 called when the index stood at 100, 60 back when it stood at 120, NAV 60 at the end
    # when it stands at 150: (60·150/120 + 60) / (100·150/100) = (75 + 60) / 150 = 0.9.
    flows = _flows(
        [
            ("A", "call", date(2020, 1, 1), "100.00"),
            ("A", "distribution", date(2021, 1, 1), "60.00"),
        ]
    )
    index = pl.LazyFrame(
        [(date(2019, 12, 31), 100.0), (date(2021, 1, 1), 120.0), (date(2022, 1, 1), 150.0)],
        schema=INDEX_SCHEMA,
        orient="row",
    )
    nav = pl.LazyFrame({"key": ["A"], "nav": [Decimal("60.00")]})
    got = compute.pme(flows, nav, index, date(2022, 6, 30)).collect().row(0, named=True)
    assert abs(got["pme"] - 0.9) < 1e-12 and got["pme_reason"] is None
    # An index that starts after the first flow gives no PME, with the reason.
    late = index.filter(pl.col("day") > date(2020, 6, 1))
    got = compute.pme(flows, nav, late, date(2022, 6, 30)).collect().row(0, named=True)
    assert got["pme"] is None and "no value" in got["pme_reason"]


def test_reinvestment_and_leverage_on_a_hand_worked_case() -> None:
    # The mother paid 10,000,000 into S; S invested 6,000,000 in a local company (×1) and
    # 4,000,000 in a relocated one (×1.5): counted 6,000,000 + 6,000,000 = 12,000,000, achieved
    # 1.2×. Required 2.0×, half the investment period gone: expected 1.0× now, so not behind.
    terms = pl.LazyFrame(
        [("S", 2.0, date(2020, 1, 1), date(2022, 1, 1), Decimal("10000000.00"))],
        schema=compute.REINVESTMENT_TERMS_SCHEMA,
        orient="row",
    )
    investments = pl.LazyFrame(
        [
            (
                "S",
                "i1",
                "c1",
                "food",
                True,
                "local",
                "growth",
                date(2020, 6, 1),
                Decimal("6000000.00"),
                Decimal("6000000.00"),
                False,
            ),
            (
                "S",
                "i2",
                "c2",
                "food",
                True,
                "relocated",
                "growth",
                date(2020, 7, 1),
                Decimal("4000000.00"),
                Decimal("4000000.00"),
                False,
            ),
        ],
        schema=INVESTMENTS_SCHEMA,
        orient="row",
    )
    multipliers = pl.LazyFrame(
        [("S", "local", 1.0), ("S", "relocated", 1.5)],
        schema=compute.MULTIPLIERS_SCHEMA,
        orient="row",
    )
    got = compute.reinvestment(terms, investments, multipliers, date(2021, 1, 1)).collect()
    row = got.row(0, named=True)
    assert row["counted"] == Decimal("12000000.00") and row["achieved"] == 1.2
    # 2021-01-01 is 366 of the period's 731 days in.
    assert abs(row["expected_now"] - 2.0 * 366 / 731) < 1e-12 and not row["behind"]
    # Leverage: sub-funds paid in 30,000,000 and 50,000,000, the mother 10,000,000 and
    # 10,000,000 of them: 80,000,000 / 20,000,000 = 4.0×.
    lev = compute.leverage(
        pl.LazyFrame(
            {
                "mother_id": ["M", "M"],
                "fund_id": ["S", "T"],
                "paid_in": [Decimal("30000000.00"), Decimal("50000000.00")],
                "mother_paid_in": [Decimal("10000000.00"), Decimal("10000000.00")],
            }
        )
    ).collect()
    assert lev.row(0, named=True)["leverage"] == 4.0


# ------------------------------------------------------------------------------------------
# Properties

amounts = st.integers(min_value=1, max_value=10**9).map(lambda c: Decimal(c) / 100)
days = st.integers(min_value=0, max_value=3650)


@st.composite
def fund_histories(draw: st.DrawFn) -> tuple[list, list, list]:
    flows, navs, commitments = [], [], []
    for k in range(draw(st.integers(1, 6))):
        key = f"f{k}"
        start = date(2015, 1, 1) + timedelta(days=draw(days))
        called = Decimal(0)
        for _ in range(draw(st.integers(0, 8))):
            kind = draw(st.sampled_from(["call", "distribution"]))
            amount = draw(amounts)
            called += amount if kind == "call" else 0
            flows.append((key, kind, start + timedelta(days=draw(days)), amount, False, False))
        navs.append((key, date(2026, 1, 1), draw(amounts)))
        commitments.append((key, called + draw(amounts)))
    return flows, navs, commitments


@settings(max_examples=60, deadline=None)
@given(fund_histories())
def test_tvpi_is_dpi_plus_rvpi(history: tuple[list, list, list]) -> None:
    flows, navs, commitments = history
    got = compute.metrics(
        pl.LazyFrame(flows, schema=FLOWS_SCHEMA, orient="row"),
        pl.LazyFrame(navs, schema=NAVS_SCHEMA, orient="row"),
        pl.LazyFrame(commitments, schema=COMMITMENTS_SCHEMA, orient="row"),
        date(2026, 1, 1),
    ).collect()
    for row in got.iter_rows(named=True):
        if row["paid_in"] == 0:
            assert row["tvpi"] is None and row["dpi"] is None
        else:
            assert row["tvpi"] == row["dpi"] + row["rvpi"]
            paid = float(row["paid_in"])
            exact = float(row["distributed"] + row["nav"]) / paid
            assert abs(row["tvpi"] - exact) <= 1e-12 * max(1.0, exact)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 10**8),
            st.integers(0, 60),
            st.lists(st.integers(1, 10**8), min_size=1, max_size=10),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_the_vectorised_xirr_equals_pyxirr_on_conventional_histories(funds: list) -> None:
    # Money out first, then money back: one sign change, so exactly one IRR.
    rows, expected = [], {}
    for k, (paid, gap, backs) in enumerate(funds):
        dates = [date(2018, 1, 1)] + [
            date(2018, 1, 1) + timedelta(days=30 * (gap + 1 + i)) for i in range(len(backs))
        ]
        amounts = [-float(paid)] + [float(b) for b in backs]
        rows += [(f"k{k}", d, a) for d, a in zip(dates, amounts, strict=True)]
        expected[f"k{k}"] = pyxirr.xirr(dates, amounts)
    got = compute.xirr(_cash(rows)).collect()
    for row in got.iter_rows(named=True):
        want = expected[row["key"]]
        # Past 1,000% a year pyxirr stops on the NPV, not the rate: its rate is looser there.
        if want is None or not -0.99 < want < 10:
            continue
        assert row["irr"] is not None, row
        assert abs(row["irr"] - want) <= 1e-9 * max(1.0, abs(want)), (row, want)


@st.composite
def trees(draw: st.DrawFn) -> tuple[list, list]:
    """The mother M, sub-funds with its share of each, and each fund's positions."""
    edges, investments = [], []
    funds = [f"s{i}" for i in range(draw(st.integers(1, 5)))]
    for fund in funds:
        edges.append(("M", fund, draw(st.floats(0.01, 1.0))))
    # A sub-fund may hold another (a path of two), and M holds some companies directly.
    if len(funds) > 1 and draw(st.booleans()):
        edges.append((funds[0], funds[1], draw(st.floats(0.01, 1.0))))
    for n, fund in enumerate(["M", *funds]):
        for c in range(draw(st.integers(0, 4))):
            company = f"c{draw(st.integers(0, 6))}"
            investments.append(
                (
                    fund,
                    f"i{n}-{c}",
                    company,
                    "food",
                    True,
                    "local",
                    "growth",
                    date(2020, 1, 1),
                    draw(amounts),
                    draw(amounts),
                    False,
                )
            )
    return edges, investments


@settings(max_examples=80, deadline=None)
@given(trees())
def test_look_through_sums_the_mothers_share_of_every_positions_over_paths(
    tree: tuple[list, list],
) -> None:
    edges, investments = tree
    shares = compute.fund_shares(
        pl.LazyFrame(edges, schema=compute.EDGES_SCHEMA, orient="row"), "M"
    ).collect()
    got = compute.look_through(
        shares.lazy(), pl.LazyFrame(investments, schema=INVESTMENTS_SCHEMA, orient="row")
    ).collect()
    # Expected by hand: every path's share (the product along it) × the position, to cents.
    path_shares: dict[str, list[float]] = {"M": [1.0]}
    for parent, child, share in edges:
        if parent == "M":
            path_shares.setdefault(child, []).append(share)
    for parent, child, share in edges:
        if parent != "M":
            path_shares[child] += [s * share for s in path_shares[parent]]
    expected: dict[str, Decimal] = {}
    for fund, _, company, *_, value, _ in investments:
        for share in path_shares.get(fund, []):
            part = Decimal(repr(share)).quantize(Decimal("1e-12"), ROUND_HALF_UP) * value
            expected[company] = expected.get(company, Decimal(0)) + part.quantize(
                Decimal("0.01"), ROUND_HALF_UP
            )
    assert dict(zip(got["company_id"], got["exposure"], strict=True)) == expected
