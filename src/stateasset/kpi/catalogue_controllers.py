"""Routes of the indicator catalogue, values entered with evidence and the peer standard import
(/api/v1/kpi): thin — parse, authorise, call `kpi.catalogue` or `kpi.peer_import`."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, MultipartBody, PathParameter, QueryParameter

from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.http import XLSX_MEDIA_TYPE, xlsx_download
from stateasset.core.idempotency import run_once
from stateasset.kpi import catalogue, peer_import
from stateasset.kpi.catalogue import (
    CatalogueIndicator,
    EnteredValueCreate,
    EnteredValueRead,
    IndicatorCreate,
)
from stateasset.kpi.peer_import import PeerImportReport
from stateasset.ledger.controllers import IdempotencyKey, StatementUpload

Reader = Request[Actor, Any, Any]
Code = Annotated[str, PathParameter(description="The indicator's code (e.g. objective_factors)")]
READ = [requires(Permission.kpi_read)]
WRITE = [requires(Permission.kpi_write)]


class IndicatorController(Controller):
    path = "/api/v1/kpi/indicators"
    tags = ["kpi"]

    @get("/", operation_id="list_kpi_indicators", guards=READ)
    async def list_indicators(self) -> list[CatalogueIndicator]:
        """The indicator catalogue (指标库): §6 ratios, statement items, objective_factors, custom."""
        return await catalogue.indicators()

    @post("/", operation_id="create_kpi_indicator", guards=WRITE)
    async def create(self, request: Reader, data: JSONBody[IndicatorCreate]) -> CatalogueIndicator:
        """A custom indicator (Chinese name, unit, direction); a built-in code is 422."""
        return await catalogue.create_indicator(actor=request.user, data=data)

    @post("/{code:str}/values", operation_id="enter_kpi_value", guards=WRITE)
    async def enter(
        self, request: Reader, code: Code, data: JSONBody[EnteredValueCreate]
    ) -> EnteredValueRead:
        """A company's value for a year with its evidence; a new one is the next version."""
        return await catalogue.enter_value(actor=request.user, code=code, data=data)

    @get("/{code:str}/values", operation_id="list_kpi_values", guards=READ)
    async def values(
        self,
        request: Reader,
        code: Code,
        company: Annotated[UUID | None, QueryParameter(description="a company's id")] = None,
        year: Annotated[int | None, QueryParameter(ge=2000, le=2100)] = None,
    ) -> list[EnteredValueRead]:
        """Every version entered (latest marked `current`), with who, when and on what document."""
        return await catalogue.list_values(
            actor=request.user, code=code, company=company, year=year
        )


class PeerImportController(Controller):
    path = "/api/v1/kpi/peer-standards"
    tags = ["kpi"]

    @get(
        "/template.xlsx",
        operation_id="kpi_peer_standard_template",
        guards=READ,
        media_type=XLSX_MEDIA_TYPE,
    )
    async def template(
        self,
        year: Annotated[int, QueryParameter(ge=2000, le=2100)],
        industry: Annotated[str, QueryParameter(min_length=1, max_length=40)],
    ) -> Response[bytes]:
        """The import template (行业, 指标, 年度, 优秀 … 较差) with the tiers stored for them."""
        content = await peer_import.template(year=year, industry=industry)
        return xlsx_download(content, f"{industry}{year}年企业绩效评价标准值.xlsx")

    @post("/import", operation_id="import_kpi_peer_standards", guards=WRITE)
    async def import_file(
        self,
        request: Reader,
        data: MultipartBody[StatementUpload],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[PeerImportReport]:
        """Upload XLSX or CSV standard values; nothing is stored unless every cell passes.

        Each problem names its cell (`file.<sheet>!<cell>`); each row's five tiers replace those
        stored for its (industry, indicator, year).
        """
        content = await data.file.read()
        filename = data.file.filename or "upload.xlsx"
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route="kpi.peer_standards.import",
            payload={"filename": filename, "content": content},
            work=lambda: peer_import.import_standards(
                actor=request.user, data=content, filename=filename
            ),
        )


CATALOGUE_CONTROLLERS = [IndicatorController, PeerImportController]
