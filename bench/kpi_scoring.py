"""KPI scoring at scale: 2,000 contracts × 10 indicators × 3 years, every method mixed.

    PYTHONPATH=src python bench/kpi_scoring.py [--contracts 2000 --indicators 10 --years 3]

Generates, seeded and in Polars only, one row per contract × indicator × year (60,000 rows) as
`kpi.compute.INDICATORS_SCHEMA` reads them: each contract in one of 20 industries, each
indicator's method drawn per contract (efficacy against five tiers, target_step with its own step
of 2.5, 3 or 5% and an own history that is sometimes missing, macro against GDP growth with
offsets, peer_rank), a third of the efficacy and target_step indicators lower-is-better, 2% of
actuals missing; peer values per industry, year and indicator (30 to 79 peers, as an industry's
published sample); a bonus or deduction on one contract-year in ten. Then times, best of
--repeats after one warm-up:

- (a) `compute.score` on the frames: every indicator's score with its arithmetic, and the
  totals ranked per year with grade, A cap, pay coefficient and review flag (`pl.collect_all`);
- (b) a row-by-row pure-Python implementation of the same rules (below, written from DOMAIN §8
  and compute.py's conventions, not from its code): a loop over the rows as dicts, the peers as
  sorted lists per industry, year and indicator (bisect), then totals, ranks and grades in dicts.
  Its input, the same rows as dicts, is made before the clock starts (`to_dicts`, timed apart).

Every indicator score is checked to agree within 0.01, and every total, rank, grade and review
flag to be equal, before anything is timed. Prints a markdown table and writes it to
bench/results/kpi_scoring.md.
"""

from __future__ import annotations

import argparse
import bisect
import math
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl

from stateasset.kpi import compute

YEARS_FROM = 2025
INDUSTRIES = 20
METHODS = ("efficacy", "target_step", "macro", "peer_rank")
GDP = {2025: 5.0, 2026: 4.8, 2027: 4.6, 2028: 4.5, 2029: 4.4}
OFFSETS = (4.0, 2.0, 0.0, -2.0, -4.0)
POLICY = compute.Policy(a_cap=200)
TOLERANCE = 0.01


def _random(expr: pl.Expr, seed: int, modulo: int) -> pl.Expr:
    """A seeded pseudo-random integer in [0, modulo) per row, from a hash of `expr`."""
    return (expr.hash(seed) % modulo).cast(pl.Int64)


def generate(
    contracts: int, indicators: int, years: int, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Indicator rows, peer values and bonus/deduction items, typed as compute's schemas."""
    c, k, y = pl.col("c"), pl.col("k"), pl.col("y")
    grid = (
        pl.DataFrame({"c": pl.int_range(contracts, eager=True)})
        .join(pl.DataFrame({"k": pl.int_range(indicators, eager=True)}), how="cross")
        .join(pl.DataFrame({"y": pl.int_range(years, eager=True)}), how="cross")
        .with_columns(
            (c * 1000 + k).alias("ck"),
            ((c * 1000 + k) * 100 + y).alias("cky"),
            _random(c, seed, INDUSTRIES).alias("ind_no"),
        )
    )
    r = lambda salt, modulo, on="cky": _random(pl.col(on), seed + salt, modulo)  # noqa: E731
    method = pl.Series(METHODS).to_frame("method").with_row_index("m")
    center = r(1, 2000, "ck").cast(pl.Float64) / 10 + 1  # 1 … 200 in the indicator's unit
    spread = center * (r(2, 20, "ck") + 5).cast(pl.Float64) / 100  # 5 … 24% of it
    noise = (r(3, 801).cast(pl.Float64) - 400) / 1000  # −40% … +40%
    rows = (
        grid.with_columns(
            r(4, len(METHODS), "ck").cast(pl.UInt32).alias("m"),
            center.alias("center"),
            spread.alias("spread"),
            noise.alias("noise"),
        )
        .join(method, on="m", how="left")
        .with_columns(
            pl.when(pl.col("method").is_in(["efficacy", "target_step"]) & (r(5, 3, "ck") == 0))
            .then(pl.lit("lower"))
            .otherwise(pl.lit("higher"))
            .alias("direction"),
            (pl.col("y") + YEARS_FROM).alias("year"),
        )
    )
    lower = pl.col("direction") == "lower"
    sign = pl.when(lower).then(-1.0).otherwise(1.0)
    macro = pl.col("year").replace_strict(GDP, return_dtype=pl.Float64)
    growth = macro + (r(6, 1201).cast(pl.Float64) - 600) / 100  # GDP ± 6 points
    actual = (
        pl.when(pl.col("method") == "macro")
        .then(growth)
        .otherwise(pl.col("center") * (1 + pl.col("noise")))
    )
    frame = rows.select(
        pl.format("contract-{}", pl.col("c").cast(pl.String).str.zfill(5)).alias("contract"),
        "year",
        pl.format("i{}", "k").alias("indicator"),
        pl.format("指标{}", "k").alias("name"),
        pl.lit(100.0 / indicators).alias("weight"),
        "direction",
        "method",
        (pl.col("k") == 0).alias("main"),
        pl.format("行业{}", "ind_no").alias("industry"),
        pl.when(r(7, 50) == 0).then(None).otherwise(actual).round(4).alias("actual"),
        pl.lit(None, pl.String).alias("actual_reason"),
        pl.when(pl.col("method") == "target_step").then(pl.col("center")).alias("target"),
        pl.when(r(8, 5) > 0)
        .then(pl.col("center") * (1 + (r(9, 201).cast(pl.Float64) - 100) / 1000))
        .round(4)
        .alias("last_year"),
        pl.when(r(10, 4) > 0)
        .then(pl.col("center") * (1 + (r(11, 201).cast(pl.Float64) - 100) / 1000))
        .round(4)
        .alias("avg_3y"),
        pl.when(pl.col("method") == "macro").then(macro).alias("macro"),
        pl.lit([2.5, 3.0, 5.0]).list.get(r(12, 3, "ck")).alias("step_pct"),
        *[
            pl.when(pl.col("method") == "efficacy")
            .then(pl.col("center") + sign * pl.col("spread") * (2 - i))
            .round(4)
            .alias(col)
            for i, col in enumerate(compute.TIER_COLUMNS)
        ],
        *[
            pl.when(pl.col("method") == "macro").then(pl.lit(off)).alias(col)
            for off, col in zip(OFFSETS, compute.OFFSET_COLUMNS, strict=True)
        ],
    ).cast(compute.INDICATORS_SCHEMA)  # type: ignore[arg-type]
    # Peers: for every industry, year and indicator, 30 to 79 companies around the centre of the
    # industry's first contract for that indicator (peers are other companies, not ours).
    keys = (
        frame.select("industry", "year", "indicator")
        .unique()
        .with_row_index("key")
        .with_columns(_random(pl.col("key"), seed + 13, 50).alias("size") + 30)
    )
    peers = (
        keys.with_columns(pl.int_ranges(0, pl.col("size")).alias("p"))
        .explode("p")
        .with_columns((pl.col("key") * 100 + pl.col("p")).alias("kp"))
        .with_columns(
            ((_random(pl.col("kp"), seed + 14, 2001).cast(pl.Float64)) / 10 + 1)
            .round(1)
            .alias("value")
        )
        .select("industry", "year", "indicator", "value")
        .cast(compute.PEERS_SCHEMA)  # type: ignore[arg-type]
    )
    cy = frame.select("contract", "year").unique().sort("contract", "year")
    adjustments = (
        cy.with_row_index("n")
        .filter(_random(pl.col("n"), seed + 15, 10) == 0)
        .select(
            "contract",
            "year",
            pl.when(_random(pl.col("n"), seed + 16, 2) == 0)
            .then(pl.lit("bonus"))
            .otherwise(pl.lit("deduction"))
            .alias("kind"),
            (_random(pl.col("n"), seed + 17, 10) + 1).cast(pl.Float64).alias("points"),
        )
    )
    return frame, peers, adjustments


def polars_path(
    frame: pl.DataFrame, peers: pl.DataFrame, adjustments: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(a) `compute.score` on every contract and year at once."""
    scores, totals = compute.score(frame.lazy(), peers.lazy(), adjustments.lazy(), POLICY)
    out = pl.collect_all([scores, totals])
    return out[0], out[1]


# ------------------------------------------------------------------------------------------
# (b) The same rules, one row at a time, in plain Python.

COEFFICIENTS = (1.0, 0.8, 0.6, 0.4, 0.2)


def _round2(x: float) -> float:
    """Half-even at 2 places on the value scaled by 100, as compute.py rounds: 6 + 1.525 is 7.52
    (Python's round(7.525, 2) gives 7.53, from the binary value just above 7.525)."""
    return round(x * 100) / 100


def _efficacy(w: float, a: float, tiers: list[float]) -> float:
    i = next((n for n, t in enumerate(tiers) if a >= t), None)
    if i is None:
        return 0.0  # below 较差
    if i == 0:
        return w  # at or above 优秀
    base = w * COEFFICIENTS[i]
    here, there = tiers[i], tiers[i - 1]
    return base + (a - here) / (there - here) * (w * COEFFICIENTS[i - 1] - base)


def _target_step(row: dict[str, Any], s: float) -> float:
    w, a, tgt = row["weight"], s * row["actual"], s * row["target"]
    deviation = round((a - tgt) / abs(row["target"]) * 100, 6)
    past = [s * v for v in (row["last_year"], row["avg_3y"]) if v is not None]
    history = min(past) if past else None
    cap_up = w / 5 * (0.5 if history is not None and tgt < history else 1.0)
    steps = math.trunc(round(deviation / row["step_pct"], 6))
    return w + min(max(steps * w / 30, -w / 5), cap_up)


def python_path(
    rows: list[dict[str, Any]], peer_rows: list[dict[str, Any]], adj_rows: list[dict[str, Any]]
) -> tuple[dict[tuple[str, int, str], float], dict[tuple[str, int], dict[str, Any]]]:
    """(b) Indicator scores by (contract, year, indicator) and totals by (contract, year)."""
    peers: dict[tuple[str, int, str], list[float]] = defaultdict(list)
    for p in peer_rows:
        peers[(p["industry"], p["year"], p["indicator"])].append(p["value"])
    for values in peers.values():
        values.sort()
    scores: dict[tuple[str, int, str], float] = {}
    summed: dict[tuple[str, int], float] = defaultdict(float)
    low_main: dict[tuple[str, int], list[str]] = defaultdict(list)
    for row in rows:
        method, a = row["method"], row["actual"]
        s = -1.0 if row["direction"] == "lower" else 1.0
        score = 0.0
        if a is not None:
            if method == "efficacy" or method == "macro":
                tiers = [row[c] for c in compute.TIER_COLUMNS]
                if method == "macro" and row["macro"] is not None:
                    tiers = [row["macro"] + row[c] for c in compute.OFFSET_COLUMNS]
                if tiers[0] is not None:
                    score = _efficacy(row["weight"], s * a, [s * t for t in tiers])
            elif method == "target_step":
                if row["target"] is not None:
                    score = _target_step(row, s)
            else:
                values = peers.get((row["industry"], row["year"], row["indicator"]))
                if values:
                    below = bisect.bisect_left(values, a)
                    ties = bisect.bisect_right(values, a) - below
                    beaten = (len(values) - below - ties) if s < 0 else below
                    score = row["weight"] * (beaten + ties / 2) / len(values)
        score = _round2(score)
        key = (row["contract"], row["year"])
        scores[(*key, row["indicator"])] = score
        summed[key] += score
        if row["main"] and a is not None and row["target"] is not None:
            achievement = row["target"] / a if s < 0 else a / row["target"]
            if achievement < POLICY.floor_ratio:
                low_main[key].append(row["indicator"])
    bonus: dict[tuple[str, int], float] = defaultdict(float)
    for adj in adj_rows:
        sign = 1.0 if adj["kind"] == "bonus" else -1.0
        bonus[(adj["contract"], adj["year"])] += sign * adj["points"]
    totals = {key: {"total": _round2(t + bonus[key])} for key, t in summed.items()}
    by_year: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for key in totals:
        by_year[key[1]].append(key)
    bands = POLICY.bands
    for keys in by_year.values():
        keys.sort(key=lambda k: (-totals[k]["total"], k[0]))
        a_count = 0
        for rank, key in enumerate(keys, start=1):
            t = totals[key]
            total = t["total"]
            band = (
                "A"
                if total >= bands["A"]
                else "B"
                if total >= bands["B"]
                else "C"
                if total >= bands["C"]
                else "D"
            )
            a_count += band == "A"
            grade = "B" if band == "A" and a_count > POLICY.a_cap else band
            t.update(
                rank=rank,
                grade=grade,
                pay_coefficient=POLICY.pay[grade],
                review=total < POLICY.floor_score or bool(low_main.get(key)),
            )
    return scores, totals


def check(
    polars_out: tuple[pl.DataFrame, pl.DataFrame],
    python_out: tuple[dict[tuple[str, int, str], float], dict[tuple[str, int], dict[str, Any]]],
) -> float:
    """Every score within TOLERANCE, every total, rank, grade and flag equal; the largest gap."""
    scores, totals = polars_out
    py_scores, py_totals = python_out
    assert scores.height == len(py_scores), (scores.height, len(py_scores))
    worst = 0.0
    for contract, year, indicator, score in scores.select(
        "contract", "year", "indicator", "score"
    ).iter_rows():
        gap = abs(score - py_scores[(contract, year, indicator)])
        worst = max(worst, gap)
        assert gap <= TOLERANCE, (contract, year, indicator, score, gap)
    assert totals.height == len(py_totals)
    for row in totals.iter_rows(named=True):
        theirs = py_totals[(row["contract"], row["year"])]
        for field in ("total", "rank", "grade", "pay_coefficient", "review"):
            assert row[field] == theirs[field], (row["contract"], row["year"], field)
    return worst


def best(seconds: list[float]) -> float:
    return min(seconds[1:]) if len(seconds) > 1 else seconds[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=2_000)
    parser.add_argument("--indicators", type=int, default=10)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20251231)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results/kpi_scoring.md"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame, peers, adjustments = generate(args.contracts, args.indicators, args.years, args.seed)
    methods = dict(frame.group_by("method").len().iter_rows())
    peer_sizes = peers.group_by("industry", "year", "indicator").len()["len"]
    print(f"generated {frame.height:,} rows, {peers.height:,} peer values", file=sys.stderr)
    t0 = time.perf_counter()
    rows, peer_rows, adj_rows = frame.to_dicts(), peers.to_dicts(), adjustments.to_dicts()
    to_dicts = time.perf_counter() - t0
    worst = check(polars_path(frame, peers, adjustments), python_path(rows, peer_rows, adj_rows))
    fast, slow = [], []
    for _ in range(args.repeats + 1):
        t0 = time.perf_counter()
        polars_path(frame, peers, adjustments)
        fast.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        python_path(rows, peer_rows, adj_rows)
        slow.append(time.perf_counter() - t0)
    a, b = best(fast), best(slow)
    ratio = b / a
    n = frame.height
    mix = ", ".join(f"{m} {methods.get(m, 0):,}" for m in METHODS)
    text = "\n".join(
        [
            "# KPI scoring benchmark",
            "",
            f"{args.contracts:,} contracts × {args.indicators} indicators × {args.years} years = "
            f"{n:,} indicator rows in {INDUSTRIES} industries ({mix}); {peers.height:,} peer "
            f"values in sets of {peer_sizes.min()}–{peer_sizes.max()} per industry, year and "
            f"indicator; {adjustments.height:,} bonus/deduction items. Both paths score every row "
            f"and rank, grade and flag every contract-year; every score agrees within "
            f"{TOLERANCE} (largest difference {worst:.1e}) and every total, rank, grade, pay "
            f"coefficient and review flag is equal. Best of {args.repeats} after one warm-up. "
            f"Polars {pl.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs.",
            "",
            "| path | seconds | rows/s | Python ÷ path |",
            "|---|---:|---:|---:|",
            f"| (a) `compute.score`: every method mixed in one frame, totals, ranks, grades, "
            f"flags | {a:.3f} | {n / a:,.0f} | {ratio:.2f}× |",
            f"| (b) row by row in plain Python, from the rows as dicts | {b:.3f} | {n / b:,.0f} "
            f"| 1.00× |",
            f"| (the rows made into dicts for (b), not counted above) | {to_dicts:.3f} | | |",
            "",
        ]
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"written to {args.out} ({time.perf_counter() - started:.0f} s in all)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
