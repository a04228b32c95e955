"""Plain-Python reference for `stateasset.ledger.compute`: dicts, floats for shares, Decimal money.

Written the straightforward way a spreadsheet analyst would, without Polars, so that it can be
the benchmark's baseline and an independent cross-check in the tests. Same rules (DOMAIN.md §2,
§4) and the same conventions as compute.py: ratios kept to 12 places, money rounded half-up.
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

EPSILON = 1e-9
CENT = Decimal("0.01")
RATIO_PLACES = Decimal("1e-12")
# Wide enough that (12-place ratio) × (amount up to 1e24) is exact before the final rounding.
_EXACT = decimal.Context(prec=80)

ASSET_SIDE = {
    "receivable": "receivable_payable",
    "revenue": "revenue_cost",
    "investment": "investment_equity",
}
LIABILITY_SIDE = {
    "payable": "receivable_payable",
    "cost": "revenue_cost",
    "equity": "investment_equity",
}
RULES = {
    "receivable_payable": (("receivables", "total_assets"), ("payables", "total_liabilities")),
    "revenue_cost": (("revenue",), ("operating_cost",)),
    "investment_equity": (
        ("long_term_equity_investment", "total_assets"),
        ("paid_in_capital", "total_equity"),
    ),
}


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


@dataclass(frozen=True)
class ControlRow:
    group_votes: float
    controlled: bool
    method: str
    parent_id: str | None


def control(
    stakes: Iterable[tuple[str, str, float]],
    root: str,
    *,
    threshold: float = 0.5,
    overrides: dict[str, bool] | None = None,
    equity_floor: float = 0.2,
) -> dict[str, ControlRow]:
    """entity → ControlRow, by growing the controlled set from nothing until it stops growing."""
    stakes = list(stakes)
    edges = _edges(stakes, root)
    forced = {k: v for k, v in (overrides or {}).items() if k != root}
    rounds: dict[str, int] = {}
    step = 0
    while True:
        step += 1
        votes: dict[str, float] = defaultdict(float)
        for holder in (root, *rounds):
            for held, share in edges.get(holder, {}).items():
                votes[held] += share
        now = {e for e, v in votes.items() if v > threshold + EPSILON and forced.get(e, True)}
        now |= {e for e, c in forced.items() if c}
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
        if e in rounds:
            method = "full"
        elif equity_floor - EPSILON <= v <= threshold + EPSILON:
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


@dataclass
class Consolidated:
    items: dict[str, tuple[Decimal, Decimal, Decimal]]  # item → aggregated, eliminated, result
    eliminations: list[tuple[str, str, str, str, Decimal, Decimal, Decimal]]
    nci: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]]  # own NA, NCI, profit, NCI profit
    extras: dict[str, Decimal] = field(default_factory=dict)


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def minority_share(interest: float, amount: Decimal) -> Decimal:
    """(1 − x) × amount with x kept to 12 places, rounded half-up to cents."""
    ratio = Decimal(1) - Decimal(interest).quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN)
    return half_up(_EXACT.multiply(ratio, amount))


def consolidate(
    statements: Iterable[tuple[str, str, Decimal]],
    lines: Iterable[tuple[str, str, str, Decimal]],
    interest: dict[str, float],
    parent: dict[str, str],
    root: str,
    members: Iterable[str],
) -> Consolidated:
    """Sum the members, eliminate pairs between members, split off the minority (合并报表)."""
    members = set(members)
    aggregated: dict[str, Decimal] = defaultdict(Decimal)
    equity: dict[str, Decimal] = defaultdict(Decimal)
    profit: dict[str, Decimal] = defaultdict(Decimal)
    for entity, item, amount in statements:
        if entity in members:
            aggregated[item] += amount
            if item == "total_equity":
                equity[entity] += amount
            elif item == "net_profit":
                profit[entity] += amount

    pairs: dict[tuple[str, str, str], list[Decimal | None]] = {}
    investments: dict[str, Decimal] = defaultdict(Decimal)
    for entity, partner, kind, amount in lines:
        if entity not in members or partner not in members:
            continue
        if kind in ASSET_SIDE:
            slot = pairs.setdefault((ASSET_SIDE[kind], entity, partner), [None, None])
            slot[0] = (slot[0] or Decimal(0)) + amount
            if kind == "investment":
                investments[entity] += amount
        elif kind in LIABILITY_SIDE:
            slot = pairs.setdefault((LIABILITY_SIDE[kind], partner, entity), [None, None])
            slot[1] = (slot[1] or Decimal(0)) + amount

    def ancestors(e: str) -> list[str]:
        chain = [e]
        while chain[-1] != root:
            chain.append(parent.get(chain[-1], root))
        return chain

    eliminated: dict[str, Decimal] = defaultdict(Decimal)
    eliminations = []
    for (kind, e, f), (a, b) in sorted(pairs.items()):
        a = a or Decimal("0.00")
        b = b or Decimal("0.00")
        up_f = set(ancestors(f))
        at = next(n for n in ancestors(e) if n in up_f)
        eliminations.append((kind, e, f, at, a, b, a - b))
        entity_items, partner_items = RULES[kind]
        for item in entity_items:
            eliminated[item] += a
        for item in partner_items:
            eliminated[item] += b

    items = {}
    for item in sorted(aggregated.keys() | eliminated.keys()):
        agg = aggregated.get(item, Decimal("0.00"))
        cut = eliminated.get(item, Decimal("0.00"))
        items[item] = (agg, cut, agg - cut)

    nci = {}
    for j in sorted(members - {root}):
        x = interest.get(j, 0.0)
        own = equity.get(j, Decimal("0.00")) - investments.get(j, Decimal("0.00"))
        p = profit.get(j, Decimal("0.00"))
        nci[j] = (own, minority_share(x, own), p, minority_share(x, p))

    def result(item: str) -> Decimal:
        return items[item][2] if item in items else Decimal("0.00")

    minority = sum((v[1] for v in nci.values()), Decimal("0.00"))
    minority_profit = sum((v[3] for v in nci.values()), Decimal("0.00"))
    extras = {
        "elimination_difference": sum(
            (r[6] for r in eliminations if r[0] != "revenue_cost"), Decimal("0.00")
        ),
        "non_controlling_interest": minority,
        "equity_attributable_to_parent": result("total_equity") - minority,
        "nci_profit": minority_profit,
        "net_profit_attributable_to_parent": result("net_profit") - minority_profit,
    }
    return Consolidated(items, eliminations, nci, extras)
