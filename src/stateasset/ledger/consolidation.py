"""Consolidation (合并) and aggregation (汇总) of any node for a period, and its workbook."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import polars as pl
import xlsxwriter

from stateasset.auth.schemas import Actor
from stateasset.core.errors import invalid
from stateasset.core.periods import period_of
from stateasset.ledger.catalogue import ITEM_BY_CODE, label
from stateasset.ledger.closing.statements import latest_versions
from stateasset.ledger.compute import consolidation as consolidation_calc
from stateasset.ledger.frames import intercompany_frame, statement_lines_frame
from stateasset.ledger.schemas import (
    SEGMENT_LABELS,
    ConsolidationRead,
    EliminationRow,
    EntityKind,
    ItemRow,
    NciRow,
    Segment,
    StatementVersionUsed,
)
from stateasset.ledger.service import (
    controlled_by,
    ensure_visible,
    entity_row,
    group_id,
    ownership_frame,
)
from stateasset.ledger.tables import (
    Entity,
)

# ------------------------------------------------------------------------------------------
# Consolidation (合并) and aggregation (汇总)


async def _statements_frame(
    period: str, entity_ids: list[UUID]
) -> tuple[pl.LazyFrame, dict[UUID, int]]:
    latest = await latest_versions(period, entity_ids)
    frame = await statement_lines_frame([r["id"] for r in latest.values()])
    return frame.lazy(), {e: r["version"] for e, r in latest.items()}


async def _node_members(node: str, as_of: date) -> tuple[UUID, str, list[UUID] | None, list[UUID]]:
    """(root, name, members for consolidation or None for the root's control set, aggregation members)."""
    kind, _, value = node.partition(":")
    if kind == "group":
        root = await group_id()
        row = await entity_row(root)
        return root, row["name"], None, [root, *await controlled_by(root, as_of)]
    if kind in ("entity", "platform"):
        try:
            root = UUID(value)
        except ValueError as exc:
            raise invalid("query.node", f"{value!r} is not an entity id") from exc
        row = await entity_row(root)
        if kind == "platform":
            if row["kind"] != EntityKind.platform.value:
                raise invalid("query.node", f"{value} is not a platform")
            members = [
                r["id"] for r in await Entity.select(Entity.id).where(Entity.platform_id == root)
            ]
            return root, row["name"], None, sorted({root, *members}, key=str)
        return root, row["name"], None, [root, *await controlled_by(root, as_of)]
    if kind == "segment":
        try:
            segment = Segment(value)
        except ValueError as exc:
            raise invalid(
                "query.node", f"unknown segment {value!r}; one of {[s.value for s in Segment]}"
            ) from exc
        root = await group_id()
        in_segment = {
            r["id"] for r in await Entity.select(Entity.id).where(Entity.segment == segment.value)
        }
        controlled = set(await controlled_by(root, as_of)) | {root}
        return (
            root,
            SEGMENT_LABELS[segment],
            sorted(in_segment & controlled, key=str),
            sorted(in_segment, key=str),
        )
    raise invalid("query.node", "use group, entity:<id>, platform:<id> or segment:<code>")


async def consolidation(*, actor: Actor, node: str, period: str, mode: str) -> ConsolidationRead:
    """The consolidated (合并) or aggregated (汇总) statement of a node for a period."""
    parsed = period_of(period, "query.period")
    if mode not in ("consolidated", "aggregated"):
        raise invalid("query.mode", "must be consolidated or aggregated")
    root, name, segment_members, aggregation_members = await _node_members(node, parsed.end)
    # A segment belongs to the group: scoped users, who cannot see the group, cannot see it.
    await ensure_visible(actor, [root])
    own = await ownership_frame(root, parsed.end)
    if mode == "aggregated":
        members = aggregation_members
    else:
        members = (
            segment_members
            if segment_members is not None
            else [root, *[UUID(e) for e in own.filter(pl.col("controlled"))["entity_id"].to_list()]]
        )
    statements, versions = await _statements_frame(period, members)
    if mode == "aggregated":
        summed = consolidation_calc.aggregate(statements, [str(m) for m in members]).collect()
        items = [
            ItemRow(
                item=r["item"],
                label=_label(r["item"]),
                aggregated=r["amount"],
                eliminated=Decimal("0.00"),
                consolidated=r["amount"],
            )
            for r in summed.iter_rows(named=True)
        ]
        eliminations: list[EliminationRow] = []
        nci: list[NciRow] = []
    else:
        result = consolidation_calc.consolidate(
            statements,
            await intercompany_frame(period),
            own.lazy(),
            str(root),
            members=[str(m) for m in members],
        )
        items = [
            ItemRow(
                item=r["item"],
                label=_label(r["item"]),
                aggregated=r["aggregated"] or Decimal("0.00"),
                eliminated=r["eliminated"] or Decimal("0.00"),
                consolidated=r["consolidated"],
            )
            for r in result.items.iter_rows(named=True)
        ]
        eliminations = [
            EliminationRow(
                kind=r["kind"],
                entity_id=UUID(r["entity_id"]),
                partner_id=UUID(r["partner_id"]),
                at_entity_id=UUID(r["at_entity_id"]) if r["at_entity_id"] else None,
                entity_amount=r["entity_amount"],
                partner_amount=r["partner_amount"],
                difference=r["difference"],
            )
            for r in result.eliminations.iter_rows(named=True)
        ]
        nci = [
            NciRow(
                entity_id=UUID(r["entity_id"]),
                effective_interest=r["effective_interest"],
                own_net_assets=r["own_net_assets"],
                non_controlling_interest=r["non_controlling_interest"],
                net_profit=r["net_profit"],
                nci_profit=r["nci_profit"],
            )
            for r in result.nci.iter_rows(named=True)
        ]
    return ConsolidationRead(
        node=node,
        node_name=name,
        period=period,
        mode=mode,
        root_id=root,
        members=sorted(members, key=str),
        missing_statements=sorted((m for m in members if m not in versions), key=str),
        statement_versions=[
            StatementVersionUsed(e, v)
            for e, v in sorted(versions.items(), key=lambda kv: str(kv[0]))
        ],
        items=items,
        eliminations=eliminations,
        nci=nci,
    )


EXTRA_LABELS = {
    "elimination_difference": "抵销差额",
    "non_controlling_interest": "少数股东权益",
    "equity_attributable_to_parent": "归属于母公司所有者权益",
    "nci_profit": "少数股东损益",
    "net_profit_attributable_to_parent": "归属于母公司所有者的净利润",
}


def _label(code: str) -> str:
    return EXTRA_LABELS.get(code) or (label(code) if code in ITEM_BY_CODE else code)


def consolidation_workbook(report: ConsolidationRead, names: dict[UUID, str]) -> bytes:
    """合并报表 as XLSX: statement, eliminations, NCI and the statement versions used."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    title = book.add_format({"bold": True, "font_size": 14})
    mode = "合并报表" if report.mode == "consolidated" else "汇总报表"

    def table(name: str, heading: str, header: list[str], rows: list[list[Any]]) -> None:
        sheet = book.add_worksheet(name)
        sheet.write(0, 0, heading, title)
        for c, h in enumerate(header):
            sheet.write(2, c, h, bold)
            sheet.set_column(c, c, 18 if c else 28)
        for r, values in enumerate(rows, start=3):
            for c, value in enumerate(values):
                # Excel keeps numbers as binary floats; cents stay exact below 10^13 yuan.
                if isinstance(value, Decimal):
                    sheet.write_number(r, c, float(value), money)
                else:
                    sheet.write(r, c, value)

    table(
        mode,
        f"{report.node_name} {report.period} {mode}",
        ["项目编码", "项目名称", "汇总数", "抵销数", "合并数"],
        [[i.item, i.label, i.aggregated, i.eliminated, i.consolidated] for i in report.items],
    )
    table(
        "抵销分录",
        "内部往来抵销 Eliminations",
        ["类型", "本方", "对方", "抵销层级", "本方金额", "对方金额", "差额"],
        [
            [
                e.kind,
                names.get(e.entity_id, str(e.entity_id)),
                names.get(e.partner_id, str(e.partner_id)),
                names.get(e.at_entity_id, "") if e.at_entity_id else "",
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
        ["主体", "穿透持股比例", "自身净资产", "少数股东权益", "净利润", "少数股东损益"],
        [
            [
                names.get(n.entity_id, str(n.entity_id)),
                n.effective_interest,
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
        [[names.get(v.entity_id, str(v.entity_id)), v.version] for v in report.statement_versions]
        + [[names.get(m, str(m)), "缺报 missing"] for m in report.missing_statements],
    )
    book.close()
    return buffer.getvalue()
