"""Ownership arithmetic (股权穿透、控制判断): effective interest, control and method.

Pure functions over Polars frames: no database, no clock, no globals. DOMAIN.md §2 and §4 are the
rules. Shares are float fractions; summed shares are compared with a 1e-9 allowance, so 20% + 30%
held by two group companies is exactly 50% (not controlling) even when float addition says
0.5000000000000001. Lazy queries run on the streaming engine, which keeps no row order: every
result is sorted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import polars as pl

SHARE_EPSILON = 1e-9
"""Allowance when comparing summed float shares against a threshold."""


def _empty(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def _direct_edges(stakes: pl.LazyFrame, root: str, share: str) -> pl.DataFrame:
    """holder_id, held_id, share: one summed row per pair; holdings of the root are left out.

    The root is the point of view: shares in the root held by its own subsidiaries are not a
    group interest in anything (x = b·(I − A)⁻¹ runs over the entities below the root).
    """
    return (
        stakes.select(
            pl.col("holder_id").cast(pl.String),
            pl.col("held_id").cast(pl.String),
            pl.col(share).cast(pl.Float64).fill_null(0.0).alias("share"),
        )
        .filter(pl.col("held_id") != root)
        .group_by("holder_id", "held_id")
        .agg(pl.col("share").sum().alias("share"))
        .sort("holder_id", "held_id")
        .collect()
    )


def _reachable(edges: pl.DataFrame, root: str) -> pl.DataFrame:
    """entity_id of every entity below the root along any stake (root excluded), sorted."""
    seen = pl.DataFrame({"entity_id": [root]}, schema={"entity_id": pl.String})
    frontier = seen
    for _ in range(edges.height + 1):
        frontier = (
            frontier.join(edges, left_on="entity_id", right_on="holder_id")
            .select(pl.col("held_id").alias("entity_id"))
            .unique()
            .join(seen, on="entity_id", how="anti")
        )
        if frontier.is_empty():
            break
        seen = pl.concat([seen, frontier])
    return seen.filter(pl.col("entity_id") != root).sort("entity_id")


# --------------------------------------------------------------------------------------------
# Ownership


def effective_interest(
    stakes: pl.LazyFrame,
    root: str,
    *,
    tolerance: float = 1e-12,
    max_iterations: int = 1000,
) -> pl.LazyFrame:
    """entity_id, effective_interest for everything below `root`  # 穿透持股比例.

    x = b·(I − A)⁻¹ without a matrix library, by the iteration x ← b + x·A. Each step's change is
    the previous change times A (x_k − x_{k−1} = b·A^k), so we carry only that increment, a
    join and a group-by on the entities it touches, and x is the sum of the increments. On a DAG
    the increment is empty after as many steps as the longest chain, so x is exact; with cross
    holdings (交叉持股) it shrinks geometrically and we stop once no value moves by more than
    `tolerance`. A cycle that does not shrink (shares of 100% around it) raises ValueError.
    `stakes` has holder_id, held_id, economic_share already filtered to the as-of date.
    """
    schema = pl.Schema({"entity_id": pl.String, "effective_interest": pl.Float64})
    edges = _direct_edges(stakes, root, "economic_share")
    inner = edges.filter(pl.col("holder_id") != root)
    step = edges.filter(pl.col("holder_id") == root).select(
        pl.col("held_id").alias("entity_id"), pl.col("share").alias("x"), pl.lit(0).alias("k")
    )
    steps = [step]
    for k in range(1, max_iterations + 1):
        step = (
            step.join(inner, left_on="entity_id", right_on="holder_id")
            .group_by("held_id")
            # Summed in holder order: the same inputs give the same floats, bit for bit.
            .agg((pl.col("x") * pl.col("share")).sort_by("entity_id").sum().alias("x"))
            .select(pl.col("held_id").alias("entity_id"), "x", pl.lit(k).alias("k"))
        )
        steps.append(step)
        change = step["x"].abs().max()
        if change is None or change <= tolerance:
            break
        if not math.isfinite(change):
            raise ValueError(f"effective_interest for {root!r}: the iteration diverged")
    else:
        raise ValueError(
            f"effective_interest for {root!r} did not converge within {max_iterations} iterations"
            " (a cross holding whose shares around the cycle reach 100%?)"
        )
    below = _reachable(edges, root)
    if below.is_empty():
        return _empty(schema).lazy()
    totals = (
        pl.concat(steps)
        .group_by("entity_id")
        .agg(pl.col("x").sort_by("k").sum().alias("effective_interest"))
    )
    # Entities reached only through 0% stakes get no increment but are still below the root.
    return (
        below.join(totals, on="entity_id", how="left")
        .with_columns(pl.col("effective_interest").fill_null(0.0))
        .sort("entity_id")
        .lazy()
    )


def _override_map(overrides: pl.LazyFrame | None, root: str) -> dict[str, tuple[bool, str | None]]:
    """entity → (controlled, method or None): the latest override of each entity.

    A method of 'full' means controlled whatever the flag says; 'equity' or 'none' means not.
    """
    if overrides is None:
        return {}
    frame = overrides.collect()
    method = (
        pl.col("method").cast(pl.String)
        if "method" in frame.columns
        else pl.lit(None, dtype=pl.String).alias("method")
    )
    rows = (
        frame.lazy()
        .select(pl.col("entity_id").cast(pl.String), pl.col("controlled").cast(pl.Boolean), method)
        .filter(pl.col("entity_id") != root)
        .drop_nulls("entity_id")
        .unique(subset="entity_id", keep="last", maintain_order=True)
        .with_columns(
            pl.when(pl.col("method").is_not_null())
            .then(pl.col("method") == "full")
            .otherwise(pl.col("controlled").fill_null(False))
            .alias("controlled")
        )
        .collect()
    )
    return {
        e: (c, m)
        for e, c, m in zip(
            rows["entity_id"].to_list(),
            rows["controlled"].to_list(),
            rows["method"].to_list(),
            strict=True,
        )
    }


def _votes_from(edges: pl.DataFrame, holders: Iterable[str]) -> pl.DataFrame:
    return (
        edges.filter(pl.col("holder_id").is_in(list(holders)))
        .group_by("held_id")
        .agg(pl.col("share").sort_by("holder_id").sum().alias("group_votes"))
        .rename({"held_id": "entity_id"})
    )


def _parents(edges: pl.DataFrame, root: str, rounds: dict[str, int]) -> dict[str, str]:
    """Control-tree parent of every controlled entity, guaranteed to form a tree under `root`.

    The rule: the holder among {root} ∪ C with the largest voting share, ties → smallest id; an
    entity controlled only by override, with no group holder, hangs under the root. That rule
    alone can make a loop (B is controlled through A and root, then C through B, and C holds the
    largest block of B), so a loop is broken at its member that came under control first, which
    is re-hung under its largest holder among entities controlled strictly before it.
    """
    ranks = pl.DataFrame(
        {"entity_id": [root, *rounds], "rank": [0, *rounds.values()]},
        schema={"entity_id": pl.String, "rank": pl.Int64},
    )
    holdings = edges.join(
        ranks.rename({"entity_id": "holder_id", "rank": "holder_rank"}), on="holder_id"
    ).join(ranks.rename({"entity_id": "held_id", "rank": "held_rank"}), on="held_id")
    largest_first = pl.col("holder_id").sort_by(["share", "holder_id"], descending=[True, False])
    best = holdings.group_by("held_id").agg(largest_first.first())
    parent = dict.fromkeys(rounds, root)
    parent.update(zip(best["held_id"].to_list(), best["holder_id"].to_list(), strict=True))
    rank = {root: 0, **rounds}
    for _ in range(len(parent) + 1):
        loop = _find_loop(parent, root)
        if not loop:
            return parent
        first = min(loop, key=lambda e: (rank[e], e))
        earlier = holdings.filter(
            (pl.col("held_id") == first) & (pl.col("holder_rank") < rank[first])
        ).select(largest_first.first())
        parent[first] = earlier.item() if earlier.height and earlier.item() else root
    raise AssertionError("control tree loop could not be broken")  # pragma: no cover


def _find_loop(parent: dict[str, str], root: str) -> list[str]:
    """The members of one parent loop, or [] when every chain reaches `root`."""
    settled = {root}
    for start in sorted(parent):
        path: dict[str, None] = {}  # ordered set of the chain walked from start
        node = start
        while node not in settled and node in parent:
            if node in path:
                chain = list(path)
                return chain[chain.index(node) :]
            path[node] = None
            node = parent[node]
        settled.update(path)
    return []


def control(
    stakes: pl.LazyFrame,
    root: str,
    *,
    threshold: float = 0.5,
    overrides: pl.LazyFrame | None = None,
    equity_floor: float = 0.2,
) -> pl.LazyFrame:
    """entity_id, group_votes, controlled, method, parent_id  # 控制判断与合并方法.

    Control follows votes along the chain of controlled companies, not the effective interest:
    starting from nobody, j joins the controlled set C when the voting shares in j held by the
    root and by members of C exceed `threshold` (strictly), or an override (entity_id,
    controlled, method) says so; an override "not controlled" keeps j out whatever the votes.
    Repeated until C stops growing (it only grows, so this is the least fixpoint). method is
    'full' (子公司, 全额合并) when controlled; otherwise the override's method when it names one,
    else 'equity' (联营/合营, 权益法) from equity_floor of the votes up, else 'none'. So an override
    "not controlled" on a company with 55% of the votes leaves it on the equity method, as
    DOMAIN.md §4 says. Rows: every entity below the root, plus entities controlled by override
    alone; parent_id is set for controlled entities only.
    """
    schema = pl.Schema(
        {
            "entity_id": pl.String,
            "group_votes": pl.Float64,
            "controlled": pl.Boolean,
            "method": pl.String,
            "parent_id": pl.String,
        }
    )
    edges = _direct_edges(stakes, root, "voting_share")
    forced = _override_map(overrides, root)
    below = _reachable(edges, root)["entity_id"].to_list()
    rounds: dict[str, int] = {}  # entity → fixpoint round in which it came under control
    votes = _votes_from(edges, [root])
    # Every round adds someone, so there are at most as many rounds as possible members.
    for step in range(1, edges["held_id"].n_unique() + len(forced) + 2):
        by_votes = votes.filter(pl.col("group_votes") > threshold + SHARE_EPSILON)
        now = {e for e in by_votes["entity_id"].to_list() if forced.get(e, (True, None))[0]}
        now |= {e for e, (c, _) in forced.items() if c}
        joined = now - rounds.keys()
        if not joined:
            break
        rounds.update(dict.fromkeys(joined, step))
        votes = _votes_from(edges, [root, *rounds])
    else:  # pragma: no cover - unreachable by the bound above
        raise AssertionError("control fixpoint did not settle")
    parent = _parents(edges, root, rounds)
    entities = sorted(set(below) | rounds.keys())
    if not entities:
        return _empty(schema).lazy()
    chosen = {e: m for e, (_, m) in forced.items() if m is not None}
    frame = (
        pl.DataFrame({"entity_id": entities}, schema={"entity_id": pl.String})
        .join(votes, on="entity_id", how="left")
        .with_columns(
            pl.col("group_votes").fill_null(0.0),
            pl.col("entity_id").is_in(list(rounds)).alias("controlled"),
            pl.col("entity_id")
            .replace_strict(parent, default=None, return_dtype=pl.String)
            .alias("parent_id"),
        )
        .with_columns(
            pl.when(pl.col("controlled"))
            .then(pl.lit("full"))
            .otherwise(
                pl.col("entity_id").replace_strict(chosen, default=None, return_dtype=pl.String)
            )
            .fill_null(
                pl.when(pl.col("group_votes") >= equity_floor - SHARE_EPSILON)
                .then(pl.lit("equity"))
                .otherwise(pl.lit("none"))
            )
            .alias("method")
        )
        .select(list(schema))
        .sort("entity_id")
    )
    return frame.lazy()


def consolidated_interest(
    stakes: pl.LazyFrame, root: str, controlled: Iterable[str]
) -> pl.LazyFrame:
    """entity_id, consolidated_interest  # 归属于母公司的权益比例.

    The effective interest counted along paths through consolidated members only: the same
    x = b·(I − A)⁻¹ with A restricted to stakes held by the root or a controlled entity. A slice
    of a subsidiary held through an associate or an outsider is the minority's, not the group's.
    """
    holders = [root, *controlled]
    inside = stakes.filter(pl.col("holder_id").cast(pl.String).is_in(holders))
    return effective_interest(inside, root).rename({"effective_interest": "consolidated_interest"})


def ownership(
    stakes: pl.LazyFrame,
    root: str,
    *,
    threshold: float = 0.5,
    overrides: pl.LazyFrame | None = None,
    equity_floor: float = 0.2,
) -> pl.LazyFrame:
    """entity_id, effective_interest, consolidated_interest, group_votes, controlled, method,
    parent_id  # 股权穿透.

    The views side by side, because consolidation needs them all: control decides who is summed,
    the consolidated interest how much of each belongs to the parent, and the effective interest
    is the look-through exposure staff read. An entity controlled by override alone, with no
    stake from the group, has both interests 0.
    """
    stakes = stakes.collect().lazy()  # read twice below
    interest = effective_interest(stakes, root)
    votes = control(
        stakes, root, threshold=threshold, overrides=overrides, equity_floor=equity_floor
    ).collect()
    members = votes.filter(pl.col("controlled"))["entity_id"].to_list()
    inside = consolidated_interest(stakes, root, members)
    return (
        votes.lazy()
        .join(interest, on="entity_id", how="full", coalesce=True)
        .join(inside, on="entity_id", how="left")
        .select(
            "entity_id",
            pl.col("effective_interest").fill_null(0.0),
            pl.col("consolidated_interest").fill_null(0.0),
            "group_votes",
            "controlled",
            "method",
            "parent_id",
        )
        .sort("entity_id")
    )
