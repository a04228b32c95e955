"""Consolidation arithmetic (合并抵销) by 企业会计准则第33号, as DOMAIN.md §4 specifies it.

Pure functions over Polars frames: no database, no clock, no globals. The conventions settled here
where the brief is silent:

- Money is ``Decimal(38, 2)`` end to end (``core.money``). Every share of an amount,
  x × amount, is rounded half-up to the cent once, and the minority's part is the amount less
  the group's rounded part, so the two parts add back to the amount exactly: attributable equity
  + non-controlling interest is the consolidated total equity to the cent, by construction.
- Interests are the ownership frame's ``consolidated_interest`` (paths through consolidated
  members only); the root's is 1.
- ``elimination_difference`` = Σ (receivable − payable) over the receivable/payable pairs:
  positive when the asset side reported more. It balances the sheet as consolidated
  total_assets + elimination_difference = total_liabilities + total_equity.
- The seller's gross margin (revenue − operating_cost) / revenue is a float ratio (kept to 12
  places when it multiplies money); a seller with no revenue has margin 0.
- Unrealized profit also reduces ``total_profit`` (no deferred tax is recognised on it).
- A member whose equity lines do not add up to its total_equity (parts missing) splits the
  remainder with its retained earnings, so NCI is always (1 − x) of its total equity.
- Lazy queries run on the streaming engine, which keeps no row order: every result is sorted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from stateasset.core.money import MONEY, RATIO, money_literal, outside_share, scale_money

ASSET_SIDE_KINDS: dict[str, str] = {
    "receivable": "receivable_payable",
    "revenue": "revenue_cost",
}
"""Line kind reported by the entity side E of a pair → the pair's kind."""

LIABILITY_SIDE_KINDS: dict[str, str] = {
    "payable": "receivable_payable",
    "cost": "revenue_cost",
    "inventory_held": "revenue_cost",
}
"""Line kind reported by the partner side F of a pair → the pair's kind.

The buyer splits what it bought from the seller into `cost` (expensed) and `inventory_held`
(still in stock); the seller's revenue is matched against their sum. `investment` lines are
not pairs (the held side's equity comes from its statement and the stakes), and old `equity`
lines are accepted but eliminate nothing.
"""

SUMMARY_ITEMS: tuple[str, ...] = (
    "elimination_difference",
    "unrealized_profit",
    "reserve_shortfall",
    "treasury_stock",
    "non_controlling_interest",
    "equity_attributable_to_parent",
    "nci_profit",
    "net_profit_attributable_to_parent",
)
"""Rows appended after the consolidated items, in this order; only their consolidated column
is set (aggregated and eliminated are null: they are not sums of members' items)."""

_ITEMS_SCHEMA = pl.Schema(
    {"item": pl.String, "aggregated": MONEY, "eliminated": MONEY, "consolidated": MONEY}
)
ELIMINATIONS_SCHEMA = pl.Schema(
    {
        "kind": pl.String,
        "entity_id": pl.String,
        "partner_id": pl.String,
        "at_entity_id": pl.String,
        "entity_amount": MONEY,
        "partner_amount": MONEY,
        "difference": MONEY,
    }
)
"""One row per elimination (抵销分录). kind is receivable_payable or revenue_cost (a pair: E's
and F's amounts and their difference), investment (holder → held, the carrying amount),
treasury_stock (a member's stake in the root) or unrealized_profit (seller → buyer: the profit,
and the inventory_held it came from as partner_amount)."""


_PAIR_COLUMNS = [c for c in ELIMINATIONS_SCHEMA if c != "at_entity_id"]


@dataclass(frozen=True)
class Consolidation:
    """One node's consolidated statement for one period (合并报表) and how it was reached."""

    items: pl.DataFrame
    """item, aggregated, eliminated, consolidated; then the SUMMARY_ITEMS rows."""
    eliminations: pl.DataFrame
    """ELIMINATIONS_SCHEMA, sorted by kind, entity, partner."""
    nci: pl.DataFrame
    """Non-controlling interest (少数股东权益) per consolidated member other than the root."""
    missing_investment_lines: pl.DataFrame
    """holder_id, held_id, economic_share: stakes between members with no investment line."""
    sales_without_inventory_line: pl.DataFrame
    """entity_id (seller), partner_id (buyer): internal sales whose unrealized profit is unknown."""
    members: list[str]
    """The entities summed, sorted."""


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
    difference = pl.col("entity_amount").fill_null(money_literal(0)) - pl.col(
        "partner_amount"
    ).fill_null(money_literal(0))
    one_sided = pl.col("entity_amount").is_null() | pl.col("partner_amount").is_null()
    return (
        pairs.with_columns(difference.alias("difference"))
        .filter(
            (pl.col("difference").abs() > pl.lit(Decimal(tolerance)))
            | (one_sided & (pl.col("difference") != money_literal(0)))
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


def _lowest_common_ancestor(pairs: pl.DataFrame, tree: pl.DataFrame, root: str) -> pl.DataFrame:
    """pairs with at_entity_id: the deepest node that is an ancestor of both E and F.

    Eager joins on purpose: the lazy optimiser's join reordering once turned these two joins
    into a self-join of the ancestor table, a second per request where 10 ms suffice.
    """
    keys = ["entity_id", "partner_id"]  # the same two entities meet once whatever the kind
    common = (
        pairs.select(keys)
        .unique()
        .join(tree, on="entity_id")
        .join(
            tree.select(pl.col("entity_id").alias("partner_id"), "ancestor_id"),
            on=["partner_id", "ancestor_id"],
        )
        .group_by(keys)
        .agg(pl.col("ancestor_id").sort_by("ancestor_depth").last().alias("at_entity_id"))
    )
    return pairs.join(common, on=keys, how="left").with_columns(
        pl.col("at_entity_id").fill_null(pl.lit(root))
    )


def missing_investment_lines(
    stakes: pl.LazyFrame, lines: pl.LazyFrame, members: Sequence[str]
) -> pl.LazyFrame:
    """holder_id, held_id, economic_share: stakes between members with no `investment` line.

    Without the holder's carrying amount the investment cannot leave the consolidated assets
    while the held side's equity is split: it would be counted twice. Listed, never passed.
    """
    wanted = list(members)
    reported = (
        lines.filter(pl.col("kind") == "investment")
        .select(
            pl.col("entity_id").cast(pl.String).alias("holder_id"),
            pl.col("partner_id").cast(pl.String).alias("held_id"),
        )
        .unique()
    )
    return (
        stakes.select(
            pl.col("holder_id").cast(pl.String),
            pl.col("held_id").cast(pl.String),
            pl.col("economic_share").cast(pl.Float64),
        )
        .filter(
            pl.col("holder_id").is_in(wanted)
            & pl.col("held_id").is_in(wanted)
            & (pl.col("economic_share") > 0)
        )
        .group_by("holder_id", "held_id")
        .agg(pl.col("economic_share").sum())
        .join(reported, on=["holder_id", "held_id"], how="anti")
        .sort("holder_id", "held_id")
    )


_FIGURES = {
    "total_equity": "te",
    "paid_in_capital": "pi",
    "capital_reserve": "cr",
    "retained_earnings": "re",
    "net_profit": "np",
    "revenue": "rev",
    "operating_cost": "cost",
    "state_exclusive_equity": "excl",
}


_EQUITY_PARTS = ("paid_in_capital", "capital_reserve", "retained_earnings")


def _with_total_equity(in_scope: pl.DataFrame) -> pl.DataFrame:
    """A member that reported equity parts but no total_equity gets the total of its parts.

    Without it the consolidated total_equity (members' totals less eliminations) would miss
    equity the minority and the parent's lines both count.
    """
    reported = in_scope.filter(pl.col("item") == "total_equity").select("entity_id")
    completed = (
        in_scope.filter(pl.col("item").is_in(_EQUITY_PARTS))
        .join(reported, on="entity_id", how="anti")
        .group_by("entity_id")
        .agg(pl.col("amount").sum())
        .select("entity_id", pl.lit("total_equity").alias("item"), "amount")
    )
    return pl.concat([in_scope, completed]) if completed.height else in_scope


def _member_figures(in_scope: pl.DataFrame, interests: pl.DataFrame) -> pl.DataFrame:
    """One row per member: x and the statement figures the equity split and margins need.

    `in_scope` has total_equity completed from its parts already (`_with_total_equity`).
    """
    zero = money_literal(0)
    figures = in_scope.group_by("entity_id").agg(
        pl.col("amount").filter(pl.col("item") == item).sum().alias(name)
        for item, name in _FIGURES.items()
    )
    return (
        interests.join(figures, on="entity_id", how="left")
        .with_columns(pl.col(*_FIGURES.values()).fill_null(zero))
        .with_columns(
            pl.when(pl.col("rev") > zero)
            .then(
                (pl.col("rev") - pl.col("cost")).cast(pl.Float64) / pl.col("rev").cast(pl.Float64)
            )
            .otherwise(0.0)
            .alias("margin")
        )
        .sort("entity_id")
    )


def _adjust(frame: pl.DataFrame, amounts: dict[str, pl.Expr]) -> list[pl.DataFrame]:
    """(item, amount) rows: `frame` removes amounts[item] from each item (negative adds)."""
    return [
        frame.select(pl.lit(item).alias("item"), expr.cast(MONEY).alias("amount"))
        for item, expr in amounts.items()
    ]


def consolidate(
    statements: pl.LazyFrame,
    lines: pl.LazyFrame,
    ownership_frame: pl.LazyFrame,
    root: str,
    *,
    members: list[str] | None = None,
    stakes: pl.LazyFrame | None = None,
    state_share: Decimal = Decimal(1),
) -> Consolidation:
    """The consolidated statement of `root`'s node for one period  # 合并报表.

    Sums the members (default: the root and every entity it controls) and applies CAS 33 in
    named steps: the intercompany pairs (往来、内部交易), unrealized profit in inventory
    (未实现内部销售利润), internal investments and treasury stock (长期股权投资抵销、库存股),
    the members' equity split between parent and minority (少数股东权益), the capital-reserve
    floor (资本公积不足冲减留存收益), then state capital (国有资本). A segment node passes its own
    `members` and still the root's ownership frame. `stakes` (as of the period end) lets the
    result list stakes between members that have no investment line. Items nobody reported
    are absent unless an elimination touches them (then they start from 0).
    """
    own = ownership_frame.select(
        pl.col("entity_id").cast(pl.String),
        pl.col("consolidated_interest").cast(pl.Float64),
        pl.col("controlled").cast(pl.Boolean),
        pl.col("parent_id").cast(pl.String),
    ).collect()
    if members is None:
        chosen = {root, *own.filter(pl.col("controlled"))["entity_id"].to_list()}
    else:
        chosen = set(members)
    member_list = sorted(chosen)

    in_scope = _with_total_equity(
        statements.filter(pl.col("entity_id").is_in(member_list))
        .select(pl.col("entity_id").cast(pl.String), "item", pl.col("amount").cast(MONEY))
        .collect()
    )
    member_lines = (
        lines.filter(
            pl.col("entity_id").is_in(member_list) & pl.col("partner_id").is_in(member_list)
        )
        .select(
            pl.col("entity_id").cast(pl.String),
            pl.col("partner_id").cast(pl.String),
            pl.col("kind").cast(pl.String),
            pl.col("amount").cast(MONEY),
        )
        .collect()
    )
    interests = (
        pl.DataFrame({"entity_id": member_list}, schema={"entity_id": pl.String})
        .join(own.select("entity_id", "consolidated_interest"), on="entity_id", how="left")
        .select(
            "entity_id",
            pl.when(pl.col("entity_id") == root)
            .then(1.0)
            .otherwise(pl.col("consolidated_interest").fill_null(0.0))
            .alias("x"),
        )
    )
    figures = _member_figures(in_scope, interests)
    tree = _control_tree(own, root, member_list)

    pairs = _pairs(member_lines)
    investments = _investments(member_lines, figures, root)
    unrealized = _unrealized_profit(member_lines, figures)
    nci = _nci_table(figures, investments, unrealized, root)

    aggregated = aggregate(in_scope.lazy(), member_list).collect()
    reported = set(aggregated["item"].to_list())
    adjustments = [
        *_pair_adjustments(pairs),
        *_unrealized_adjustments(unrealized, profit_reported="total_profit" in reported),
        *_investment_adjustments(investments),
        *_equity_adjustments(figures.filter(pl.col("entity_id") != root)),
    ]
    items = _items(aggregated, adjustments)

    # CAS 33: the reserve never goes below min(0, the root's own); what the reserve cannot
    # absorb (资本公积不足冲减) is charged to retained earnings, which balance the equity below.
    root_reserve = figures.filter(pl.col("entity_id") == root)["cr"].sum()
    floor = min(Decimal(0), root_reserve)
    reserve = _value(items, "capital_reserve")
    shortfall = max(Decimal(0), floor - reserve)
    treasury = investments.filter(pl.col("kind") == "treasury_stock")["entity_amount"].sum()
    minority = nci["non_controlling_interest"].sum()
    minority_profit = nci["nci_profit"].sum()
    # Retained earnings are what is left of total equity after the minority, paid-in capital,
    # the reserve and treasury stock: x_j of each member's retained earnings less x_seller of
    # unrealized profit, to the cent the shares above were rounded to.
    retained = (
        _value(items, "total_equity")
        - minority
        - _value(items, "paid_in_capital")
        - (reserve + shortfall)
        + treasury
    )
    items = _with_rows(
        items,
        aggregated,
        {
            "paid_in_capital": _value(items, "paid_in_capital"),
            "capital_reserve": reserve + shortfall,
            "retained_earnings": retained,
            "total_equity": _value(items, "total_equity"),
        },
    )
    attributable = _value(items, "total_equity") - minority
    exclusive = figures.filter(pl.col("entity_id") == root)["excl"].sum()
    items = _with_rows(
        items,
        aggregated,
        {"state_capital": _state_capital(attributable, exclusive, state_share)},
    )

    summary = {
        "elimination_difference": pairs.filter(pl.col("kind") == "receivable_payable")[
            "difference"
        ].sum(),
        "unrealized_profit": unrealized["entity_amount"].sum(),
        "reserve_shortfall": shortfall,
        "treasury_stock": treasury,
        "non_controlling_interest": minority,
        "equity_attributable_to_parent": attributable,
        "nci_profit": minority_profit,
        "net_profit_attributable_to_parent": _value(items, "net_profit") - minority_profit,
    }
    summary_rows = pl.DataFrame(
        {
            "item": list(SUMMARY_ITEMS),
            "aggregated": [None] * len(SUMMARY_ITEMS),
            "eliminated": [None] * len(SUMMARY_ITEMS),
            "consolidated": [Decimal(summary[i]) for i in SUMMARY_ITEMS],
        },
        schema=_ITEMS_SCHEMA,
    )
    eliminations = (
        _lowest_common_ancestor(
            pl.concat([f.select(_PAIR_COLUMNS) for f in (pairs, investments, unrealized)]),
            tree,
            root,
        )
        .select(list(ELIMINATIONS_SCHEMA))
        .sort("kind", "entity_id", "partner_id")
    )
    sales = member_lines.filter(pl.col("kind") == "revenue").select("entity_id", "partner_id")
    held = member_lines.filter(pl.col("kind") == "inventory_held").select(
        pl.col("partner_id").alias("entity_id"), pl.col("entity_id").alias("partner_id")
    )
    return Consolidation(
        items=pl.concat([items, summary_rows]),
        eliminations=eliminations,
        nci=nci,
        missing_investment_lines=(
            missing_investment_lines(stakes, member_lines.lazy(), member_list).collect()
            if stakes is not None
            else pl.DataFrame(
                schema={"holder_id": pl.String, "held_id": pl.String, "economic_share": pl.Float64}
            )
        ),
        sales_without_inventory_line=sales.join(held, on=["entity_id", "partner_id"], how="anti")
        .unique()
        .sort("entity_id", "partner_id"),
        members=member_list,
    )


# --------------------------------------------------------------------------------------------
# The named steps


def _value(items: pl.DataFrame, item: str) -> Decimal:
    """An item's consolidated amount, 0 when absent (sums of Decimal(38, 2) stay exact)."""
    return items.filter(pl.col("item") == item)["consolidated"].sum()


def _pairs(member_lines: pl.DataFrame) -> pl.DataFrame:
    """Receivable/payable and revenue/cost pairs between members; a missing side counts 0."""
    zero = money_literal(0)
    return (
        pair_lines(member_lines.lazy())
        .with_columns(
            pl.col("entity_amount").fill_null(zero), pl.col("partner_amount").fill_null(zero)
        )
        .with_columns((pl.col("entity_amount") - pl.col("partner_amount")).alias("difference"))
        .collect()
    )


def _investments(member_lines: pl.DataFrame, figures: pl.DataFrame, root: str) -> pl.DataFrame:
    """Each holder's carrying amount of a member (投资), or of the root itself (库存股).

    group_share is x_holder × amount, charged to capital reserve; the rest is the minority's.
    """
    return (
        member_lines.filter(pl.col("kind") == "investment")
        .group_by("entity_id", "partner_id")
        .agg(pl.col("amount").sum().alias("entity_amount"))
        .join(figures.select("entity_id", "x"), on="entity_id", how="left")
        .select(
            pl.when(pl.col("partner_id") == root)
            .then(pl.lit("treasury_stock"))
            .otherwise(pl.lit("investment"))
            .alias("kind"),
            "entity_id",
            "partner_id",
            "entity_amount",
            pl.lit(None, dtype=MONEY).alias("partner_amount"),
            pl.lit(None, dtype=MONEY).alias("difference"),
            scale_money(pl.col("x"), pl.col("entity_amount")).alias("group_share"),
        )
        .sort("kind", "entity_id", "partner_id")
    )


def _unrealized_profit(member_lines: pl.DataFrame, figures: pl.DataFrame) -> pl.DataFrame:
    """Profit in the buyer's inventory_held at the seller's margin (未实现内部销售利润).

    entity_id is the seller, partner_id the buyer; minority_share is (1 − x_seller) of the
    profit, which the seller's minority holders bear.
    """
    seller = figures.select(pl.col("entity_id").alias("seller"), "x", "margin")
    return (
        member_lines.filter(pl.col("kind") == "inventory_held")
        .group_by("entity_id", "partner_id")
        .agg(pl.col("amount").sum().alias("held"))
        .join(seller, left_on="partner_id", right_on="seller", how="left")
        .with_columns(scale_money(pl.col("margin").fill_null(0.0), pl.col("held")).alias("profit"))
        .select(
            pl.lit("unrealized_profit").alias("kind"),
            pl.col("partner_id").alias("entity_id"),
            pl.col("entity_id").alias("partner_id"),
            pl.col("profit").alias("entity_amount"),
            pl.col("held").alias("partner_amount"),
            pl.lit(None, dtype=MONEY).alias("difference"),
            scale_money(outside_share(pl.col("x").fill_null(0.0)), pl.col("profit")).alias(
                "minority_share"
            ),
        )
        .filter(pl.col("entity_amount") != money_literal(0))
        .sort("entity_id", "partner_id")
    )


def _pair_adjustments(pairs: pl.DataFrame) -> list[pl.DataFrame]:
    payables = pairs.filter(pl.col("kind") == "receivable_payable")
    sales = pairs.filter(pl.col("kind") == "revenue_cost")
    return [
        *_adjust(
            payables,
            {
                "receivables": pl.col("entity_amount"),
                "total_assets": pl.col("entity_amount"),
                "payables": pl.col("partner_amount"),
                "total_liabilities": pl.col("partner_amount"),
            },
        ),
        # 借 营业收入 / 贷 营业成本: the seller's internal revenue leaves both lines.
        *_adjust(
            sales,
            {"revenue": pl.col("entity_amount"), "operating_cost": pl.col("entity_amount")},
        ),
    ]


def _unrealized_adjustments(
    unrealized: pl.DataFrame, *, profit_reported: bool
) -> list[pl.DataFrame]:
    """Unrealized profit back out of inventory and profit (no deferred tax on it)."""
    profit = pl.col("entity_amount")
    moves = {
        "operating_cost": -profit,
        "inventory": profit,
        "total_assets": profit,
        "net_profit": profit,
        "total_equity": profit,
    }
    if profit_reported:
        moves["total_profit"] = profit
    return _adjust(unrealized, moves)


def _investment_adjustments(investments: pl.DataFrame) -> list[pl.DataFrame]:
    """Internal investments leave the assets; x_holder of each is charged to capital reserve."""
    carrying = pl.col("entity_amount")
    internal = investments.filter(pl.col("kind") == "investment")
    return [
        *_adjust(
            investments,
            {
                "long_term_equity_investment": carrying,
                "total_assets": carrying,
                "total_equity": carrying,
            },
        ),
        *_adjust(internal, {"capital_reserve": pl.col("group_share")}),
    ]


def _equity_adjustments(held: pl.DataFrame) -> list[pl.DataFrame]:
    """Each member's paid-in capital leaves; x_j of it and of its reserve become group reserve."""
    group_part = scale_money(pl.col("x"), pl.col("pi") + pl.col("cr"))
    return _adjust(
        held,
        {"paid_in_capital": pl.col("pi"), "capital_reserve": pl.col("cr") - group_part},
    )


def _items(aggregated: pl.DataFrame, adjustments: list[pl.DataFrame]) -> pl.DataFrame:
    """item, aggregated, eliminated, consolidated: aggregated − eliminated on every row."""
    zero = money_literal(0)
    removed = (
        pl.concat(adjustments).group_by("item").agg(pl.col("amount").sum().alias("eliminated"))
    )
    return (
        aggregated.rename({"amount": "aggregated"})
        .join(removed, on="item", how="full", coalesce=True)
        # An item nobody reported appears only when the eliminations leave something in it.
        .filter(pl.col("aggregated").is_not_null() | (pl.col("eliminated") != zero))
        .with_columns(pl.col("aggregated").fill_null(zero), pl.col("eliminated").fill_null(zero))
        .with_columns((pl.col("aggregated") - pl.col("eliminated")).alias("consolidated"))
        .select(list(_ITEMS_SCHEMA))
        .sort("item")
    )


def _with_rows(
    items: pl.DataFrame, aggregated: pl.DataFrame, consolidated: dict[str, Decimal]
) -> pl.DataFrame:
    """Set these items' consolidated amounts; eliminated is what separates them from the sum."""
    summed = dict(aggregated.iter_rows())
    rows = pl.DataFrame(
        {
            "item": list(consolidated),
            "aggregated": [summed.get(i, Decimal(0)) for i in consolidated],
            "eliminated": [summed.get(i, Decimal(0)) - v for i, v in consolidated.items()],
            "consolidated": list(consolidated.values()),
        },
        schema=_ITEMS_SCHEMA,
    )
    return pl.concat([items.filter(~pl.col("item").is_in(list(consolidated))), rows]).sort("item")


def _state_capital(attributable: Decimal, exclusive: Decimal, state_share: Decimal) -> Decimal:
    """国有资本 = s × (attributable equity − E) + E; members' own state capital is internal."""
    base = pl.DataFrame({"base": [attributable - exclusive]}, schema={"base": MONEY})
    share = base.select(scale_money(pl.lit(state_share, dtype=RATIO), pl.col("base"))).item()
    return share + exclusive


def _nci_table(
    figures: pl.DataFrame, investments: pl.DataFrame, unrealized: pl.DataFrame, root: str
) -> pl.DataFrame:
    """Per member other than the root: (1 − x_j) × own net assets, and of its net profit,
    less the minority's share of unrealized profit on its sales  # 少数股东权益/损益."""
    zero = money_literal(0)
    held = (
        investments.filter(pl.col("kind") == "investment")
        .group_by("entity_id")
        .agg(pl.col("entity_amount").sum().alias("investments"))
    )
    sold = unrealized.group_by("entity_id").agg(pl.col("minority_share").sum().alias("unrealized"))
    outside = outside_share(pl.col("x"))
    return (
        figures.filter(pl.col("entity_id") != root)
        .join(held, on="entity_id", how="left")
        .join(sold, on="entity_id", how="left")
        .with_columns(pl.col("investments", "unrealized").fill_null(zero))
        .with_columns((pl.col("te") - pl.col("investments")).alias("own_net_assets"))
        .select(
            "entity_id",
            pl.col("x").alias("consolidated_interest"),
            "own_net_assets",
            (scale_money(outside, pl.col("own_net_assets")) - pl.col("unrealized")).alias(
                "non_controlling_interest"
            ),
            pl.col("np").alias("net_profit"),
            (scale_money(outside, pl.col("np")) - pl.col("unrealized")).alias("nci_profit"),
        )
        .sort("entity_id")
    )
