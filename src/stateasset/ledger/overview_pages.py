"""集团概览 (group overview): the consolidated figures of a period, by platform and segment, over
time, and how far the period's close has come.

Every figure is the consolidated (合并) amount the consolidation service gives the API's
`/api/v1/ledger/consolidation` (`ledger.consolidation`), for the group, or for a scoped user's own
entity and what it controls (城建投 for its finance staff), each platform (五大投) they can see, and
each business segment (业务板块, group-wide users only: a segment belongs to the group). The close
progress is the period board (`closing.periods.period_board`). Figures need `ledger:statements`,
as the consolidation route does; a user with only `ledger:read` (a fund manager) gets the page
without them. Charts take their data from JSON embedded in the page: no extra endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from stateasset.auth.guards import allowed, requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.errors import NotFound
from stateasset.core.http import xlsx_download
from stateasset.core.money import MONEY
from stateasset.core.periods import period_of
from stateasset.ledger import consolidation, service
from stateasset.ledger.close_pages import STATE_LABELS, period_choices
from stateasset.ledger.closing import periods
from stateasset.ledger.schemas import SEGMENT_LABELS, EntityKind, Segment
from stateasset.web import format as fmt
from stateasset.web.shell import PageController, is_htmx, page
from stateasset.web.table import Column, Table

Reader = Request[Actor, Any, Any]

FIGURES: tuple[tuple[str, str], ...] = (
    ("total_assets", "资产总计"),
    ("total_liabilities", "负债合计"),
    ("total_equity", "所有者权益合计"),
    ("revenue", "营业收入"),
    ("net_profit", "净利润"),
    ("non_controlling_interest", "少数股东权益"),
)
# What the bar charts compare across platforms and segments.
BAR_FIGURES = ("total_assets", "total_liabilities", "revenue", "net_profit")

DIMENSIONS = Table(
    "overview",
    [
        Column("dimension", "维度", choices=True),
        Column("name", "名称"),
        *(Column(code, label, "money") for code, label in FIGURES),
    ],
    search=("name",),
)
_SCHEMA = {"dimension": pl.String, "name": pl.String, **{code: MONEY for code, _ in FIGURES}}


@dataclass
class Slice:
    """One node's consolidated figures for a period (None: an item it does not report)."""

    dimension: str
    name: str
    figures: dict[str, Decimal | None]


def _node_of(actor: Actor) -> str | None:
    """The node the actor's overview consolidates: the group, or their own entity when scoped."""
    if allowed(actor, Permission.ledger_all):
        return "group"
    return f"entity:{actor.entity_id}" if actor.entity_id else None


async def _figures(actor: Actor, node: str, period: str) -> tuple[str, dict[str, Decimal | None]]:
    """The node's name and consolidated figures for `period`, from the consolidation service."""
    report = await consolidation.consolidation(actor=actor, node=node, period=period)
    amounts = {row.item: row.consolidated for row in report.items}
    return report.node_name, {code: amounts.get(code) for code, _ in FIGURES}


async def _slices(actor: Actor, period: str) -> list[Slice]:
    """The period by platform (those the actor sees) and, for group-wide users, by segment."""
    platforms = await service.list_entities(actor=actor, kind=EntityKind.platform, limit=1_000_000)
    out = []
    for platform in platforms.items:
        _, figures = await _figures(actor, f"platform:{platform.id}", period)
        out.append(Slice("平台", platform.short_name or platform.name, figures))
    if allowed(actor, Permission.ledger_all):
        for segment in Segment:
            _, figures = await _figures(actor, f"segment:{segment.value}", period)
            out.append(Slice("板块", SEGMENT_LABELS[segment], figures))
    return out


def _frame(slices: list[Slice]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"dimension": s.dimension, "name": s.name, **s.figures} for s in slices], schema=_SCHEMA
    )


def _wan(amount: Decimal | None) -> str | None:
    """An amount in 万元 as a plain decimal string for a chart (the page's own rounding)."""
    return None if amount is None else fmt.wan(amount).replace(",", "")


def _bars(slices: list[Slice], dimension: str) -> dict[str, Any]:
    chosen = [s for s in slices if s.dimension == dimension]
    labels = dict(FIGURES)
    return {
        "categories": [s.name for s in chosen],
        "series": [
            {"name": labels[code], "data": [_wan(s.figures[code]) for s in chosen]}
            for code in BAR_FIGURES
        ],
    }


class OverviewPages(PageController):
    """集团概览, the start page."""

    guards = [requires(Permission.ledger_read)]

    @get("/")
    async def overview(
        self, request: Reader, period: FromQuery[str | None] = None
    ) -> Response[Any] | Template:
        """The latest period with statements, or on to the one picked."""
        if period:
            period_of(period, "query.period")
            return Redirect(f"/overview/{period}", status_code=303)
        return await self._render(request, None)

    @get("/overview/{period:str}")
    async def overview_of(self, request: Reader, period: FromPath[str]) -> Template:
        """集团概览 of one period."""
        period_of(period, "path.period")
        return await self._render(request, period)

    @get("/overview/{period:str}/export.xlsx", guards=[requires(Permission.ledger_statements)])
    async def export(self, request: Reader, period: FromPath[str]) -> Response[bytes]:
        """The figures by platform and segment, as filtered and sorted, as XLSX."""
        period_of(period, "path.period")
        frame = _frame(await _slices(request.user, period))
        content = DIMENSIONS.xlsx(frame, request.query_params, "集团概览")
        return xlsx_download(content, f"overview-{period}.xlsx")

    async def _render(self, request: Reader, period: str | None) -> Template:
        actor = request.user
        node = _node_of(actor)
        if not allowed(actor, Permission.ledger_statements) or node is None:
            return page("ledger/overview.html", request, period=None, figures_allowed=False)
        choices = await period_choices(actor)
        period = period or (choices[0] if choices else None)
        if period is None:
            return page("ledger/overview.html", request, period=None, figures_allowed=True)
        if period not in choices:
            choices.insert(0, period)
        try:
            node_name, figures = await _figures(actor, node, period)
        except NotFound:  # no group registered yet
            return page("ledger/overview.html", request, period=None, figures_allowed=True)
        slices = await _slices(actor, period)
        table = DIMENSIONS.view(_frame(slices), request.query_params)
        export_url = f"/overview/{period}/export.xlsx" + table.url(page=None).rstrip("?")
        if is_htmx(request):
            return page("_table.html", request, table=table, export_url=export_url)
        trend = []
        for code in reversed(choices):
            trend.append((code, (await _figures(actor, node, code))[1]))
        board = await periods.period_board(actor=actor, period=period)
        progress = {
            label: sum(1 for row in board if row.state == state)
            for state, label in STATE_LABELS.items()
        }
        charts = {
            "platforms": _bars(slices, "平台"),
            "segments": _bars(slices, "板块"),
            "trend": {
                "periods": [fmt.period_label(code) for code, _ in trend],
                "series": [
                    {"name": label, "data": [_wan(f[code]) for _, f in trend]}
                    for code, label in FIGURES
                ],
            },
        }
        return page(
            "ledger/overview.html",
            request,
            figures_allowed=True,
            period=period,
            periods=choices,
            node_name=node_name,
            group_wide=node == "group",
            figures=[(code, label, figures[code]) for code, label in FIGURES],
            progress=progress,
            reporting=len(board),
            charts=charts,
            table=table,
            export_url=export_url,
        )


OVERVIEW_PAGES = [OverviewPages]
