"""Load test: audited postings per second through the real server, then every invariant checked.

    PYTHONPATH=src python bench/loadtest.py [--seconds 20 --clients 50 --workers 1]

Starts a throwaway embedded PostgreSQL, migrates it with `stateasset migrate`, seeds a small
group (--entities companies, one `group_finance` user) and starts the real server with
`stateasset serve` (uvicorn) on a free loopback port. Then, localhost only and bounded in time:

1. the client's own ceiling: --clients connections asking `GET /health` for --health-seconds;
2. the load: --clients connections, each posting for --seconds, one request at a time, a
   statement (20 items, each body distinct) or an entity's intercompany lines (half each), on a
   random entity and month of 2025, each with a new `Idempotency-Key`; --replays of the requests
   resend an earlier request of the same connection, key and body unchanged.

The client is raw HTTP/1.1 on keep-alive sockets (uvloop), so it costs little of the 2 cores it
shares with the server. After the server has stopped (sealing the audit log at shutdown), checks:
no 5xx and nothing but 201 (a replay answers the first answer again, marked replayed); every
acknowledged posting stored exactly once and nothing stored that was not acknowledged; replays
not doubled; one audit entry per write; `stateasset audit verify` passes. Prints requests/s,
p50/p99 beside the ceiling and exits 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import uvloop

DATABASE = "stateasset_load"
USER, PASSWORD = "load", "load test password 2026"
PERIODS = [f"2025-{m:02d}" for m in range(1, 13)]
ITEMS = 20


def credit_code(n: int) -> str:
    from stateasset.ledger.credit_code import check_character

    first17 = f"913502{n:011d}"
    return first17 + check_character(first17)


def statement_items(n: int, salt: int) -> dict[str, str]:
    """Twenty balanced items (assets = liabilities + equity); `salt` makes each body distinct."""
    cash, receivables, inventory, fixed = (
        Decimal(f"{1000 + n}.{n % 100:02d}"),
        Decimal(500 + n),
        Decimal(300),
        Decimal(2000 + 3 * n),
    )
    total_assets = cash + receivables + inventory + fixed
    payables, borrowings = Decimal(400), Decimal(600 + n)
    total_liabilities = payables + borrowings
    paid_in, reserve = Decimal(1500), Decimal(100)
    retained = total_assets - total_liabilities - paid_in - reserve
    items = {
        "cash": cash,
        "receivables": receivables,
        "inventory": inventory,
        "fixed_assets": fixed,
        "total_assets": total_assets,
        "payables": payables,
        "short_term_borrowings": borrowings,
        "total_liabilities": total_liabilities,
        "paid_in_capital": paid_in,
        "capital_reserve": reserve,
        "retained_earnings": retained,
        "total_equity": paid_in + reserve + retained,
        "revenue": Decimal(800 + n),
        "operating_cost": Decimal(500),
        "total_profit": Decimal(120),
        "net_profit": Decimal(90),
        "operating_cash_flow": Decimal(70),
        "employees_avg": Decimal(30 + salt),
        "labor_cost": Decimal(200),
        "depreciation": Decimal(50),
    }
    return {k: str(v) for k, v in items.items()}


# --- the server and its database ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def seed(url: str, entities: int) -> list[str]:
    from stateasset.auth.service import hash_password

    conn = await asyncpg.connect(url)
    try:
        ids = [
            await conn.fetchval(
                "INSERT INTO entity (id, credit_code, name, kind, second_level, status, "
                "created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, 'subsidiary', false, "
                "'active', now(), now()) RETURNING id::text",
                credit_code(n),
                f"压测子公司{n:03d}",
            )
            for n in range(entities)
        ]
        await conn.execute(
            "INSERT INTO app_user (id, username, display_name, password_hash, role, fund_ids, "
            "active, created_at) VALUES (gen_random_uuid(), $1, $1, $2, 'group_finance', '{}', "
            "true, now())",
            USER,
            hash_password(PASSWORD),
        )
    finally:
        await conn.close()
    return ids


def cli(env: dict[str, str], *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stateasset.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        **kwargs,
    )


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) used so far by process `root` and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    total, frontier = 0.0, [root]
    while frontier:
        pid = frontier.pop()
        total += used.get(pid, 0.0)
        frontier += [child for child, parent in parents.items() if parent == pid]
    return total


# --- a cheap HTTP/1.1 keep-alive client ---------------------------------------------------------


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        assert self.reader is not None and self.writer is not None
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}")
        if body or method == "POST":
            head.append("Content-Type: application/json")
            head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line[9:12])
        response_headers: dict[bytes, bytes] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            response_headers[name.strip().lower()] = value.strip()
        length = int(response_headers.get(b"content-length", b"0"))
        content = await self.reader.readexactly(length) if length else b""
        return status, response_headers, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class Sent:
    kind: str  # "statement" or "intercompany"
    key: str
    body: bytes
    status: int
    response: bytes


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    sent: list[Sent] = field(default_factory=list)
    replays: int = 0
    replay_mismatches: int = 0
    errors: list[str] = field(default_factory=list)


async def health_ceiling(port: int, clients: int, seconds: float) -> tuple[float, Tally]:
    tally = Tally()
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        conn = Connection(port)
        await conn.open()
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                status, _, _ = await conn.request("GET", "/health")
                tally.latencies.append(time.perf_counter() - start)
                tally.statuses[status] += 1
        finally:
            conn.close()

    start = time.perf_counter()
    await asyncio.gather(*[one() for _ in range(clients)])
    return len(tally.latencies) / (time.perf_counter() - start), tally


async def commit_baseline(url: str, connections: int, seconds: float) -> tuple[float, Tally]:
    """The raw baseline: bare asyncpg single-row durable commits on the same PostgreSQL.

    No HTTP, no app: what the database and the disk give one committing row at a time on
    `connections` connections, beside which the app's postings are read.
    """
    tally = Tally()
    setup = await asyncpg.connect(url)
    await setup.execute("CREATE TABLE IF NOT EXISTS load_baseline (id bigserial, body text)")
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        conn = await asyncpg.connect(url)
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                await conn.execute("INSERT INTO load_baseline (body) VALUES ($1)", "x" * 64)
                tally.latencies.append(time.perf_counter() - start)
        finally:
            await conn.close()

    start = time.perf_counter()
    await asyncio.gather(*[one() for _ in range(connections)])
    rate = len(tally.latencies) / (time.perf_counter() - start)
    await setup.execute("DROP TABLE load_baseline")
    await setup.close()
    return rate, tally


async def postings(
    port: int,
    token: str,
    ids: list[str],
    clients: int,
    seconds: float,
    replays: float,
    seed: int,
    statements: float = 0.5,
) -> tuple[float, Tally]:
    tally = Tally()
    deadline = time.perf_counter() + seconds
    auth = f"Bearer {token}"

    async def one(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        conn = Connection(port)
        await conn.open()
        mine: list[Sent] = []
        n = 0
        try:
            while time.perf_counter() < deadline:
                n += 1
                if mine and rng.random() < replays:
                    earlier = rng.choice(mine)
                    kind, key, body = earlier.kind, earlier.key, earlier.body
                else:
                    earlier = None
                    entity = rng.randrange(len(ids))
                    period = rng.choice(PERIODS)
                    key = f"c{k}-{n}"
                    if rng.random() < statements:
                        kind = "statement"
                        items = statement_items(entity, salt=k * 100_000 + n)
                        payload = {"entity_id": ids[entity], "period": period, "items": items}
                    else:
                        kind = "intercompany"
                        partner = (entity + 1 + rng.randrange(len(ids) - 1)) % len(ids)
                        amount = f"{rng.randrange(1, 10**7)}.{rng.randrange(100):02d}"
                        payload = {
                            "entity_id": ids[entity],
                            "period": period,
                            "lines": [
                                {"partner_id": ids[partner], "kind": "receivable", "amount": amount}
                            ],
                        }
                    body = msgspec.json.encode(payload)
                path = (
                    "/api/v1/ledger/statements/"
                    if kind == "statement"
                    else ("/api/v1/ledger/intercompany/")
                )
                start = time.perf_counter()
                status, headers, content = await conn.request(
                    "POST", path, body, {"Authorization": auth, "Idempotency-Key": key}
                )
                tally.latencies.append(time.perf_counter() - start)
                tally.statuses[status] += 1
                if earlier is not None:
                    tally.replays += 1
                    same = status == earlier.status and content == earlier.response
                    if not same or headers.get(b"idempotency-replayed") != b"true":
                        tally.replay_mismatches += 1
                else:
                    sent = Sent(kind, key, body, status, content)
                    mine.append(sent)
                    tally.sent.append(sent)
                    if status >= 300 and len(tally.errors) < 5:
                        tally.errors.append(f"{status} {content[:300]!r}")
        finally:
            conn.close()

    start = time.perf_counter()
    await asyncio.gather(*[one(k) for k in range(clients)])
    return len(tally.latencies) / (time.perf_counter() - start), tally


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# --- invariants ---------------------------------------------------------------------------------


async def check_invariants(url: str, tally: Tally) -> list[tuple[str, bool, str]]:
    ok_statements = [s for s in tally.sent if s.kind == "statement" and s.status == 201]
    ok_intercompany = [s for s in tally.sent if s.kind == "intercompany" and s.status == 201]
    acknowledged = {
        (r["entity_id"], r["period"], r["version"])
        for r in (msgspec.json.decode(s.response) for s in ok_statements)
    }
    conn = await asyncpg.connect(url)
    try:
        stored = {
            (r["entity"], r["period"], r["version"])
            for r in await conn.fetch("SELECT entity::text, period, version FROM statement")
        }
        lines = await conn.fetchval("SELECT count(*) FROM statement_line")
        audit = dict(
            await conn.fetch(
                "SELECT action, count(*) FROM audit_log GROUP BY action ORDER BY action"
            )
        )
        unsealed = 0
        if await conn.fetchval("SELECT to_regclass('audit_seal') IS NOT NULL"):  # older schemas
            unsealed = await conn.fetchval(
                "SELECT count(*) FROM audit_log e WHERE NOT EXISTS "
                "(SELECT 1 FROM audit_seal s WHERE s.entry = e.id)"
            )
        keys = await conn.fetchval("SELECT count(*) FROM idempotency_record")
    finally:
        await conn.close()
    five = sum(n for status, n in tally.statuses.items() if status >= 500)
    other = {s: n for s, n in tally.statuses.items() if s != 201}
    return [
        ("no 5xx", five == 0, f"{five} answers ≥ 500"),
        ("every answer 201", not other, f"other statuses: {other or 'none'}"),
        (
            "every acknowledged statement stored once, nothing else",
            stored == acknowledged and len(ok_statements) == len(acknowledged),
            f"{len(acknowledged)} acknowledged, {len(stored)} stored",
        ),
        (
            "statement lines",
            lines == ITEMS * len(stored),
            f"{lines} lines for {len(stored)} statements",
        ),
        (
            "replays answered the first answer, not run again",
            tally.replay_mismatches == 0,
            f"{tally.replays} replays, {tally.replay_mismatches} differed",
        ),
        (
            "one idempotency key per first request",
            keys == len(ok_statements) + len(ok_intercompany),
            f"{keys} keys",
        ),
        (
            "one audit entry per write",
            audit.get("statement.submit", 0) == len(stored)
            and audit.get("intercompany.replace", 0) == len(ok_intercompany)
            and sum(audit.values()) == len(stored) + len(ok_intercompany),
            f"audit entries by action: {audit}",
        ),
        ("every entry sealed", unsealed == 0, f"{unsealed} unsealed"),
    ]


# --- the run ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--health-seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--entities", type=int, default=100)
    parser.add_argument("--replays", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--statements", type=float, default=0.5, help="share of statements (the rest intercompany)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--py-spy", metavar="OUT", help="profile the server during the load with py-spy into OUT"
    )
    parser.add_argument("--keep-log", action="store_true", help="print the server's log at the end")
    args = parser.parse_args(argv)
    # A short path keeps the Unix socket under the kernel's 107-byte limit. Registered before
    # the server's own exit hook, so it runs after the server has stopped (atexit is LIFO).
    folder = Path(tempfile.mkdtemp(prefix="sal"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return run(args, folder)


def run(args: argparse.Namespace, folder: Path) -> int:
    from stateasset.db import embedded_server_url, recreate_database

    url = asyncio.run(recreate_database(embedded_server_url(folder / "pg"), DATABASE))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "STATEASSET_DATA_DIR": str(folder / "data"),
        "STATEASSET_AUDIT_KEY": uuid.uuid4().hex * 2,
        "STATEASSET_POOL_MAX_SIZE": str(max(10, 40 // args.workers)),
    }
    migrated = cli(env, "migrate")
    if migrated.returncode:
        print(migrated.stdout, migrated.stderr)
        return 1
    ids = asyncio.run(seed(url, args.entities))
    port = free_port()
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stateasset.cli",
                "serve",
                "--port",
                str(port),
                *(["--workers", str(args.workers)] if args.workers > 1 else []),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            print(log_path.read_text())
            return 1
        login = urllib.request.Request(
            f"{base}/api/v1/auth/login",
            data=msgspec.json.encode({"username": USER, "password": PASSWORD}),
            headers={"Content-Type": "application/json"},
        )
        token = msgspec.json.decode(urllib.request.urlopen(login).read())["access_token"]
        uvloop.install()
        ceiling, health = asyncio.run(health_ceiling(port, args.clients, args.health_seconds))
        baselines = [
            (n, *asyncio.run(commit_baseline(url, n, args.health_seconds)))
            for n in sorted({1, args.clients})
        ]
        profiler = None
        if args.py_spy:
            profiler = subprocess.Popen(
                [
                    shutil.which("py-spy") or "py-spy",
                    "record",
                    "--format",
                    "raw",
                    "--output",
                    args.py_spy,
                    "--duration",
                    str(int(args.seconds)),
                    "--pid",
                    str(server.pid),
                    "--subprocesses",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        postmaster = int((folder / "pg" / "postmaster.pid").read_text().split()[0])
        cpu_before = (
            tree_cpu_seconds(server.pid),
            tree_cpu_seconds(postmaster),
            time.process_time(),
        )
        rate, tally = asyncio.run(
            postings(
                port,
                token,
                ids,
                args.clients,
                args.seconds,
                args.replays,
                args.seed,
                args.statements,
            )
        )
        cpu = [
            after - before
            for before, after in zip(
                cpu_before,
                (tree_cpu_seconds(server.pid), tree_cpu_seconds(postmaster), time.process_time()),
                strict=True,
            )
        ]
        if profiler is not None:
            profiler.wait(timeout=60)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    verify = cli(env, "audit", "verify")
    checks = asyncio.run(check_invariants(url, tally))
    checks.append(("audit chain verifies", verify.returncode == 0, verify.stdout.strip()))
    ms = 1000
    print(f"\n{args.clients} clients, {args.workers} worker(s), {os.cpu_count()} CPUs")
    print("| | requests | requests/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| client ceiling: `GET /health`, {args.health_seconds:g} s | "
        f"{len(health.latencies):,} | {ceiling:,.0f} | "
        f"{statistics.median(health.latencies) * ms:.1f} | "
        f"{percentile(health.latencies, 0.99) * ms:.1f} |"
    )
    for connections, commit_rate, commits in baselines:
        print(
            f"| raw baseline: asyncpg single-row commits, {connections} connection(s), "
            f"{args.health_seconds:g} s | {len(commits.latencies):,} | {commit_rate:,.0f} | "
            f"{statistics.median(commits.latencies) * ms:.1f} | "
            f"{percentile(commits.latencies, 0.99) * ms:.1f} |"
        )
    print(
        f"| audited postings ({args.replays:.0%} replays), {args.seconds:g} s | "
        f"{len(tally.latencies):,} | {rate:,.0f} | "
        f"{statistics.median(tally.latencies) * ms:.1f} | "
        f"{percentile(tally.latencies, 0.99) * ms:.1f} |"
    )
    requests = max(1, len(tally.latencies))
    print(
        f"\nCPU per posting: server {cpu[0] / requests * ms:.2f} ms, PostgreSQL "
        f"{cpu[1] / requests * ms:.2f} ms, this client {cpu[2] / requests * ms:.2f} ms "
        f"(of {cpu[0]:.1f} s, {cpu[1]:.1f} s and {cpu[2]:.1f} s over the run; load average "
        f"{os.getloadavg()[0]:.1f})"
    )
    print()
    for name, ok, detail in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    for error in tally.errors:
        print("  e.g.", error)
    if args.keep_log:
        print(log_path.read_text()[-5000:])
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
