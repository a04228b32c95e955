"""考核标准值: the peer standard values (企业绩效评价标准值), the indicator catalogue (指标库), the
import template and the upload with its per-cell report.

Everything goes through the services the API calls: `service.list_peer_standards`,
`catalogue.indicators`, `peer_import.template` and `peer_import.import_standards` (parsed in a
worker thread within the upload limits, all or nothing), the latter through `run_once` with the
API's route key and a key made for each form, so a double click stores the file once. The upload's
outcome is kept as the ledger's import page keeps its own (`ledger.upload_pages`: an hour, under a
random token, its tables sorting, filtering, paging and exporting like any other) and shown with
the same table of cell errors. Reading needs `kpi:read`; the upload form is shown, and accepted,
only for `kpi:write`.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
import polars as pl
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from stateasset.auth.guards import allowed, requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today
from stateasset.core.errors import DomainError, NotFound, invalid
from stateasset.core.http import xlsx_download
from stateasset.core.idempotency import run_once
from stateasset.kpi import catalogue, peer_import, service
from stateasset.kpi.compute import TIER_LABELS
from stateasset.kpi.peer_import import PeerImportReport
from stateasset.ledger.upload_pages import (
    CELL_ERRORS,
    UploadOutcome,
    _htmx_table,
    _keep,
    _outcome,
    _refused_outcome,
)
from stateasset.web.shell import PageController, page
from stateasset.web.table import Column, Table

Reader = Request[Actor, Any, Any]
BASE = "/kpi/standards"
TIERS = tuple(f"tier_{n}" for n in range(1, 6))

STANDARDS = Table(
    "kpi-standards",
    [
        Column("industry", "行业", choices=True),
        Column("indicator", "指标编码"),
        Column("indicator_name", "指标"),
        Column("year", "年度", choices=True),
        *(Column(key, label) for key, label in zip(TIERS, TIER_LABELS, strict=True)),
        Column("source", "来源"),
    ],
    search=("industry", "indicator", "indicator_name", "source"),
    default_sort="industry",
)
CATALOGUE = Table(
    "kpi-catalogue",
    [
        Column("code", "指标编码"),
        Column("name", "指标名称"),
        Column("kind_label", "类别", choices=True),
        Column("unit", "单位"),
        Column("direction_label", "方向", choices=True),
        Column("description", "说明"),
    ],
    search=("code", "name", "description"),
)
STORED = Table(
    "kpi-standards-stored",
    [
        Column("s_industry", "行业", choices=True),
        Column("s_indicator", "指标编码"),
        Column("s_year", "年度"),
        *(Column(f"s_{key}", label) for key, label in zip(TIERS, TIER_LABELS, strict=True)),
        Column("s_action", "结果", choices=True),
    ],
    search=("s_industry", "s_indicator"),
)
PAGE_TABLES = {STANDARDS.id: (STANDARDS, "行业标准值"), CATALOGUE.id: (CATALOGUE, "指标库")}
REPORT_TABLES = {CELL_ERRORS.id: (CELL_ERRORS, "导入错误"), STORED.id: (STORED, "已保存")}
_STANDARD_SCHEMA = {
    "industry": pl.String,
    "indicator": pl.String,
    "indicator_name": pl.String,
    "year": pl.Int64,
    **{key: pl.Float64 for key in TIERS},
    "source": pl.String,
}
_CATALOGUE_SCHEMA = {
    k: pl.String for k in ("code", "name", "kind_label", "unit", "direction_label", "description")
}
_STORED_SCHEMA = {
    "s_industry": pl.String,
    "s_indicator": pl.String,
    "s_year": pl.Int64,
    **{f"s_{key}": pl.String for key in TIERS},
    "s_action": pl.String,
}


async def _frames() -> dict[str, pl.DataFrame]:
    """The page's two tables: the stored standard values and the catalogue."""
    indicators = await catalogue.indicators()
    names = {i.code: i.name for i in indicators}
    standards = pl.DataFrame(
        [
            {
                "industry": s.industry,
                "indicator": s.indicator,
                "indicator_name": names.get(s.indicator, "（不在指标库）"),
                "year": s.year,
                **dict(zip(TIERS, s.tiers, strict=True)),
                "source": s.source,
            }
            for s in await service.list_peer_standards()
        ],
        schema=_STANDARD_SCHEMA,
    )
    listed = pl.DataFrame(
        [
            {
                "code": i.code,
                "name": i.name,
                "kind_label": catalogue.KIND_LABELS[i.kind],
                "unit": i.unit,
                "direction_label": catalogue.DIRECTION_LABELS[i.direction.value],
                "description": i.description,
            }
            for i in indicators
        ],
        schema=_CATALOGUE_SCHEMA,
    )
    return {STANDARDS.id: standards, CATALOGUE.id: listed}


def _stored_outcome(actor: Actor, filename: str, report: PeerImportReport) -> UploadOutcome:
    rows = pl.DataFrame(
        [
            {
                "s_industry": s.industry,
                "s_indicator": s.indicator,
                "s_year": s.year,
                **{f"s_{key}": f"{t.normalize():f}" for key, t in zip(TIERS, s.tiers, strict=True)},
                "s_action": "替换" if s.replaced else "新增",
            }
            for s in report.standards
        ],
        schema=_STORED_SCHEMA,
    )
    return UploadOutcome(
        owner=actor.username,
        filename=filename,
        stored=True,
        detail=f"已保存 {report.rows} 行标准值：新增 {report.created}，替换 {report.replaced}。",
        frames={STORED.id: rows},
    )


def _year(text: str | None) -> int:
    if not text:
        return today().year - 1
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise invalid("query.year", "a year between 2000 and 2100")
    return int(text)


class StandardPages(PageController):
    """考核标准值: the standard values, the catalogue, the template and the upload's report."""

    path = BASE

    @get("/", guards=[requires(Permission.kpi_read)])
    async def index(self, request: Reader) -> Template:
        """The standard values and the catalogue; the upload form for kpi:write holders."""
        return await self._page(request)

    @get("/export/{table_id:str}", guards=[requires(Permission.kpi_read)])
    async def export(self, request: Reader, table_id: FromPath[str]) -> Response[bytes]:
        """One of the page's tables as XLSX, filtered and sorted as shown."""
        if table_id not in PAGE_TABLES:
            raise NotFound(f"no table {table_id} on this page")
        table, title = PAGE_TABLES[table_id]
        frame = (await _frames())[table_id]
        return xlsx_download(table.xlsx(frame, request.query_params, title), f"{title}.xlsx")

    @get("/template.xlsx", guards=[requires(Permission.kpi_read)])
    async def template(
        self,
        request: Reader,
        year: FromQuery[str | None] = None,
        industry: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """The API's import template for an industry and year."""
        when = _year(year)
        name = (industry or "").strip()
        if not 1 <= len(name) <= 40:
            raise invalid("query.industry", "an industry of 1 to 40 characters")
        content = await peer_import.template(year=when, industry=name)
        return xlsx_download(content, f"{name}{when}年企业绩效评价标准值.xlsx")

    @post("/import", guards=[requires(Permission.kpi_write)], status_code=303)
    async def upload(self, request: Reader) -> Response[Any]:
        """Check the file as the API does; store all of it or nothing, then show the report."""
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            problems = {"file": "请选择要上传的文件 (.xlsx 或 .csv)"}
            return await self._page(request, status_code=400, problems=problems)
        content = await upload.read()
        filename = upload.filename
        key = str(form.get("idempotency_key") or "")[:200] or None
        try:
            answer = await run_once(
                key=key,
                actor=request.user.username,
                route="kpi.peer_standards.import",
                payload={"filename": filename, "content": content},
                work=lambda: peer_import.import_standards(
                    actor=request.user, data=content, filename=filename
                ),
            )
            report = (
                answer.content
                if isinstance(answer.content, PeerImportReport)
                else msgspec.json.decode(answer.content, type=PeerImportReport)
            )
        except DomainError as exc:
            if exc.status == 413:
                reason = exc.errors[0].reason if exc.errors else exc.detail
                problems = {"file": f"文件过大，未导入任何数据 file too large: {reason}"}
                return await self._page(request, status_code=413, problems=problems)
            outcome = await _refused_outcome(request.user, filename, exc)
        else:
            outcome = _stored_outcome(request.user, filename, report)
        return Redirect(f"{BASE}/reports/{_keep(outcome)}", status_code=303)

    @get("/reports/{token:str}", guards=[requires(Permission.kpi_write)])
    async def report(self, request: Reader, token: FromPath[str]) -> Template:
        """An upload's outcome: the per-cell errors (nothing stored), or what was stored."""
        outcome = _outcome(request.user, token)
        views = []
        for table_id, frame in outcome.frames.items():
            table, title = REPORT_TABLES[table_id]
            view = table.view(frame, request.query_params)
            export = f"{BASE}/reports/{token}/export/{table_id}" + view.url(page=None)
            if _htmx_table(request) == table_id:
                return page("_table.html", request, table=view, export_url=export.rstrip("?"))
            views.append((title, view, export.rstrip("?")))
        return await self._page(request, outcome=outcome, report_views=views)

    @get("/reports/{token:str}/export/{table_id:str}", guards=[requires(Permission.kpi_write)])
    async def report_xlsx(
        self, request: Reader, token: FromPath[str], table_id: FromPath[str]
    ) -> Response[bytes]:
        """One table of an upload's report as XLSX, filtered and sorted as shown."""
        outcome = _outcome(request.user, token)
        if table_id not in outcome.frames:
            raise NotFound(f"no table {table_id} in this report")
        table, title = REPORT_TABLES[table_id]
        content = table.xlsx(outcome.frames[table_id], request.query_params, title)
        return xlsx_download(content, f"{table_id}.xlsx")

    async def _page(self, request: Reader, *, status_code: int = 200, **context: Any) -> Template:
        frames = await _frames()
        views = {}
        for table_id, (table, _) in PAGE_TABLES.items():
            view = table.view(frames[table_id], request.query_params)
            export = f"{BASE}/export/{table_id}{view.url(page=None)}".rstrip("?")
            if _htmx_table(request) == table_id:
                return page("_table.html", request, table=view, export_url=export)
            views[table_id] = (view, export)
        industries = sorted(set(frames[STANDARDS.id]["industry"].to_list()))
        defaults: dict[str, Any] = {
            "outcome": None,
            "report_views": [],
            "problems": {},
        }
        return page(
            "kpi/standards.html",
            request,
            status_code=status_code,
            views=views,
            can_upload=allowed(request.user, Permission.kpi_write),
            idempotency_key=secrets.token_urlsafe(16),
            year=today().year - 1,
            industries=industries,
            **{**defaults, **context},
        )


STANDARD_PAGES = [StandardPages]
