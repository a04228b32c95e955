"""Consolidation (合并) and aggregation (汇总) of any node for a period, and its workbook.

A group request at 5,000 entities reads ~165,000 statement lines and ~50,000 intercompany
lines. Everything on that path stays in Polars: the tables are read with COPY (`frames`), the
arithmetic is `compute.consolidation`, and the JSON body is written by Polars and spliced
together as bytes, with no Python object per cell. Ownership comes from the per-version cache
(`ownership`). A period whose reporting members are all locked cannot change until a reopen, so
its body is stored under a key of everything it depends on and read back by that key.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
import polars as pl
import xlsxwriter

from stateasset import db
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import invalid
from stateasset.core.periods import period_of
from stateasset.db import engine
from stateasset.ledger import ownership
from stateasset.ledger.catalogue import ITEMS
from stateasset.ledger.compute import consolidation as consolidation_calc
from stateasset.ledger.frames import (
    intercompany_frame,
    positioned_lines_frame,
    statement_versions_frame,
)
from stateasset.ledger.schemas import (
    SEGMENT_LABELS,
    ConsolidationMode,
    ConsolidationRead,
    EliminationDetail,
    EntityKind,
    ResultSource,
    Segment,
)
from stateasset.ledger.service import ensure_visible, entity_row, group_id
from stateasset.ledger.tables import ConsolidationResult, Entity
from stateasset.settings import get_settings

SUMMARY_LABELS = {
    "elimination_difference": "抵销差额",
    "unrealized_profit": "未实现内部销售利润",
    "reserve_shortfall": "资本公积不足冲减留存收益",
    "treasury_stock": "库存股",
    "non_controlling_interest": "少数股东权益",
    "equity_attributable_to_parent": "归属于母公司所有者权益",
    "nci_profit": "少数股东损益",
    "net_profit_attributable_to_parent": "归属于母公司所有者的净利润",
}
LABELS = {**{i.code: i.label for i in ITEMS}, **SUMMARY_LABELS}


@dataclass(frozen=True)
class Node:
    """A consolidation node resolved at a date: its root and its members for each mode."""

    root: UUID
    name: str
    consolidated: list[str]
    aggregated: list[str]
    state_share: Decimal
    ownership: ownership.OwnershipSnapshot
    whole_group: bool
    """The group's own consolidation: its members are nearly every line's two sides."""


async def _node(node: str, as_of: date) -> Node:
    kind, _, value = node.partition(":")
    if kind == "segment":
        try:
            segment = Segment(value)
        except ValueError as exc:
            raise invalid(
                "query.node", f"unknown segment {value!r}; one of {[s.value for s in Segment]}"
            ) from exc
        root = await group_id()
        group = await entity_row(root)
        in_segment = {
            str(r["id"])
            for r in await Entity.select(Entity.id).where(Entity.segment == segment.value)
        }
        snap = await ownership.snapshot(root, as_of)
        return Node(
            root,
            SEGMENT_LABELS[segment],
            sorted(in_segment.intersection(snap.members)),
            sorted(in_segment),
            group["state_share"],
            snap,
            whole_group=False,
        )
    if kind == "group":
        root = await group_id()
    elif kind in ("entity", "platform"):
        try:
            root = UUID(value)
        except ValueError as exc:
            raise invalid("query.node", f"{value!r} is not an entity id") from exc
    else:
        raise invalid("query.node", "use group, entity:<id>, platform:<id> or segment:<code>")
    row = await entity_row(root)
    snap = await ownership.snapshot(root, as_of)
    aggregated = snap.members
    if kind == "platform":
        if row["kind"] != EntityKind.platform.value:
            raise invalid("query.node", f"{value} is not a platform")
        members = await Entity.select(Entity.id).where(Entity.platform_id == root)
        aggregated = sorted({str(root), *(str(r["id"]) for r in members)})
    return Node(
        root,
        row["name"],
        snap.members,
        aggregated,
        row["state_share"],
        snap,
        whole_group=kind == "group",
    )


def _json_strings(frame: pl.DataFrame, column: str) -> bytes:
    """A JSON array of the column's strings, written by Polars (ids and codes need no escaping)."""
    if frame.is_empty():
        return b"[]"
    joined = frame.select(pl.format('"{}"', pl.col(column)).str.join(",")).item()
    return b"[" + joined.encode() + b"]"


def _json_rows(frame: pl.DataFrame) -> bytes:
    """A JSON array of objects, one per row, written by Polars (decimals as strings)."""
    return frame.write_json().encode() if not frame.is_empty() else b"[]"


def _splice(head: dict[str, Any], arrays: dict[str, bytes]) -> bytes:
    """One JSON object: `head` encoded by msgspec, then each pre-written array under its key."""
    parts = [msgspec.json.encode(head)[:-1]]
    for key, array in arrays.items():
        parts.append(b"," + msgspec.json.encode(key) + b":" + array)
    parts.append(b"}")
    return b"".join(parts)


def _labelled(items: pl.DataFrame) -> pl.DataFrame:
    return items.select(
        "item",
        pl.col("item").replace_strict(LABELS, default=pl.col("item")).alias("label"),
        "aggregated",
        "eliminated",
        "consolidated",
    )


def _elimination_summary(eliminations: pl.DataFrame) -> pl.DataFrame:
    return (
        eliminations.group_by("kind")
        .agg(
            pl.len().alias("count"),
            pl.col("entity_amount").sum(),
            pl.when(pl.col("partner_amount").is_not_null().any())
            .then(pl.col("partner_amount").sum())
            .alias("partner_amount"),
            pl.when(pl.col("difference").is_not_null().any())
            .then(pl.col("difference").sum())
            .alias("difference"),
        )
        .sort("kind")
    )


def _notes(result: consolidation_calc.Consolidation) -> list[str]:
    """What staff should know about this result, in their words."""
    notes = []
    if n := result.missing_investment_lines.height:
        notes.append(
            f"{n} 项成员间持股没有长期股权投资内部往来(investment)行,投资未抵销: "
            "see missing_investment_lines"
        )
    if n := result.sales_without_inventory_line.height:
        notes.append(
            f"{n} 笔内部销售没有期末存货(inventory_held)行,未抵销未实现内部销售利润 "
            "(internal sales without an inventory_held line: no unrealized profit eliminated)"
        )
    return notes


async def _statements(used: pl.DataFrame) -> pl.DataFrame:
    """The used statements' lines in long form (entity_id, item, amount)."""
    lines = await positioned_lines_frame(used["statement_id"].to_list())
    entities = used.select(pl.int_range(1, pl.len() + 1).alias("position"), "entity_id")
    return lines.join(entities, on="position").select("entity_id", "item", "amount")


async def _read(
    node: Node, mode: ConsolidationMode, period: str, used: pl.DataFrame
) -> tuple[pl.DataFrame, pl.LazyFrame | None]:
    """The statement lines and (when consolidating) the intercompany lines, read side by side.

    Two COPYs on two pooled connections when no transaction is open; one after the other inside
    one, which has a single connection. The group's own consolidation reads the whole period's
    lines (its members are nearly every entity, and a 5,000-id filter costs more than it saves);
    a platform or entity node reads only lines between its members.
    """
    if mode == ConsolidationMode.aggregated:
        return await _statements(used), None
    between = None if node.whole_group else node.consolidated
    if engine().current_transaction.get() is not None:
        return await _statements(used), await intercompany_frame(period, between)
    return await asyncio.gather(_statements(used), intercompany_frame(period, between))


async def _compute(
    node: Node, mode: ConsolidationMode, period: str, used: pl.DataFrame, detail: EliminationDetail
) -> dict[str, bytes]:
    """The arrays of the response body for one node, period and mode.

    The arithmetic runs in a worker thread (Polars releases the GIL): a group's consolidation,
    asked for by a page or run by the scheduler in the server's process, leaves the loop free.
    """
    statements, lines = await _read(node, mode, period, used)
    return await asyncio.to_thread(_arrays, node, mode, statements, lines, detail)


def _arrays(
    node: Node,
    mode: ConsolidationMode,
    statements: pl.DataFrame,
    lines: pl.LazyFrame | None,
    detail: EliminationDetail,
) -> dict[str, bytes]:
    if mode == ConsolidationMode.aggregated:
        summed = consolidation_calc.aggregate(statements.lazy(), node.aggregated).collect()
        items = summed.select(
            "item",
            pl.col("amount").alias("aggregated"),
            pl.lit(Decimal(0), dtype=summed.schema["amount"]).alias("eliminated"),
            pl.col("amount").alias("consolidated"),
        )
        return (
            {"items": _json_rows(_labelled(items))}
            | dict.fromkeys(
                ("elimination_summary", "eliminations", "nci", "missing_investment_lines"), b"[]"
            )
            | {"notes": b"[]"}
        )
    assert lines is not None
    result = consolidation_calc.consolidate(
        statements.lazy(),
        lines,
        node.ownership.frame.lazy(),
        str(node.root),
        members=node.consolidated,
        stakes=node.ownership.stakes.lazy(),
        state_share=node.state_share,
    )
    eliminations = (
        result.eliminations if detail == EliminationDetail.all else result.eliminations.head(0)
    )
    return {
        "items": _json_rows(_labelled(result.items)),
        "elimination_summary": _json_rows(_elimination_summary(result.eliminations)),
        "eliminations": _json_rows(eliminations),
        "nci": _json_rows(result.nci),
        "missing_investment_lines": _json_rows(result.missing_investment_lines),
        "notes": msgspec.json.encode(_notes(result)),
    }


def _key(node: str, mode: str, period: str, detail: str, parts: list[object]) -> str:
    digest = hashlib.sha256()
    for part in (node, mode, period, detail, *parts):
        digest.update(str(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


async def consolidation_body(
    *,
    actor: Actor,
    node: str,
    period: str,
    mode: ConsolidationMode = ConsolidationMode.consolidated,
    detail: EliminationDetail = EliminationDetail.summary,
    only_if_storable: bool = False,
) -> bytes:
    """The ConsolidationRead of a node and period as JSON bytes, stored or computed.

    `only_if_storable`: b"" instead of computing a body that could not be stored (a member's
    period is not locked), for the job that fills the store.
    """
    parsed = period_of(period, "query.period")
    mode = ConsolidationMode(mode)
    resolved = await _node(node, parsed.end)
    # A segment belongs to the group: scoped users, who cannot see the group, cannot see it.
    await ensure_visible(actor, [resolved.root])
    members = pl.DataFrame(
        {
            "entity_id": resolved.consolidated
            if mode == ConsolidationMode.consolidated
            else resolved.aggregated
        },
        schema={"entity_id": pl.String},
    )
    versions = await statement_versions_frame(period)
    used = members.join(versions, on="entity_id").sort("entity_id")
    locked = used.filter(pl.col("state") == "locked").height
    missing = members.join(versions, on="entity_id", how="anti").sort("entity_id")
    head = {
        "node": node,
        "node_name": resolved.name,
        "period": period,
        "mode": mode.value,
        "root_id": str(resolved.root),
    }
    stored_key = None
    if only_if_storable and not (used.height and locked == used.height):
        return b""
    if used.height and locked == used.height:
        settings = get_settings()
        stored_key = _key(
            node,
            mode.value,
            period,
            detail.value,
            [
                used.select(pl.format("{}:{}", "statement_id", "version").str.join(",")).item(),
                members.select(pl.col("entity_id").str.join(",")).item(),
                resolved.name,
                resolved.ownership.token,
                resolved.state_share,
                settings.control_threshold,
                settings.equity_floor,
            ],
        )
        row = (
            await ConsolidationResult.select(ConsolidationResult.body)
            .where(ConsolidationResult.key == stored_key)
            .first()
        )
        if row is not None:
            return _splice({"source": ResultSource.stored.value}, {})[:-1] + b"," + row["body"][1:]
    arrays = {
        "members": _json_strings(members, "entity_id"),
        "missing_statements": _json_strings(missing, "entity_id"),
        "statement_versions": _json_rows(used.select("entity_id", "version")),
        **await _compute(resolved, mode, period, used, detail),
    }
    body = _splice(head, arrays)
    if stored_key is not None:
        await ConsolidationResult.insert(
            ConsolidationResult(
                key=stored_key,
                node=node,
                period=period,
                mode=mode.value,
                body=body,
                created_at=utc_now(),
            )
        ).on_conflict(action="DO NOTHING")
    return _splice({"source": ResultSource.computed.value}, {})[:-1] + b"," + body[1:]


async def reporting_nodes() -> list[str]:
    """The group, each platform and each segment with members: the nodes staff report on."""
    async with db.connection() as conn:
        has_group = await conn.fetchval("SELECT 1 FROM entity WHERE kind = 'group'")
        platforms = await conn.fetch(
            "SELECT id FROM entity WHERE kind = 'platform' ORDER BY id::text"
        )
        segments = await conn.fetch(
            "SELECT DISTINCT segment FROM entity WHERE segment IS NOT NULL ORDER BY segment"
        )
    nodes = ["group"] if has_group else []
    nodes += [f"platform:{r['id']}" for r in platforms]
    if has_group:
        nodes += [f"segment:{r['segment']}" for r in segments if r["segment"] in set(Segment)]
    return nodes


async def member_lines(*, actor: Actor, node: str, period: str) -> pl.DataFrame:
    """Every consolidated member's statement lines the node's report sums, with the version used.

    entity_id, version, state, item, amount, by entity then item: the drill-down from a report
    item to the members' amounts and the statement versions they came from, read through the
    same node, members and latest versions as `consolidation_body`.
    """
    parsed = period_of(period, "query.period")
    resolved = await _node(node, parsed.end)
    await ensure_visible(actor, [resolved.root])
    members = pl.DataFrame({"entity_id": resolved.consolidated}, schema={"entity_id": pl.String})
    versions = await statement_versions_frame(period)
    used = members.join(versions, on="entity_id").sort("entity_id")
    lines = await _statements(used)
    return (
        lines.join(used.select("entity_id", "version", "state"), on="entity_id")
        .select("entity_id", "version", "state", "item", "amount")
        .sort("entity_id", "item")
    )


async def forget_stored(period: str) -> None:
    """Drop the stored results of `period`: a reopen may change its lines and states."""
    await ConsolidationResult.delete().where(ConsolidationResult.period == period)


async def consolidation(
    *,
    actor: Actor,
    node: str,
    period: str,
    mode: ConsolidationMode = ConsolidationMode.consolidated,
    detail: EliminationDetail = EliminationDetail.summary,
) -> ConsolidationRead:
    """The consolidated (合并) or aggregated (汇总) statement of a node, as a Struct."""
    body = await consolidation_body(actor=actor, node=node, period=period, mode=mode, detail=detail)
    return msgspec.json.decode(body, type=ConsolidationRead)


def consolidation_workbook(report: ConsolidationRead, names: dict[UUID, str]) -> bytes:
    """合并报表 as XLSX: statement, eliminations, NCI and the statement versions used."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    title = book.add_format({"bold": True, "font_size": 14})
    mode = "合并报表" if report.mode == ConsolidationMode.consolidated else "汇总报表"

    def table(name: str, heading: str, header: list[str], rows: list[list[Any]]) -> None:
        sheet = book.add_worksheet(name)
        sheet.write_string(0, 0, heading, title)
        for c, h in enumerate(header):
            sheet.write_string(2, c, h, bold)
            sheet.set_column(c, c, 18 if c else 28)
        for r, values in enumerate(rows, start=3):
            for c, value in enumerate(values):
                # Excel keeps numbers as binary floats; cents stay exact below 10^13 yuan.
                if isinstance(value, Decimal):
                    sheet.write_number(r, c, float(value), money)
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                elif value is not None:
                    sheet.write_string(r, c, str(value))

    def name(entity_id: UUID | None) -> str:
        return names.get(entity_id, str(entity_id)) if entity_id else ""

    table(
        mode,
        f"{report.node_name} {report.period} {mode}",
        ["项目编码", "项目名称", "汇总数", "抵销数", "合并数"],
        [[i.item, i.label, i.aggregated, i.eliminated, i.consolidated] for i in report.items],
    )
    table(
        "抵销分录",
        "抵销分录 Eliminations",
        ["类型", "本方", "对方", "抵销层级", "本方金额", "对方金额", "差额"],
        [
            [
                e.kind.value,
                name(e.entity_id),
                name(e.partner_id),
                name(e.at_entity_id),
                e.entity_amount,
                e.partner_amount,
                e.difference,
            ]
            for e in report.eliminations
        ],
    )
    table(
        "少数股东权益",
        "少数股东权益 Non-controlling interest",
        ["主体", "归属于母公司的权益比例", "自身净资产", "少数股东权益", "净利润", "少数股东损益"],
        [
            [
                name(n.entity_id),
                n.consolidated_interest,
                n.own_net_assets,
                n.non_controlling_interest,
                n.net_profit,
                n.nci_profit,
            ]
            for n in report.nci
        ],
    )
    table(
        "报表版本",
        "所用报表版本 Statement versions used",
        ["主体", "版本"],
        [[name(v.entity_id), v.version] for v in report.statement_versions]
        + [[name(m), "缺报 missing"] for m in report.missing_statements],
    )
    book.close()
    return buffer.getvalue()
