"""Stored KPI scores under /api/v1/kpi/scores: thin — parse, authorise, call `kpi.score_jobs`."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.schemas import MAX_PAGE, Page
from stateasset.kpi import score_jobs
from stateasset.kpi.score_jobs import KpiScoreRunRead, StoredScores

Reader = Request[Actor, Any, Any]
Year = Annotated[
    int | None,
    QueryParameter(ge=2000, le=2100, description="The year scored; default the latest stored"),
]
READ = [requires(Permission.kpi_read)]


class StoredScoreController(Controller):
    path = "/api/v1/kpi/scores"
    tags = ["kpi"]

    @get("/stored", operation_id="stored_kpi_scores", guards=READ)
    async def stored(
        self,
        request: Reader,
        year: Year = None,
        run: Annotated[UUID | None, QueryParameter(description="An older run's, by id")] = None,
    ) -> StoredScores:
        """Stored scores of a year's current version (or an older run's), in rank order."""
        return await score_jobs.stored_scores(actor=request.user, year=year, run_id=run)

    @get("/runs", operation_id="list_kpi_score_runs", guards=READ)
    async def runs(
        self,
        year: Year = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Rows per page")] = 50,
        offset: Annotated[int, QueryParameter(ge=0, description="Rows to skip")] = 0,
    ) -> Page[KpiScoreRunRead]:
        """Stored score versions, newest first: one per year is current."""
        return await score_jobs.list_runs(year=year, limit=limit, offset=offset)
