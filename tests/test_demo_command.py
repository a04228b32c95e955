"""`stateasset demo` (what `make demo` runs): loads the demo group, says where to go and who to be,
and serves the pages."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_prints_the_url_and_the_users_then_serves_the_login_page(
    db: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    out = tmp_path / "demo.out"
    with out.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "stateasset.cli", "demo", "--port", str(port)],
            env={**os.environ, "DATABASE_URL": database_url},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 240
        url = None
        while time.monotonic() < deadline and server.poll() is None:
            if match := re.search(r"demo: open (http://\S+/) ", out.read_text()):
                url = match.group(1)
                break
            time.sleep(0.5)
        printed = out.read_text()
        assert url == f"http://127.0.0.1:{port}/", printed
        # The users, with their roles and the one password, before the URL.
        assert re.search(r"demo: users \(password \S+", printed), printed
        for username, role in (("gf", "group_finance"), ("ef_chengjian", "entity_finance")):
            assert re.search(rf"^\s+{username}\s+{role}\s", printed, re.MULTILINE), printed
        for _ in range(100):
            try:
                page = urllib.request.urlopen(url, timeout=2)  # redirected to the login page
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError(out.read_text())
        assert page.url.startswith(f"{url}login"), page.url
        assert "登录" in page.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
