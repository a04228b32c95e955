"""考核评分: the board's scorecard ranking for a year, and one company's scorecard with the
arithmetic behind each indicator's score (DOMAIN.md §8).

Both read only through the KPI service the API calls (`service.ranking`, `service.scorecard`,
`service.ranking_workbook`) under the API's `kpi:read` and its scope, so the page and the API
agree on every total and grade. Nothing here writes: contracts are entered through the API.
Scores are floats as in the API; the chart's data is JSON embedded in the page.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import polars as pl
from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today
from stateasset.core.errors import invalid
from stateasset.core.http import xlsx_download
from stateasset.kpi import service
from stateasset.kpi.schemas import IndicatorScore, Method, TenureScorecard
from stateasset.ledger.catalogue import ITEM_BY_CODE
from stateasset.web import format as fmt
from stateasset.web.shell import PageController, is_htmx, page
from stateasset.web.table import Column, Table

Reader = Request[Actor, Any, Any]

RANKING = Table(
    "kpi-ranking",
    [
        Column("rank", "排名"),
        Column("company_name", "公司", "link", link="/kpi/contracts/{contract_id}?year={year}"),
        Column("total", "总分"),
        Column("grade", "等级", choices=True),
        Column("pay_coefficient", "绩效年薪系数"),
        Column("review_label", "解聘审查", choices=True),
        Column("review_reason", "审查原因"),
    ],
    search=("company_name",),
    default_sort="rank",
)
_RANKING_SCHEMA = {
    "contract_id": pl.String,
    "year": pl.Int64,
    "rank": pl.Int64,
    "company_name": pl.String,
    "total": pl.Float64,
    "grade": pl.String,
    "pay_coefficient": pl.Float64,
    "review_label": pl.String,
    "review_reason": pl.String,
}


def _year(text: str | None) -> int:
    """The `year` query (last year when absent); a bad one is a 422 naming `query.year`."""
    if not text:
        return today().year - 1
    # isascii: "²" is a digit to isdigit() but not a number to int().
    if not (text.isascii() and text.isdigit()) or not 2000 <= int(text) <= 2100:
        raise invalid("query.year", "a year between 2000 and 2100")
    return int(text)


def num(value: float | None) -> str:
    """A score, ratio or actual as staff read it: thousands separated, at most 4 places."""
    if value is None:
        return "—"
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def unit_of(source: str) -> str:
    """How an indicator's figures read: `percent` for a ratio the service gives in percent
    (service.PERCENT_RATIOS: 20.4824 means 20.48%), `amount` for a statement item in 元."""
    if source in service.PERCENT_RATIOS:
        return "percent"
    return "amount" if source in ITEM_BY_CODE else ""


def figure(value: float | None, unit: str) -> str:
    """An actual, target or benchmark in its indicator's unit: `20.48%`, `16,494.50 万元`, else
    as `num` (a custom or entered indicator's own unit)."""
    if value is None:
        return "—"
    if unit == "percent":
        return fmt.percent(value / 100)
    if unit == "amount":
        return f"{fmt.wan(value)} 万元"
    return num(value)


def _signed(value: float | None) -> str:
    """`+ 9` or `− 9`: a term added to or taken from the weight."""
    return f"− {num(-value)}" if value is not None and value < 0 else f"+ {num(value or 0)}"


def arithmetic(i: IndicatorScore) -> str:
    """How the score came about, in DOMAIN.md §8's terms, from the figures the service gives."""
    if i.score is None:
        return "无实际值，不计分"
    if i.method in (Method.efficacy, Method.macro):
        if i.efficacy is None:
            return f"{i.tier or '—'}：基础分 {num(i.base)} = 得分 {num(i.score)}"
        return (
            f"{i.tier}：基础分 {num(i.base)}，功效系数 {num(i.efficacy)}，"
            f"调整 {num(i.adjustment)}，得分 {num(i.base)} + {num(i.adjustment)} = {num(i.score)}"
        )
    if i.method == Method.target_step:
        step = num(i.weight / 30)
        return (
            f"达标得权重 {num(i.weight)}，每满 3% ±{step}（封顶 ±{num(i.cap)}）："
            f"{num(i.weight)} {_signed(i.adjustment)} = {num(i.score)}"
        )
    return f"百分位 {num(i.percentile)} × 权重 {num(i.weight)} = {num(i.score)}"


def tenure_trend(tenure: TenureScorecard) -> dict[str, Any]:
    """The tenure charts' data: the total per year and each indicator's actual and target per
    year, null where a year is not scored (a gap in the line, not a zero)."""
    return {
        "years": [str(y.year) for y in tenure.years],
        "totals": [y.total for y in tenure.years],
        "indicators": [
            {
                "code": i.code,
                "name": i.name,
                "actual": [y.actual for y in i.years],
                "target": [y.target for y in i.years],
            }
            for i in tenure.indicators
        ],
    }


async def ranking_frame(actor: Actor, year: int) -> pl.DataFrame:
    """The year's ranking (service.ranking) as the table reads it."""
    rows = [
        {
            "contract_id": str(r.contract_id),
            "year": r.year,
            "rank": r.rank,
            "company_name": r.company_name,
            "total": r.total,
            "grade": r.grade,
            "pay_coefficient": r.pay_coefficient,
            "review_label": "是" if r.review else "否",
            "review_reason": r.review_reason,
        }
        for r in await service.ranking(actor=actor, year=year)
    ]
    return pl.DataFrame(rows, schema=_RANKING_SCHEMA)


class KpiPages(PageController):
    """考核评分: the ranking and a company's scorecard, read-only."""

    path = "/kpi"
    guards = [requires(Permission.kpi_read)]

    @get("/")
    async def ranking(self, request: Reader, year: FromQuery[str | None] = None) -> Template:
        """The year's ranking of second-level companies: total, grade, pay, review flag."""
        when = _year(year)
        frame = await ranking_frame(request.user, when)
        view = RANKING.view(frame, request.query_params)
        export_url = f"/kpi/scorecards.xlsx?year={when}"
        if is_htmx(request) and request.headers.get("hx-target") == f"tbl-{RANKING.id}":
            return page("_table.html", request, table=view, export_url=export_url)
        return page("kpi/ranking.html", request, year=when, table=view, export_url=export_url)

    @get("/scorecards.xlsx")
    async def ranking_export(
        self, request: Reader, year: FromQuery[str | None] = None
    ) -> Response[bytes]:
        """The ranking as the API exports it (service.ranking_workbook)."""
        when = _year(year)
        rows = await service.ranking(actor=request.user, year=when)
        return xlsx_download(service.ranking_workbook(rows, when), f"{when}年经营业绩考核排名.xlsx")

    @get("/contracts/{contract_id:uuid}")
    async def scorecard(
        self, request: Reader, contract_id: FromPath[UUID], year: FromQuery[str | None] = None
    ) -> Template:
        """A company's scorecard: each indicator's actual, target, benchmarks, score and how."""
        when = _year(year)
        card = await service.scorecard(actor=request.user, contract_id=contract_id, year=when)
        chart = {
            "names": [i.name for i in card.indicators],
            "scores": [i.score for i in card.indicators],
            "weights": [i.weight for i in card.indicators],
        }
        tenure = await service.tenure_scorecard(actor=request.user, contract_id=contract_id)
        contract = await service.get_contract(actor=request.user, contract_id=contract_id)
        units = {i.code: unit_of(i.source) for i in contract.terms.indicators}
        return page(
            "kpi/scorecard.html",
            request,
            card=card,
            year=when,
            chart=chart,
            tenure=tenure,
            trend=tenure_trend(tenure),
            num=num,
            figure=figure,
            units=units,
            arithmetic=arithmetic,
        )


KPI_PAGES = [KpiPages]
