"""Browser fixtures: the demo group served once per module, pages that must stay on this machine.

Skips where no Chromium is installed, except in CI (which installs it), where it fails instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from stateasset.demo import DEMO_PASSWORD
from stateasset.web.browser import CHROMIUM, VIEWPORT, Offline, launch, serve_demo, sign_in

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed"
)


async def _empty(database_url: str) -> None:
    """Every table emptied, as the `db` fixture does, so the demo loads into a clean database."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET session_replication_role = replica")
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'migration'"
        )
        tables = ", ".join(r["tablename"] for r in rows)
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def demo_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app serving the demo group (loaded once for the module) on a loopback port."""
    # Another thread: pytest-asyncio may already run a loop on this one.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, _empty(database_url)).result()
    # The audit chain's checkpoints belong to the emptied tables: the server starts a fresh chain.
    Path(os.environ["STATEASSET_AUDIT_ANCHOR_FILE"]).unlink(missing_ok=True)
    log = tmp_path_factory.mktemp("demo-server") / "server.log"
    with serve_demo({"DATABASE_URL": database_url}, log) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


SignedIn = Callable[[str], Any]


@pytest.fixture
def signed_in(browser: Any, demo_server: str) -> Iterator[SignedIn]:
    """`signed_in("gf")`: a 1366×768 page signed in as that demo user; no request may leave."""
    contexts: list[tuple[Any, Offline]] = []

    def open_as(username: str) -> Any:
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, locale="zh-CN")
        offline = Offline(context)
        contexts.append((context, offline))
        page = context.new_page()
        sign_in(page, demo_server, username, DEMO_PASSWORD)
        return page

    yield open_as
    leaks = [url for _, offline in contexts for url in offline.leaks]
    for context, _ in contexts:
        context.close()
    assert not leaks, f"requests left the machine: {leaks}"
