"""Benchmark ownership (股权穿透) and consolidation (合并) on a synthetic county group.

    PYTHONPATH=src python bench/consolidation.py [--entities 5000 --periods 12 --repeats 3]

Generates a group deterministically from --seed: a root, the five platforms (五大投), a tree of
companies under them with mostly controlling stakes, some associates and financial stakes, a few
cross holdings and dual-class stakes; ~33 items per entity-period, each entity balanced
(total_assets = total_liabilities + total_equity, totals = sum of parts); intercompany lines
(a few per entity, most matched, some off by an amount, some one-sided): receivable/payable,
revenue against the buyer's cost + inventory_held (a tenth still in stock, so unrealized profit
is eliminated; a few buyers report no inventory_held), and an investment line per stake (1%
forgotten, so some stakes show up as missing investment lines).

Times, best of --repeats: ownership as of one date, and consolidation of the root for every
period, by `stateasset.ledger.compute` (Polars) and by the plain-Python baseline in
bench/reference.py; checks both agree to the cent on every item and summary row (and on NCI per
member). Prints a markdown table and writes it to bench/results/consolidation.md.
`bench/end_to_end.py` reuses `generate` to load the same group into PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/ is not a package: the baseline sits beside this script.
import reference

from stateasset.core.money import MONEY
from stateasset.ledger.catalogue import ITEMS, TOTALS
from stateasset.ledger.compute import consolidation as consolidation_calc
from stateasset.ledger.compute import ownership as ownership_calc
from stateasset.ledger.frames import INTERCOMPANY_SCHEMA, STAKES_SCHEMA, STATEMENT_SCHEMA

T = TypeVar("T")

AS_OF = dt.date(2025, 12, 31)
PLATFORMS = ("城建投", "交通投", "水投", "文旅投", "产业投")
MAX_DEPTH = 6

ASSET_PARTS = TOTALS["total_assets"]
LIABILITY_PARTS = TOTALS["total_liabilities"]
FLOW_ITEMS = tuple(item.code for item in ITEMS if item.flow)


@dataclass(frozen=True)
class Group:
    """The synthetic group: stakes with history, and per-period statements and lines."""

    root: str
    stakes: pl.DataFrame  # holder_id, held_id, economic_share, voting_share, valid_from, valid_to
    statements: dict[str, pl.DataFrame]  # period → entity_id, item, amount
    lines: dict[str, pl.DataFrame]  # period → entity_id, partner_id, kind, amount
    entities: int
    platforms: tuple[str, ...]  # the five platform companies (五大投), in PLATFORMS order
    platform_of: dict[str, str]  # company → the platform it sits under


def _cents_to_money(frame: pl.DataFrame) -> pl.DataFrame:
    """`amount` from Int64 cents to Decimal(38, 2) yuan, exactly (×0.01 at scale 2 never rounds)."""
    return frame.with_columns(
        (pl.col("amount").cast(MONEY) * pl.lit(Decimal("0.01"), dtype=MONEY)).alias("amount")
    )


@dataclass
class _Book:
    """One period's intercompany lines in cents, and each entity's total per kind."""

    rows: list[tuple[str, str, str, int]] = field(default_factory=list)
    sums: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def report(self, entity: str, partner: str, kind: str, cents: int) -> None:
        self.rows.append((entity, partner, kind, cents))
        self.sums[entity, kind] += cents


def generate(entities: int, periods: int, seed: int) -> Group:
    """A deterministic synthetic group of `entities` entities over `periods` months."""
    rng = random.Random(seed)

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    root = new_id()
    ids = [root]
    depth = {root: 0}
    held_total: dict[str, float] = defaultdict(float)
    stakes: list[tuple[str, str, float, float, dt.date | None, dt.date | None]] = []
    current: list[tuple[str, str, float]] = []  # holder, held, economic share (for the lines)

    def add_stake(holder: str, held: str, econ: float, votes: float | None = None) -> None:
        econ = round(econ, 4)
        votes = econ if votes is None else round(votes, 4)
        if rng.random() < 0.05:  # an earlier stake, superseded: history that as-of must skip
            old = round(max(0.01, econ - 0.1), 4)
            stakes.append((holder, held, old, old, dt.date(2019, 1, 1), dt.date(2024, 6, 30)))
            since = dt.date(2024, 6, 30)
        else:
            since = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randrange(2000))
        stakes.append((holder, held, econ, votes, since, None))
        current.append((holder, held, econ))
        held_total[held] += econ

    for _ in PLATFORMS:
        platform_id = new_id()
        ids.append(platform_id)
        depth[platform_id] = 1
        add_stake(root, platform_id, 1.0)
    platforms = tuple(ids[1:])
    platform_of: dict[str, str] = {}
    parents = ids[1:]  # companies that may have subsidiaries of their own
    while len(ids) < entities:
        child = new_id()
        parent = rng.choice(parents)
        ids.append(child)
        depth[child] = depth[parent] + 1
        platform_of[child] = platform_of.get(parent, parent)
        draw = rng.random()
        if draw < 0.55:
            add_stake(parent, child, 1.0)
        elif draw < 0.87:
            share = rng.uniform(0.51, 0.95)
            if rng.random() < 0.05:  # 同股不同权: fewer shares, majority of the votes
                add_stake(parent, child, share - 0.15, share)
            else:
                add_stake(parent, child, share)
            other = rng.choice(ids[:-1])
            room = 1.0 - held_total[child]
            if rng.random() < 0.3 and other != parent and room >= 0.02:
                add_stake(other, child, rng.uniform(0.01, room))  # a second group holder
        elif draw < 0.96:
            add_stake(parent, child, rng.uniform(0.2, 0.45))  # associate: 联营, equity method
        else:
            add_stake(parent, child, rng.uniform(0.03, 0.15))  # financial investment
        if depth[child] < MAX_DEPTH and draw < 0.87:
            parents.append(child)
    # A few cross holdings (交叉持股): a company takes a small stake in its own holder.
    for holder, held, _ in rng.sample(current[6:], k=max(1, entities // 500)):
        room = 1.0 - held_total[holder]
        if holder != root and room >= 0.02 and depth[held] > depth[holder]:
            add_stake(held, holder, rng.uniform(0.01, min(0.1, room)))

    # The loader's columns, with the validity it filters on (as_of below does it here).
    stakes_frame = pl.DataFrame(
        stakes,
        schema={**STAKES_SCHEMA, "valid_from": pl.Date(), "valid_to": pl.Date()},
        orient="row",
    )

    # Size: the root and platforms are large, deep companies small; paid-in capital drives the
    # investment lines (carrying amount = share × the held company's paid-in capital).
    paid_in = {e: rng.randrange(10**8, 10**10) // (2 ** depth[e]) * 100 for e in ids}
    subsidiaries: dict[str, list[str]] = defaultdict(list)
    for holder, held, _ in current:
        subsidiaries[holder].append(held)
    trading: dict[str, list[str]] = {}
    for e in ids:
        pool = subsidiaries[e] or ids
        trading[e] = [rng.choice(pool if rng.random() < 0.6 else ids) for _ in range(2)]
        trading[e] = [p for p in dict.fromkeys(trading[e]) if p != e]
    base = {e: {part: rng.randrange(1, 10**6) for part in (*ASSET_PARTS, *FLOW_ITEMS)} for e in ids}
    for b in base.values():  # a gross margin of 5–40%, so unrealized profit has its usual sign
        b["operating_cost"] = int(b["revenue"] * rng.uniform(0.6, 0.95))

    statements: dict[str, pl.DataFrame] = {}
    lines: dict[str, pl.DataFrame] = {}
    for month in range(1, periods + 1):
        period = f"2025-{month:02d}"
        growth = 1.0 + 0.004 * month
        ytd = month / 12
        book = _Book()
        report, sums = book.report, book.sums
        carrying: dict[str, int] = defaultdict(int)  # held shares, reported as a line or not
        for holder, held, share in current:
            cents = int(share * paid_in[held])
            carrying[holder] += cents
            if rng.random() >= 0.01:  # else the holder forgets the line: a missing investment
                report(holder, held, "investment", cents)
        for e in ids:
            for partner in trading[e]:
                size = min(paid_in[e], paid_in[partner])
                cents = int(size * rng.uniform(0.001, 0.03))
                report(e, partner, "receivable", cents)
                luck = rng.random()
                if luck < 0.03:  # booked at a different amount (in transit, a dispute)
                    report(partner, e, "payable", cents - rng.randrange(-(10**6), 10**6))
                elif luck >= 0.04:  # else (1%) not booked at all
                    report(partner, e, "payable", cents)
                sales = int(size * ytd * rng.uniform(0.001, 0.02))
                report(e, partner, "revenue", sales)
                # The buyer still holds part of what it bought (unrealized profit), except a
                # few that report no inventory_held line at all.
                stock = sales // 10 if rng.random() >= 0.05 else 0
                report(partner, e, "cost", sales - stock)
                if stock:
                    report(partner, e, "inventory_held", stock)
        lines[period] = _cents_to_money(
            pl.DataFrame(
                book.rows,
                schema={**INTERCOMPANY_SCHEMA, "amount": pl.Int64()},  # cents until converted
                orient="row",
            )
        )

        rows: list[tuple[str, str, int]] = []
        for e in ids:
            b = base[e]
            scale = paid_in[e] // 10**6 + 1
            wobble = growth * rng.uniform(0.98, 1.02)
            assets = {p: int(b[p] * scale * wobble) for p in ASSET_PARTS}
            assets["receivables"] += sums[e, "receivable"]
            assets["inventory"] += sums[e, "inventory_held"]
            assets["long_term_equity_investment"] += carrying[e]
            debt_ratio = 0.35 + (b["cash"] % 30) / 100
            floor = int(paid_in[e] * 1.25 / (1 - debt_ratio))
            assets["fixed_assets"] += max(0, floor - sum(assets.values()))
            total_assets = sum(assets.values())
            total_liabilities = int(total_assets * debt_ratio)
            payables = sums[e, "payable"] + total_liabilities // 10
            total_liabilities = max(total_liabilities, payables)
            rest = total_liabilities - payables
            liabilities = {
                "short_term_borrowings": rest // 4,
                "payables": payables,
                "long_term_borrowings": rest // 3,
                "bonds_payable": rest // 5,
            }
            liabilities["other_liabilities"] = total_liabilities - sum(liabilities.values())
            total_equity = total_assets - total_liabilities
            reserve = paid_in[e] // 10
            equity = {
                "paid_in_capital": paid_in[e],
                "capital_reserve": reserve,
                "retained_earnings": total_equity - paid_in[e] - reserve,
                "state_capital": paid_in[e],
            }
            flows = {p: int(b[p] * scale * ytd * wobble) for p in FLOW_ITEMS}
            flows["revenue"] += sums[e, "revenue"]
            flows["operating_cost"] += sums[e, "cost"]
            rows.extend((e, k, v) for k, v in assets.items())
            rows.append((e, "total_assets", total_assets))
            rows.extend((e, k, v) for k, v in liabilities.items())
            rows.append((e, "total_liabilities", total_liabilities))
            rows.extend((e, k, v) for k, v in equity.items())
            rows.append((e, "total_equity", total_equity))
            rows.extend((e, k, v) for k, v in flows.items())
            rows.append((e, "employees_avg", (b["cash"] % 500 + 5) * 100))
        statements[period] = _cents_to_money(
            pl.DataFrame(
                rows,
                # One period's lines: the loader's columns but the period, in cents.
                schema={
                    "entity_id": STATEMENT_SCHEMA["entity_id"],
                    "item": STATEMENT_SCHEMA["item"],
                    "amount": pl.Int64(),
                },
                orient="row",
            )
        )
    return Group(root, stakes_frame, statements, lines, len(ids), platforms, platform_of)


def best_of(repeats: int, run: Callable[[], T]) -> tuple[float, T]:
    """The fastest wall time of `repeats` runs, and the last run's result."""
    best = float("inf")
    result: T
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def as_of(stakes: pl.DataFrame, day: dt.date) -> pl.LazyFrame:
    return stakes.lazy().filter(
        (pl.col("valid_from") <= day) & (pl.col("valid_to").is_null() | (pl.col("valid_to") > day))
    )


def check_agreement(
    period: str, got: consolidation_calc.Consolidation, want: reference.Consolidated
) -> None:
    """Raise unless Polars and the baseline agree to the cent on every item and summary row.

    Every item's aggregated, eliminated and consolidated amounts; every summary figure; each
    member's NCI; and the same stakes without investment lines and sales without inventory.
    """
    rows = {r[0]: r[1:] for r in got.items.iter_rows()}
    summary = set(consolidation_calc.SUMMARY_ITEMS)
    assert list(consolidation_calc.SUMMARY_ITEMS) == list(reference.SUMMARY), "summary rows differ"
    items = {k: v for k, v in rows.items() if k not in summary}
    assert items.keys() == want.items.keys(), (
        f"{period}: items differ: {sorted(items.keys() ^ want.items.keys())}"
    )
    for item, expected in want.items.items():
        assert items[item] == expected, f"{period} {item}: polars {items[item]} ≠ {expected}"
    for item in reference.SUMMARY:
        value, expected = rows[item][2], want.extras[item]
        assert value == expected, f"{period} {item}: polars {value} ≠ baseline {expected}"
    nci = {r[0]: (r[2], r[3], r[4], r[5]) for r in got.nci.iter_rows()}
    assert nci == want.nci, f"{period}: NCI per member differs"
    missing = [(h, e) for h, e, _ in got.missing_investment_lines.iter_rows()]
    assert missing == want.missing_investment_lines, f"{period}: missing investment lines differ"
    no_stock = list(got.sales_without_inventory_line.iter_rows())
    assert no_stock == want.no_inventory_held, f"{period}: sales without inventory_held differ"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=5000)
    parser.add_argument("--periods", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20251231)
    parser.add_argument(
        "--baseline-periods",
        type=int,
        default=None,
        help="periods the plain-Python baseline runs (default: all); its time is scaled up",
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results/consolidation.md"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    group = generate(args.entities, args.periods, args.seed)
    periods = sorted(group.statements)
    statement_rows = sum(f.height for f in group.statements.values())
    line_rows = sum(f.height for f in group.lines.values())
    print(
        f"generated {group.entities} entities, {group.stakes.height} stake rows, "
        f"{statement_rows:,} statement rows, {line_rows:,} lines over {len(periods)} periods "
        f"in {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )

    # --- Polars --------------------------------------------------------------------------
    # The stakes as the service's loader gives them (frames.stakes_frame): valid at the date.
    stakes = as_of(group.stakes, AS_OF).select(list(STAKES_SCHEMA)).collect().lazy()
    t_own, own = best_of(
        args.repeats, lambda: ownership_calc.ownership(stakes, group.root).collect()
    )

    def consolidate_all() -> dict[str, consolidation_calc.Consolidation]:
        own_lazy = own.lazy()
        return {
            p: consolidation_calc.consolidate(
                group.statements[p].lazy(),
                group.lines[p].lazy(),
                own_lazy,
                group.root,
                stakes=stakes,
            )
            for p in periods
        }

    t_cons, results = best_of(args.repeats, consolidate_all)

    # --- Plain-Python baseline -------------------------------------------------------------
    # Inputs are handed over as Python rows, prepared outside the timed region, like the
    # frames are for Polars.
    stake_rows = stakes.collect()
    econ_rows = [(h, e, s) for h, e, s, _ in stake_rows.iter_rows()]
    vote_rows = [(h, e, v) for h, e, _, v in stake_rows.iter_rows()]

    def baseline_ownership() -> tuple[
        dict[str, float], dict[str, reference.ControlRow], dict[str, float]
    ]:
        ctl = reference.control(vote_rows, group.root)
        controlled = [e for e, r in ctl.items() if r.controlled]
        return (
            reference.effective_interest(econ_rows, group.root),
            ctl,
            reference.consolidated_interest(econ_rows, group.root, controlled),
        )

    t_own_ref, (_, ref_ctl, ref_x) = best_of(args.repeats, baseline_ownership)
    base_periods = periods[: args.baseline_periods or len(periods)]
    statement_py = {p: group.statements[p].rows() for p in base_periods}
    lines_py = {p: group.lines[p].rows() for p in base_periods}
    parents = {e: r.parent_id for e, r in ref_ctl.items() if r.controlled}
    members = sorted({group.root, *parents})

    def baseline_consolidate_all() -> dict[str, reference.Consolidated]:
        return {
            p: reference.consolidate(
                statement_py[p],
                lines_py[p],
                ref_x,
                group.root,
                members,
                stakes=econ_rows,
                parent=parents,
            )
            for p in base_periods
        }

    t_cons_ref, ref_results = best_of(args.repeats, baseline_consolidate_all)
    scale = len(periods) / len(base_periods)

    # --- Agreement ---------------------------------------------------------------------------
    controlled = own.filter(pl.col("controlled"))["entity_id"].to_list()
    assert sorted({group.root, *controlled}) == members, "control sets differ"
    for entity, x in own.select("entity_id", "consolidated_interest").iter_rows():
        assert abs(x - ref_x.get(entity, 0.0)) <= 1e-9, f"consolidated interest of {entity}"
    for p in base_periods:
        check_agreement(p, results[p], ref_results[p])
    first = results[periods[0]]
    summary = {r[0]: r[3] for r in first.items.iter_rows()}

    def ratio(polars_s: float, baseline_s: float) -> str:
        return f"{baseline_s / polars_s:.1f}×" if polars_s > 0 else "n/a"

    scaled_note = (
        f" (baseline ran {len(base_periods)} of {len(periods)} periods, scaled ×{scale:g})"
        if scale != 1
        else ""
    )
    rows = [
        ("ownership, one date (both interests + control)", t_own, t_own_ref),
        (
            f"consolidation of the root, {len(periods)} periods{scaled_note}",
            t_cons,
            t_cons_ref * scale,
        ),
    ]
    table = [
        "| operation | polars s | baseline s | speed-up |",
        "|---|---:|---:|---:|",
        *(f"| {op} | {a:.3f} | {b:.3f} | {ratio(a, b)} |" for op, a, b in rows),
    ]
    header = [
        "# Consolidation benchmark",
        "",
        f"{group.entities:,} entities ({len(controlled):,} controlled, "
        f"{len(first.members):,} consolidated members), {group.stakes.height:,} stake rows, "
        f"{statement_rows:,} statement rows and {line_rows:,} intercompany lines over "
        f"{len(periods)} periods; seed {args.seed}; best of {args.repeats}.",
        f"Polars {pl.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}. Baseline: bench/reference.py "
        "(dicts + Decimal). Both agree to the cent on every item (aggregated, eliminated, "
        "consolidated), every summary row and each member's NCI in every period run.",
        "",
        f"First period: total_assets {summary['total_assets']:,}, "
        f"elimination_difference {summary['elimination_difference']:,}, "
        f"unrealized_profit {summary['unrealized_profit']:,}, "
        f"non_controlling_interest {summary['non_controlling_interest']:,}; "
        f"{first.missing_investment_lines.height} stakes without an investment line, "
        f"{first.sales_without_inventory_line.height} sales without an inventory_held line.",
        "",
    ]
    text = "\n".join([*header, *table, ""])
    print("\n".join(table))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
