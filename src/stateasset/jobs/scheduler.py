"""The scheduler: APScheduler 3's AsyncIOScheduler, in the app or in its own process.

Each job with a crontab line in settings (`cron_<job>`) is scheduled under its own name as id,
coalesced (runs missed while the loop was busy become one) and started up to
`job_misfire_grace_seconds` late. APScheduler's memory store forgets what it missed while the
process was down, so at start each job whose last scheduled start is older than its schedule's
latest fire time is run once (catch-up). Runs queued by period locks and finished runs are
started by one more interval job every `job_queue_seconds`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from stateasset.core.clock import utc_now
from stateasset.jobs import runner
from stateasset.jobs.base import Trigger
from stateasset.settings import Settings

log = structlog.get_logger("stateasset.jobs")

QUEUE_JOB_ID = "job-queue"


def schedules(settings: Settings) -> dict[str, CronTrigger]:
    """Each scheduled job's trigger, from its `cron_<job>` setting (blank: not scheduled)."""
    out = {}
    for name in runner.registry():
        line = getattr(settings, f"cron_{name}", "")
        if line.strip():
            out[name] = CronTrigger.from_crontab(
                line, timezone=ZoneInfo(settings.scheduler_timezone)
            )
    return out


def missed(trigger: CronTrigger, last_start: datetime | None, now: datetime) -> bool:
    """Whether a fire time fell between the last scheduled start and now (so one was missed).

    Never started on its schedule: nothing was missed (a new install does not run everything
    at once); the first fire time comes as scheduled.
    """
    if last_start is None:
        return False
    following = trigger.get_next_fire_time(None, last_start + timedelta(seconds=1))
    return following is not None and following <= now


async def _scheduled(name: str, trigger: CronTrigger) -> None:
    """A fire time's run, unless another scheduler process already started it since."""
    last = await runner.last_scheduled_start(name)
    if last is not None and not missed(trigger, last, utc_now()):
        log.info("scheduled run skipped: another scheduler started it", job=name)
        return
    try:
        await runner.run_now(name, {}, trigger=Trigger.schedule)
    except runner.AlreadyRunning as exc:
        log.info("scheduled run skipped: already running", job=name, running=str(exc.run_id))


async def _drain() -> None:
    await runner.drain_queue()


async def catch_up(settings: Settings) -> list[str]:
    """Run once each scheduled job that missed a fire time while no scheduler ran."""
    now = utc_now()
    caught = []
    for name, trigger in schedules(settings).items():
        if missed(trigger, await runner.last_scheduled_start(name), now):
            log.info("catching up a missed scheduled run", job=name)
            await _scheduled(name, trigger)
            caught.append(name)
    return caught


def build(settings: Settings) -> AsyncIOScheduler:
    """The scheduler with every scheduled job and the queue; not started."""
    scheduler = AsyncIOScheduler(
        timezone=ZoneInfo(settings.scheduler_timezone),
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.job_misfire_grace_seconds,
        },
    )
    for name, trigger in schedules(settings).items():
        scheduler.add_job(
            _scheduled,
            trigger,
            args=[name, trigger],
            id=name,
            name=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=settings.job_misfire_grace_seconds,
            replace_existing=True,
        )
    scheduler.add_job(
        _drain,
        IntervalTrigger(seconds=settings.job_queue_seconds),
        id=QUEUE_JOB_ID,
        name="queued runs",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=settings.job_queue_seconds,
        replace_existing=True,
    )
    return scheduler


class InProcess:
    """The scheduler as the app's lifespan runs it: started after the pool, stopped before it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        import asyncio

        self.scheduler = build(self.settings)
        self.scheduler.start()
        self._catch_up = asyncio.create_task(catch_up(self.settings))

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self._catch_up.cancel()
        await runner.stop_background_runs()
