"""The scheduler: schedules from settings in the county's time zone, coalesced with a misfire
grace, a missed run caught up once after a restart, queued runs started; and the command line."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
import pytest
from apscheduler.triggers.cron import CronTrigger

from stateasset.jobs import runner, scheduler
from stateasset.settings import Settings, get_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _only(**crons: str) -> Settings:
    blank = {f"cron_{name}": "" for name in runner.registry()}
    return msgspec.structs.replace(get_settings(), **{**blank, **crons})


def test_a_fire_time_between_the_last_start_and_now_is_missed() -> None:
    nightly = CronTrigger.from_crontab("30 1 * * *", timezone=SHANGHAI)
    # Last started 2026-11-25 01:30:02 in Shanghai (17:30:02 UTC the day before); the next fire
    # time is 2026-11-26 01:30 Shanghai = 2026-11-25 17:30 UTC.
    last = datetime(2026, 11, 25, 1, 30, 2, tzinfo=SHANGHAI)
    assert not scheduler.missed(nightly, last, datetime(2026, 11, 25, 17, 29, tzinfo=UTC))
    assert scheduler.missed(nightly, last, datetime(2026, 11, 25, 17, 31, tzinfo=UTC))
    # Never run on its schedule: a new install does not run everything at start.
    assert not scheduler.missed(nightly, None, datetime(2026, 11, 25, 17, 31, tzinfo=UTC))


def test_jobs_are_scheduled_by_name_from_settings_coalesced_with_a_grace() -> None:
    settings = _only(cron_ratios="30 1 * * *", cron_depreciation="0 3 1 * *")
    built = scheduler.build(settings)
    jobs = {j.id: j for j in built.get_jobs()}
    assert sorted(jobs) == ["depreciation", "job-queue", "ratios"]
    ratios = jobs["ratios"]
    assert (ratios.coalesce, ratios.max_instances, ratios.misfire_grace_time) == (True, 1, 21600)
    assert str(ratios.trigger) == (
        "cron[month='*', day='*', day_of_week='*', hour='1', minute='30']"
    )
    assert ratios.trigger.timezone == SHANGHAI
    assert str(jobs["job-queue"].trigger) == "interval[0:00:05]"
    # The defaults: consolidations and ratios nightly, fund metrics nightly, depreciation monthly;
    # KPI scores after ratios rather than on a clock.
    defaults = Settings()
    assert (
        defaults.cron_consolidations,
        defaults.cron_ratios,
        defaults.cron_fund_metrics,
        defaults.cron_depreciation,
        defaults.cron_kpi_scores,
    ) == ("0 1 * * *", "30 1 * * *", "0 2 * * *", "0 3 1 * *", "")


async def test_a_run_missed_while_down_is_caught_up_once(db: asyncpg.Connection) -> None:
    settings = _only(cron_ratios="30 1 * * *", cron_consolidations="0 1 * * *")
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    await db.execute(
        "INSERT INTO job_run (id, job, params, params_key, trigger, status, queued_at, "
        "started_at, finished_at, heartbeat_at, requested_by) VALUES (gen_random_uuid(), "
        "'ratios', '{}', 'k', 'schedule', 'succeeded', $1, $1, $1, $1, 'system')",
        two_days_ago,
    )
    # ratios last ran two days ago: a nightly fire time passed since. consolidations never ran on
    # its schedule: nothing to catch up.
    assert await scheduler.catch_up(settings) == ["ratios"]
    runs = await db.fetch(
        "SELECT job, trigger, status FROM job_run WHERE started_at > $1 AND job = 'ratios'",
        two_days_ago,
    )
    assert [(r["job"], r["trigger"], r["status"]) for r in runs] == [
        ("ratios", "schedule", "succeeded")
    ]
    assert await scheduler.catch_up(settings) == []


async def test_the_scheduler_in_the_process_starts_queued_runs(db: asyncpg.Connection) -> None:
    settings = msgspec.structs.replace(_only(), job_queue_seconds=1)
    job = runner.job_named("ratios")
    await runner.enqueue(
        job,
        runner.parse_params(job, {"period": "2025-Q4"}),
        trigger=runner.Trigger.period_lock,
        actor=runner.SYSTEM,
    )
    in_process = scheduler.InProcess(settings)
    await in_process.start()
    try:
        for _ in range(100):
            status = await db.fetchval("SELECT status FROM job_run WHERE job = 'ratios'")
            if status == "succeeded":
                break
            await asyncio.sleep(0.1)
    finally:
        await in_process.stop()
    row = await db.fetchrow(
        "SELECT trigger, status, started_at, finished_at FROM job_run WHERE job = 'ratios'"
    )
    assert (row["trigger"], row["status"]) == ("period-lock", "succeeded")
    assert row["finished_at"] >= row["started_at"]


async def _cli(*args: str) -> tuple[int, str, str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stateasset.cli",
        *args,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


async def test_run_job_runs_in_the_foreground_with_a_progress_bar(db: asyncpg.Connection) -> None:
    code, out, err = await _cli("run-job", "ratios", "--param", "period=2025-Q4")
    assert code == 0, err
    run_id = await db.fetchval("SELECT id FROM job_run WHERE job = 'ratios'")
    # One period with no statements: one step of one, then done.
    assert f"ratios [{'#' * 30}] 1/1 完成" in err
    assert f"ratios run {run_id}: 1 in, 0 out in " in out
    assert await db.fetchval("SELECT status FROM job_run WHERE id = $1", run_id) == "succeeded"

    code, _, err = await _cli("run-job", "depreciation", "2025-13")
    assert code == 1
    assert "params.period: period '2025-13': month must be 01..12" in err
    code, _, err = await _cli("run-job", "nightly")
    assert code == 1
    assert "unknown job 'nightly'" in err
    # Neither refusal started a run (a successful ratios run may queue what follows it).
    assert await db.fetchval("SELECT count(*) FROM job_run WHERE status <> 'queued'") == 1


async def test_a_fire_time_is_run_once_by_two_schedulers(
    db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two scheduler processes (a rolling update) both fire at 01:30: whichever starts first
    runs it; the other finds a scheduled start after that fire time and skips."""
    nightly = CronTrigger.from_crontab("30 1 * * *", timezone=SHANGHAI)
    # Yesterday's run started at 01:30:01; it is now 01:30:00.5 today, Shanghai time.
    now = datetime(2026, 11, 27, 1, 30, 0, 500_000, tzinfo=SHANGHAI)
    monkeypatch.setattr(scheduler, "utc_now", lambda: now)
    yesterday = datetime(2026, 11, 26, 1, 30, 1, tzinfo=SHANGHAI)
    await db.execute(
        "INSERT INTO job_run (id, job, params, params_key, trigger, status, queued_at, "
        "started_at, finished_at, heartbeat_at, requested_by) VALUES (gen_random_uuid(), "
        "'ratios', '{}', 'k', 'schedule', 'succeeded', $1, $1, $1, $1, 'system')",
        yesterday,
    )
    await scheduler._scheduled("ratios", nightly)
    await scheduler._scheduled("ratios", nightly)
    starts = await db.fetchval(
        "SELECT count(*) FROM job_run WHERE job = 'ratios' AND started_at > $1", yesterday
    )
    assert starts == 1
