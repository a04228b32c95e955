"""The demo group's asset register: ~2,000 cards, two years of events, agency property, a campaign.

Written straight into the tables with COPY in the demo's transaction (posting 60,000 events one
request at a time would make `make demo` take minutes). The events are what the services would
have posted: the same depreciation rule as `compute.depreciation_due`, transfers as out/in pairs
carrying the whole balances. Depreciation is posted through October 2026, so November is left
for `stateasset run-job depreciation 2026-11`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg

from stateasset.core.periods import month_period

LOADER = "demo-loader"
FIRST_MONTH = (2025, 1)
LAST_MONTH = (2026, 10)
TRANSFERS_IN = (  # (agency, receiver, cards, date): property moved into the group (划拨)
    ("gov_housing", "cj", 14, date(2025, 6, 30)),
    ("inst_affairs", "wl", 8, date(2026, 3, 31)),
)
PENDING = ("gov_finance", "jt", 3, date(2026, 11, 15))
CAMPAIGN_HOLDERS = ("sw", "sw_waste")
CAMPAIGN_DATE = date(2026, 10, 31)
LOCATIONS = (
    "玉屏街道", "龙江街道", "音西街道", "阳下街道", "宏路街道", "石竹街道", "江阴镇", "龙田镇",
    "高山镇", "渔溪镇", "海口镇", "城头镇", "元洪投资区", "融侨经济技术开发区",
)  # fmt: skip
MIX: dict[str, tuple[tuple[str, int], ...]] = {
    "construction": (("land", 3), ("buildings", 4), ("infrastructure", 4), ("equipment", 2), ("vehicles", 1)),
    "transport": (("infrastructure", 5), ("vehicles", 3), ("equipment", 2), ("buildings", 1)),
    "bus": (("vehicles", 8), ("buildings", 1), ("equipment", 2)),
    "logistics": (("infrastructure", 3), ("equipment", 4), ("vehicles", 2), ("land", 1)),
    "water": (("infrastructure", 5), ("equipment", 4), ("buildings", 1), ("land", 1)),
    "tourism": (("buildings", 4), ("land", 2), ("infrastructure", 2), ("equipment", 1)),
    "finance": (("equity", 4), ("fund_interest", 3), ("buildings", 1), ("equipment", 1)),
    "services": (("equipment", 4), ("vehicles", 3), ("buildings", 1)),
    "trade": (("buildings", 3), ("equipment", 2), ("vehicles", 1)),
    "park": (("land", 3), ("buildings", 4), ("infrastructure", 1)),
    "group": (("buildings", 2), ("equity", 2), ("other", 1)),
}  # fmt: skip
# category: (value range in yuan, life in months (0: none), operating probability, name, code)
KINDS: dict[str, tuple[tuple[float, float], int, float, str, str]] = {
    "land": ((2e6, 8e7), 0, 0.4, "地块", "TD"),
    "buildings": ((5e5, 5e7), 480, 0.6, "房产", "FW"),
    "infrastructure": ((1e6, 1e8), 360, 0.5, "设施", "JC"),
    "equipment": ((2e4, 2e6), 96, 0.7, "设备", "SB"),
    "vehicles": ((1e5, 1e6), 96, 0.7, "车辆", "CL"),
    "equity": ((1e6, 5e7), 0, 1.0, "股权", "GQ"),
    "fund_interest": ((5e6, 5e7), 0, 1.0, "基金份额", "JJ"),
    "other": ((1e4, 5e5), 60, 0.3, "其他资产", "QT"),
}
CARDS_PER_BILLION = 13  # cards per 1e9 yuan of a company's total assets, at least 12 each


@dataclass
class _Card:
    id: UUID
    code: str
    name: str
    category: str
    holder: UUID
    location: str
    source: str
    operating: bool
    life: int
    salvage: int  # cents
    status: str
    acquired_on: date
    value: int  # cents
    earns_from: tuple[int, int] | None  # (year, quarter) income starts, None: never
    annual_yield: float = 0.0
    events: list[tuple] = field(default_factory=list)
    depreciation: int = 0  # cents, at its holder


def _months() -> list[tuple[int, int]]:
    out, (y, m) = [], FIRST_MONTH
    while (y, m) <= LAST_MONTH:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _yuan(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _event(card: _Card, holder: UUID, kind: str, day: date, original: int = 0,
           depreciation: int = 0, income: int = 0, month: str | None = None,
           transfer: UUID | None = None, campaign: UUID | None = None, note: str = "") -> None:  # fmt: skip
    card.events.append(
        (uuid4(), card.id, holder, kind, day, _yuan(original), _yuan(depreciation), _yuan(income),
         month, None, transfer, campaign, note)
    )  # fmt: skip


def _depreciate_month(card: _Card, year: int, month: int) -> None:
    """One month's depreciation by compute.depreciation_due's rule, in integer cents."""
    if card.life == 0 or card.status == "disposed":
        return
    index = year * 12 + month
    elapsed = index - (card.acquired_on.year * 12 + card.acquired_on.month)
    if elapsed < 1:
        return
    depreciable = card.value - card.salvage
    remaining = depreciable - card.depreciation
    if remaining <= 0:
        return
    monthly = (2 * depreciable + card.life) // (2 * card.life)
    cents = remaining if elapsed >= card.life else min(monthly, remaining)
    period = month_period(year, month)
    card.depreciation += cents
    _event(card, card.holder, "depreciate", period.end, depreciation=cents, month=period.code,
           note="月折旧")  # fmt: skip


def _opening(card: _Card) -> None:
    """The acquisition, and for an older card the depreciation it had before 2025 in one event."""
    _event(card, card.holder, "acquire", card.acquired_on, original=card.value,
           note={"purchase": "购置", "self_built": "自建", "donation": "接收",
                 "transfer_in": "划拨", "surplus": "盘盈"}[card.source])  # fmt: skip
    if card.life and card.acquired_on < date(2025, 1, 1):
        months = (2024 * 12 + 12) - (card.acquired_on.year * 12 + card.acquired_on.month)
        depreciable = card.value - card.salvage
        monthly = (2 * depreciable + card.life) // (2 * card.life)
        cents = depreciable if months >= card.life else min(monthly * months, depreciable)
        if cents > 0:
            card.depreciation += cents
            _event(card, card.holder, "depreciate", date(2024, 12, 31), depreciation=cents,
                   note="2024年末累计折旧")  # fmt: skip


def _make_card(rng: random.Random, holder: UUID, prefix: str, n: int, mix: str, acquired_after: date | None = None) -> _Card:  # fmt: skip
    choices = MIX.get(mix, (("equipment", 1),))
    category = rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
    (low, high), life, operating_p, label, abbr = KINDS[category]
    value = int(math.exp(rng.uniform(math.log(low), math.log(high)))) * 100
    if acquired_after is None and rng.random() < 0.15:
        acquired_after = date(2025, 1, 1)
    start = acquired_after or date(2006, 1, 1)
    end = date(2026, 9, 30) if acquired_after else date(2024, 12, 31)
    acquired = start + (end - start) * rng.random()
    operating = rng.random() < operating_p
    earns = operating and rng.random() < 0.8
    status = "idle" if rng.random() < 0.08 else "in_use"
    if earns and category == "buildings" and rng.random() < 0.5:
        status = "leased_out"
    if status == "idle":
        earns = False
    return _Card(
        id=uuid4(),
        code=f"{prefix}-{abbr}-{n:04d}",
        name=f"{rng.choice(LOCATIONS)}{label}{n:03d}",
        category=category,
        holder=holder,
        location=rng.choice(LOCATIONS),
        source=rng.choices(["purchase", "self_built", "donation"], weights=[6, 3, 1])[0],
        operating=operating,
        life=life,
        salvage=value // 20 if life else 0,
        status=status,
        acquired_on=acquired,
        value=value,
        # Income starts quarter by quarter, so the effective ratio rises over the two years.
        earns_from=(rng.choice([2025, 2025, 2026]), rng.randint(1, 4)) if earns else None,
        annual_yield=rng.uniform(0.01, 0.08),
    )


def _income(card: _Card, year: int, quarter: int) -> None:
    if card.earns_from is None or (year, quarter) < card.earns_from or card.status == "disposed":
        return
    cents = max(100, int(card.value * card.annual_yield / 4))
    end = month_period(year, quarter * 3).end
    kind = {"land": "租金", "buildings": "租金", "infrastructure": "收费", "equity": "分红",
            "fund_interest": "分配"}.get(card.category, "经营收入")  # fmt: skip
    _event(card, card.holder, "income", end, income=cents, note=kind)


async def load_assets(
    conn: asyncpg.Connection,
    ids: dict[str, UUID],
    companies: Sequence[tuple[str, str, float]],
    seed: int,
) -> dict[str, int]:
    """Write the demo register with COPY on `conn` (the demo's transaction); counts of what."""
    rng = random.Random(seed)
    cards: list[_Card] = []
    for key, mix, total_assets in companies:
        n = max(12, round(total_assets / 1e9 * CARDS_PER_BILLION))
        prefix = key.upper().replace("_", "")
        cards += [_make_card(rng, ids[key], prefix, i, mix) for i in range(1, n + 1)]
    agency_cards: dict[str, list[_Card]] = {}
    for agency, _, count, _moved in (*TRANSFERS_IN, PENDING):
        made = []
        for i in range(1, count + 1):
            card = _make_card(rng, ids[agency], agency.upper().replace("_", ""), i, "tourism")
            # Operating property (经营性房产) the group will earn from: buildings, old, earning.
            card.category, card.life, card.salvage = "buildings", 480, card.value // 20
            card.acquired_on = date(rng.randint(2005, 2016), rng.randint(1, 12), 1)
            card.operating, card.status, card.earns_from = True, "leased_out", (2025, 1)
            card.code = f"{agency.upper().replace('_', '')}-FW-{i:04d}"
            card.name = f"{card.location}经营性房产{i:02d}"
            made.append(card)
        agency_cards[agency] = made
        cards += made
    for card in cards:
        _opening(card)
    transfers: list[tuple] = []
    items: list[tuple[UUID, UUID]] = []
    planned = {moved_on: (agency, to) for agency, to, _, moved_on in TRANSFERS_IN}
    quarters = [(y, q) for y in (2025, 2026) for q in (1, 2, 3, 4)]
    for year, month in _months():
        for card in cards:
            _depreciate_month(card, year, month)
        end = month_period(year, month).end
        if month % 3 == 0 and (year, month // 3) in quarters:
            for card in cards:
                _income(card, year, month // 3)
        if end in planned:
            agency, to = planned[end]
            transfer_id = uuid4()
            for card in agency_cards[agency]:
                original, depreciation = card.value, card.depreciation
                _event(card, card.holder, "transfer_out", end, original=-original,
                       depreciation=-depreciation, transfer=transfer_id, note="划入集团")  # fmt: skip
                card.holder, card.source = ids[to], "transfer_in"
                _event(card, card.holder, "transfer_in", end, original=original,
                       depreciation=depreciation, transfer=transfer_id, note="划入集团")  # fmt: skip
                items.append((transfer_id, card.id))
            at = datetime(end.year, end.month, end.day, 9, tzinfo=UTC)
            transfers.append((transfer_id, ids[agency], ids[to], end, True, "posted",
                              "划拨经营性房产", "gf", at, "admin", at, None, "admin", at))  # fmt: skip
    # A few disposals (报废) of old equipment and vehicles, and one revaluation reversed.
    old = [
        c
        for c in cards
        if c.category in ("equipment", "vehicles") and c.acquired_on < date(2025, 1, 1)
    ]
    for card in rng.sample(old, 12):
        day = month_period(*LAST_MONTH).end
        _event(card, card.holder, "dispose", day, original=-card.value,
               depreciation=-card.depreciation, note="报废")  # fmt: skip
        card.status = "disposed"
    buildings = [
        c
        for c in cards
        if c.category == "buildings" and c.holder in {ids[k] for k, *_ in companies}
    ]
    revalued = rng.choice(buildings)
    _event(revalued, revalued.holder, "revalue", date(2026, 9, 15), original=1_000_000_00,
           note="评估增值（录入有误）")  # fmt: skip
    wrong = revalued.events[-1]
    revalued.events.append(
        (uuid4(), revalued.id, revalued.holder, "reversal", date(2026, 9, 16),
         -wrong[5], -wrong[6], -wrong[7], None, wrong[0], None, None, "冲销：评估值录入有误")
    )  # fmt: skip
    # The pending transfer, awaiting a second person's approval.
    pending_id = uuid4()
    agency, to, _, moved_on = PENDING
    requested = datetime(2026, 11, 16, 10, tzinfo=UTC)
    transfers.append((pending_id, ids[agency], ids[to], moved_on, True, "requested",
                      "财政局划拨门面房", "admin", requested, None, None, None, None, None))  # fmt: skip
    items += [(pending_id, c.id) for c in agency_cards[agency]]
    # An open campaign (盘点) for 水投 with one item not on the books and two missing.
    campaign_id = uuid4()
    scope = {ids[k] for k in CAMPAIGN_HOLDERS}
    counted = [c for c in cards if c.holder in scope and c.status != "disposed"]
    missing = set(rng.sample(range(len(counted)), 2))
    counted_at = datetime(2026, 10, 31, 16, tzinfo=UTC)
    counts = [
        (uuid4(), campaign_id, c.holder, c.code,
         c.location if rng.random() < 0.9 else rng.choice(LOCATIONS), None, None, None,
         "gf", counted_at)
        for i, c in enumerate(counted) if i not in missing
    ]  # fmt: skip
    counts.append((uuid4(), campaign_id, ids["sw"], "SW-SB-9001", "海口镇", "未入账潜水泵",
                   "equipment", Decimal("56000.00"), "gf", counted_at))  # fmt: skip
    now = datetime(2026, 11, 1, tzinfo=UTC)
    await conn.copy_records_to_table(
        "asset_card",
        columns=["id", "code", "name", "category", "holder", "location", "source", "operating",
                 "useful_life_months", "salvage", "status", "acquired_on", "created_at",
                 "created_by", "updated_at"],
        records=[(c.id, c.code, c.name, c.category, c.holder, c.location, c.source, c.operating,
                  c.life, _yuan(c.salvage), c.status, c.acquired_on, now, LOADER, now)
                 for c in cards],
    )  # fmt: skip
    events = [e for c in cards for e in c.events]
    created = datetime(2026, 11, 1, tzinfo=UTC)
    await conn.copy_records_to_table(
        "asset_event",
        columns=["id", "card", "holder", "kind", "event_date", "original", "depreciation",
                 "income", "month", "reverses", "transfer", "campaign", "note", "created_at",
                 "created_by"],
        records=[(*e, created, LOADER) for e in events],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "asset_transfer",
        columns=["id", "from_holder", "to_holder", "transfer_date", "into_group", "status",
                 "note", "requested_by", "requested_at", "decided_by", "decided_at",
                 "reject_reason", "posted_by", "posted_at"],
        records=transfers,
    )  # fmt: skip
    await conn.copy_records_to_table(
        "asset_transfer_item", columns=["transfer", "card"], records=items
    )
    await conn.execute(
        "INSERT INTO asset_campaign (id, name, as_of, entity_ids, categories, status, created_by, "
        "created_at) VALUES ($1, '水投2026年资产盘点', $2, $3, '{}', 'open', 'gf', $4)",
        campaign_id,
        CAMPAIGN_DATE,
        sorted(scope, key=str),
        counted_at,
    )
    await conn.copy_records_to_table(
        "asset_count",
        columns=["id", "campaign", "holder", "code", "location", "name", "category", "value",
                 "counted_by", "counted_at"],
        records=counts,
    )  # fmt: skip
    return {"cards": len(cards), "events": len(events), "transfers": len(transfers),
            "counts": len(counts)}  # fmt: skip
