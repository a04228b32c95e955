"""`compute.score`: every method mixed in one frame, every contract and year at once, gives the
scores of the single-method functions (DOMAIN §8's worked examples) and ranked, flagged totals."""

from __future__ import annotations

import polars as pl

from stateasset.kpi import compute

TIERS = [16.0, 9.5, 1.7, -3.0, -8.0]
OFFSETS = [4.0, 2.0, 0.0, -2.0, -4.0]


def _row(contract: str, year: int, indicator: str, method: str, weight: float, **values: object):
    row: dict[str, object] = {
        "contract": contract,
        "year": year,
        "indicator": indicator,
        "name": indicator,
        "weight": weight,
        "direction": "higher",
        "method": method,
        "main": indicator == "profit",
        "industry": "建筑",
        "step_pct": 3.0,
    }
    tiers = values.pop("tiers", None)
    offsets = values.pop("offsets", None)
    row.update(zip(compute.TIER_COLUMNS, tiers or [None] * 5, strict=True))
    row.update(zip(compute.OFFSET_COLUMNS, offsets or [None] * 5, strict=True))
    row.update(values)
    return row


def _scored() -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [
        _row("c1", 2025, "roe", "efficacy", 20, actual=8.0, tiers=TIERS),
        _row("c1", 2025, "profit", "target_step", 30, actual=109.0, target=100.0),
        _row("c1", 2025, "growth", "macro", 10, actual=6.0, macro=5.0, offsets=OFFSETS),
        _row("c1", 2025, "share", "peer_rank", 10, actual=3.0),
        _row("c1", 2025, "sales", "target_step", 30, actual=109.0, target=100.0, step_pct=4.5),
        _row("c2", 2025, "roe", "efficacy", 20, tiers=TIERS),
        _row("c2", 2025, "profit", "target_step", 30, actual=94.0, target=100.0),
        _row("c2", 2025, "growth", "macro", 10, actual=6.0, offsets=OFFSETS),
        _row("c2", 2025, "share", "peer_rank", 10, actual=3.0),
        _row("c2", 2025, "sales", "target_step", 30, actual=109.0),
        _row("c1", 2026, "profit", "target_step", 100, actual=130.0, target=100.0),
    ]
    peers = pl.LazyFrame(
        [("建筑", 2025, "share", v) for v in (1.0, 2.0, 3.0, 4.0)],
        schema=compute.PEERS_SCHEMA,
        orient="row",
    )
    adjustments = pl.LazyFrame(
        [("c2", 2025, "bonus", 2.0)], schema=compute.ADJUSTMENTS_SCHEMA, orient="row"
    )
    scores, totals = compute.score(
        pl.LazyFrame(rows, schema=compute.INDICATORS_SCHEMA),
        peers,
        adjustments,
        compute.Policy(a_cap=1),
    )
    return tuple(pl.collect_all([scores, totals]))  # type: ignore[return-value]


def test_every_method_in_one_frame() -> None:
    scores, _ = _scored()
    # Rows come back in their input order.
    assert scores.select("contract", "year", "indicator").rows()[:3] == [
        ("c1", 2025, "roe"),
        ("c1", 2025, "profit"),
        ("c1", 2025, "growth"),
    ]
    by = {(r["contract"], r["year"], r["indicator"]): r for r in scores.to_dicts()}
    roe = by[("c1", 2025, "roe")]
    # DOMAIN §8: base 20 × 0.6 = 12, efficacy (8 − 1.7) / (9.5 − 1.7) = 0.8077, +3.23 → 15.23.
    assert (roe["tier"], roe["base"], round(roe["efficacy"], 4), roe["score"]) == (
        "平均",
        12.0,
        0.8077,
        15.23,
    )
    assert roe["cap_up"] is None and roe["percentile"] is None
    profit = by[("c1", 2025, "profit")]
    # DOMAIN §8: 109 vs 100 = 9% = 3 steps × 30/30 → 33; no efficacy columns on this row.
    assert (profit["steps"], profit["adjustment"], profit["score"]) == (3.0, 3.0, 33.0)
    assert profit["tier"] is None and profit["base"] is None
    # Macro 5 + offsets → tiers 9/7/5/3/1; 6 is 平均: 6 + 0.5 × (8 − 6) = 7.
    growth = by[("c1", 2025, "growth")]
    assert (growth["tier_2"], growth["tier"], growth["score"]) == (7.0, "平均", 7.0)
    # Peers 1..4, actual 3: (2 + 0.5) / 4 = 0.625 × 10 = 6.25; no adjustment column.
    share = by[("c1", 2025, "share")]
    assert (share["percentile"], share["score"], share["adjustment"]) == (0.625, 6.25, None)
    # Its own step of 4.5%: 9 / 4.5 = 2 steps × 30/30 → 32 (3% would have given 33).
    assert by[("c1", 2025, "sales")]["score"] == 32.0
    # Unscorable: no actual, no macro value (no tiers), no target → 0 and no tier.
    for code in ("roe", "growth", "sales"):
        assert (by[("c2", 2025, code)]["score"], by[("c2", 2025, code)]["tier"]) == (0.0, None)
    # 94 vs 100: −6% = −2 steps → 28.
    assert by[("c2", 2025, "profit")]["score"] == 28.0
    # 130 vs 100 with weight 100: 10 steps × 100/30 = 33.3, capped at 100/5 = 20 → 120.
    assert by[("c1", 2026, "profit")]["score"] == 120.0


def test_totals_are_ranked_per_year() -> None:
    _, totals = _scored()
    got = {(r["contract"], r["year"]): r for r in totals.to_dicts()}
    # c1 2025: 15.23 + 33 + 7 + 6.25 + 32 = 93.48 → A, rank 1.
    c1 = got[("c1", 2025)]
    assert (c1["total"], c1["rank"], c1["grade"], c1["pay_coefficient"]) == (93.48, 1, "A", 1.5)
    # c2 2025: 0 + 28 + 0 + 6.25 + 0 + bonus 2 = 36.25 → D, rank 2, below the floor of 70.
    c2 = got[("c2", 2025)]
    assert (c2["total"], c2["rank"], c2["grade"], c2["review"]) == (36.25, 2, "D", True)
    assert c2["review_reason"] == "总分 36.25 < 70.0"
    # 2026 is ranked on its own: c1 alone, 120 → rank 1, A (the cap of one A is per year).
    assert (got[("c1", 2026)]["rank"], got[("c1", 2026)]["grade"]) == (1, "A")
    assert totals.select("year", "rank").rows() == [(2025, 1), (2025, 2), (2026, 1)]
