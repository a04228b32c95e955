"""Every job, by name, in the order queued runs of one lock are started."""

from __future__ import annotations

from stateasset.funds.jobs import FUND_METRICS
from stateasset.jobs.base import Job
from stateasset.kpi.jobs import RATIOS
from stateasset.kpi.score_jobs import KPI_SCORES
from stateasset.ledger.jobs import CONSOLIDATIONS, DEPRECIATION

JOBS: dict[str, Job] = {
    job.name: job for job in (CONSOLIDATIONS, RATIOS, KPI_SCORES, FUND_METRICS, DEPRECIATION)
}
