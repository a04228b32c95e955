"""作业 in a real browser over the demo group: group finance starts a ratios run and watches it go
from 运行中 to 成功 on the same page, the table polled in place, never reloaded."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import asyncpg
from playwright.sync_api import expect

from tests.web.conftest import SignedIn, needs_chromium

pytestmark = needs_chromium

PERIOD = "2026-Q3"


@contextmanager
def ratios_store_held(database_url: str, period: str) -> Iterator[Callable[[], None]]:
    """Hold the lock a ratios run takes to store `period` (kpi.ratios `_store`), so a run of it
    stays 运行中 until the test calls the yielded `release`."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coroutine: object) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)  # type: ignore[arg-type]

    key = "SELECT {}(hashtextextended('kpi_ratio_run:' || $1, 0))"
    conn: asyncpg.Connection = call(asyncpg.connect(database_url))  # type: ignore[assignment]
    call(conn.execute(key.format("pg_advisory_lock"), period))

    def release() -> None:
        call(conn.execute(key.format("pg_advisory_unlock"), period))

    try:
        yield release
    finally:
        call(conn.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def test_group_finance_starts_ratios_and_sees_it_succeed_without_reloading(
    signed_in: SignedIn, demo_server: str, database_url: str
) -> None:
    page = signed_in("gf")
    page.goto(f"{demo_server}/jobs")
    card = page.locator("#job-ratios")
    expect(card.locator("h2")).to_contain_text("指标计算")
    expect(card).to_contain_text("30 1 * * *（每天 01:30）")

    with ratios_store_held(database_url, PERIOD) as release:
        card.locator("input[name=period]").fill(PERIOD)
        card.get_by_role("button", name="立即运行").click()
        notice = page.locator("[data-started]")
        expect(notice).to_contain_text("已开始运行 指标计算")
        run_id = notice.get_attribute("data-started")
        row = page.locator(f"#tbl-job-runs tbody tr:has(a[href='/jobs/runs/{run_id}'])")
        expect(row.locator(".run-status")).to_have_text("运行中")
        # The body reached its period and waits to store it: the bar shows where it is.
        expect(row).to_contain_text(f"计算 {PERIOD} 的指标", timeout=15_000)
        # A mark on this document: a reload (or a navigation) would drop it.
        page.evaluate("window.stillThisPage = true")
        release()
        expect(row.locator(".run-status")).to_have_text("成功", timeout=30_000)

    expect(row).to_contain_text("100.00%")
    assert page.evaluate("window.stillThisPage") is True
    assert page.url.endswith(f"/jobs?started={run_id}")
    # The card's newest run followed out of band.
    expect(page.locator("#last-run-ratios .run-status")).to_have_text("成功")
    # The run's own page: its period in the parameters and what it stored in the summary.
    row.get_by_role("link", name="指标计算").click()
    expect(page.locator("pre.params")).to_contain_text(f'"period": "{PERIOD}"')
    expect(page.locator("pre.summary")).to_contain_text('"ratio_runs"')
