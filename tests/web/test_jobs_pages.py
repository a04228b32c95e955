"""作业 without a browser: the runs the runner recorded, listed with their Chinese status, trigger,
duration and progress; 立即运行 starting a run as the API does, and refusing a second while one
runs (naming it, writing nothing); the htmx answer that keeps polling only while a run is active;
one run's record; and the roles without `jobs:run` refused."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import msgspec
import openpyxl
import pytest
from litestar.testing import AsyncTestClient

from stateasset.jobs import runner
from stateasset.jobs.base import Context, Outcome, RunStatus, Trigger
from stateasset.jobs.pages import cron_words, duration_text
from stateasset.kpi.jobs import RATIOS
from tests.conftest import Login

PAGE = "/jobs"


def _csrf(html: str) -> str:
    token = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert token is not None
    return token.group(1)


def _rows(html: str) -> list[list[str]]:
    """The runs table's body rows, cell texts with tags and runs of spaces collapsed."""
    box = html.split('id="tbl-job-runs"', 1)[1].split("</table>", 1)[0]
    body = box.split("<tbody>", 1)[1]
    return [
        [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        ]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


async def _boom(context: Context, params: object) -> Outcome:
    await context.progress(1, 4, "读取报表")
    raise RuntimeError("读取失败")


@pytest.fixture
async def recorded(db: asyncpg.Connection) -> dict[str, UUID]:
    """Four runs of `ratios` made by the runner before the app starts (its pool is the app's).

    Then their clocks are set to known instants, so durations and times can be worked by hand.
    """
    # The ratios job itself on the empty database (nothing stale, nothing written), without the
    # jobs it queues after it, so the listing holds exactly these four runs.
    alone = dataclasses.replace(RATIOS, then=())
    everything = runner.parse_params(RATIOS, {})
    ok = await runner.claim(alone, everything, trigger=Trigger.manual, actor=runner.SYSTEM)
    assert ok is not None
    assert await runner.execute(alone, everything, ok, trigger=Trigger.manual) == "succeeded"
    failing = dataclasses.replace(RATIOS, body=_boom)
    params = runner.parse_params(RATIOS, {"period": "2026-Q2"})
    failed = await runner.claim(failing, params, trigger=Trigger.schedule, actor=runner.SYSTEM)
    assert failed is not None
    assert await runner.execute(failing, params, failed, trigger=Trigger.schedule) == "failed"
    running = await runner.claim(
        RATIOS,
        runner.parse_params(RATIOS, {"period": "2026-Q3"}),
        trigger=Trigger.manual,
        actor=runner.SYSTEM,
    )
    await runner.enqueue(
        RATIOS,
        runner.parse_params(RATIOS, {"period": "2026-09"}),
        trigger=Trigger.period_lock,
        actor=runner.SYSTEM,
    )
    queued = await db.fetchval("SELECT id FROM job_run WHERE job = 'ratios' AND status = 'queued'")
    at = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
    # succeeded: 01:30:00 → 01:33:05, 185 s = 3 分 05 秒; failed: 02:00:00 → 02:00:00.4, 0.4 秒.
    clocks = [
        (ok, "01:29:58", "01:30:00", "01:33:05"),
        (failed, "02:00:00", "02:00:00", "02:00:00.4"),
        (queued, "03:00:00", None, None),
    ]
    for run_id, queued_at, started, finished in clocks:
        await db.execute(
            "UPDATE job_run SET queued_at = $2::text::timestamptz, "
            "started_at = $3::text::timestamptz, finished_at = $4::text::timestamptz WHERE id = $1",
            run_id,
            f"2026-11-27 {queued_at}+00",
            started and f"2026-11-27 {started}+00",
            finished and f"2026-11-27 {finished}+00",
        )
    # Running: queued last (newest first puts it on top), a quarter done, heard from just now.
    await db.execute(
        "UPDATE job_run SET queued_at = $2, progress = 0.25, message = '计算 2026-Q3 的指标', "
        "heartbeat_at = now() WHERE id = $1",
        running,
        at.replace(hour=4),
    )
    assert running is not None and queued is not None
    return {"succeeded": ok, "failed": failed, "running": running, "queued": queued}


async def test_the_page_lists_the_runs_with_status_trigger_duration_and_progress(
    recorded: dict[str, UUID], client: AsyncTestClient, login_as: Login
) -> None:
    headers = await login_as("group_finance")
    response = await client.get(PAGE, headers=headers)
    assert response.status_code == 200, response.text
    html = response.text
    # Newest first by queued time: running (04:00), queued (03:00), failed (02:00), succeeded.
    # Columns: 作业, 触发方式, 参数 (beyond the job's defaults), 状态, 开始时间（北京时间）, 耗时,
    # 进度, 读入行数, 写出行数, 错误, 发起人.
    rows = _rows(html)
    # The running run started when it was claimed (a moment ago): a time, and seconds so far.
    running = rows.pop(0)
    assert running[:4] == ["指标计算", "手动", "period=2026-Q3", "运行中"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", running[4])
    assert re.fullmatch(r"\d+\.\d 秒", running[5])
    assert running[6:] == ["25.00% 计算 2026-Q3 的指标", "0", "0", "", "system"]
    # succeeded 01:30:00Z → 01:33:05Z: 185 s; failed 02:00:00Z → 02:00:00.4Z; Beijing is UTC+8.
    assert rows == [
        ["指标计算", "期间锁定", "period=2026-09", "排队中", "", "", "", "0", "0", "", "system"],
        [
            "指标计算",
            "定时",
            "period=2026-Q2",
            "失败",
            "2026-11-27 10:00:00",
            "0.4 秒",
            "25.00% 读取报表",
            "0",
            "0",
            "RuntimeError: 读取失败",
            "system",
        ],
        [
            "指标计算",
            "手动",
            "默认",
            "成功",
            "2026-11-27 09:30:00",
            "3 分 05 秒",
            "100.00% 完成",
            "0",
            "0",
            "",
            "system",
        ],
    ]
    assert f'href="/jobs/runs/{recorded["running"]}"' in html
    assert '<span class="run-status failed">失败</span>' in html
    assert '<progress max="100" value="25.0"' in html
    # A run is active: the page polls the table every 2 s.
    assert 'hx-trigger="every 2s"' in html
    # Each job's card: its crontab in words and the period-lock line for ratios.
    ratios_card = html.split('id="job-ratios"', 1)[1].split("</section>", 1)[0]
    assert "<code>30 1 * * *</code>（每天 01:30）" in ratios_card
    assert "期间锁定后自动运行" in ratios_card
    assert "立即运行" in ratios_card and 'name="period"' in ratios_card


async def test_the_filters_narrow_the_runs_and_the_export_writes_them(
    recorded: dict[str, UUID], client: AsyncTestClient, login_as: Login
) -> None:
    headers = await login_as("admin")
    failed = await client.get(f"{PAGE}?f_status=failed&f_job=ratios", headers=headers)
    assert [row[3] for row in _rows(failed.text)] == ["失败"]
    assert "共 1 条" in failed.text
    bad = await client.get(f"{PAGE}?f_status=paused", headers=headers)
    assert bad.status_code == 422  # an unknown status lists nothing rather than everything
    assert _rows(bad.text) == [["没有符合条件的记录"]]
    export = await client.get(f"{PAGE}/export.xlsx?f_status=succeeded", headers=headers)
    assert export.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("作业", "触发方式", "参数", "状态", "开始时间（北京时间）", "耗时")
    assert rows[1:] == [
        (
            "指标计算",
            "手动",
            "默认",
            "成功",
            "2026-11-27 09:30:00",
            "3 分 05 秒",
            1.0,
            "0",
            "0",
            None,
            "system",
        )
    ]


async def test_the_htmx_answer_is_the_table_and_polls_only_while_a_run_is_active(
    recorded: dict[str, UUID], client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    headers = {**await login_as("group_finance"), "HX-Request": "true"}
    active = await client.get(f"{PAGE}?f_job=ratios", headers=headers)
    assert active.status_code == 200
    assert "<html" not in active.text and 'id="tbl-job-runs"' in active.text
    poller = re.search(r'<div id="job-runs-poll"[^>]*>', active.text)
    assert poller is not None
    assert 'hx-swap-oob="true"' in poller.group(0)
    assert 'hx-trigger="every 2s"' in poller.group(0)
    assert 'hx-get="/jobs?f_job=ratios"' in poller.group(0)
    # Each card's last run comes along out of band: ratios' newest is the running one.
    assert (
        '<span id="last-run-ratios" class="last-run" hx-swap-oob="true">'
        '<span class="run-status running">运行中</span>'
    ) in active.text

    await db.execute(
        "UPDATE job_run SET status = 'failed', started_at = coalesce(started_at, queued_at), "
        "finished_at = now(), error = 'stopped' WHERE status IN ('running', 'queued')"
    )
    idle = await client.get(f"{PAGE}?f_job=ratios", headers=headers)
    poller = re.search(r'<div id="job-runs-poll"[^>]*>', idle.text)
    assert poller is not None and "hx-trigger" not in poller.group(0)
    assert 'data-polling="no"' in poller.group(0)


async def test_one_run_shows_its_parameters_summary_and_error(
    recorded: dict[str, UUID], client: AsyncTestClient, login_as: Login
) -> None:
    headers = await login_as("group_finance")
    failed = await client.get(f"{PAGE}/runs/{recorded['failed']}", headers=headers)
    assert failed.status_code == 200
    assert '<span class="run-status failed">失败</span>' in failed.text
    assert "RuntimeError: 读取失败" in failed.text
    params = re.search(r'<pre class="json params">(.*?)</pre>', failed.text, re.S)
    assert params is not None
    assert msgspec.json.decode(params.group(1).replace("&#34;", '"')) == {
        "period": "2026-Q2",
        "entity_ids": None,
        "with_nodes": True,
    }
    assert "0.4 秒" in failed.text and "2026-11-27 10:00:00" in failed.text
    ok = await client.get(f"{PAGE}/runs/{recorded['succeeded']}", headers=headers)
    summary = re.search(r'<pre class="json summary">(.*?)</pre>', ok.text, re.S)
    assert summary is not None
    assert msgspec.json.decode(summary.group(1).replace("&#34;", '"')) == {"ratio_runs": []}
    # A finished run's record stands still; a running one's reloads itself every 2 s.
    assert 'hx-trigger="every 2s"' not in ok.text
    running = await client.get(f"{PAGE}/runs/{recorded['running']}", headers=headers)
    assert (
        f'<div id="run" hx-get="/jobs/runs/{recorded["running"]}" hx-trigger="every 2s" '
        'hx-select="#run"'
    ) in running.text
    missing = await client.get(f"{PAGE}/runs/{uuid4()}", headers=headers)
    assert missing.status_code == 404


async def test_start_runs_the_job_and_a_second_start_while_it_runs_writes_nothing(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    headers = await login_as("group_finance", username="gf1")
    form = await client.get(PAGE, headers=headers)
    token = _csrf(form.text)
    started = await client.post(
        PAGE, headers=headers, data={"_csrf_token": token, "job": "ratios"}, follow_redirects=False
    )
    assert started.status_code == 303, started.text
    row = await db.fetchrow(
        "SELECT id, job, trigger, requested_by FROM job_run WHERE job = 'ratios'"
    )
    assert (row["job"], row["trigger"], row["requested_by"]) == ("ratios", "manual", "gf1")
    assert started.headers["location"] == f"/jobs?started={row['id']}"
    landed = await client.get(started.headers["location"], headers=headers)
    assert "已开始运行 <strong>指标计算</strong>" in landed.text

    # Hold a run of 2026-Q3 "running": a row of its own, heard from just now.
    params = runner.parse_params(RATIOS, {"period": "2026-Q3"})
    held = uuid4()
    await db.execute(
        "INSERT INTO job_run (id, job, params, params_key, trigger, status, queued_at, started_at, "
        "heartbeat_at, progress, message, requested_by, host) VALUES ($1, 'ratios', $2::jsonb, $3, "
        "'schedule', 'running', now(), now(), now(), 0.5, '计算 2026-Q3 的指标', 'system', 'x')",
        held,
        msgspec.json.encode(params).decode(),
        runner.params_key(RATIOS, params),
    )
    again = await client.post(
        PAGE,
        headers=headers,
        data={"_csrf_token": token, "job": "ratios", "period": "2026-Q3"},
        follow_redirects=False,
    )
    assert again.status_code == 409
    assert "指标计算已在运行，本次未启动。" in again.text
    assert f'<a href="/jobs/runs/{held}">{str(held)[:8]}</a>' in again.text
    assert "进度 50.00%（计算 2026-Q3 的指标）" in again.text
    assert (
        await db.fetchval("SELECT count(*) FROM job_run WHERE params->>'period' = '2026-Q3'") == 1
    )
    # The first run and the held one: nothing else of ratios was written (what the first queues
    # after it, if anything, belongs to other jobs).
    assert await db.fetchval("SELECT count(*) FROM job_run WHERE job = 'ratios'") == 2


async def test_a_bad_period_is_shown_beside_its_field_and_starts_nothing(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    headers = await login_as("admin")
    token = _csrf((await client.get(PAGE, headers=headers)).text)
    bad = await client.post(
        PAGE, headers=headers, data={"_csrf_token": token, "job": "ratios", "period": "2026-Q5"}
    )
    assert bad.status_code == 422
    card = bad.text.split('id="job-ratios"', 1)[1].split("</section>", 1)[0]
    assert 'value="2026-Q5"' in card and 'aria-invalid="true"' in card
    problem = re.search(r'<span class="problem">([^<]+)</span>', card)
    assert problem is not None
    assert problem.group(1).startswith("期间无法识别（应如 2026-Q3、2026-09 或 2026）：")
    unknown = await client.post(PAGE, headers=headers, data={"_csrf_token": token, "job": "nope"})
    assert unknown.status_code == 422
    assert "没有名为 &#39;nope&#39; 的作业，未启动任何运行" in unknown.text
    nameless = await client.post(PAGE, headers=headers, data={"_csrf_token": token})
    assert nameless.status_code == 422
    assert "没有名为 &#39;&#39; 的作业" in nameless.text
    no_token = await client.post(PAGE, headers=headers, data={"job": "ratios"})
    assert no_token.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM job_run") == 0


@pytest.mark.parametrize("role", ["board", "entity_finance", "auditor"])
async def test_roles_without_jobs_run_get_the_403_page(
    client: AsyncTestClient, login_as: Login, role: str
) -> None:
    headers = await login_as(role)
    for path in (PAGE, f"{PAGE}/runs/{uuid4()}", f"{PAGE}/export.xlsx"):
        refused = await client.get(path, headers=headers)
        assert refused.status_code == 403, path
        assert "您无权查看此页面。" in refused.text
    menu = await client.get("/", headers=headers)
    assert menu.status_code == 200
    assert 'href="/jobs"' not in menu.text


def test_simple_crontab_lines_read_in_words() -> None:
    assert cron_words("30 1 * * *") == "每天 01:30"
    assert cron_words("0 3 1 * *") == "每月 1 日 03:00"
    assert cron_words("0 6 * * mon") == "每周一 06:00"
    # Not simple: shown as the crontab only (a numeric weekday counts differently in APScheduler).
    assert cron_words("0 6 * * 1") is None
    assert cron_words("*/15 * * * *") is None
    assert cron_words("") is None and cron_words(None) is None


def test_durations_read_as_staff_say_them() -> None:
    assert duration_text(0.44) == "0.4 秒"
    assert duration_text(12.4) == "12 秒"
    assert duration_text(185) == "3 分 05 秒"
    assert duration_text(3725) == "1 小时 02 分"
    assert duration_text(None) == ""
    assert RunStatus.queued == "queued"
