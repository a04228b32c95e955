"""Stored fund metrics under /api/v1/funds/metrics: thin — parse, authorise, call `funds.jobs`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.schemas import MAX_PAGE, Page
from stateasset.funds import jobs
from stateasset.funds.jobs import FundMetricRunRead, StoredFundMetrics

Reader = Request[Actor, Any, Any]
AsOf = Annotated[
    date | None,
    QueryParameter(description="The date measured at; default the latest date stored"),
]
READ = [requires(Permission.funds_read)]


class StoredMetricsController(Controller):
    path = "/api/v1/funds/metrics"
    tags = ["funds"]

    @get("/stored", operation_id="stored_fund_metrics", guards=READ)
    async def stored(
        self,
        request: Reader,
        as_of: AsOf = None,
        run: Annotated[UUID | None, QueryParameter(description="An older run's, by id")] = None,
        positions: Annotated[
            bool, QueryParameter(description="Each LP position's metrics too")
        ] = False,
    ) -> StoredFundMetrics:
        """Stored metrics of the funds in scope from a date's current version, or an older run's."""
        return await jobs.stored_metrics(
            actor=request.user, as_of=as_of, run_id=run, positions=positions
        )

    @get("/runs", operation_id="list_fund_metric_runs", guards=READ)
    async def runs(
        self,
        as_of: Annotated[date | None, QueryParameter(description="Only this date's runs")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Rows per page")] = 50,
        offset: Annotated[int, QueryParameter(ge=0, description="Rows to skip")] = 0,
    ) -> Page[FundMetricRunRead]:
        """Stored fund-metric versions, newest first: one per date is current."""
        return await jobs.list_runs(as_of=as_of, limit=limit, offset=offset)
