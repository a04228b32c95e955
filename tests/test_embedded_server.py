"""The embedded PostgreSQL survives its users being killed: it stops after the last one, and starts
again over what a killed server left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

# Starts the server, says its URI and postmaster pid, checks it answers, then waits or exits.
USER = """
import asyncio, sys, time
from pathlib import Path
import asyncpg
from stateasset.db import embedded_server_url
uri = embedded_server_url(Path(sys.argv[1]))
async def ping():
    conn = await asyncpg.connect(uri)
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()
asyncio.run(ping())
print("postmaster", Path(sys.argv[1], "postmaster.pid").read_text().split()[0], flush=True)
if sys.argv[2] == "hold":
    time.sleep(600)
"""


def _servers_of(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(pgdata) in (process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.fixture
def pgdata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("epg") / "pg"  # short: the socket lives here
    yield path.resolve()
    for process in _servers_of(path.resolve()):  # whatever a failing test left running
        process.kill()


def _use(pgdata: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", USER, str(pgdata), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ,
    )


def _postmaster(lines: Iterator[str] | str) -> int:
    """The pid a user process reported (its log lines go to stdout too)."""
    for line in lines.splitlines() if isinstance(lines, str) else lines:
        if line.startswith("postmaster "):
            return int(line.split()[1])
    raise AssertionError("the process did not report a server")


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid):  # and reaped: PostgreSQL takes a zombie for alive
            return True
        time.sleep(0.2)
    return False


def test_the_server_stops_after_its_last_user_even_when_one_was_killed(pgdata: Path) -> None:
    killed = _use(pgdata, "hold")
    postmaster = _postmaster(killed.stdout)  # type: ignore[arg-type]
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    assert psutil.pid_exists(postmaster)  # the server outlives the process that started it
    later = _use(pgdata, "exit")
    out, _ = later.communicate(timeout=60)
    assert later.returncode == 0
    assert _postmaster(out) == postmaster  # reused, not started twice
    # Before: the killed pid stayed in the library's list and the server never stopped.
    assert _wait_gone(postmaster, 15), "the embedded server kept running after its last user"


def test_the_server_starts_over_a_stale_postmaster_pid(pgdata: Path) -> None:
    first = _use(pgdata, "hold")
    postmaster = _postmaster(first.stdout)  # type: ignore[arg-type]
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    for process in _servers_of(pgdata):
        process.kill()  # the server too, as at a power cut
    assert _wait_gone(postmaster, 10)
    # Its pid now belongs to another program (after a reboot, pids are handed out again).
    squatter = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        for lock in [pgdata / "postmaster.pid", *pgdata.glob(".s.PGSQL.*.lock")]:
            lines = lock.read_text().split("\n")
            lock.write_text("\n".join([str(squatter.pid), *lines[1:]]))
        again = _use(pgdata, "exit")
        out, _ = again.communicate(timeout=60)
        # Before: the library took the squatter for the server and the connection failed.
        assert again.returncode == 0, out
        assert _postmaster(out) not in (squatter.pid, postmaster)
    finally:
        squatter.kill()
        squatter.wait()
