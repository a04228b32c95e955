"""The funds' pages: 基金 (the fund tree), a fund's page with its capital account, metrics,
J-curve, portfolio and capital-call form, and 母基金看板 (the mother fund's dashboard).

Every figure comes from the services the funds API calls (`service`, `capital`, `performance`,
`portfolio`, `lookthrough`, `checks`) under the API's permissions (reading `funds:read`, a call
`funds:write`) and scope: a fund manager sees and writes only their assigned funds and those
below them; a fund outside that is "not found" (404), as in the API, and its call form is never
offered. A call goes through `run_once` with the API's route key and a key made for each
rendering of the form (the API's Idempotency-Key), so a double click posts once. A call above the
LP's unfunded amount comes back as the API's 422 beside the amount field, with its numbers; the
service writes nothing then. Ratios are floats (as in the API); money stays Decimal. Charts take
their data from JSON embedded in the page.
"""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import polars as pl
from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from stateasset.auth.guards import allowed, requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today
from stateasset.core.errors import DomainError, NotFound, invalid
from stateasset.core.http import xlsx_download
from stateasset.core.idempotency import run_once
from stateasset.core.money import MONEY
from stateasset.core.periods import check_day
from stateasset.funds import (
    capital,
    checks,
    compute,
    lookthrough,
    performance,
    portfolio,
    service,
)
from stateasset.funds.schemas import (
    GP_KIND_LABELS,
    INDUSTRY_LABELS,
    PURPOSE_LABELS,
    CallCreate,
    CallPurpose,
    FeeBasis,
    FundNode,
    FundRead,
    Industry,
    Metrics,
)
from stateasset.web import format as fmt
from stateasset.web.forms import decode, problems_by_field
from stateasset.web.shell import PageController, is_htmx, page
from stateasset.web.table import Column, Table

Reader = Request[Actor, Any, Any]
FEE_BASIS_LABELS = {FeeBasis.paid_in: "按实缴", FeeBasis.invested: "按已投"}
CALL_FIELDS = ("commitment_id", "amount", "call_date", "due_on", "paid_on", "purpose", "note")
# The numbers behind a call refused as above the unfunded amount, as staff read them.
OVER_UNFUNDED_LABELS = (
    ("commitment", "认缴"),
    ("called", "已通知出资"),
    ("recallable", "可再次召回的分配"),
    ("unfunded", "未缴"),
    ("amount", "本次出资"),
    ("excess", "超出"),
)


def _key() -> str:
    """A fresh idempotency key for one rendering of the call form."""
    return secrets.token_urlsafe(16)


def _as_of(text: str | None) -> date:
    """The `as_of` query as a date (today when absent); a bad one is the API's 400-style problem."""
    if not text:
        return today()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise invalid("query.as_of", "a date such as 2026-09-30") from None
    return check_day(day)


def _multiple(value: float | None) -> float | None:
    """A multiple (DPI, TVPI…) rounded for the table: 4 places, sortable as a number."""
    return None if value is None else round(value, 4)


def _wan(amount: Decimal | None) -> str | None:
    """An amount in 万元 as a plain decimal string for a chart."""
    return None if amount is None else fmt.wan(amount).replace(",", "")


# ------------------------------------------------------------------------------------------
# 基金: the fund tree


def _gp_text(fund: FundRead) -> list[tuple[str, str]]:
    return [(g.name, g.role_label) for g in fund.gps]


def _gp_kinds(fund: FundRead) -> str:
    kinds = [GP_KIND_LABELS[g.kind] for g in fund.gps]
    return "双GP（" + "+".join(kinds) + "）" if len(kinds) == 2 else "".join(kinds)


def _tree_rows(nodes: list[FundNode], funds: dict[UUID, FundRead]) -> list[dict[str, Any]]:
    """The tree depth-first, each row with its depth: the mother, then its sub-funds."""
    out: list[dict[str, Any]] = []

    def walk(node: FundNode, depth: int) -> None:
        fund = funds[node.id]
        out.append(
            {
                "id": node.id,
                "name": node.name,
                "full_name": fund.name,
                "depth": depth,
                "category_label": node.category_label,
                "gps": _gp_text(fund),
                "gp_kind": _gp_kinds(fund),
                "size": node.size,
                "vintage": node.vintage,
                "industries": "、".join(fund.industry_labels),
            }
        )
        for child in node.children:
            walk(child, depth + 1)

    for node in nodes:
        walk(node, 0)
    return out


# ------------------------------------------------------------------------------------------
# A fund's page

CAPITAL = Table(
    "fund-capital",
    [
        Column("lp_name", "出资人（LP）"),
        Column("lp_kind", "出资性质", choices=True),
        Column("commitment", "认缴", "money"),
        Column("paid_in", "实缴", "money"),
        Column("unfunded", "未缴", "money"),
        Column("distributed", "累计分配", "money"),
        Column("nav", "应享净值", "money"),
        Column("nav_share", "净值份额", "ratio"),
    ],
    search=("lp_name",),
)
_CAPITAL_SCHEMA = {
    "lp_id": pl.String,
    "lp_name": pl.String,
    "lp_kind": pl.String,
    "commitment": MONEY,
    "paid_in": MONEY,
    "unfunded": MONEY,
    "distributed": MONEY,
    "nav": MONEY,
    "nav_share": pl.Float64,
}

PORTFOLIO = Table(
    "fund-portfolio",
    [
        Column("company_name", "被投企业"),
        Column("industry_label", "产业（3+N）", choices=True),
        Column("local_label", "本地/外地", choices=True),
        Column("stage_label", "阶段", choices=True),
        Column("invested_on", "投资日期", "date"),
        Column("amount", "投资金额", "money"),
        Column("share", "持股比例", "ratio"),
        Column("valuation", "最新估值", "money"),
        Column("exited_on", "退出日期", "date"),
        Column("exit_proceeds", "退出金额", "money"),
    ],
    search=("company_name",),
    default_sort="invested_on",
)
_PORTFOLIO_SCHEMA = {
    "company_name": pl.String,
    "industry_label": pl.String,
    "local_label": pl.String,
    "stage_label": pl.String,
    "invested_on": pl.Date,
    "amount": MONEY,
    "share": pl.Float64,
    "valuation": MONEY,
    "exited_on": pl.Date,
    "exit_proceeds": MONEY,
}


async def capital_frame(actor: Actor, fund_id: UUID, as_of: date) -> pl.DataFrame:
    """The capital account by LP as of `as_of` (capital.positions) with each LP's NAV share
    (performance.position_metrics: the fund's NAV × the LP's share of paid-in)."""
    positions = await capital.positions(actor=actor, fund_id=fund_id, as_of=as_of)
    navs = {
        m.lp_id: m.nav
        for m in await performance.position_metrics(actor=actor, fund_id=fund_id, as_of=as_of)
    }
    total = sum((navs.get(p.lp_id) or Decimal(0) for p in positions), Decimal(0))
    rows = [
        {
            "lp_id": str(p.lp_id),
            "lp_name": p.lp_name,
            "lp_kind": "政府出资" if p.government else "社会资本",
            "commitment": p.commitment,
            "paid_in": p.paid_in,
            "unfunded": p.unfunded,
            "distributed": p.distributed,
            "nav": navs.get(p.lp_id, Decimal("0.00")),
            "nav_share": float(navs.get(p.lp_id, 0) / total) if total else None,
        }
        for p in positions
    ]
    return pl.DataFrame(rows, schema=_CAPITAL_SCHEMA)


async def portfolio_frame(actor: Actor, fund_id: UUID, as_of: date) -> pl.DataFrame:
    """The fund's portfolio as of `as_of` (portfolio.list_investments), labelled."""
    rows = [
        {
            "company_name": i.company_name,
            "industry_label": i.industry_label,
            "local_label": "本地" if i.local else "外地",
            "stage_label": i.stage_label,
            "invested_on": i.invested_on,
            "amount": i.amount,
            "share": float(i.share),
            "valuation": i.valuation,
            "exited_on": i.exited_on,
            "exit_proceeds": i.exit_proceeds,
        }
        for i in await portfolio.list_investments(actor=actor, fund_id=fund_id, as_of=as_of)
    ]
    return pl.DataFrame(rows, schema=_PORTFOLIO_SCHEMA)


async def fund_metrics(actor: Actor, fund_id: UUID, as_of: date) -> Metrics | None:
    """The fund's metrics as of `as_of`, as `/api/v1/funds/metrics` gives them."""
    for row in await performance.fund_metrics(actor=actor, as_of=as_of):
        if row.fund_id == fund_id:
            return row
    return None


def _htmx_table(request: Reader) -> str | None:
    """The id of the table an htmx request swaps (its target is `tbl-<id>`)."""
    target = request.headers.get("hx-target") or ""
    return target.removeprefix("tbl-") if is_htmx(request) and target.startswith("tbl-") else None


# ------------------------------------------------------------------------------------------
# 母基金看板

METRICS = Table(
    "fund-metrics",
    [
        Column("name", "基金", "link", link="/funds/{id}"),
        Column("category_label", "类别", choices=True),
        Column("vintage", "设立年份", choices=True),
        Column("commitment", "认缴", "money"),
        Column("paid_in", "实缴", "money"),
        Column("distributed", "累计分配", "money"),
        Column("nav", "净值", "money"),
        Column("picc", "PICC", "ratio"),
        Column("dpi", "DPI"),
        Column("rvpi", "RVPI"),
        Column("tvpi", "TVPI"),
        Column("irr", "IRR", "ratio"),
        Column("irr_reason", "IRR 说明"),
    ],
    search=("name",),
)
_METRICS_SCHEMA = {
    "id": pl.String,
    "name": pl.String,
    "category_label": pl.String,
    "vintage": pl.String,
    "commitment": MONEY,
    "paid_in": MONEY,
    "unfunded": MONEY,
    "distributed": MONEY,
    "nav": MONEY,
    "picc": pl.Float64,
    "dpi": pl.Float64,
    "rvpi": pl.Float64,
    "tvpi": pl.Float64,
    "irr": pl.Float64,
    "irr_reason": pl.String,
}

IRR_REASON_LABELS = {
    compute.NO_OUTFLOW: "尚无实缴出资，IRR 无定义",
    compute.NO_INFLOW: "既无分配也无剩余净值，全部亏损，IRR 不存在",
    compute.NO_ROOT: "在 −99.9999% 至 10⁶ 之间无解，IRR 不存在",
}


def irr_reason(reason: str | None) -> str | None:
    """The service's reason an IRR is null in staff's words (as given when we have none)."""
    return None if reason is None else IRR_REASON_LABELS.get(reason, reason)


async def metrics_frame(actor: Actor, as_of: date) -> pl.DataFrame:
    """Every visible fund's metrics as of `as_of` (performance.fund_metrics) with its category
    and vintage, mother first."""
    funds = {f.id: f for f in await service.list_funds(actor=actor)}
    rows = []
    for m in await performance.fund_metrics(actor=actor, as_of=as_of):
        fund = funds.get(m.fund_id) if m.fund_id else None
        if fund is None:
            continue
        rows.append(
            {
                "id": str(fund.id),
                "name": fund.short_name or fund.name,
                "category_label": fund.category_label,
                "vintage": str(fund.terms.vintage),
                "commitment": m.commitment,
                "paid_in": m.paid_in,
                "unfunded": m.unfunded,
                "distributed": m.distributed,
                "nav": m.nav,
                "picc": m.picc,
                "dpi": _multiple(m.dpi),
                "rvpi": _multiple(m.rvpi),
                "tvpi": _multiple(m.tvpi),
                "irr": m.irr,
                "irr_reason": irr_reason(m.irr_reason),
                "_mother": fund.parent_id is None,
            }
        )
    rows.sort(key=lambda r: (not r.pop("_mother"), r["vintage"], r["name"]))
    return pl.DataFrame(rows, schema=_METRICS_SCHEMA)


def _crosstab(exposure: pl.DataFrame) -> list[dict[str, Any]]:
    """Look-through exposure by industry, local and elsewhere, in the 3+N order."""
    out = []
    for industry in Industry:
        part = exposure.filter(pl.col("industry") == industry.value)
        if part.is_empty():
            continue
        local = part.filter(pl.col("local"))["exposure"].sum()
        away = part.filter(~pl.col("local"))["exposure"].sum()
        out.append(
            {
                "industry": industry.value,
                "label": INDUSTRY_LABELS[industry],
                "local": Decimal(local or 0),
                "elsewhere": Decimal(away or 0),
                "total": Decimal(local or 0) + Decimal(away or 0),
                "companies": part.height,
            }
        )
    return out


# The figures behind a check (checks.py names them in English), as staff read them.
CHECK_NUMBER_LABELS = {
    "government_committed": "政府认缴",
    "total_committed": "认缴合计",
    "government_share": "政府出资比例",
    "cap": "上限",
    "counted": "认定返投",
    "mother_paid_in": "母基金实缴",
    "achieved": "已实现倍数",
    "expected_now": "当前应达倍数",
    "required": "要求倍数",
    "lp": "出资人",
    "amount": "金额",
    "called_on": "通知日期",
    "due_on": "缴款期限",
    "days_overdue": "逾期天数",
    "size": "基金规模",
    "invested": "已投金额",
    "deployed": "投资进度",
    "days_left": "投资期剩余天数",
}


def _checks_rows(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "fund_id": r.fund_id,
            "fund_name": r.fund_name,
            "kind": r.kind.value,
            "kind_label": r.kind_label,
            "message": r.message,
            "numbers": [(CHECK_NUMBER_LABELS.get(k, k), v) for k, v in r.numbers.items()],
        }
        for r in rows
    ]


class FundPages(PageController):
    """基金: the fund tree, a fund's page and its call form, the mother fund's dashboard."""

    path = "/funds"
    guards = [requires(Permission.funds_read)]

    @get("/")
    async def tree(self, request: Reader) -> Template:
        """The fund tree in scope: mother → direct / cooperative / special sub-funds."""
        actor = request.user
        funds = {f.id: f for f in await service.list_funds(actor=actor)}
        rows = _tree_rows(await service.fund_tree(actor=actor), funds)
        return page("funds/tree.html", request, rows=rows)

    # -- the mother fund's dashboard (before /{fund_id}: a literal path) --------------------

    @get("/mother")
    async def mother(self, request: Reader, as_of: FromQuery[str | None] = None) -> Template:
        """母基金看板: by vintage, leverage, 返投 per sub-fund, look-through and checks."""
        actor = request.user
        when = _as_of(as_of)
        mother_id = await service.mother_fund_id()
        if mother_id is None:
            return page("funds/mother.html", request, mother=None, as_of=when, reason="none")
        try:
            await service.ensure_fund_visible(actor, mother_id)
        except NotFound:
            return page("funds/mother.html", request, mother=None, as_of=when, reason="scope")
        fund = await service.get_fund(actor=actor, fund_id=mother_id)
        table = METRICS.view(await metrics_frame(actor, when), request.query_params)
        export_url = f"/funds/mother/metrics.xlsx?as_of={when.isoformat()}"
        if is_htmx(request):
            return page("_table.html", request, table=table, export_url=export_url)
        try:
            mine = await performance.mother_metrics(actor=actor, fund_id=mother_id, as_of=when)
        except NotFound:
            mine = None
        vintages = await performance.vintage_metrics(actor=actor, fund_id=mother_id, as_of=when)
        exposure = await lookthrough.look_through_frame(actor=actor, fund_id=mother_id, as_of=when)
        by_industry = _crosstab(exposure)
        flagged = _checks_rows(await checks.checks(actor=actor, as_of=when))
        reinvestment = mine.reinvestment if mine else []
        charts = {
            "vintage": {
                "years": [v.key for v in vintages],
                "tvpi": [_multiple(v.tvpi) for v in vintages],
                "dpi": [_multiple(v.dpi) for v in vintages],
                "irr": [None if v.irr is None else round(v.irr * 100, 2) for v in vintages],
            },
            "reinvestment": {
                "funds": [r.name for r in reinvestment],
                "achieved": [_multiple(r.achieved) for r in reinvestment],
                "expected": [_multiple(r.expected_now) for r in reinvestment],
                "required": [_multiple(r.required) for r in reinvestment],
            },
            "industry": {
                "industries": [r["label"] for r in by_industry],
                "local": [_wan(r["local"]) for r in by_industry],
                "elsewhere": [_wan(r["elsewhere"]) for r in by_industry],
            },
        }
        return page(
            "funds/mother.html",
            request,
            mother=fund,
            as_of=when,
            mine=mine,
            vintages=vintages,
            by_industry=by_industry,
            exposure_totals={
                k: sum((r[k] for r in by_industry), Decimal(0))
                for k in ("local", "elsewhere", "total")
            },
            companies=[
                {**c, "industry_label": INDUSTRY_LABELS[Industry(c["industry"])]}
                for c in exposure.head(15).to_dicts()
            ],
            company_count=exposure.height,
            flagged=flagged,
            charts=charts,
            table=table,
            export_url=export_url,
            irr_reason=irr_reason,
        )

    @get("/mother/metrics.xlsx")
    async def mother_export(
        self, request: Reader, as_of: FromQuery[str | None] = None
    ) -> Response[bytes]:
        """Every visible fund's metrics as of the date, as filtered and sorted, as XLSX."""
        when = _as_of(as_of)
        frame = await metrics_frame(request.user, when)
        content = METRICS.xlsx(frame, request.query_params, f"基金业绩 {when.isoformat()}")
        return xlsx_download(content, f"基金业绩-{when.isoformat()}.xlsx")

    # -- a fund --------------------------------------------------------------------------

    @get("/{fund_id:uuid}")
    async def fund(
        self,
        request: Reader,
        fund_id: FromPath[UUID],
        as_of: FromQuery[str | None] = None,
        done: FromQuery[str | None] = None,
    ) -> Template:
        """A fund: terms, capital account by LP, metrics and J-curve as of a date, portfolio."""
        return await self._render(request, fund_id, _as_of(as_of), done=done)

    @get("/{fund_id:uuid}/capital.xlsx")
    async def capital_export(
        self, request: Reader, fund_id: FromPath[UUID], as_of: FromQuery[str | None] = None
    ) -> Response[bytes]:
        """The capital account by LP as of the date (出资台账), as filtered and sorted, as XLSX."""
        when = _as_of(as_of)
        fund = await service.get_fund(actor=request.user, fund_id=fund_id)
        frame = await capital_frame(request.user, fund_id, when)
        name = fund.short_name or fund.name
        content = CAPITAL.xlsx(frame, request.query_params, "出资台账")
        return xlsx_download(content, f"出资台账-{name}-{when.isoformat()}.xlsx")

    @get("/{fund_id:uuid}/portfolio.xlsx")
    async def portfolio_export(
        self, request: Reader, fund_id: FromPath[UUID], as_of: FromQuery[str | None] = None
    ) -> Response[bytes]:
        """The portfolio as of the date, as filtered and sorted, as XLSX."""
        when = _as_of(as_of)
        fund = await service.get_fund(actor=request.user, fund_id=fund_id)
        frame = await portfolio_frame(request.user, fund_id, when)
        content = PORTFOLIO.xlsx(frame, request.query_params, "投资组合")
        return xlsx_download(content, f"投资组合-{fund.short_name or fund.name}.xlsx")

    @post("/{fund_id:uuid}/calls", guards=[requires(Permission.funds_write)], status_code=303)
    async def call(self, request: Reader, fund_id: FromPath[UUID]) -> Response[Any]:
        """A capital call on one LP through the API's service, once per form rendering."""
        actor = request.user
        # Outside the actor's funds: not found, as the API answers, before reading the form.
        await service.ensure_fund_visible(actor, fund_id)
        form: FormMultiDict = await request.form()
        typed = {k: str(form.get(k) or "").strip()[:1000] for k in CALL_FIELDS}
        typed["outside_commitment"] = "1" if form.get("outside_commitment") else ""
        try:
            body: dict[str, Any] = {
                k: v for k, v in typed.items() if v and k != "outside_commitment"
            }
            body["outside_commitment"] = bool(typed["outside_commitment"])
            for required in ("commitment_id", "amount", "call_date"):
                if not typed[required]:
                    raise invalid(f"body.{required}", "必填")
            data = decode(body, CallCreate)
            await run_once(
                key=str(form.get("idempotency_key") or "")[:200] or None,
                actor=actor.username,
                route=f"funds.{fund_id}.calls",
                payload=data,
                work=lambda: capital.create_call(actor=actor, fund_id=fund_id, data=data),
                required=True,
            )
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            return await self._render(
                request, fund_id, today(), form=typed, refused=exc, status_code=exc.status
            )
        return Redirect(f"/funds/{fund_id}?done=called", status_code=303)

    async def _render(
        self,
        request: Reader,
        fund_id: UUID,
        as_of: date,
        *,
        done: str | None = None,
        form: dict[str, str] | None = None,
        refused: DomainError | None = None,
        status_code: int = 200,
    ) -> Template:
        actor = request.user
        fund = await service.get_fund(actor=actor, fund_id=fund_id)
        capital_rows = await capital_frame(actor, fund_id, as_of)
        holdings = await portfolio_frame(actor, fund_id, as_of)
        suffix = f"?as_of={as_of.isoformat()}"
        capital_view = CAPITAL.view(capital_rows, request.query_params)
        portfolio_view = PORTFOLIO.view(holdings, request.query_params)
        exports = {
            CAPITAL.id: f"/funds/{fund_id}/capital.xlsx{suffix}",
            PORTFOLIO.id: f"/funds/{fund_id}/portfolio.xlsx{suffix}",
        }
        swapped = _htmx_table(request)
        if swapped in exports:
            view = capital_view if swapped == CAPITAL.id else portfolio_view
            return page("_table.html", request, table=view, export_url=exports[swapped])
        metrics = await fund_metrics(actor, fund_id, as_of)
        curve = await performance.j_curve(actor=actor, fund_id=fund_id)
        parent = (
            await service.get_fund(actor=actor, fund_id=fund.parent_id)
            if fund.parent_id and await _visible(actor, fund.parent_id)
            else None
        )
        can_call = allowed(actor, Permission.funds_write)
        # The form's LPs with what they owe now, whatever date the figures above are as of.
        lps = (
            [
                {
                    "commitment_id": str(p.commitment_id),
                    "lp_name": p.lp_name,
                    "unfunded": p.unfunded,
                }
                for p in await capital.positions(actor=actor, fund_id=fund_id)
            ]
            if can_call
            else []
        )
        chart = {
            "quarters": [p.quarter for p in curve],
            "cumulative": [_wan(p.cumulative_net) for p in curve],
            "nav": [_wan(p.nav) for p in curve],
        }
        return page(
            "funds/fund.html",
            request,
            status_code=status_code,
            fund=fund,
            parent=parent,
            as_of=as_of,
            metrics=metrics,
            irr_reason=irr_reason(metrics.irr_reason) if metrics else None,
            capital_table=capital_view,
            portfolio_table=portfolio_view,
            exports=exports,
            fee_basis=FEE_BASIS_LABELS.get(fund.terms.fee_basis, fund.terms.fee_basis),
            chart=chart,
            curve=curve,
            can_call=can_call,
            lps=lps,
            purposes=[(p.value, PURPOSE_LABELS[p.value]) for p in CallPurpose],
            form=form or {"call_date": today().isoformat(), "purpose": "investment"},
            refused=refused,
            problems=_call_problems(refused),
            numbers=[
                (label, refused.extra[k])
                for k, label in OVER_UNFUNDED_LABELS
                if refused is not None and k in refused.extra
            ],
            idempotency_key=_key(),
            done=done,
        )


def _call_problems(refused: DomainError | None) -> dict[str, str]:
    """The refusal's problems by field; above the unfunded amount, the amount's in Chinese (the
    numbers follow it, the API's own sentence stays in the banner above the form)."""
    if refused is None:
        return {}
    problems = problems_by_field(refused)
    if "excess" in refused.extra and "body.amount" in problems:
        problems["body.amount"] = (
            f"超出未缴金额 {fmt.yuan(refused.extra['excess'])} 元："
            "认缴 − 已通知出资 + 可再次召回的分配 = 未缴（认缴外出资请勾选“认缴外出资”）"
        )
    return problems


async def _visible(actor: Actor, fund_id: UUID) -> bool:
    try:
        await service.ensure_fund_visible(actor, fund_id)
    except NotFound:
        return False
    return True


FUND_PAGES = [FundPages]
