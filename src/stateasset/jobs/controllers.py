"""Jobs under /api/v1/jobs: thin — parse, authorise, call `jobs.runner`."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.schemas import MAX_PAGE, Page
from stateasset.jobs import runner
from stateasset.jobs.base import RunStatus
from stateasset.jobs.schemas import JobRead, JobRunRead, JobStart
from stateasset.jobs.service import list_jobs

Caller = Request[Actor, Any, Any]
RUN = [requires(Permission.jobs_run)]
Name = Annotated[str, PathParameter(description="The job's name, e.g. ratios")]
Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_PAGE, description=f"Runs per page, at most {MAX_PAGE}")
]
Offset = Annotated[int, QueryParameter(ge=0, description="Runs to skip before the page starts")]
Status = Annotated[RunStatus | None, QueryParameter(description="Only runs in this state")]


class JobController(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]

    @get("/", operation_id="list_jobs", guards=RUN)
    async def list_jobs(self) -> list[JobRead]:
        """Every job with its schedule, what follows it and its newest run."""
        return await list_jobs()

    @post("/{name:str}/runs", operation_id="start_job_run", guards=RUN, status_code=202)
    async def start_run(
        self, request: Caller, name: Name, data: JSONBody[JobStart | None] = None
    ) -> Response[JobRunRead]:
        """Start a run now; 409 with `running_run_id` when one with these parameters runs.

        The run goes on in the background: follow it at `Location`.
        """
        run = await runner.start(
            actor=request.user, name=name, raw_params=data.params if data else {}
        )
        return Response(run, status_code=202, headers={"Location": f"/api/v1/jobs/runs/{run.id}"})

    @get("/{name:str}/runs", operation_id="list_job_runs", guards=RUN)
    async def list_runs(
        self, name: Name, status: Status = None, limit: Limit = 50, offset: Offset = 0
    ) -> Page[JobRunRead]:
        """A job's runs, newest first, with status, progress and rows."""
        return await runner.list_runs(job=name, status=status, limit=limit, offset=offset)

    @get("/runs", operation_id="list_all_job_runs", guards=RUN)
    async def list_all_runs(
        self, status: Status = None, limit: Limit = 50, offset: Offset = 0
    ) -> Page[JobRunRead]:
        """Every job's runs, newest first."""
        return await runner.list_runs(status=status, limit=limit, offset=offset)

    @get("/runs/{run_id:uuid}", operation_id="get_job_run", guards=RUN)
    async def get_run(
        self, run_id: Annotated[UUID, PathParameter(description="The run's id")]
    ) -> JobRunRead:
        """One run: its status, progress, rows and error."""
        return await runner.get_run(run_id=run_id)


JOB_CONTROLLERS = [JobController]
