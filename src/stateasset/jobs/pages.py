"""作业: the jobs with their schedules and a 立即运行 button each, the runs below, one run's record.

Thin over what the API calls: the cards are `service.list_jobs`, the button is `runner.start`
(an "already running" 409 names the running run and starts nothing), the listing is
`runner.list_runs` paged in SQL and handed to the table component (`Table.paged`, as the audit
log does), filtered by job and status as the API names them. While any run is queued or running
the page polls every 2 s for the table alone: the answer to an htmx request is the table plus,
out of band, the poller (with the table's current query, or no trigger once nothing is left to
watch) and each card's last status. Times show in Beijing time, as the audit log's do.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from uuid import UUID

import msgspec
import polars as pl
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from stateasset.audit.pages import beijing
from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.errors import DomainError
from stateasset.core.http import xlsx_download
from stateasset.core.schemas import MAX_PAGE
from stateasset.jobs import runner, service
from stateasset.jobs.base import RunStatus, Trigger
from stateasset.jobs.schemas import JobRead, JobRunRead
from stateasset.web.forms import problems_by_field
from stateasset.web.shell import PageController, is_htmx, page
from stateasset.web.table import Column, Field, Table

Caller = Request[Actor, Any, Any]
BASE = "/jobs"
EXPORT_LIMIT = 10_000
"""The most runs an export writes: a filter narrows a longer history first."""

STATUS_LABELS = {
    RunStatus.queued: "排队中",
    RunStatus.running: "运行中",
    RunStatus.succeeded: "成功",
    RunStatus.failed: "失败",
}
TRIGGER_LABELS = {
    Trigger.schedule: "定时",
    Trigger.manual: "手动",
    Trigger.period_lock: "期间锁定",
    Trigger.dependency: "上游作业",
}
ACTIVE = (RunStatus.queued, RunStatus.running)
PERIOD_FIELD = "body.params.period"
"""Where `runner.start` names a bad period, as the API's problem does."""
_WEEKDAYS = {
    "mon": "一",
    "tue": "二",
    "wed": "三",
    "thu": "四",
    "fri": "五",
    "sat": "六",
    "sun": "日",
}

_SCHEMA = {
    "id": pl.String,
    "job_label": pl.String,
    "trigger_label": pl.String,
    "params_text": pl.String,
    "status": pl.String,
    "status_label": pl.String,
    "started": pl.String,
    "duration": pl.String,
    "progress": pl.Float64,
    "message": pl.String,
    "rows_in": pl.Int64,
    "rows_out": pl.Int64,
    "error": pl.String,
    "requested_by": pl.String,
}


@cache
def runs_table() -> Table:
    """The runs' table; its job filter lists the registry's jobs (read once, on first use)."""
    jobs = [(job.name, job.label) for job in runner.registry().values()]
    return Table(
        "job-runs",
        [
            Column("job_label", "作业", "link", link=BASE + "/runs/{id}"),
            Column("trigger_label", "触发方式"),
            Column("params_text", "参数"),
            Column("status_label", "状态", template="jobs/_status_cell.html"),
            Column("started", "开始时间（北京时间）"),
            Column("duration", "耗时"),
            Column("progress", "进度", "ratio", template="jobs/_progress_cell.html"),
            Column("rows_in", "读入行数"),
            Column("rows_out", "写出行数"),
            Column("error", "错误"),
            Column("requested_by", "发起人"),
        ],
        fields=(
            Field("job", "作业", "select", options=jobs),
            Field(
                "status", "状态", "select", options=[(s.value, t) for s, t in STATUS_LABELS.items()]
            ),
        ),
    )


def duration_text(seconds: float | None) -> str:
    """`0.4 秒`, `12 秒`, `3 分 05 秒`, `1 小时 02 分`: how long a run took (or has taken so far)."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} 秒"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} 秒"
    if whole < 3600:
        return f"{whole // 60} 分 {whole % 60:02d} 秒"
    return f"{whole // 3600} 小时 {whole % 3600 // 60:02d} 分"


def cron_words(line: str | None) -> str | None:
    """A simple crontab line in words (`30 1 * * *` → 每天 01:30); None when it is not simple.

    Numeric weekdays are left as the crontab shows them: APScheduler counts them from Monday,
    crontab from Sunday, and words that guess would mislead.
    """
    parts = (line or "").split()
    if len(parts) != 5:
        return None
    minute, hour, day, month, weekday = parts
    if not (minute.isdigit() and hour.isdigit()) or month != "*":
        return None
    if int(hour) > 23 or int(minute) > 59:
        return None
    at = f"{int(hour):02d}:{int(minute):02d}"
    if day == "*" and weekday == "*":
        return f"每天 {at}"
    if day.isdigit() and 1 <= int(day) <= 31 and weekday == "*":
        return f"每月 {int(day)} 日 {at}"
    if day == "*" and weekday.lower() in _WEEKDAYS:
        return f"每周{_WEEKDAYS[weekday.lower()]} {at}"
    return None


def params_text(name: str, params: dict[str, Any]) -> str:
    """The parameters a run was given beyond its job's defaults, short: `period=2026-Q3,
    entity_ids=3 项`; `默认` when none (the whole run of a nightly job)."""
    job = runner.registry().get(name)
    try:
        defaults = msgspec.to_builtins(job.params()) if job else {}
    except (TypeError, msgspec.ValidationError):  # a job whose parameters have no defaults
        defaults = {}
    shown = []
    for key, value in params.items():
        if value is None or defaults.get(key, object()) == value:
            continue
        text = f"{len(value)} 项" if isinstance(value, list | dict) else str(value)
        shown.append(f"{key}={text}")
    return ", ".join(shown) or "默认"


def takes_period(name: str) -> bool:
    """Whether the job's parameters have a `period` (its card then offers the field)."""
    job = runner.registry().get(name)
    return job is not None and "period" in job.params.__struct_fields__


def runs_frame(runs: list[JobRunRead]) -> pl.DataFrame:
    """The runs as the table shows them."""
    return pl.DataFrame(
        [
            {
                "id": str(r.id),
                "job_label": r.job_label,
                "trigger_label": TRIGGER_LABELS.get(r.trigger, r.trigger.value),
                "params_text": params_text(r.job, r.params),
                "status": r.status.value,
                "status_label": STATUS_LABELS.get(r.status, r.status.value),
                "started": beijing(r.started_at),
                "duration": duration_text(r.duration_seconds),
                "progress": r.progress,
                "message": r.message,
                "rows_in": r.rows_in,
                "rows_out": r.rows_out,
                "error": r.error,
                "requested_by": r.requested_by,
            }
            for r in runs
        ],
        schema=_SCHEMA,
    )


def filters_of(query: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The service's filters (job, status) from the table's inputs; a problem per unknown value."""
    filters: dict[str, Any] = {}
    problems: dict[str, str] = {}
    values = runs_table().field_values(query)
    if (name := values.get("job")) is not None:
        if name in runner.registry():
            filters["job"] = name
        else:
            problems["job"] = f"没有名为 {name} 的作业"
    if (status := values.get("status")) is not None:
        if status in RunStatus.__members__:
            filters["status"] = RunStatus(status)
        else:
            problems["status"] = f"没有 {status} 这种状态"
    return filters, problems


class JobPages(PageController):
    path = BASE
    guards = [requires(Permission.jobs_run)]

    @get("/")
    async def index(self, request: Caller, started: FromQuery[UUID | None] = None) -> Template:
        """作业: a card per job with its 立即运行 button, then the runs, newest first."""
        if is_htmx(request):
            return await self._fragment(request)
        notice = await runner.get_run(run_id=started) if started else None
        return await self._page(request, notice=notice)

    @post("/", status_code=303)
    async def start(self, request: Caller) -> Response[Any]:
        """Start a run now as the API does; already running answers 409 and starts nothing."""
        form = await request.form()
        name = str(form.get("job") or "").strip()[:40]
        period = str(form.get("period") or "").strip()[:20]
        raw = {"period": period} if period and takes_period(name) else {}
        try:
            run = await runner.start(actor=request.user, name=name, raw_params=raw)
        except runner.AlreadyRunning as exc:
            running = await runner.get_run(run_id=exc.run_id)
            return await self._page(
                request,
                status_code=409,
                running=running,
                running_started=beijing(running.started_at),
                form_job=name,
                form_period=period,
            )
        except DomainError as exc:
            problems = problems_by_field(exc) or {"job": exc.detail}
            if name not in runner.registry():
                problems = {"job": f"没有名为 {name!r} 的作业，未启动任何运行"}
            elif PERIOD_FIELD in problems:
                problems[PERIOD_FIELD] = (
                    f"期间无法识别（应如 2026-Q3、2026-09 或 2026）：{problems[PERIOD_FIELD]}"
                )
            return await self._page(
                request,
                status_code=exc.status,
                problems=problems,
                form_job=name,
                form_period=period,
            )
        return Redirect(f"{BASE}?started={run.id}", status_code=303)

    @get("/export.xlsx")
    async def export(self, request: Caller) -> Response[bytes]:
        """The filtered runs, newest first, up to EXPORT_LIMIT, as XLSX."""
        filters, problems = filters_of(request.query_params)
        runs: list[JobRunRead] = []
        while not problems and len(runs) < EXPORT_LIMIT:
            listing = await runner.list_runs(**filters, limit=MAX_PAGE, offset=len(runs))
            runs.extend(listing.items)
            if len(listing.items) < MAX_PAGE:
                break
        content = runs_table().xlsx(runs_frame(runs[:EXPORT_LIMIT]), {}, "作业运行记录")
        return xlsx_download(content, "job-runs.xlsx")

    @get("/runs/{run_id:uuid}")
    async def run(self, request: Caller, run_id: FromPath[UUID]) -> Template:
        """One run: why and when it ran, how far it got, its parameters, summary and error."""
        run = await runner.get_run(run_id=run_id)
        return page(
            "jobs/run.html",
            request,
            run=run,
            status_label=STATUS_LABELS.get(run.status, run.status.value),
            trigger_label=TRIGGER_LABELS.get(run.trigger, run.trigger.value),
            times={
                "queued": beijing(run.queued_at),
                "started": beijing(run.started_at),
                "finished": beijing(run.finished_at),
                "heartbeat": beijing(run.heartbeat_at),
            },
            duration=duration_text(run.duration_seconds),
            active=run.status in ACTIVE,
            params=_pretty(run.params),
            summary=_pretty(run.summary),
        )

    async def _runs(self, request: Caller) -> dict[str, Any]:
        """The runs' table and what polls it: this page of the filtered listing."""
        table = runs_table()
        query = request.query_params
        filters, problems = filters_of(query)
        page_no, size = table.paging(query)
        runs: list[JobRunRead] = []
        total = 0
        if not problems:
            # Nothing is listed under a filter that could not be read, rather than a wrong list.
            listing = await runner.list_runs(**filters, limit=size, offset=(page_no - 1) * size)
            runs, total = listing.items, listing.total
        view = table.paged(runs_frame(runs), total, query)
        return {
            "table": view,
            "export_url": f"{BASE}/export.xlsx" + view.url(page=None).rstrip("?"),
            "table_problems": problems,
            "poll_url": BASE + view.url(),
            "polling": any(r.status in ACTIVE for r in runs) or await runner.any_active(),
        }

    async def _fragment(self, request: Caller) -> Template:
        """What htmx swaps: the table, and out of band the poller and each card's last run."""
        runs = await self._runs(request)
        jobs = await service.list_jobs()
        return page(
            "jobs/_runs_fragment.html",
            request,
            status_code=422 if runs["table_problems"] else 200,
            jobs=jobs,
            last_started=_last_started(jobs),
            status_labels=STATUS_LABELS,
            **runs,
        )

    async def _page(self, request: Caller, *, status_code: int = 200, **extra: Any) -> Template:
        runs = await self._runs(request)
        jobs = await service.list_jobs()
        defaults: dict[str, Any] = {
            "notice": None,
            "running": None,
            "problems": {},
            "form_job": None,
            "form_period": "",
        }
        if runs["table_problems"] and status_code == 200:
            status_code = 422
        return page(
            "jobs/index.html",
            request,
            status_code=status_code,
            jobs=jobs,
            cards=[_card(job) for job in jobs],
            last_started=_last_started(jobs),
            status_labels=STATUS_LABELS,
            **runs,
            **{**defaults, **extra},
        )


def _card(job: JobRead) -> dict[str, Any]:
    jobs = runner.registry()
    return {
        "job": job,
        "words": cron_words(job.schedule),
        "takes_period": takes_period(job.name),
        "then": [jobs[name].label if name in jobs else name for name in job.then],
    }


def _last_started(jobs: list[JobRead]) -> dict[str, str]:
    """When each job's newest run started, in Beijing time, for the cards."""
    return {j.name: beijing(j.last_run.started_at) for j in jobs if j.last_run is not None}


def _pretty(value: Any) -> str:
    return msgspec.json.format(msgspec.json.encode(value)).decode()


JOB_PAGES = [JobPages]
