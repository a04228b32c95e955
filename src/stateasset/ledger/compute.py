"""Ownership, control and consolidation arithmetic (股权穿透、控制判断、合并抵销).

Pure functions over Polars frames: no database, no clock, no globals. DOMAIN.md §2 and §4 are
the rules; the conventions settled here where the brief is silent:

- Money is ``Decimal(38, 2)`` end to end. A float ratio that multiplies money is first cast to
  ``Decimal(38, 12)``; the product is taken exactly at scale 14 and rounded HALF-UP (away from
  zero on a tie, like ``decimal.ROUND_HALF_UP``) to 2 places. Polars' own default for decimals
  (``round`` and a narrowing ``cast``) is half-to-even, which is why we never rely on it.
- Shares are float fractions. Summed shares are compared with a 1e-9 allowance, so 20% + 30% held
  by two group companies is exactly 50% (not controlling) even when float addition says
  0.5000000000000001.
- ``elimination_difference`` = Σ (entity side − partner side) over receivable/payable and
  investment/equity pairs: positive when the asset side reported more. It balances the sheet as
  consolidated total_assets + elimination_difference = total_liabilities + total_equity.
- Lazy queries run on the streaming engine, which keeps no row order: every result is sorted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

MONEY = pl.Decimal(38, 2)
RATIO = pl.Decimal(38, 12)
# 12 decimals of ratio × 2 decimals of money: the exact product fits scale 14 (amounts < 1e24).
_PRODUCT = pl.Decimal(38, 14)

SHARE_EPSILON = 1e-9
"""Allowance when comparing summed float shares against a threshold."""

ASSET_SIDE_KINDS: dict[str, str] = {
    "receivable": "receivable_payable",
    "revenue": "revenue_cost",
    "investment": "investment_equity",
}
"""Line kind reported by the entity side E of a pair → the pair's elimination kind."""

LIABILITY_SIDE_KINDS: dict[str, str] = {
    "payable": "receivable_payable",
    "cost": "revenue_cost",
    "equity": "investment_equity",
}
"""Line kind reported by the partner side F of a pair → the pair's elimination kind."""

BALANCE_SHEET_PAIRS: tuple[str, ...] = ("receivable_payable", "investment_equity")
"""Pairs whose difference stays on the balance sheet as elimination_difference 抵销差额."""

ELIMINATION_RULES: tuple[tuple[str, str, str], ...] = (
    ("receivable_payable", "entity", "receivables"),
    ("receivable_payable", "entity", "total_assets"),
    ("receivable_payable", "partner", "payables"),
    ("receivable_payable", "partner", "total_liabilities"),
    ("revenue_cost", "entity", "revenue"),
    ("revenue_cost", "partner", "operating_cost"),
    ("investment_equity", "entity", "long_term_equity_investment"),
    ("investment_equity", "entity", "total_assets"),
    ("investment_equity", "partner", "paid_in_capital"),
    ("investment_equity", "partner", "total_equity"),
)
"""(pair kind, side, item): the item that loses that side's amount when the pair is eliminated."""

EXTRA_ITEMS: tuple[str, ...] = (
    "elimination_difference",
    "non_controlling_interest",
    "equity_attributable_to_parent",
    "nci_profit",
    "net_profit_attributable_to_parent",
)
"""Rows appended after the consolidated items, in this order."""


@dataclass(frozen=True)
class Consolidation:
    """One node's consolidated statement for one period (合并报表) and how it was reached."""

    items: pl.DataFrame
    """item, aggregated, eliminated, consolidated; then the EXTRA_ITEMS rows (consolidated only)."""
    eliminations: pl.DataFrame
    """One row per intercompany pair eliminated (抵销分录)."""
    nci: pl.DataFrame
    """Non-controlling interest (少数股东权益) per consolidated member other than the root."""
    members: list[str]
    """The entities summed, sorted."""


# --------------------------------------------------------------------------------------------
# Small helpers


def round_half_up(expr: pl.Expr, decimals: int = 2) -> pl.Expr:
    """Money rounded half-up (away from zero on a tie) to `decimals` places, as Decimal(38, 2).

    Polars rounds decimals half-to-even by default, and a narrowing cast does too, so the mode
    is spelled out before the cast (which is then exact).
    """
    return expr.round(decimals, mode="half_away_from_zero").cast(pl.Decimal(38, decimals))


def scale_money(ratio: pl.Expr, money: pl.Expr) -> pl.Expr:
    """`ratio` (Decimal or float) × `money` (Decimal), rounded half-up to cents.

    The ratio keeps 12 places; the money is widened to scale 14 first so the product is exact
    and the only rounding is the final half-up one.
    """
    return round_half_up(ratio.cast(RATIO) * money.cast(_PRODUCT))


def outside_share(interest: pl.Expr) -> pl.Expr:
    """1 − x in Decimal(38, 12): the minority's fraction, so 1 − 0.9 is exactly 0.1."""
    return pl.lit(1, dtype=RATIO) - interest.cast(RATIO)


def _money_literal(value: Decimal | int | str) -> pl.Expr:
    return pl.lit(Decimal(value), dtype=MONEY)


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


def _override_map(overrides: pl.LazyFrame | None, root: str) -> dict[str, bool]:
    if overrides is None:
        return {}
    rows = (
        overrides.select(pl.col("entity_id").cast(pl.String), pl.col("controlled").cast(pl.Boolean))
        .filter(pl.col("entity_id") != root)
        .drop_nulls()
        .unique(subset="entity_id", keep="last", maintain_order=True)
        .collect()
    )
    return dict(zip(rows["entity_id"].to_list(), rows["controlled"].to_list(), strict=True))


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
    controlled) says True; an override False keeps j out whatever the votes. Repeated until C
    stops growing (it only grows, so this is the least fixpoint). method is 'full' (子公司,
    全额合并) when controlled, 'equity' (联营/合营, 权益法) when equity_floor ≤ group_votes ≤
    threshold, otherwise 'none'. Rows: every entity below the root, plus entities controlled by
    override alone; parent_id is set for controlled entities only.
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
        now = {e for e in by_votes["entity_id"].to_list() if forced.get(e, True)}
        now |= {e for e, c in forced.items() if c}
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
            .when(
                (pl.col("group_votes") >= equity_floor - SHARE_EPSILON)
                & (pl.col("group_votes") <= threshold + SHARE_EPSILON)
            )
            .then(pl.lit("equity"))
            .otherwise(pl.lit("none"))
            .alias("method")
        )
        .select(list(schema))
        .sort("entity_id")
    )
    return frame.lazy()


def ownership(
    stakes: pl.LazyFrame,
    root: str,
    *,
    threshold: float = 0.5,
    overrides: pl.LazyFrame | None = None,
    equity_floor: float = 0.2,
) -> pl.LazyFrame:
    """entity_id, effective_interest, group_votes, controlled, method, parent_id  # 股权穿透.

    The two views side by side, because consolidation needs both: control decides who is summed,
    the effective interest decides how much of each belongs to minority holders. An entity
    controlled by override alone, with no stake from the group, has effective_interest 0.
    """
    interest = effective_interest(stakes, root)
    votes = control(
        stakes, root, threshold=threshold, overrides=overrides, equity_floor=equity_floor
    )
    return (
        votes.join(interest, on="entity_id", how="full", coalesce=True)
        .select(
            "entity_id",
            pl.col("effective_interest").fill_null(0.0),
            "group_votes",
            "controlled",
            "method",
            "parent_id",
        )
        .sort("entity_id")
    )


# --------------------------------------------------------------------------------------------
# Aggregation, intercompany pairs, consolidation


def aggregate(statements: pl.LazyFrame, members: list[str]) -> pl.LazyFrame:
    """item, amount: plain sum of the members' items  # 汇总."""
    return (
        statements.filter(pl.col("entity_id").is_in(list(members)))
        .group_by("item")
        .agg(pl.col("amount").cast(MONEY).sum().alias("amount"))
        .sort("item")
    )


def pair_lines(lines: pl.LazyFrame) -> pl.LazyFrame:
    """kind, entity_id, partner_id, entity_amount, partner_amount: both sides of each pair.

    E (entity_id) is always the side that reports receivable/revenue/investment, F (partner_id)
    the side that reports payable/cost/equity, so (E, F, receivable) meets (F, E, payable). A side
    nobody reported is null. Several lines for the same side are summed; unknown kinds are left
    out (the schema layer rejects them on input).
    """
    base = lines.select(
        pl.col("entity_id").cast(pl.String),
        pl.col("partner_id").cast(pl.String),
        pl.col("kind").cast(pl.String),
        pl.col("amount").cast(MONEY),
    )
    asset_side = (
        base.filter(pl.col("kind").is_in(list(ASSET_SIDE_KINDS)))
        .with_columns(pl.col("kind").replace_strict(ASSET_SIDE_KINDS, return_dtype=pl.String))
        .group_by("kind", "entity_id", "partner_id")
        .agg(pl.col("amount").sum().alias("entity_amount"))
    )
    liability_side = (
        base.filter(pl.col("kind").is_in(list(LIABILITY_SIDE_KINDS)))
        .select(
            pl.col("kind").replace_strict(LIABILITY_SIDE_KINDS, return_dtype=pl.String),
            pl.col("partner_id").alias("entity_id"),
            pl.col("entity_id").alias("partner_id"),
            "amount",
        )
        .group_by("kind", "entity_id", "partner_id")
        .agg(pl.col("amount").sum().alias("partner_amount"))
    )
    return (
        asset_side.join(
            liability_side, on=["kind", "entity_id", "partner_id"], how="full", coalesce=True
        )
        .select("kind", "entity_id", "partner_id", "entity_amount", "partner_amount")
        .sort("kind", "entity_id", "partner_id")
    )


def intercompany_mismatches(
    lines: pl.LazyFrame, tolerance: Decimal = Decimal("0.01")
) -> pl.LazyFrame:
    """kind, entity_id, partner_id, entity_amount, partner_amount, difference  # 内部往来核对.

    Every pair across all entities whose sides differ by more than `tolerance`, for staff to
    clear before a period is locked. A missing side is null and counts as 0 in difference
    (entity − partner); a pair reported by one side only is listed whenever that amount is not 0.
    """
    pairs = pair_lines(lines)
    difference = pl.col("entity_amount").fill_null(_money_literal(0)) - pl.col(
        "partner_amount"
    ).fill_null(_money_literal(0))
    one_sided = pl.col("entity_amount").is_null() | pl.col("partner_amount").is_null()
    return (
        pairs.with_columns(difference.alias("difference"))
        .filter(
            (pl.col("difference").abs() > pl.lit(Decimal(tolerance)))
            | (one_sided & (pl.col("difference") != _money_literal(0)))
        )
        .sort("kind", "entity_id", "partner_id")
    )


def _control_tree(own: pl.DataFrame, root: str, members: Sequence[str]) -> pl.DataFrame:
    """entity_id, ancestor_id, ancestor_depth: each node with itself and all its ancestors.

    Nodes are the root, every controlled entity, and any member outside the control tree (a
    segment may list one), which hangs directly under the root.
    """
    controlled = own.filter(pl.col("controlled") & (pl.col("entity_id") != root)).select(
        "entity_id", pl.col("parent_id").fill_null(pl.lit(root))
    )
    loose = sorted(set(members) - set(controlled["entity_id"].to_list()) - {root})
    nodes = pl.concat(
        [
            pl.DataFrame(
                {"entity_id": [root], "parent_id": [None]},
                schema={"entity_id": pl.String, "parent_id": pl.String},
            ),
            controlled,
            pl.DataFrame(
                {"entity_id": loose, "parent_id": [root] * len(loose)},
                schema={"entity_id": pl.String, "parent_id": pl.String},
            ),
        ]
    )
    up = nodes.drop_nulls("parent_id").rename({"entity_id": "ancestor_id"})
    closure = nodes.select("entity_id", pl.col("entity_id").alias("ancestor_id"))
    frontier = closure
    for _ in range(nodes.height):
        frontier = frontier.join(up, on="ancestor_id").select(
            "entity_id", pl.col("parent_id").alias("ancestor_id")
        )
        if frontier.is_empty():
            break
        closure = pl.concat([closure, frontier])
    depth = closure.group_by("entity_id").agg((pl.len() - 1).alias("ancestor_depth"))
    return closure.join(
        depth.rename({"entity_id": "ancestor_id"}), on="ancestor_id", how="left"
    ).sort("entity_id", "ancestor_depth")


def _lowest_common_ancestor(pairs: pl.LazyFrame, tree: pl.DataFrame, root: str) -> pl.LazyFrame:
    """pairs with at_entity_id: the deepest node that is an ancestor of both E and F."""
    ancestors = tree.lazy()
    keys = ["entity_id", "partner_id"]  # the same two entities meet once whatever the kind
    common = (
        pairs.select(keys)
        .unique()
        .join(ancestors, on="entity_id")
        .join(
            ancestors.select(pl.col("entity_id").alias("partner_id"), "ancestor_id"),
            on=["partner_id", "ancestor_id"],
        )
        .group_by(keys)
        .agg(pl.col("ancestor_id").sort_by("ancestor_depth").last().alias("at_entity_id"))
    )
    return pairs.join(common, on=keys, how="left").with_columns(
        pl.col("at_entity_id").fill_null(pl.lit(root))
    )


def consolidate(
    statements: pl.LazyFrame,
    lines: pl.LazyFrame,
    ownership_frame: pl.LazyFrame,
    root: str,
    *,
    members: list[str] | None = None,
) -> Consolidation:
    """The consolidated statement of `root`'s node for one period  # 合并报表.

    Sums the members (default: the root and every entity it controls), eliminates each
    intercompany pair whose two sides are both members (a side nobody reported counts 0 and the
    gap shows as elimination_difference 抵销差额), and splits equity and profit between the parent
    and non-controlling holders with the root's effective interests. A segment node passes its
    own `members` and still the root's ownership frame. Items nobody reported are absent unless
    an elimination touches them (then they start from 0).
    """
    own = ownership_frame.select(
        pl.col("entity_id").cast(pl.String),
        pl.col("effective_interest").cast(pl.Float64),
        pl.col("controlled").cast(pl.Boolean),
        pl.col("parent_id").cast(pl.String),
    ).collect()
    if members is None:
        chosen = {root, *own.filter(pl.col("controlled"))["entity_id"].to_list()}
    else:
        chosen = set(members)
    member_list = sorted(chosen)

    in_scope = statements.filter(pl.col("entity_id").is_in(member_list)).select(
        "entity_id", "item", pl.col("amount").cast(MONEY)
    )
    member_lines = lines.filter(
        pl.col("entity_id").is_in(member_list) & pl.col("partner_id").is_in(member_list)
    )
    zero = _money_literal(0)
    pairs = pair_lines(member_lines).with_columns(
        pl.col("entity_amount").fill_null(zero), pl.col("partner_amount").fill_null(zero)
    )
    tree = _control_tree(own, root, member_list)
    eliminations = (
        _lowest_common_ancestor(pairs, tree, root)
        .with_columns((pl.col("entity_amount") - pl.col("partner_amount")).alias("difference"))
        .select(
            "kind",
            "entity_id",
            "partner_id",
            "at_entity_id",
            "entity_amount",
            "partner_amount",
            "difference",
        )
        .sort("kind", "entity_id", "partner_id")
        .collect()
    )
    # Collected once: the items below read it twice, and a small frame is cheaper to reuse
    # than to recompute the pairing inside every branch of the plan.
    eliminated = eliminations.lazy()

    rules = pl.LazyFrame(list(ELIMINATION_RULES), schema=["kind", "side", "item"], orient="row")
    sides = pl.concat(
        [
            eliminated.select(
                "kind", pl.lit("entity").alias("side"), pl.col("entity_amount").alias("amount")
            ),
            eliminated.select(
                "kind", pl.lit("partner").alias("side"), pl.col("partner_amount").alias("amount")
            ),
        ]
    )
    removed = (
        sides.join(rules, on=["kind", "side"])
        .group_by("item")
        .agg(pl.col("amount").sum().alias("eliminated"))
    )
    items = (
        aggregate(in_scope, member_list)
        .rename({"amount": "aggregated"})
        .join(removed, on="item", how="full", coalesce=True)
        .with_columns(pl.col("aggregated").fill_null(zero), pl.col("eliminated").fill_null(zero))
        .with_columns((pl.col("aggregated") - pl.col("eliminated")).alias("consolidated"))
        .select("item", "aggregated", "eliminated", "consolidated")
        .sort("item")
    )

    def own_item(item: str, name: str) -> pl.LazyFrame:
        return (
            in_scope.filter(pl.col("item") == item)
            .group_by("entity_id")
            .agg(pl.col("amount").sum().alias(name))
        )

    investments = (
        member_lines.filter(pl.col("kind") == "investment")
        .group_by("entity_id")
        .agg(pl.col("amount").cast(MONEY).sum().alias("investments"))
    )
    outside = outside_share(pl.col("effective_interest"))
    nci = (
        pl.LazyFrame(
            {"entity_id": [m for m in member_list if m != root]},
            schema={"entity_id": pl.String},
        )
        .join(own.lazy().select("entity_id", "effective_interest"), on="entity_id", how="left")
        .join(own_item("total_equity", "total_equity"), on="entity_id", how="left")
        .join(own_item("net_profit", "net_profit"), on="entity_id", how="left")
        .join(investments, on="entity_id", how="left")
        .with_columns(
            pl.col("effective_interest").fill_null(0.0),
            pl.col("total_equity", "net_profit", "investments").fill_null(zero),
        )
        .with_columns(
            (pl.col("total_equity") - pl.col("investments")).alias("own_net_assets"),
        )
        .select(
            "entity_id",
            "effective_interest",
            "own_net_assets",
            scale_money(outside, pl.col("own_net_assets")).alias("non_controlling_interest"),
            "net_profit",
            scale_money(outside, pl.col("net_profit")).alias("nci_profit"),
        )
        .sort("entity_id")
    )

    items_df, nci_df = pl.collect_all([items, nci])
    return Consolidation(
        items=pl.concat([items_df, _extra_rows(items_df, eliminations, nci_df)]),
        eliminations=eliminations,
        nci=nci_df,
        members=member_list,
    )


def _extra_rows(items: pl.DataFrame, eliminations: pl.DataFrame, nci: pl.DataFrame) -> pl.DataFrame:
    """The EXTRA_ITEMS rows: the 抵销差额 and the parent / minority split of equity and profit."""

    def consolidated(item: str) -> Decimal:
        # Sums of Decimal(38, 2) columns are Decimals with 2 places, so this stays exact.
        return items.filter(pl.col("item") == item)["consolidated"].sum()

    difference = eliminations.filter(pl.col("kind").is_in(list(BALANCE_SHEET_PAIRS)))[
        "difference"
    ].sum()
    minority = nci["non_controlling_interest"].sum()
    minority_profit = nci["nci_profit"].sum()
    values = [
        difference,
        minority,
        consolidated("total_equity") - minority,
        minority_profit,
        consolidated("net_profit") - minority_profit,
    ]
    return pl.DataFrame(
        {
            "item": list(EXTRA_ITEMS),
            "aggregated": [None] * len(EXTRA_ITEMS),
            "eliminated": [None] * len(EXTRA_ITEMS),
            "consolidated": values,
        },
        schema=items.schema,
    )
