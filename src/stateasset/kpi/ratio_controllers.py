"""Stored ratios under /api/v1/kpi/ratios: thin — parse, authorise, call `kpi.ratios`."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.schemas import MAX_PAGE, Page
from stateasset.kpi import ratios
from stateasset.kpi.ratio_schemas import RatioRead, RatioRunCreate, RatioRunRead

Reader = Request[Actor, Any, Any]
Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_PAGE, description=f"Rows per page, at most {MAX_PAGE}")
]
Offset = Annotated[int, QueryParameter(ge=0, description="Rows to skip before the page starts")]
# Checked by the service, so a bad period is a 422 naming `query.period` like every other.
Period = Annotated[str, QueryParameter(description="The period: YYYY, YYYY-Qn or YYYY-MM")]
READ = [requires(Permission.kpi_read)]
WRITE = [requires(Permission.kpi_write)]


class RatioController(Controller):
    path = "/api/v1/kpi/ratios"
    tags = ["kpi"]

    @post("/runs", operation_id="create_kpi_ratio_run", guards=WRITE)
    async def create_run(self, request: Reader, data: JSONBody[RatioRunCreate]) -> RatioRunRead:
        """Compute a period's ratios and store them as a new current run (比率计算)."""
        return await ratios.compute_ratios(
            actor=request.user, period=data.period, entity_ids=data.entity_ids, nodes=data.nodes
        )

    @get("/runs", operation_id="list_kpi_ratio_runs", guards=READ)
    async def list_runs(
        self,
        period: Annotated[str | None, QueryParameter(description="Only this period's runs")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[RatioRunRead]:
        """Ratio runs, newest first: each a version of its period; one per period is current."""
        return await ratios.list_runs(period=period, limit=limit, offset=offset)

    @get("/runs/{run_id:uuid}", operation_id="get_kpi_ratio_run", guards=READ)
    async def get_run(
        self, run_id: Annotated[UUID, PathParameter(description="The run's id")]
    ) -> RatioRunRead:
        """One ratio run."""
        return await ratios.get_run(run_id=run_id)

    @get("/", operation_id="list_kpi_ratios", guards=READ)
    async def list_ratios(
        self,
        request: Reader,
        period: Period,
        entity: Annotated[UUID | None, QueryParameter(description="One entity's own")] = None,
        node: Annotated[str | None, QueryParameter(description="One node's, e.g. group")] = None,
        ratio: Annotated[str | None, QueryParameter(description="One ratio's code")] = None,
        run: Annotated[UUID | None, QueryParameter(description="An older run's, by id")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[RatioRead]:
        """Stored ratios of a period's current run, each with the statement versions it used.

        A value, or null with its reason; `run` reads an older run instead.
        """
        return await ratios.list_ratios(
            actor=request.user,
            period=period,
            entity_id=entity,
            node=node,
            ratio=ratio,
            run_id=run,
            limit=limit,
            offset=offset,
        )
