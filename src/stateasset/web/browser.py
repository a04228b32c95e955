"""Driving the pages in a real browser, for the browser tests and `make screenshots`.

Needs the `dev` extra (Playwright for Python) and a system Chromium: Playwright's own browser
download is never used, so nothing is fetched from the internet. `serve_demo` runs
`stateasset demo` (migrate, load the demo group, serve) on a free loopback port; `Offline` records
every request that leaves 127.0.0.1/localhost so a page that reaches for a CDN fails the test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_demo(env: Mapping[str, str], log: Path, *, timeout: float = 180) -> Iterator[str]:
    """`stateasset demo` on a free loopback port with `env`; yields the base URL once it answers."""
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "stateasset.cli", "demo", "--port", str(port)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"the demo server stopped:\n{log.read_text()}")
                try:
                    urllib.request.urlopen(f"{base}/health", timeout=1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"no answer in {timeout}s:\n{log.read_text()}") from None
                    time.sleep(0.25)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def launch(playwright: Any, executable: str | None = CHROMIUM) -> Any:
    """Headless system Chromium with nothing that phones home."""
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)


class Offline:
    """Records every request a browser context makes to a host other than this machine."""

    def __init__(self, context: Any) -> None:
        self.leaks: list[str] = []
        context.on("request", self._seen)

    def _seen(self, request: Any) -> None:
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            return
        if urlsplit(url).hostname not in LOCAL_HOSTS:
            self.leaks.append(url)


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    """Sign in through the form, as a person does; the page ends on the start page."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
