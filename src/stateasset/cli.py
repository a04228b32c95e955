"""The `stateasset` command: serve, migrate, demo, create-user, audit verify, backup, restore,
run-job, scheduler."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from stateasset import db
from stateasset.settings import get_settings


def _serve(host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    db.database_url()  # start the embedded server in this process before the app needs it
    # uvicorn re-raises SIGTERM after its graceful shutdown; exiting normally then lets the
    # embedded server's atexit hook stop PostgreSQL instead of leaving it running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    settings = get_settings()
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    # Requests are logged by the app with their request id and user; uvicorn's access log would
    # only repeat them without either.
    uvicorn.run(
        "stateasset.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        # Each worker is a process with its own pool, caches and audit sealer (the sealers take
        # turns under their own lock).
        workers=workers,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default, so any local caller could
        # pick its address (and dodge the login throttle): only the configured proxies count.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
        # The app answers large headers 431 (RequestIdMiddleware); should h11 serve, it stops
        # buffering an unfinished request head at the same size.
        h11_max_incomplete_event_size=settings.max_header_bytes,
        # Without a bound, SIGTERM waited for every open request (one stuck on a lock: forever).
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


async def _migrate() -> None:
    db.database_url()
    await db.migrate()


async def _create_user(args: argparse.Namespace) -> None:
    from uuid import UUID

    from stateasset.auth import service
    from stateasset.auth.roles import Role
    from stateasset.auth.schemas import UserCreate

    password = args.password or os.environ.get("STATEASSET_NEW_PASSWORD") or getpass.getpass()
    user = await service.create_user(
        actor=service.SYSTEM_ACTOR,
        data=UserCreate(
            username=args.username,
            display_name=args.display_name or args.username,
            password=password,
            role=Role(args.role),
            entity_id=UUID(args.entity_id) if args.entity_id else None,
        ),
    )
    print(f"created {user.username} ({user.role.value}) {user.id}")


async def _audit_verify() -> int:
    from stateasset.audit.service import verify_chain

    report = await verify_chain()
    if report.ok:
        print(f"audit chain intact: {report.rows_checked} rows checked")
        return 0
    print(
        f"audit chain BROKEN at row {report.first_broken_id}: {report.problem} "
        f"({report.rows_checked} rows checked)"
    )
    return 1


async def _backup(file: Path) -> int:
    from stateasset.backup import BackupError, backup

    settings = get_settings()
    # The owner when configured; a server given only the app's role dumps as that role, which
    # reads every table.
    url = db.database_url() if settings.app_database_url and not settings.database_url else None
    try:
        await backup(file, url=url or db.owner_url())
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backup written to {file}")
    return 0


async def _restore(file: Path, *, force: bool) -> int:
    from stateasset.backup import BackupError, restore

    try:
        await restore(file, url=db.owner_url(), app_url=db.database_url(), force=force)
    except BackupError as exc:
        print(f"restore failed: {exc}", file=sys.stderr)
        return 1
    await db.migrate()  # a backup from an older release is brought up to date
    print(f"restored {file}; check it with `stateasset audit verify`")
    return 0


async def _demo_data() -> None:
    from stateasset.demo import load_demo

    await _migrate()
    await load_demo()


def _list_params(job: str) -> set[str]:
    """The names of the job's parameters that take a list (none for an unknown job)."""
    import msgspec

    from stateasset.jobs.registry import JOBS

    def is_list(kind: msgspec.inspect.Type) -> bool:
        if isinstance(kind, msgspec.inspect.UnionType):
            return any(is_list(k) for k in kind.types)
        return isinstance(kind, msgspec.inspect.ListType)

    if job not in JOBS:
        return set()
    info = msgspec.inspect.type_info(JOBS[job].params)
    assert isinstance(info, msgspec.inspect.StructType)
    return {f.name for f in info.fields if is_list(f.type)}


async def _run_job(job: str, period: str | None, params: list[str]) -> int:
    """Run a job once in the foreground, as the system, with a progress bar on stderr."""
    from stateasset.core.errors import DomainError
    from stateasset.jobs import runner
    from stateasset.jobs.base import RunStatus

    raw: dict[str, object] = {}
    lists = _list_params(job)
    for item in params:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"--param {item!r}: write it as name=value", file=sys.stderr)
            return 2
        # Lists (entity_ids, years) as comma-separated values.
        raw[key] = value.split(",") if key in lists or key.endswith("_ids") else value
    if period is not None:
        raw["period"] = period

    def progress(done: int, total: int, message: str) -> None:
        filled = 30 * done // max(total, 1)
        bar = "#" * filled + "-" * (30 - filled)
        print(
            f"\r{job} [{bar}] {done}/{total} {message[:40]:<40}",
            end="",
            file=sys.stderr,
            flush=True,
        )

    db.database_url()
    await db.open_pool()
    try:
        run = await runner.run_now(job, raw, on_progress=progress)
    except DomainError as exc:
        problems = "; ".join(f"{p.field}: {p.reason}" for p in exc.errors)
        print(f"\n{job}: {exc.detail}" + (f" ({problems})" if problems else ""), file=sys.stderr)
        return 1
    finally:
        await db.close_pool()
    print(file=sys.stderr)
    if run.status is not RunStatus.succeeded:
        print(f"{job} run {run.id} failed: {run.error}", file=sys.stderr)
        return 1
    print(
        f"{job} run {run.id}: {run.rows_in} in, {run.rows_out} out in "
        f"{run.duration_seconds or 0:.1f} s; {msgspec_json(run.summary)}"
    )
    return 0


def msgspec_json(value: object) -> str:
    import msgspec

    return msgspec.json.encode(value).decode()


async def _scheduler() -> int:
    """The scheduler as its own process: scheduled jobs and queued runs until SIGTERM."""
    from stateasset.jobs import scheduler

    settings = get_settings()
    db.database_url()
    await db.open_pool()
    runner_ = scheduler.InProcess(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runner_.start()
    print("scheduler running; jobs: " + ", ".join(scheduler.schedules(settings)), flush=True)
    try:
        await stop.wait()
    finally:
        await runner_.stop()
        await db.close_pool()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stateasset", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "demo"):
        p = sub.add_parser(name, help=f"{name} the API and pages")
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    sub.add_parser("migrate", help="bring the schema up to date")
    user = sub.add_parser("create-user", help="create a user")
    user.add_argument("username")
    user.add_argument("--role", required=True)
    user.add_argument("--display-name")
    user.add_argument("--entity-id")
    user.add_argument("--password", help="default: $STATEASSET_NEW_PASSWORD, else prompt")
    audit = sub.add_parser("audit", help="audit-log tools")
    audit.add_argument("action", choices=["verify"])
    job = sub.add_parser(
        "run-job", help="run a job once in the foreground: consolidations, ratios, ... [PERIOD]"
    )
    job.add_argument("job", help="the job's name (GET /api/v1/jobs lists them)")
    job.add_argument("period", nargs="?", help="a month 2025-09, a quarter 2025-Q3 or a year 2025")
    job.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a job parameter (repeatable); lists comma-separated",
    )
    sub.add_parser("scheduler", help="run the job scheduler (instead of the app's own)")
    backup = sub.add_parser("backup", help="write the database to FILE (pg_dump custom format)")
    backup.add_argument("file", type=Path)
    restore = sub.add_parser("restore", help="load FILE into the empty database (pg_restore)")
    restore.add_argument("file", type=Path)
    restore.add_argument(
        "--force", action="store_true", help="replace what the backup holds in a non-empty database"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    get_settings().check()
    if args.command == "migrate":
        asyncio.run(_migrate())
        print("migrations applied")
    elif args.command == "serve":
        _serve(args.host, args.port, args.workers)
    elif args.command == "demo":
        asyncio.run(_demo_data())
        shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        print(
            f"demo: open http://{shown}:{args.port}/ and sign in as one of the users above "
            f"(API reference: http://{shown}:{args.port}/schema/swagger)",
            flush=True,
        )
        _serve(args.host, args.port, args.workers)
    elif args.command == "create-user":
        if db.owner_configured():  # a server with only the app's role leaves migrating to the owner
            asyncio.run(_migrate())
        asyncio.run(_create_user(args))
    elif args.command == "audit":
        db.database_url()
        return asyncio.run(_audit_verify())
    elif args.command == "run-job":
        return asyncio.run(_run_job(args.job, args.period, args.param))
    elif args.command == "scheduler":
        return asyncio.run(_scheduler())
    elif args.command == "backup":
        return asyncio.run(_backup(args.file))
    elif args.command == "restore":
        return asyncio.run(_restore(args.file, force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
