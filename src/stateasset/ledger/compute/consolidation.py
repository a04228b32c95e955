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

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from stateasset.core.money import MONEY, money_literal, outside_share, scale_money

_money_literal = money_literal


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
