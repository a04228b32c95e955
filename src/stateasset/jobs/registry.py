"""Every job, by name, in the order queued runs of one lock are started."""

from __future__ import annotations

from stateasset.jobs.base import Job
from stateasset.kpi.jobs import RATIOS
from stateasset.ledger.jobs import CONSOLIDATIONS, DEPRECIATION

JOBS: dict[str, Job] = {job.name: job for job in (CONSOLIDATIONS, RATIOS, DEPRECIATION)}
