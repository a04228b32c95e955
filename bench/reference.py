"""Plain-Python reference for `stateasset.ledger.compute`: dicts, floats for shares, Decimal money.

Written the straightforward way a spreadsheet analyst would, without Polars and from DOMAIN.md §2
and §4 alone, so that it can be the benchmark's baseline and an independent cross-check of the
Polars code in the tests. Conventions (core/money.py): a share is a float cast to a 12-place
Decimal the way Polars casts Float64 to Decimal(38, 12); share × money is taken exactly and
rounded half-up to the cent once; the minority's part of an amount is the amount less the group's
rounded part, so the two always add up.
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

EPSILON = 1e-9
CENT = Decimal("0.01")
RATIO_PLACES = Decimal("1e-12")
# Wide enough that (12-place ratio) × (amount up to 1e24) is exact before the final rounding.
_EXACT = decimal.Context(prec=80)

ZERO = Decimal("0.00")
METHODS = ("full", "equity", "none")
EQUITY_PARTS = ("paid_in_capital", "capital_reserve", "retained_earnings")
# Items every consolidation states, even when no member reported them.
ALWAYS = (*EQUITY_PARTS, "total_equity", "state_capital")
SUMMARY = (
    "elimination_difference",
    "unrealized_profit",
    "reserve_shortfall",
    "treasury_stock",
    "non_controlling_interest",
    "equity_attributable_to_parent",
    "nci_profit",
    "net_profit_attributable_to_parent",
)


def _edges(stakes: Iterable[tuple[str, str, float]], root: str) -> dict[str, dict[str, float]]:
    """holder → {held: share}, duplicates summed, holdings of the root left out."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for holder, held, share in stakes:
        if held != root:
            out[holder][held] = out[holder].get(held, 0.0) + (share or 0.0)
    return out


def reachable(stakes: Iterable[tuple[str, str, float]], root: str) -> set[str]:
    """Every entity below the root along any stake, root excluded."""
    edges = _edges(stakes, root)
    seen = {root}
    todo = [root]
    while todo:
        for held in edges.get(todo.pop(), {}):
            if held not in seen:
                seen.add(held)
                todo.append(held)
    return seen - {root}


def effective_interest(
    stakes: Iterable[tuple[str, str, float]],
    root: str,
    *,
    tolerance: float = 1e-12,
    max_iterations: int = 1000,
) -> dict[str, float]:
    """entity → x, by iterating x ← b + x·A over dicts until nothing moves (穿透持股比例)."""
    edges = _edges(stakes, root)
    direct = dict(edges.get(root, {}))
    x = dict(direct)
    for _ in range(max_iterations):
        new = dict(direct)
        for holder, value in x.items():
            if holder == root:
                continue
            for held, share in edges.get(holder, {}).items():
                new[held] = new.get(held, 0.0) + value * share
        change = max((abs(v - x.get(k, 0.0)) for k, v in new.items()), default=0.0)
        x = new
        if change <= tolerance:
            return x
    raise ValueError("effective_interest did not converge")


def consolidated_interest(
    stakes: Iterable[tuple[str, str, float]],
    root: str,
    controlled: Iterable[str],
    *,
    tolerance: float = 1e-12,
    max_iterations: int = 1000,
) -> dict[str, float]:
    """entity → x (归属于母公司的权益比例), with x[root] = 1.0.

    The effective interest counted only along paths whose every holder is a consolidated member
    (the root or a controlled entity): the matrix of §2 restricted to those holders. A slice of a
    subsidiary held through an associate or an outsider belongs to the minority.
    """
    inside = {root, *controlled}
    kept = [(holder, held, share) for holder, held, share, *_ in stakes if holder in inside]
    x = effective_interest(kept, root, tolerance=tolerance, max_iterations=max_iterations)
    x[root] = 1.0
    return x


@dataclass(frozen=True)
class ControlRow:
    group_votes: float
    controlled: bool
    method: str
    parent_id: str | None


Override = bool | str | tuple[bool | None, str | None]


def _override(value: Override) -> tuple[bool, str | None]:
    """(controlled, method or None) of one override: a flag, a method, or (flag, method).

    A method decides on its own: 'full' is controlled, 'equity' and 'none' are not.
    """
    if isinstance(value, tuple):
        flag, method = value
    elif isinstance(value, str):
        flag, method = None, value
    else:
        flag, method = value, None
    if method is None:
        return bool(flag), None
    if method not in METHODS:
        raise ValueError(f"unknown consolidation method {method!r}")
    return method == "full", method


def control(
    stakes: Iterable[tuple[str, str, float]],
    root: str,
    *,
    threshold: float = 0.5,
    overrides: Mapping[str, Override] | None = None,
    equity_floor: float = 0.2,
) -> dict[str, ControlRow]:
    """entity → ControlRow, by growing the controlled set from nothing until it stops growing.

    An entity joins when the votes held by the root and by controlled entities exceed
    `threshold`, or an override says it is controlled; an override "not controlled" keeps it out
    whatever the votes. Not controlled: the override's method when it names one, else 'equity'
    from `equity_floor` of the votes up (so "not controlled" at 55% of the votes is equity),
    else 'none'.
    """
    stakes = list(stakes)
    edges = _edges(stakes, root)
    forced = {k: _override(v) for k, v in (overrides or {}).items() if k != root}
    rounds: dict[str, int] = {}
    step = 0
    while True:
        step += 1
        votes: dict[str, float] = defaultdict(float)
        for holder in (root, *rounds):
            for held, share in edges.get(holder, {}).items():
                votes[held] += share
        now = {e for e, v in votes.items() if v > threshold + EPSILON and forced.get(e, (True,))[0]}
        now |= {e for e, (flag, _) in forced.items() if flag}
        joined = now - rounds.keys()
        if not joined:
            break
        for e in joined:
            rounds[e] = step
    holders_of: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for holder in (root, *rounds):
        for held, share in edges.get(holder, {}).items():
            if held in rounds:
                holders_of[held].append((holder, share))
    for blocks in holders_of.values():
        blocks.sort(key=lambda hs: (-hs[1], hs[0]))
    parent = {e: holders_of[e][0][0] if holders_of.get(e) else root for e in rounds}
    rank = {root: 0, **rounds}
    while loop := _loop(parent, root):
        first = min(loop, key=lambda e: (rank[e], e))
        earlier = [h for h, _ in holders_of.get(first, []) if rank[h] < rank[first]]
        parent[first] = earlier[0] if earlier else root
    out = {}
    for e in reachable(stakes, root) | rounds.keys():
        v = votes.get(e, 0.0)
        chosen = forced.get(e, (False, None))[1]
        if e in rounds:
            method = "full"
        elif chosen is not None:
            method = chosen
        elif v >= equity_floor - EPSILON:
            method = "equity"
        else:
            method = "none"
        out[e] = ControlRow(v, e in rounds, method, parent.get(e))
    return out


def _loop(parent: dict[str, str], root: str) -> list[str]:
    for start in sorted(parent):
        path = [start]
        node = parent[start]
        while node != root and node in parent:
            if node in path:
                return path[path.index(node) :]
            path.append(node)
            node = parent[node]
    return []


# --------------------------------------------------------------------------------------------
# Money


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ratio12(share: float | Decimal) -> Decimal:
    """A share as a 12-place Decimal, the way Polars casts it to Decimal(38, 12).

    A float is scaled by 10¹² in binary floating point and rounded half-to-even (Polars' cast; it
    differs from the exact binary value only when that sits within a rounding error of a tie in
    the 12th place); a Decimal is rounded half-to-even to 12 places.
    """
    if isinstance(share, Decimal):
        return share.quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN)
    return Decimal(round(float(share) * 1e12)).scaleb(-12)


def group_share(share: float | Decimal, amount: Decimal) -> Decimal:
    """share × amount: the share to 12 places, the product exact, rounded half-up to cents."""
    return half_up(_EXACT.multiply(ratio12(share), amount))


def minority_share(share: float | Decimal, amount: Decimal) -> Decimal:
    """(1 − share) × amount: the minority's part, rounded half-up to cents on its own.

    DOMAIN.md §4 states NCI as (1 − x_j) × own net assets, so that is what is rounded; the
    group's part of an equity line is whatever the minority's leaves (retained earnings balance).
    """
    return half_up(_EXACT.multiply(Decimal(1) - ratio12(share), amount))


# --------------------------------------------------------------------------------------------
# Consolidation


@dataclass
class Consolidated:
    """The consolidated statements (合并报表) of one node and one period.

    items: item → (aggregated, eliminated, consolidated), aggregated − eliminated = consolidated.
    eliminations: (rule, entity, partner, at, a, b, c) by pair, sorted by (rule, entity,
      partner); `at` is the lowest common consolidated parent of the two sides; per rule:
        receivable_payable: creditor, debtor; receivable, payable, difference;
        revenue_cost: seller, buyer; seller's revenue line, buyer's cost + inventory_held lines,
          mismatch (matched only: the income statement loses the revenue line on both items);
        unrealized_profit: seller, buyer; U, group's part (retained earnings), minority's part;
        investment: holder, held; carrying amount, part charged to capital reserve, part to NCI;
        treasury_stock: holder, root; carrying amount, the same, 0.
    nci: member other than the root → (own net assets, NCI, net profit, NCI profit), own net
      assets being total_equity less the member's investments in members other than the root.
    extras: the summary figures, SUMMARY.
    missing_investment_lines: (holder, held) stakes between members with no `investment` line.
    no_inventory_held: (seller, buyer) with an internal revenue line and no `inventory_held`
      line: no unrealized profit was eliminated on them.
    """

    items: dict[str, tuple[Decimal, Decimal, Decimal]]
    eliminations: list[tuple[str, str, str, str, Decimal, Decimal, Decimal]]
    nci: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]]
    extras: dict[str, Decimal] = field(default_factory=dict)
    missing_investment_lines: list[tuple[str, str]] = field(default_factory=list)
    no_inventory_held: list[tuple[str, str]] = field(default_factory=list)


def _member_statements(
    statements: Mapping[str, Mapping[str, Decimal]] | Iterable[tuple[str, str, Decimal]],
    members: set[str],
) -> dict[str, dict[str, Decimal]]:
    """entity → item → amount for the members, total_equity completed from its parts if absent."""
    out: dict[str, dict[str, Decimal]] = {}
    if isinstance(statements, Mapping):
        for entity, row in statements.items():
            if entity in members:
                out[entity] = dict(row)
    else:
        for entity, item, amount in statements:
            if entity in members:
                row = out.setdefault(entity, {})
                row[item] = row.get(item, ZERO) + amount
    for row in out.values():
        if "total_equity" not in row and any(part in row for part in EQUITY_PARTS):
            row["total_equity"] = sum((row.get(part, ZERO) for part in EQUITY_PARTS), ZERO)
    return out


def _add(into: dict[tuple[str, str], Decimal], key: tuple[str, str], amount: Decimal) -> None:
    into[key] = into.get(key, ZERO) + amount


def consolidate(
    statements: Mapping[str, Mapping[str, Decimal]] | Iterable[tuple[str, str, Decimal]],
    lines: Iterable[tuple[str, str, str, Decimal]],
    interest: Mapping[str, float],
    root: str,
    members: Iterable[str],
    stakes: Iterable[tuple[str, str, float]] = (),
    state_share: Decimal | float = Decimal(1),
    *,
    parent: Mapping[str, str | None] | None = None,
) -> Consolidated:
    """Sum the members and eliminate by 企业会计准则第33号 under common control (DOMAIN.md §4).

    statements: entity → item → amount, or (entity, item, amount) rows; lines: (entity, partner,
    kind, amount); interest: the consolidated interest x per member (the root's is 1 whatever is
    given); members: the root and the entities it controls; stakes: (holder, held, economic
    share) rows, only to list missing investment lines; state_share: the root's 国有股权比例;
    parent: the control tree (entity → parent), only to say where each pair is eliminated.
    """
    members = {root, *members}
    own = _member_statements(statements, members)
    x = {e: 1.0 if e == root else float(interest.get(e) or 0.0) for e in members}

    def item(entity: str, name: str) -> Decimal:
        return own.get(entity, {}).get(name, ZERO)

    aggregated: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in own.values():
        for name, amount in row.items():
            aggregated[name] += amount
    reported = set(aggregated)
    change: dict[str, Decimal] = defaultdict(lambda: ZERO)  # consolidated − aggregated

    up = dict(parent or {})

    def chain(entity: str) -> list[str]:
        out = [entity]
        while out[-1] != root:
            step = up.get(out[-1]) or root
            out.append(root if step in out else step)
        return out

    def at(entity: str, partner: str) -> str:
        above = set(chain(partner))
        return next(n for n in chain(entity) if n in above)

    # Lines between two different members, summed per pair and side.
    receivable: dict[tuple[str, str], Decimal] = {}  # (creditor, debtor)
    payable: dict[tuple[str, str], Decimal] = {}  # (creditor, debtor)
    sold: dict[tuple[str, str], Decimal] = {}  # (seller, buyer): seller's revenue line
    bought: dict[tuple[str, str], Decimal] = {}  # (seller, buyer): buyer's cost + inventory_held
    stock: dict[tuple[str, str], Decimal] = {}  # (seller, buyer): buyer's inventory_held
    invested: dict[tuple[str, str], Decimal] = {}  # (holder, held): holder's carrying amount
    for entity, partner, kind, amount in lines:
        if entity == partner or entity not in members or partner not in members:
            continue
        if kind == "receivable":
            _add(receivable, (entity, partner), amount)
        elif kind == "payable":
            _add(payable, (partner, entity), amount)
        elif kind == "revenue":
            _add(sold, (entity, partner), amount)
        elif kind in ("cost", "inventory_held"):
            _add(bought, (partner, entity), amount)
            if kind == "inventory_held":
                _add(stock, (partner, entity), amount)
        elif kind == "investment":
            _add(invested, (entity, partner), amount)
        # Any other kind (an `equity` line of the old pairing) is matched elsewhere, not booked.

    eliminations: list[tuple[str, str, str, str, Decimal, Decimal, Decimal]] = []

    # Receivables against payables, each side at its own amount.
    difference = ZERO
    for pair in sorted(receivable.keys() | payable.keys()):
        r, p = receivable.get(pair, ZERO), payable.get(pair, ZERO)
        change["receivables"] -= r
        change["total_assets"] -= r
        change["payables"] -= p
        change["total_liabilities"] -= p
        difference += r - p
        eliminations.append(("receivable_payable", *pair, at(*pair), r, p, r - p))

    # Internal sales: the seller's revenue line leaves revenue and operating cost alike.
    no_inventory_held = []
    for pair in sorted(sold.keys() | bought.keys()):
        s, b = sold.get(pair, ZERO), bought.get(pair, ZERO)
        change["revenue"] -= s
        change["operating_cost"] -= s
        eliminations.append(("revenue_cost", *pair, at(*pair), s, b, s - b))
        if pair in sold and pair not in stock:
            no_inventory_held.append(pair)

    # Unrealized profit in the buyer's stock, at the seller's gross margin of the period.
    with_total_profit = any("total_profit" in row for row in own.values())
    unrealized = ZERO
    minority_unrealized: dict[str, Decimal] = defaultdict(lambda: ZERO)  # by seller
    for seller, buyer in sorted(stock):
        revenue = item(seller, "revenue")
        # The margin is a ratio like any share: a float, kept to 12 places when it meets money.
        margin = (
            float(revenue - item(seller, "operating_cost")) / float(revenue) if revenue > 0 else 0.0
        )
        u = group_share(margin, stock[seller, buyer])
        if not u:
            continue
        group = u - minority_share(x[seller], u)
        unrealized += u
        change["operating_cost"] += u
        for name in ("inventory", "total_assets", "net_profit", "total_equity"):
            change[name] -= u
        if with_total_profit:
            change["total_profit"] -= u
        change["retained_earnings"] -= group
        minority_unrealized[seller] += u - group
        eliminations.append(
            ("unrealized_profit", seller, buyer, at(seller, buyer), u, group, u - group)
        )

    # Internal investments; a member's stake in the root is treasury stock.
    treasury = ZERO
    in_members: dict[str, Decimal] = defaultdict(lambda: ZERO)  # by holder, the root left out
    minority_investment: dict[str, Decimal] = defaultdict(lambda: ZERO)  # by holder
    for (holder, held), amount in sorted(invested.items()):
        change["long_term_equity_investment"] -= amount
        change["total_assets"] -= amount
        change["total_equity"] -= amount
        if held == root:
            treasury += amount
            eliminations.append(
                ("treasury_stock", holder, held, at(holder, held), amount, amount, ZERO)
            )
            continue
        group = group_share(x[holder], amount)
        change["capital_reserve"] -= group
        in_members[holder] += amount
        minority_investment[holder] += amount - group
        eliminations.append(
            ("investment", holder, held, at(holder, held), amount, group, amount - group)
        )

    # Each member's equity: its paid-in capital leaves; x of paid-in capital and capital reserve
    # (rounded once, as DOMAIN.md's 0.8 × 600 writes it) goes to capital reserve; the minority
    # holds (1 − x) of its own net assets, less its share of unrealized profit on its sales.
    nci: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {}
    for member in sorted(members - {root}):
        paid_in = item(member, "paid_in_capital")
        reserve = item(member, "capital_reserve")
        equity = item(member, "total_equity")
        share = x[member]
        change["paid_in_capital"] -= paid_in
        change["capital_reserve"] += group_share(share, paid_in + reserve) - reserve
        own_net_assets = equity - in_members[member]
        profit = item(member, "net_profit")
        minority = minority_share(share, own_net_assets) - minority_unrealized[member]
        minority_profit = minority_share(share, profit) - minority_unrealized[member]
        nci[member] = (own_net_assets, minority, profit, minority_profit)

    def consolidated(name: str) -> Decimal:
        return aggregated[name] + change[name]

    # Capital reserve restored only down to min(0, the root's own): the rest from retained earnings.
    floor = min(ZERO, item(root, "capital_reserve"))
    shortfall = max(ZERO, floor - consolidated("capital_reserve"))
    change["capital_reserve"] += shortfall

    minority_total = sum((row[1] for row in nci.values()), ZERO)
    minority_profit_total = sum((row[3] for row in nci.values()), ZERO)
    # Retained earnings balance the equity: x_j of each member's retained earnings, less the
    # group's unrealized profit and the shortfall, to the cent the minority's parts were rounded.
    retained = (
        consolidated("total_equity")
        - minority_total
        - consolidated("paid_in_capital")
        - consolidated("capital_reserve")
        + treasury
    )
    change["retained_earnings"] = retained - aggregated["retained_earnings"]
    attributable = sum((consolidated(name) for name in EQUITY_PARTS), ZERO) - treasury

    exclusive = item(root, "state_exclusive_equity")
    state = group_share(state_share, attributable - exclusive) + exclusive
    change["state_capital"] = state - aggregated["state_capital"]

    items = {}
    # An item nobody reported appears only when the eliminations leave something in it.
    touched = {name for name, amount in change.items() if amount}
    for name in sorted(reported | touched | set(ALWAYS)):
        total = aggregated[name]
        result = total + change[name]
        items[name] = (total, total - result, result)

    net_profit = items["net_profit"][2] if "net_profit" in items else ZERO
    extras = {
        "elimination_difference": difference,
        "unrealized_profit": unrealized,
        "reserve_shortfall": shortfall,
        "treasury_stock": treasury,
        "non_controlling_interest": minority_total,
        "equity_attributable_to_parent": attributable,
        "nci_profit": minority_profit_total,
        "net_profit_attributable_to_parent": net_profit - minority_profit_total,
    }
    missing = sorted(
        {
            (holder, held)
            for holder, held, share, *_ in stakes
            if holder in members
            and held in members
            and holder != held
            and (share or 0.0) > 0
            and (holder, held) not in invested
        }
    )
    eliminations.sort(key=lambda row: row[:3])
    return Consolidated(items, eliminations, nci, extras, missing, no_inventory_held)
