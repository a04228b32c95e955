"""Claiming, running and recording job runs: one run per job and parameters, across processes.

A claim takes a transaction-scoped advisory lock on the job and its parameters, looks for a
running row, and writes its own; the partial unique index `job_run_one_running` refuses a second
running row whoever writes it. A running row carries a lease (`heartbeat_at`, renewed while the
body runs): a row not renewed within `job_lease_seconds` belongs to a process that died, and the
next claim marks it failed before taking its place. Period locks and finished runs queue further
runs (`queued` rows, one per job and parameters); the scheduler starts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec
import structlog

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.roles import Role
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import Conflict, DomainError, NotFound, invalid
from stateasset.core.schemas import Page
from stateasset.db import engine
from stateasset.jobs.base import Job, Outcome, RunStatus, Trigger
from stateasset.jobs.schemas import JobRunRead
from stateasset.settings import get_settings
from stateasset.web.forms import decode

log = structlog.get_logger("stateasset.jobs")

SYSTEM = Actor(id=UUID(int=0), username="system", role=Role.admin)
"""Who scheduled and queued runs act as."""

PROGRESS_EVERY = 0.5
"""Seconds between progress writes; the last step is always written."""

_COLUMNS = (
    "id, job, params::text AS params, trigger, status, queued_at, started_at, finished_at, "
    "heartbeat_at, progress, message, rows_in, rows_out, summary::text AS summary, error, "
    "requested_by"
)

_FAIL_EXPIRED = (
    "UPDATE job_run SET status = 'failed', finished_at = now(), error = 'lease expired: "
    "the process running it (' || host || ') was last heard from at ' || "
    "to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || "
    "' and is taken as stopped' WHERE status = 'running' AND heartbeat_at < $1 "
    "AND ($2::uuid IS NULL OR id = $2) RETURNING id"
)
"""Fail running runs not heard from since $1 (one, $2, or all): the next claim, or the queue pass."""

_tasks: set[asyncio.Task[Any]] = set()
"""Runs started by this process in the background; kept so they are not collected mid-run."""


class AlreadyRunning(Conflict):
    """409: the job is running with these parameters; `running_run_id` says which run."""

    def __init__(self, job: str, run_id: UUID) -> None:
        super().__init__(
            f"job {job} is already running with these parameters (run {run_id})",
            extra={"running_run_id": str(run_id), "job": job},
        )
        self.run_id = run_id


def registry() -> dict[str, Job]:
    from stateasset.jobs.registry import JOBS

    return JOBS


def job_named(name: str, field: str = "path.name") -> Job:
    jobs = registry()
    if name not in jobs:
        raise invalid(field, f"unknown job {name!r}; one of {sorted(jobs)}")
    return jobs[name]


def parse_params(job: Job, raw: dict[str, Any], at: str = "body.params") -> msgspec.Struct:
    """The job's parameters from a request body or the command line; bad ones name the field."""
    return decode(raw, job.params, at=at)


def params_key(job: Job, params: msgspec.Struct) -> str:
    """The identity of a run's parameters: the same values give the same key, in any process."""
    return hashlib.sha256(job.name.encode() + b"\x00" + msgspec.json.encode(params)).hexdigest()


def _read(row: Any) -> JobRunRead:
    job = registry().get(row["job"])
    started, finished = row["started_at"], row["finished_at"]
    end = finished or (utc_now() if started is not None else None)
    return JobRunRead(
        id=row["id"],
        job=row["job"],
        job_label=job.label if job else row["job"],
        params=msgspec.json.decode(row["params"]),
        trigger=Trigger(row["trigger"]),
        status=RunStatus(row["status"]),
        queued_at=row["queued_at"],
        started_at=started,
        finished_at=finished,
        heartbeat_at=row["heartbeat_at"],
        duration_seconds=(end - started).total_seconds() if started and end else None,
        progress=row["progress"],
        message=row["message"],
        rows_in=row["rows_in"],
        rows_out=row["rows_out"],
        summary=msgspec.json.decode(row["summary"]),
        error=row["error"],
        requested_by=row["requested_by"],
    )


async def claim(
    job: Job,
    params: msgspec.Struct,
    *,
    trigger: Trigger,
    actor: Actor,
    queued_run: UUID | None = None,
) -> UUID | None:
    """Mark a run of `job` with `params` running and return its id; AlreadyRunning if one is.

    With `queued_run`, that queued row starts (None if another process started it first).
    """
    key = params_key(job, params)
    now = utc_now()
    lease = timedelta(seconds=get_settings().job_lease_seconds)
    run_id = queued_run or uuid4()
    async with engine().transaction(), db.connection() as conn:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('job_run:' || $1, 0))",
            f"{job.name}:{key}",
        )
        running = await conn.fetchrow(
            "SELECT id, heartbeat_at FROM job_run "
            "WHERE job = $1 AND params_key = $2 AND status = 'running'",
            job.name,
            key,
        )
        if running is not None:
            if running["heartbeat_at"] >= now - lease:
                raise AlreadyRunning(job.name, running["id"])
            await conn.execute(_FAIL_EXPIRED, now - lease, running["id"])
        if queued_run is not None:
            started = await conn.fetchval(
                "UPDATE job_run SET status = 'running', started_at = $2, heartbeat_at = $2, "
                "host = $3 WHERE id = $1 AND status = 'queued' RETURNING id",
                queued_run,
                now,
                _host(),
            )
            if started is None:
                return None
        else:
            await conn.execute(
                "INSERT INTO job_run (id, job, params, params_key, trigger, status, queued_at, "
                "started_at, heartbeat_at, requested_by, host) "
                "VALUES ($1, $2, $3::jsonb, $4, $5, 'running', $6, $6, $6, $7, $8)",
                run_id,
                job.name,
                msgspec.json.encode(params).decode(),
                key,
                trigger.value,
                now,
                actor.username,
                _host(),
            )
        await audit.record(
            actor=actor.username,
            action="job_run.start",
            object_type="job_run",
            object_id=run_id,
            after={"job": job.name, "params": msgspec.to_builtins(params), "trigger": trigger},
        )
    return run_id


def _host() -> str:
    import os

    return f"{socket.gethostname()}:{os.getpid()}"


class RunContext:
    """What a body sees of its run: the actor it acts as, progress and the lease."""

    def __init__(
        self,
        run_id: UUID,
        actor: Actor,
        trigger: Trigger,
        on_progress: Callable[[int, int, str], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.actor = actor
        self.trigger = trigger
        self._on_progress = on_progress
        self._written = 0.0

    async def progress(self, done: int, total: int, message: str = "") -> None:
        if self._on_progress is not None:
            self._on_progress(done, total, message)
        now = time.monotonic()
        if done < total and now - self._written < PROGRESS_EVERY:
            return
        self._written = now
        fraction = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        # Outside the body's transaction: progress is seen while the run is still writing.
        async with db.connection(outside_transaction=True) as conn:
            await conn.execute(
                "UPDATE job_run SET progress = $2, message = $3, heartbeat_at = now() "
                "WHERE id = $1 AND status = 'running'",
                self.run_id,
                fraction,
                message,
            )

    async def renew(self) -> None:
        async with db.connection(outside_transaction=True) as conn:
            await conn.execute(
                "UPDATE job_run SET heartbeat_at = now() WHERE id = $1 AND status = 'running'",
                self.run_id,
            )


async def _heartbeat(context: RunContext) -> None:
    every = max(get_settings().job_lease_seconds / 3, 0.2)
    while True:
        await asyncio.sleep(every)
        try:
            await context.renew()
        except Exception as exc:  # a missed beat is retried; the lease allows two more
            log.warning("job heartbeat failed", run_id=str(context.run_id), error=str(exc))


async def _finish(
    run_id: UUID, status: RunStatus, outcome: Outcome | None, error: str | None
) -> None:
    async with db.connection(outside_transaction=True) as conn:
        await conn.execute(
            "UPDATE job_run SET status = $2::text, finished_at = now(), progress = CASE WHEN "
            "$2::text = 'succeeded' THEN 1 ELSE progress END, rows_in = $3, rows_out = $4, "
            "summary = $5::jsonb, error = $6 WHERE id = $1 AND status = 'running'",
            run_id,
            status.value,
            outcome.rows_in if outcome else 0,
            outcome.rows_out if outcome else 0,
            msgspec.json.encode(outcome.summary if outcome else {}).decode(),
            error,
        )


async def execute(
    job: Job,
    params: msgspec.Struct,
    run_id: UUID,
    *,
    trigger: Trigger,
    actor: Actor = SYSTEM,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> RunStatus:
    """Run a claimed run's body, record how it ended, and queue the jobs that follow it."""
    context = RunContext(run_id, actor, trigger, on_progress)
    beat = asyncio.create_task(_heartbeat(context))
    log.info("job started", job=job.name, run_id=str(run_id), trigger=trigger.value)
    try:
        outcome = await job.body(context, params)
    except asyncio.CancelledError:
        await asyncio.shield(
            _finish(run_id, RunStatus.failed, None, "cancelled: the process stopped")
        )
        raise
    except DomainError as exc:
        await _finish(run_id, RunStatus.failed, None, exc.detail)
        log.warning("job failed", job=job.name, run_id=str(run_id), error=exc.detail)
        return RunStatus.failed
    except Exception as exc:
        await _finish(run_id, RunStatus.failed, None, f"{type(exc).__name__}: {exc}")
        log.exception("job failed", job=job.name, run_id=str(run_id))
        return RunStatus.failed
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
    await _finish(run_id, RunStatus.succeeded, outcome, None)
    log.info(
        "job finished",
        job=job.name,
        run_id=str(run_id),
        rows_in=outcome.rows_in,
        rows_out=outcome.rows_out,
    )
    for name in job.then:
        follow = registry()[name]
        raw = job.then_params(params, outcome) if job.then_params else {}
        if raw is None:  # this run left the following job nothing to do
            continue
        await enqueue(follow, parse_params(follow, raw), trigger=Trigger.dependency, actor=actor)
    return RunStatus.succeeded


async def start(*, actor: Actor, name: str, raw_params: dict[str, Any]) -> JobRunRead:
    """Start a run in the background now and return it; AlreadyRunning if one is."""
    job = job_named(name)
    params = parse_params(job, raw_params)
    run_id = await claim(job, params, trigger=Trigger.manual, actor=actor)
    assert run_id is not None
    task = asyncio.create_task(execute(job, params, run_id, trigger=Trigger.manual, actor=actor))
    _tasks.add(task)
    task.add_done_callback(_forget)
    return await get_run(run_id=run_id)


def _forget(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("job run's bookkeeping failed", error=f"{type(exc).__name__}: {exc}")


async def run_now(
    name: str,
    raw_params: dict[str, Any],
    *,
    trigger: Trigger = Trigger.manual,
    actor: Actor = SYSTEM,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> JobRunRead:
    """Claim and run in the foreground (the command line, the scheduler); the finished run."""
    job = job_named(name, "job")
    params = parse_params(job, raw_params, at="params")
    run_id = await claim(job, params, trigger=trigger, actor=actor)
    assert run_id is not None
    await execute(job, params, run_id, trigger=trigger, actor=actor, on_progress=on_progress)
    return await get_run(run_id=run_id)


async def enqueue(job: Job, params: msgspec.Struct, *, trigger: Trigger, actor: Actor) -> None:
    """Queue a run unless one with these parameters is queued already (in the caller's
    transaction when there is one: a period lock and its queued runs commit together)."""
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO job_run (id, job, params, params_key, trigger, status, queued_at, "
            "requested_by) VALUES ($1, $2, $3::jsonb, $4, $5, 'queued', now(), $6) "
            "ON CONFLICT (job, params_key) WHERE status = 'queued' DO NOTHING",
            uuid4(),
            job.name,
            msgspec.json.encode(params).decode(),
            params_key(job, params),
            trigger.value,
            actor.username,
        )


async def queue_after_period_lock(*, actor: Actor, period: str, entity_ids: Sequence[UUID]) -> None:
    """Queue every job a lock of `period` for `entity_ids` concerns; call in the lock's transaction."""
    for job in registry().values():
        if job.on_period_lock is None:
            continue
        raw = job.on_period_lock(period, sorted(entity_ids, key=str))
        if raw is not None:
            await enqueue(job, parse_params(job, raw), trigger=Trigger.period_lock, actor=actor)


async def fail_expired() -> int:
    """Mark failed every running run whose lease expired (its process died); how many."""
    lease = timedelta(seconds=get_settings().job_lease_seconds)
    async with db.connection() as conn:
        rows = await conn.fetch(_FAIL_EXPIRED, utc_now() - lease, None)
    for row in rows:
        log.warning("job run's process stopped; marked failed", run_id=str(row["id"]))
    return len(rows)


async def drain_queue() -> int:
    """Start the queued runs, oldest first, one after another; how many ran.

    A queued run whose job is running with the same parameters elsewhere stays queued for the
    next pass (the scheduler calls this every `job_queue_seconds`).
    """
    ran = 0
    await fail_expired()
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT id, job, params::text AS params, trigger FROM job_run "
            "WHERE status = 'queued' ORDER BY queued_at, array_position($1::text[], job), id",
            list(registry()),
        )
    for row in rows:
        job = registry().get(row["job"])
        if job is None:
            continue
        params = parse_params(job, msgspec.json.decode(row["params"]))
        try:
            run_id = await claim(
                job, params, trigger=Trigger(row["trigger"]), actor=SYSTEM, queued_run=row["id"]
            )
        except AlreadyRunning:
            continue
        if run_id is None:
            continue
        await execute(job, params, run_id, trigger=Trigger(row["trigger"]))
        ran += 1
    return ran


async def get_run(*, run_id: UUID) -> JobRunRead:
    async with db.connection() as conn:
        row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM job_run WHERE id = $1", run_id)
    if row is None:
        raise NotFound(f"job run {run_id} not found")
    return _read(row)


async def list_runs(
    *,
    job: str | None = None,
    status: RunStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[JobRunRead]:
    """Runs, newest first; of one job and status when given."""
    if job is not None:
        job_named(job)
    async with db.connection() as conn:
        rows, total = await db.fetch_page(
            conn,
            columns=_COLUMNS,
            source="job_run",
            where="($1::text IS NULL OR job = $1) AND ($2::text IS NULL OR status = $2)",
            args=(job, status.value if status else None),
            order="queued_at DESC, id",
            limit=limit,
            offset=offset,
        )
    return Page(items=[_read(r) for r in rows], total=total, limit=limit, offset=offset)


async def any_active() -> bool:
    """Whether any run is queued or running: what keeps the runs page polling."""
    async with db.connection() as conn:
        return bool(
            await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM job_run WHERE status IN ('queued', 'running'))"
            )
        )


async def last_runs() -> dict[str, JobRunRead]:
    """Each job's newest run."""
    async with db.connection() as conn:
        rows = await conn.fetch(
            f"SELECT DISTINCT ON (job) {_COLUMNS} FROM job_run ORDER BY job, queued_at DESC, id"
        )
    return {r["job"]: _read(r) for r in rows}


async def last_scheduled_start(job: str) -> datetime | None:
    """When the job last started on its schedule: what a restart's catch-up compares against."""
    async with db.connection() as conn:
        return await conn.fetchval(
            "SELECT max(coalesce(started_at, queued_at)) FROM job_run "
            "WHERE job = $1 AND trigger = 'schedule'",
            job,
        )


async def stop_background_runs() -> None:
    """Cancel this process's background runs (at shutdown): each is recorded as failed."""
    for task in list(_tasks):
        task.cancel()
    for task in list(_tasks):
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
