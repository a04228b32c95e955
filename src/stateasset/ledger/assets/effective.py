"""有效资产: the effective asset ratio and operating share per entity and node, as of a date.

The arithmetic is `compute.effective_by_entity` / `effective_by_node`; this reads the frames and
the scope. Cash is each entity's 货币资金 in its latest statement for the last quarter that ended
on or before the date (none filed: no cash). Thresholds come from the setting
`asset_income_thresholds` ("buildings=50000,vehicles=1000"; a category not named has 0).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import polars as pl

from stateasset.auth.schemas import Actor
from stateasset.core.periods import check_day, quarter_period
from stateasset.ledger import service as ledger_service
from stateasset.ledger.assets import compute, frames
from stateasset.ledger.assets.schemas import Category, EffectiveRow
from stateasset.ledger.tables import Entity
from stateasset.settings import get_settings


def thresholds_frame(setting: str | None = None) -> pl.LazyFrame:
    """The income threshold per category from the setting; ValueError names a bad entry."""
    text = get_settings().asset_income_thresholds if setting is None else setting
    values = {c.value: Decimal(0) for c in Category}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, amount = part.partition("=")
        if name.strip() not in values:
            raise ValueError(f"asset_income_thresholds: unknown category {name.strip()!r}")
        try:
            values[name.strip()] = Decimal(amount.strip())
        except InvalidOperation as exc:
            raise ValueError(f"asset_income_thresholds: {part!r} is not category=amount") from exc
    return pl.LazyFrame(
        {"category": list(values), "threshold": list(values.values())},
        schema=compute.THRESHOLDS_SCHEMA,
    )


def last_quarter_code(as_of: date) -> str:
    """The last quarter ending on or before `as_of`."""
    quarter = quarter_period(as_of.year, (as_of.month + 2) // 3)
    if quarter.end <= as_of:
        return quarter.code
    q = (as_of.month + 2) // 3 - 1
    return quarter_period(as_of.year, q).code if q else quarter_period(as_of.year - 1, 4).code


async def members_frame(as_of: date, visible: set | None) -> tuple[pl.LazyFrame, dict[str, str]]:
    """Which visible entities make up each node, and every node's name."""
    rows = await Entity.select(
        Entity.id, Entity.name, Entity.kind, Entity.platform_id, Entity.segment
    )
    rows = [r for r in rows if visible is None or r["id"] in visible]
    names = {f"entity:{r['id']}": r["name"] for r in rows}
    pairs: list[tuple[str, str]] = []
    for r in rows:
        entity = str(r["id"])
        pairs.append((entity, f"entity:{entity}"))
        if r["kind"] == "platform":
            pairs.append((entity, f"platform:{entity}"))
            names[f"platform:{entity}"] = r["name"]
        if r["platform_id"] is not None and r["platform_id"] != r["id"]:
            pairs.append((entity, f"platform:{r['platform_id']}"))
        if r["segment"]:
            pairs.append((entity, f"segment:{r['segment']}"))
            names[f"segment:{r['segment']}"] = r["segment"]
    if visible is None:
        try:
            root = await ledger_service.group_id()
        except Exception:  # no group registered yet: no group node
            root = None
        if root is not None:
            group = {root, *await ledger_service.controlled_by(root, as_of)}
            pairs += [(str(e), "group") for e in group]
            names["group"] = "集团"
    frame = pl.LazyFrame(pairs, schema=compute.MEMBERS_SCHEMA, orient="row")
    return frame, names


async def effective_frame(*, actor: Actor, as_of: date) -> pl.DataFrame:
    """Every node in the actor's scope (group, platforms, segments, entities) as of `as_of`.

    Columns: node, name, total_book, operating_book, effective_book, cash, effective_ratio,
    operating_share.
    """
    check_day(as_of)
    visible = await ledger_service.visible_entity_ids(actor, as_of)
    events = await frames.events_frame(up_to=as_of)
    cards = await frames.card_kinds_frame()
    cash = await frames.cash_frame(last_quarter_code(as_of))
    per_entity = compute.effective_by_entity(events, cards, thresholds_frame(), as_of, cash)
    members, names = await members_frame(as_of, visible)
    nodes = compute.effective_by_node(per_entity, members).collect()
    return nodes.with_columns(
        pl.col("node").replace_strict(names, default="").alias("name")
    ).select("node", "name", *[c for c in nodes.columns if c != "node"])


async def effective_assets(
    *, actor: Actor, as_of: date, node: str | None = None
) -> list[EffectiveRow]:
    """有效资产 rows as of `as_of`: every node in scope, or only `node`."""
    frame = await effective_frame(actor=actor, as_of=as_of)
    if node is not None:
        frame = frame.filter(pl.col("node") == node)
    return [EffectiveRow(**r) for r in frame.iter_rows(named=True)]


async def effective_series(
    *, actor: Actor, dates: list[date], prefix: str = "platform:"
) -> pl.DataFrame:
    """The ratio and share of every node starting with `prefix`, at each date (for a chart).

    Columns: as_of, node, name, effective_ratio, operating_share.
    """
    parts = []
    for day in dates:
        frame = await effective_frame(actor=actor, as_of=day)
        parts.append(
            frame.filter(pl.col("node").str.starts_with(prefix)).select(
                pl.lit(day).alias("as_of"), "node", "name", "effective_ratio", "operating_share"
            )
        )
    if not parts:
        return pl.DataFrame(
            schema={
                "as_of": pl.Date(),
                "node": pl.String(),
                "name": pl.String(),
                "effective_ratio": compute.SHARE,
                "operating_share": compute.SHARE,
            }
        )
    return pl.concat(parts)
