"""What the API and the pages read about jobs: each job, its schedule and its newest run."""

from __future__ import annotations

from stateasset.jobs import runner
from stateasset.jobs.schemas import JobRead
from stateasset.settings import get_settings


async def list_jobs() -> list[JobRead]:
    """Every job in the registry's order."""
    settings = get_settings()
    last = await runner.last_runs()
    return [
        JobRead(
            name=job.name,
            label=job.label,
            description=job.description,
            schedule=getattr(settings, f"cron_{job.name}", "").strip() or None,
            then=list(job.then),
            runs_after_period_lock=job.on_period_lock is not None,
            last_run=last.get(job.name),
        )
        for job in runner.registry().values()
    ]
