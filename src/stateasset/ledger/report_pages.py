"""合并报表: the consolidated report of any node and period, its drill-down, and its workbook.

Every view reads the report through `ledger.consolidation`, as GET /api/v1/ledger/consolidation
does (same node syntax, same members, stored or computed alike), with every elimination listed.
The node and period live in the path (`/ledger/consolidation/2026-Q3/platform:<id>`), so each
tab's table keeps them while its own state (sort, filter, page) lives in the query. The tabs:
the items (aggregated − eliminated = consolidated, summary rows apart), the eliminations by pair,
the minority interest by member, and per item each member's amount with the statement version
it came from. The workbook is the API's (`consolidation_workbook`). Periods are offered and
states named as on the 快报 page (`close_pages`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import polars as pl
from litestar import Request, Response, get
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from stateasset.auth.guards import allowed, requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today
from stateasset.core.errors import DomainError, NotFound
from stateasset.core.http import xlsx_download
from stateasset.core.periods import period_of, quarter_period
from stateasset.ledger import consolidation, service
from stateasset.ledger.catalogue import ITEM_BY_CODE, ITEMS
from stateasset.ledger.close_pages import STATE_LABELS, period_choices
from stateasset.ledger.schemas import (
    SEGMENT_LABELS,
    ConsolidationRead,
    EliminationDetail,
    EliminationKind,
    EntityKind,
    ResultSource,
)
from stateasset.web.shell import PageController, is_htmx, page
from stateasset.web.table import Column, Table

Reader = Request[Actor, Any, Any]
BASE = "/ledger/consolidation"

ELIMINATION_LABELS = {
    EliminationKind.receivable_payable: "内部往来（应收应付）",
    EliminationKind.revenue_cost: "内部交易（收入成本）",
    EliminationKind.unrealized_profit: "未实现内部销售利润",
    EliminationKind.investment: "长期股权投资与权益",
    EliminationKind.treasury_stock: "库存股",
}
# Entities that file statements, and so can head a consolidation.
REPORTING_KINDS = (EntityKind.group, EntityKind.platform, EntityKind.subsidiary)
_ORDER = {item.code: index for index, item in enumerate(ITEMS)}

ITEMS_TABLE = Table(
    "consolidation-items",
    [
        Column("label", "项目", "link", link="{drill}"),
        Column("aggregated", "汇总数", "money"),
        Column("eliminated", "抵销数", "money"),
        Column("consolidated", "合并数", "money"),
    ],
    search=("label", "item"),
    page_size=100,
)
ELIMINATIONS_TABLE = Table(
    "consolidation-eliminations",
    [
        Column("kind_label", "抵销类型", choices=True),
        Column("entity", "本方", "link", link="/ledger/entities/{entity_id}"),
        Column("partner", "对方", "link", link="/ledger/entities/{partner_id}"),
        Column("at", "抵销层级", choices=True),
        Column("entity_amount", "本方金额", "money"),
        Column("partner_amount", "对方金额", "money"),
        Column("difference", "差额", "money"),
    ],
    search=("entity", "partner"),
)
NCI_TABLE = Table(
    "consolidation-nci",
    [
        Column("entity", "成员", "link", link="/ledger/entities/{entity_id}"),
        Column("consolidated_interest", "归母权益比例", "ratio"),
        Column("own_net_assets", "自身净资产", "money"),
        Column("non_controlling_interest", "少数股东权益", "money"),
        Column("net_profit", "净利润", "money"),
        Column("nci_profit", "少数股东损益", "money"),
    ],
    search=("entity",),
)
MEMBERS_TABLE = Table(
    "consolidation-members",
    [
        Column("entity", "成员", "link", link="/ledger/entities/{entity_id}"),
        Column("amount", "金额", "money"),
        Column("version_label", "所用报表版本", "link", link="{statement}"),
        Column("state_label", "期间状态", choices=True),
    ],
    search=("entity",),
    page_size=100,
)
TABLES = {"items": ITEMS_TABLE, "eliminations": ELIMINATIONS_TABLE, "nci": NCI_TABLE}
TABS = {
    "items": ("报表项目", ""),
    "eliminations": ("抵销分录", "/eliminations"),
    "nci": ("少数股东权益", "/nci"),
}
SHEETS = {"items": "合并报表项目", "eliminations": "抵销分录", "nci": "少数股东权益"}

_MONEY = pl.Decimal(38, 2)


def default_period(on: date) -> str:
    """The quarter before `on`'s: the one being closed or just closed."""
    quarter = (on.month - 1) // 3 + 1
    year, quarter = (on.year, quarter - 1) if quarter > 1 else (on.year - 1, 4)
    return quarter_period(year, quarter).code


async def periods_for(actor: Actor) -> list[str]:
    """The periods to suggest, newest first: those filed in scope, as the 快报 page offers them;
    the last quarter when nothing is filed yet."""
    return await period_choices(actor) or [default_period(today())]


async def node_options(actor: Actor) -> list[tuple[str, list[tuple[str, str]]]]:
    """The nodes the actor may consolidate, grouped for a select: (group label, [(node, name)])."""
    visible = (await service.list_entities(actor=actor, limit=1_000_000)).items
    reporting = [e for e in visible if e.kind in REPORTING_KINDS]
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    if allowed(actor, Permission.ledger_all):
        group = next((e for e in reporting if e.kind == EntityKind.group), None)
        if group is not None:
            groups.append(("集团", [("group", group.name)]))
    platforms = [(f"platform:{e.id}", e.name) for e in reporting if e.kind == EntityKind.platform]
    if platforms:
        groups.append(("平台公司（五大投）", platforms))
    if allowed(actor, Permission.ledger_all):
        groups.append(
            ("业务板块", [(f"segment:{s.value}", label) for s, label in SEGMENT_LABELS.items()])
        )
    groups.append(("主体", [(f"entity:{e.id}", e.name) for e in reporting]))
    return groups


async def default_node(actor: Actor) -> str:
    """The group for who sees it all; a scoped user's own platform or entity otherwise."""
    if allowed(actor, Permission.ledger_all) or actor.entity_id is None:
        return "group"
    own = await service.get_entity(actor=actor, entity_id=actor.entity_id)
    kind = "platform" if own.kind == EntityKind.platform else "entity"
    return f"{kind}:{own.id}"


def _scoped(actor: Actor, exc: NotFound) -> Exception:
    """A node outside a scoped user's scope is 403 on a page (the API says not found)."""
    if allowed(actor, Permission.ledger_all):
        return exc
    return PermissionDeniedException("outside the user's scope")


async def short_names(actor: Actor) -> dict[UUID, str]:
    """Each visible entity's short name (its name when it has none): wide tables stay readable."""
    listed = await service.list_entities(actor=actor, limit=1_000_000)
    return {e.id: e.short_name or e.name for e in listed.items}


async def report_of(actor: Actor, node: str, period: str) -> ConsolidationRead:
    """The consolidated report, every elimination listed, exactly as the API computes it."""
    try:
        return await consolidation.consolidation(
            actor=actor, node=node, period=period, detail=EliminationDetail.all
        )
    except NotFound as exc:
        raise _scoped(actor, exc) from exc


def _url(period: str, node: str, tail: str = "") -> str:
    return f"{BASE}/{period}/{node}{tail}"


def items_frame(report: ConsolidationRead) -> pl.DataFrame:
    """The statement items (not the summary rows), in catalogue order, each with its drill-down."""
    rows = [
        {
            "item": i.item,
            "label": i.label,
            "aggregated": i.aggregated,
            "eliminated": i.eliminated,
            "consolidated": i.consolidated,
            "drill": _url(report.period, report.node, f"/items/{i.item}"),
        }
        for i in sorted(report.items, key=lambda i: _ORDER.get(i.item, len(_ORDER)))
        if i.aggregated is not None
    ]
    schema = {
        "item": pl.String,
        "label": pl.String,
        "aggregated": _MONEY,
        "eliminated": _MONEY,
        "consolidated": _MONEY,
        "drill": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def summary_rows(report: ConsolidationRead) -> list[dict[str, Any]]:
    """The summary rows (NCI, attributable equity, unrealized profit, …), in the report's order."""
    order = list(consolidation.SUMMARY_LABELS)
    rows = [i for i in report.items if i.aggregated is None]
    rows.sort(key=lambda i: order.index(i.item) if i.item in order else len(order))
    return [{"item": i.item, "label": i.label, "amount": i.consolidated} for i in rows]


def eliminations_frame(report: ConsolidationRead, names: dict[UUID, str]) -> pl.DataFrame:
    """Every elimination by pair, with Chinese kinds and the members' (short) names."""
    rows = [
        {
            "kind_label": ELIMINATION_LABELS[e.kind],
            "entity_id": str(e.entity_id),
            "entity": names.get(e.entity_id, str(e.entity_id)),
            "partner_id": str(e.partner_id),
            "partner": names.get(e.partner_id, str(e.partner_id)),
            "at": names.get(e.at_entity_id, "") if e.at_entity_id else "",
            "entity_amount": e.entity_amount,
            "partner_amount": e.partner_amount,
            "difference": e.difference,
        }
        for e in report.eliminations
    ]
    schema = {
        "kind_label": pl.String,
        "entity_id": pl.String,
        "entity": pl.String,
        "partner_id": pl.String,
        "partner": pl.String,
        "at": pl.String,
        "entity_amount": _MONEY,
        "partner_amount": _MONEY,
        "difference": _MONEY,
    }
    return pl.DataFrame(rows, schema=schema)


def nci_frame(report: ConsolidationRead, names: dict[UUID, str]) -> pl.DataFrame:
    """少数股东权益 by member."""
    rows = [
        {
            "entity_id": str(n.entity_id),
            "entity": names.get(n.entity_id, str(n.entity_id)),
            "consolidated_interest": n.consolidated_interest,
            "own_net_assets": n.own_net_assets,
            "non_controlling_interest": n.non_controlling_interest,
            "net_profit": n.net_profit,
            "nci_profit": n.nci_profit,
        }
        for n in report.nci
    ]
    schema = {
        "entity_id": pl.String,
        "entity": pl.String,
        "consolidated_interest": pl.Float64,
        "own_net_assets": _MONEY,
        "non_controlling_interest": _MONEY,
        "net_profit": _MONEY,
        "nci_profit": _MONEY,
    }
    return pl.DataFrame(rows, schema=schema)


def statement_url(entity_id: str, period: str, version: int) -> str:
    """The statements page (快报) at the version a report used, read only."""
    return f"/ledger/reports/{entity_id}/{period}/{version}"


async def members_frame(
    actor: Actor, node: str, period: str, item: str, names: dict[UUID, str]
) -> pl.DataFrame:
    """Each consolidated member's amount of `item` and the statement version it came from."""
    try:
        lines = await consolidation.member_lines(actor=actor, node=node, period=period)
    except NotFound as exc:
        raise _scoped(actor, exc) from exc
    by_name = {str(k): v for k, v in names.items()}
    rows = [
        {
            "entity_id": r["entity_id"],
            "entity": by_name.get(r["entity_id"], r["entity_id"]),
            "amount": r["amount"],
            "version_label": f"第 {r['version']} 版",
            "statement": statement_url(r["entity_id"], period, r["version"]),
            "state_label": STATE_LABELS.get(r["state"], r["state"]),
        }
        for r in lines.filter(pl.col("item") == item).iter_rows(named=True)
    ]
    schema = {
        "entity_id": pl.String,
        "entity": pl.String,
        "amount": _MONEY,
        "version_label": pl.String,
        "statement": pl.String,
        "state_label": pl.String,
    }
    return pl.DataFrame(rows, schema=schema).sort("amount", descending=True, nulls_last=True)


def notes(report: ConsolidationRead, names: dict[UUID, str]) -> list[str]:
    """What staff should know about the result, in their words: gaps and differences explained."""
    out: list[str] = []

    def name(entity_id: UUID) -> str:
        return names.get(entity_id, str(entity_id))

    if report.missing_statements:
        missing = "、".join(name(m) for m in report.missing_statements)
        out.append(f"{len(report.missing_statements)} 个成员本期没有报表，未纳入合并：{missing}。")
    for m in report.missing_investment_lines:
        out.append(
            f"{name(m.holder_id)} 持有 {name(m.held_id)} {Decimal(repr(m.economic_share)):.2%}，"
            "但未填报长期股权投资内部往来行，该投资未抵销。"
        )
    differences = [e for e in report.eliminations if e.difference]
    for e in differences:
        kind = ELIMINATION_LABELS[e.kind]
        out.append(
            f"抵销差额：{kind} {name(e.entity_id)} 与 {name(e.partner_id)} 两方不一致，"
            f"本方 {e.entity_amount:,.2f}，对方 {(e.partner_amount or Decimal(0)):,.2f}，"
            f"差额 {e.difference:,.2f}，计入抵销差额项目。"
        )
    total = next((i.consolidated for i in report.items if i.item == "elimination_difference"), None)
    if not differences and not total:
        out.append("内部往来两方金额一致，抵销差额为零。")
    if any("inventory_held" in n for n in report.notes):
        out.append("部分内部销售没有期末存货（inventory_held）行，未抵销未实现内部销售利润。")
    return out


class ConsolidationPages(PageController):
    path = BASE
    guards = [requires(Permission.ledger_statements)]

    @get("/")
    async def choose(
        self,
        request: Reader,
        node: FromQuery[str | None] = None,
        period: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """合并报表: go to the chosen node and period (by default the group's last quarter)."""
        node = (node or "").strip() or await default_node(request.user)
        periods = await periods_for(request.user)
        period = (period or "").strip() or periods[0]
        problems: dict[str, str] = {}
        try:
            period_of(period, "query.period")
        except DomainError as exc:
            problems.update({e.field: e.reason for e in exc.errors})
        options = await node_options(request.user)
        if node not in {value for _, group in options for value, _ in group}:
            problems["query.node"] = "请选择可查看的合并范围（集团、平台公司、业务板块或主体）"
        if problems:
            return page(
                "ledger/consolidation.html",
                request,
                status_code=422,
                report=None,
                options=options,
                node=node,
                period=period,
                periods=periods,
                problems=problems,
            )
        return Redirect(_url(period, node), status_code=303)

    async def _tab(self, request: Reader, period: str, node: str, tab: str) -> Template:
        report = await report_of(request.user, node, period)
        names = await service.entity_names()
        frame = _frame(tab, report, names, await short_names(request.user))
        table = TABLES[tab].view(frame, request.query_params)
        export_url = _url(period, node, f"/export/{tab}") + table.url(page=None).rstrip("?")
        if is_htmx(request):
            return page("_table.html", request, table=table, export_url=export_url)
        return page(
            "ledger/consolidation.html",
            request,
            report=report,
            tab=tab,
            tabs={k: (label, _url(period, node, tail)) for k, (label, tail) in TABS.items()},
            table=table,
            export_url=export_url,
            summary=summary_rows(report),
            notes=notes(report, names),
            elimination_summary=[
                (ELIMINATION_LABELS[s.kind], s) for s in report.elimination_summary
            ],
            options=await node_options(request.user),
            node=node,
            period=period,
            periods=await periods_for(request.user),
            problems={},
            workbook_url=_url(period, node, "/report.xlsx"),
            members=len(report.members),
            source=source_label(report.source),
        )

    @get("/{period:str}/{node:str}")
    async def items(self, request: Reader, period: FromPath[str], node: FromPath[str]) -> Template:
        """The report's items: aggregated, eliminated, consolidated; summary rows apart."""
        return await self._tab(request, period, node, "items")

    @get("/{period:str}/{node:str}/eliminations")
    async def eliminations(
        self, request: Reader, period: FromPath[str], node: FromPath[str]
    ) -> Template:
        """Every elimination by pair."""
        return await self._tab(request, period, node, "eliminations")

    @get("/{period:str}/{node:str}/nci")
    async def nci(self, request: Reader, period: FromPath[str], node: FromPath[str]) -> Template:
        """The minority interest by member."""
        return await self._tab(request, period, node, "nci")

    @get("/{period:str}/{node:str}/items/{item:str}")
    async def item(
        self, request: Reader, period: FromPath[str], node: FromPath[str], item: FromPath[str]
    ) -> Template:
        """One item: each member's amount and the statement version the report used."""
        report = await report_of(request.user, node, period)
        row = next((i for i in report.items if i.item == item and i.aggregated is not None), None)
        if item not in ITEM_BY_CODE or row is None:
            raise NotFound(f"no item {item!r} in this report")
        names = await service.entity_names()
        frame = await members_frame(request.user, node, period, item, names)
        table = MEMBERS_TABLE.view(frame, request.query_params)
        export_url = _url(period, node, f"/items/{item}/export.xlsx") + table.url(page=None).rstrip(
            "?"
        )
        if is_htmx(request):
            return page("_table.html", request, table=table, export_url=export_url)
        return page(
            "ledger/consolidation_item.html",
            request,
            report=report,
            row=row,
            table=table,
            export_url=export_url,
            members_total=sum(frame["amount"].to_list(), Decimal(0)),
            back=_url(period, node),
            source=source_label(report.source),
        )

    @get("/{period:str}/{node:str}/items/{item:str}/export.xlsx")
    async def item_export(
        self, request: Reader, period: FromPath[str], node: FromPath[str], item: FromPath[str]
    ) -> Response[bytes]:
        """One item's members as filtered and sorted, as XLSX."""
        if item not in ITEM_BY_CODE:
            raise NotFound(f"no item {item!r}")
        frame = await members_frame(request.user, node, period, item, await service.entity_names())
        content = MEMBERS_TABLE.xlsx(frame, request.query_params, ITEM_BY_CODE[item].label)
        return xlsx_download(content, f"consolidation-{period}-{item}.xlsx")

    @get("/{period:str}/{node:str}/export/{tab:str}")
    async def export(
        self, request: Reader, period: FromPath[str], node: FromPath[str], tab: FromPath[str]
    ) -> Response[bytes]:
        """One tab's table as filtered and sorted, every row, as XLSX."""
        if tab not in TABLES:
            raise NotFound(f"no table {tab!r}")
        report = await report_of(request.user, node, period)
        frame = _frame(tab, report, await service.entity_names(), await short_names(request.user))
        content = TABLES[tab].xlsx(frame, request.query_params, SHEETS[tab])
        return xlsx_download(content, f"consolidation-{period}-{tab}.xlsx")

    @get("/{period:str}/{node:str}/report.xlsx")
    async def workbook(
        self, request: Reader, period: FromPath[str], node: FromPath[str]
    ) -> Response[bytes]:
        """The whole report as the API's workbook: items, eliminations, NCI, versions used."""
        report = await report_of(request.user, node, period)
        content = consolidation.consolidation_workbook(report, await service.entity_names())
        return xlsx_download(content, f"consolidation-{period}.xlsx")


def _frame(
    tab: str, report: ConsolidationRead, names: dict[UUID, str], short: dict[UUID, str]
) -> pl.DataFrame:
    if tab == "eliminations":
        return eliminations_frame(report, {**names, **short})
    if tab == "nci":
        return nci_frame(report, names)
    return items_frame(report)


def source_label(source: ResultSource) -> str:
    """Where the figures came from, as staff read it."""
    if source == ResultSource.stored:
        return "存储结果：成员期间均已锁定，读取已保存的合并结果"
    # The first request after a lock computes too (and stores what it computed).
    return "即时计算：按各成员当前报表版本计算"


REPORT_PAGES = [ConsolidationPages]
