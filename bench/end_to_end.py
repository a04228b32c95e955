"""End to end: the API's consolidation and submit requests against the computation alone.

    PYTHONPATH=src python bench/end_to_end.py [--entities 5000 --periods 12 --repeats 5]

Loads the synthetic group of bench/consolidation.py (same seed, same data) into a throwaway
embedded PostgreSQL, migrated like the test suite's, with bulk COPY: entities (the root is the
`group`), stakes, one statement version per entity and period, intercompany lines, and every
entity `locked` for all periods but the last, which stays open. Then runs the real app in-process
(`AsyncTestClient`, the pool opened by the app's own startup) and times, side by side, best of
--repeats after one warm-up call:

- compute alone: `compute.consolidation.consolidate` for the group and the open period, on
  frames read by the service's own loaders (`ledger.frames`), ownership computed beforehand:
  the denominator;
- `GET /api/v1/ledger/consolidation/?period=<open>&node=group`, with the ownership cache warm;
- the same for the locked period, answered from the stored body (`"source": "stored"`);
- the scope check alone: `auth.scope.scope_of(actor, Domain.ledger)` for an `entity_finance`
  user scoped to a platform company, on the app's loop and pool, median per call;
- that user's `POST /api/v1/ledger/statements/` for one of its companies in the open period
  (each call a new version).

Then splits a warm open-period and locked-period request into the service's steps (each step's
own time, adding up to the request), so a missed target says where the time went. Prints a markdown table and writes it to
bench/results/end_to_end.md.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import datetime as dt
import functools
import inspect
import io
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import polars as pl
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("PICCOLO_CONF", "stateasset.piccolo_conf")

# bench/ is not a package: the generator sits beside this script.
import consolidation as synthetic

from stateasset.core.periods import period_of
from stateasset.ledger.compute import consolidation as consolidation_calc
from stateasset.ledger.compute import ownership as ownership_calc
from stateasset.ledger.schemas import Segment

DATABASE = "stateasset_bench"
PASSWORD = "bench password, not a secret"
SEGMENTS = tuple(Segment)  # one per platform, in PLATFORMS order
LOCKED_STATE = "locked"
TARGETS = {"open": 3.0, "locked": 0.3}  # × compute alone
SCOPE_TARGET_MS = 1.0
SCOPE_CALLS = 500


# --------------------------------------------------------------------------------------------
# The database


def start_database() -> str:
    """A migrated, empty database on a throwaway embedded server; DATABASE_URL points at it."""
    from stateasset.db import embedded_server_url, recreate_database

    # A short path keeps the Unix socket under the kernel's 107-byte limit. Registered before
    # the server's own exit hook, so it runs after the server has stopped (atexit is LIFO).
    pgdata = Path(tempfile.mkdtemp(prefix="sa"))
    atexit.register(shutil.rmtree, pgdata, ignore_errors=True)
    server_url = embedded_server_url(pgdata)
    url = asyncio.run(recreate_database(server_url, DATABASE))
    os.environ["DATABASE_URL"] = url
    from stateasset.settings import get_settings

    get_settings.cache_clear()
    from stateasset import db

    # The app runs as its own role, as in production; migrate (as the owner) creates it.
    db.engine().config["dsn"] = db.database_url()  # in case piccolo_conf was imported before
    with contextlib.redirect_stdout(io.StringIO()):  # Piccolo reports each migration
        asyncio.run(db.migrate())
    return url


@dataclass(frozen=True)
class Loaded:
    """What was loaded, and who the benchmark signs in as."""

    rows: dict[str, int]
    seconds: float
    finance_user: str  # group_finance: sees every entity
    scoped_user: str  # entity_finance, scoped to `scoped_platform`
    scoped_user_id: UUID
    scoped_platform: str


async def copy_frames(url: str, tables: dict[str, pl.DataFrame]) -> float:
    """COPY each frame into its table as the owner, then ANALYZE; seconds taken.

    For the benchmarks that generate their rows in Polars (bench/assets.py, bench/funds.py).
    """
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        for table, frame in tables.items():
            buffer = io.BytesIO()
            frame.write_csv(buffer)
            buffer.seek(0)
            await conn.copy_to_table(
                table, source=buffer, columns=frame.columns, format="csv", header=True
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


def _share(value: float) -> Decimal:
    return Decimal(f"{value:.6f}")  # NUMERIC(9, 6)


async def load(url: str, group: synthetic.Group, periods: list[str], locked: list[str]) -> Loaded:
    """Copy the group into the ledger's tables and create the two users."""
    from stateasset.auth.service import hash_password

    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    companies = sorted(group.platform_of)
    entities = [group.root, *group.platforms, *companies]
    segment_of = {p: SEGMENTS[i].value for i, p in enumerate(group.platforms)}
    rows: dict[str, int] = {}
    conn = await asyncpg.connect(url)
    try:

        async def copy(table: str, columns: list[str], records: list[tuple[Any, ...]]) -> None:
            await conn.copy_records_to_table(table, records=records, columns=columns)
            rows[table] = len(records)

        # Credit codes: unique 18-character strings; COPY does not re-run the GB 32100 check.
        entity_rows = [
            (
                e,
                f"91{n:016d}",
                name,
                kind,
                group.platform_of.get(e),
                segment_of.get(group.platform_of.get(e, e)),
                e in segment_of,
                Decimal(1),
                "active",
                now,
                now,
            )
            for n, (e, name, kind) in enumerate(
                [
                    (group.root, "县国有资本投资运营集团", "group"),
                    *(
                        (p, f"{synthetic.PLATFORMS[i]}集团", "platform")
                        for i, p in enumerate(group.platforms)
                    ),
                    *((c, f"子公司{k:05d}", "subsidiary") for k, c in enumerate(companies)),
                ]
            )
        ]
        await copy(
            "entity",
            [
                "id",
                "credit_code",
                "name",
                "kind",
                "platform_id",
                "segment",
                "second_level",
                "state_share",
                "status",
                "created_at",
                "updated_at",
            ],
            entity_rows,
        )
        await copy(
            "stake",
            [
                "id",
                "holder",
                "held",
                "economic_share",
                "voting_share",
                "valid_from",
                "valid_to",
                "note",
                "created_at",
            ],
            [
                (uuid.uuid4(), h, e, _share(econ), _share(votes), since, until, "", now)
                for h, e, econ, votes, since, until in group.stakes.iter_rows()
            ],
        )
        statement_rows = []
        line_rows: list[tuple[Any, ...]] = []
        for period in periods:
            ids = {e: uuid.uuid4() for e in entities}
            statement_rows.extend((ids[e], e, period, 1, "import", now, "bench") for e in entities)
            line_rows.extend(
                (ids[e], item, amount) for e, item, amount in group.statements[period].iter_rows()
            )
        await copy(
            "statement",
            ["id", "entity", "period", "version", "source", "created_at", "created_by"],
            statement_rows,
        )
        await copy("statement_line", ["statement", "item", "amount"], line_rows)
        del line_rows
        intercompany = []
        for period in periods:
            # One row per (entity, partner, kind), as the table's unique constraint wants.
            summed = (
                group.lines[period]
                .filter(pl.col("entity_id") != pl.col("partner_id"))
                .group_by("entity_id", "partner_id", "kind")
                .agg(pl.col("amount").sum())
                .sort("entity_id", "partner_id", "kind")
            )
            intercompany.extend(
                (uuid.uuid4(), e, p, period, kind, amount, now, "bench")
                for e, p, kind, amount in summed.iter_rows()
            )
        await copy(
            "intercompany_line",
            ["id", "entity", "partner", "period", "kind", "amount", "created_at", "created_by"],
            intercompany,
        )
        await copy(
            "period_state",
            ["id", "entity", "period", "state", "updated_at", "updated_by"],
            [
                (uuid.uuid4(), e, period, LOCKED_STATE, now, "bench")
                for period in locked
                for e in entities
            ],
        )
        # The stakes changed behind the service's back: give ownership a new version.
        await conn.execute(
            "INSERT INTO ownership_version (id, token) VALUES (1, gen_random_uuid()) "
            "ON CONFLICT (id) DO UPDATE SET token = excluded.token"
        )
        # The scoped user starts at the largest platform: the most entities in its scope.
        sizes = defaultdict(int, {p: 0 for p in group.platforms})
        for p in group.platform_of.values():
            sizes[p] += 1
        scoped_platform = max(group.platforms, key=lambda p: (sizes[p], p))
        scoped_user_id = uuid.uuid4()
        password_hash = hash_password(PASSWORD)
        for user_id, username, role, entity_id in (
            (uuid.uuid4(), "bench-group-finance", "group_finance", None),
            (scoped_user_id, "bench-entity-finance", "entity_finance", scoped_platform),
        ):
            await conn.execute(
                "INSERT INTO app_user (id, username, display_name, password_hash, role, "
                "entity_id, fund_ids, active, created_at) "
                "VALUES ($1, $2, $2, $3, $4, $5, '{}', true, $6)",
                user_id,
                username,
                password_hash,
                role,
                entity_id,
                now,
            )
        # A database in use has been vacuumed and analysed: hint bits set, visibility map and
        # planner statistics in place. Without this the first reads write the pages back, and
        # autovacuum wakes up on the fresh tables in the middle of the timings.
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
    return Loaded(
        rows=rows,
        seconds=time.perf_counter() - started,
        finance_user="bench-group-finance",
        scoped_user="bench-entity-finance",
        scoped_user_id=scoped_user_id,
        scoped_platform=scoped_platform,
    )


# --------------------------------------------------------------------------------------------
# Compute alone


@dataclass(frozen=True)
class Inputs:
    """The group's frames for one period, read as `ledger.consolidation._compute` reads them."""

    root: str
    members: list[str]
    statements: pl.DataFrame
    lines: pl.LazyFrame
    ownership: pl.DataFrame
    stakes: pl.LazyFrame


async def read_inputs(period: str) -> Inputs:
    """The consolidation's inputs through the service's loaders (a connection of our own)."""
    from stateasset.ledger.frames import (
        intercompany_frame,
        overrides_frame,
        stakes_frame,
        statement_lines_frame,
        statement_versions_frame,
    )
    from stateasset.ledger.service import group_id
    from stateasset.settings import get_settings

    settings = get_settings()
    as_of = period_of(period).end
    root = str(await group_id())
    # Computed here rather than through ownership.snapshot, whose per-process cache the app
    # shares: the app's first request must find it cold.
    own = ownership_calc.ownership(
        await stakes_frame(as_of),
        root,
        threshold=settings.control_threshold,
        overrides=await overrides_frame(as_of),
        equity_floor=settings.equity_floor,
    ).collect()
    members = sorted({root, *own.filter(pl.col("controlled"))["entity_id"].to_list()})
    versions = await statement_versions_frame(period)
    used = (
        pl.DataFrame({"entity_id": members}, schema={"entity_id": pl.String})
        .join(versions, on="entity_id")
        .sort("entity_id")
    )
    return Inputs(
        root=root,
        members=members,
        statements=await statement_lines_frame(used["statement_id"].to_list()),
        lines=await intercompany_frame(period, [UUID(m) for m in members]),
        ownership=own,
        stakes=await stakes_frame(as_of),
    )


def compute_alone(inputs: Inputs) -> consolidation_calc.Consolidation:
    return consolidation_calc.consolidate(
        inputs.statements.lazy(),
        inputs.lines,
        inputs.ownership.lazy(),
        inputs.root,
        members=inputs.members,
        stakes=inputs.stakes,
        state_share=Decimal(1),
    )


# --------------------------------------------------------------------------------------------
# Through the app


@dataclass
class Timing:
    """One row of the table: the first call (the warm-up), then the timed ones."""

    first: float
    runs: list[float]

    @property
    def best(self) -> float:
        return min(self.runs)


async def timed(repeats: int, call: Callable[[], Awaitable[Any]]) -> tuple[Timing, list[Any]]:
    """Time `call` once as a warm-up, then `repeats` times; every call's result."""
    results, seconds = [], []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        results.append(await call())
        seconds.append(time.perf_counter() - start)
    return Timing(seconds[0], seconds[1:]), results


async def scope_timings(user_id: UUID, calls: int) -> tuple[list[float], int]:
    """Seconds per warm `scope_of` call for the user, and how many entities the scope holds.

    Runs on the app's loop (through the client's portal), so it uses the app's pool.
    """
    from stateasset.auth.scope import Domain, scope_of
    from stateasset.auth.service import get_actor

    actor = await get_actor(user_id)
    assert actor is not None
    seen = await scope_of(actor, Domain.ledger)  # warm: the ownership snapshot is cached
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        await scope_of(actor, Domain.ledger)
        seconds.append(time.perf_counter() - start)
    return seconds, len(seen.ids)


class StepClock:
    """Exclusive seconds per named step of the consolidation service, while installed.

    A step's time excludes the steps it calls (the service awaits one thing at a time, so a
    stack of open steps says who called whom), so the rows add up to the whole service call.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._children: list[float] = []  # per open step: time spent in the steps it called

    def _enter(self) -> float:
        self._children.append(0.0)
        return time.perf_counter()

    def _leave(self, name: str, start: float) -> None:
        elapsed = time.perf_counter() - start
        self.seconds[name] += elapsed - self._children.pop()
        self.calls[name] += 1
        if self._children:
            self._children[-1] += elapsed

    def wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                start = self._enter()
                try:
                    return await func(*args, **kwargs)
                finally:
                    self._leave(name, start)

            return timed_async

        @functools.wraps(func)
        def timed_sync(*args: Any, **kwargs: Any) -> Any:
            start = self._enter()
            try:
                return func(*args, **kwargs)
            finally:
                self._leave(name, start)

        return timed_sync

    @contextmanager
    def installed(self) -> Iterator[StepClock]:
        """Wrap the steps `ledger.consolidation` calls by module attribute; restore them after."""
        from stateasset.ledger import consolidation, ownership

        targets: list[tuple[object, str, str]] = [
            (
                consolidation,
                "consolidation_body",
                "consolidation_body itself: joins, cache key, stored-body read, splicing",
            ),
            (consolidation, "_compute", "_compute itself: labels, notes"),
            (consolidation, "_read", "_read: statement and intercompany lines side by side"),
            (consolidation, "ensure_visible", "ensure_visible (scope check)"),
            (consolidation, "_node", "_node itself: entity row, member id strings"),
            (ownership, "snapshot", "ownership.snapshot (cache hit)"),
            (ownership, "version", "ownership.version (token read)"),
            (consolidation, "statement_versions_frame", "statement_versions_frame (COPY)"),
            (consolidation, "positioned_lines_frame", "positioned_lines_frame (COPY)"),
            (consolidation, "intercompany_frame", "intercompany_frame (COPY)"),
            (consolidation_calc, "consolidate", "compute.consolidation.consolidate"),
            (consolidation, "_json_rows", "_json_rows (Polars write_json)"),
            (consolidation, "_json_strings", "_json_strings"),
        ]
        # A step the service no longer calls by that name is skipped, not an error.
        present = [t for t in targets if hasattr(t[0], t[1])]
        saved = [(module, attr, getattr(module, attr)) for module, attr, _ in present]
        for module, attr, label in present:
            setattr(module, attr, self.wrap(label, getattr(module, attr)))
        try:
            yield self
        finally:
            for module, attr, original in saved:
                setattr(module, attr, original)


@dataclass(frozen=True)
class Breakdown:
    """Where one warm request's time went: seconds and calls per request, by step."""

    request: float
    steps: list[tuple[str, float, float]]

    @property
    def service(self) -> float:
        return sum(seconds for _, seconds, _ in self.steps)


async def breakdown(rounds: int, call: Callable[[], Awaitable[Any]]) -> Breakdown:
    """Run `call` `rounds` times with the step clock installed; the mean per request."""
    clock = StepClock()
    total = 0.0
    with clock.installed():
        for _ in range(rounds):
            start = time.perf_counter()
            response = await call()
            total += time.perf_counter() - start
            assert response.status_code == 200, response.text
    steps = [
        (name, clock.seconds[name] / rounds, clock.calls[name] / rounds) for name in clock.seconds
    ]
    return Breakdown(total / rounds, sorted(steps, key=lambda s: -s[1]))


@dataclass(frozen=True)
class Measured:
    compute: Timing
    open: Timing
    locked: Timing
    submit: Timing
    scope_ms: list[float]
    scope_size: int
    open_bytes: int
    locked_bytes: int
    open_steps: Breakdown
    locked_steps: Breakdown


async def through_app(
    loaded: Loaded,
    inputs: Inputs,
    group: synthetic.Group,
    open_period: str,
    locked_period: str,
    repeats: int,
) -> Measured:
    from litestar.testing import AsyncTestClient

    from stateasset.app import create_app

    async def compute() -> consolidation_calc.Consolidation:
        return compute_alone(inputs)

    compute_timing, computed = await timed(repeats, compute)
    expected = computed[-1]

    app = create_app()
    # The app's request log stays on (every request pays for it), on stderr, off the table.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    async with AsyncTestClient(app=app, timeout=600) as client:

        async def login(username: str) -> dict[str, str]:
            response = await client.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 201, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}

        finance = await login(loaded.finance_user)
        scoped = await login(loaded.scoped_user)

        def consolidation(period: str) -> Callable[[], Awaitable[Any]]:
            url = f"/api/v1/ledger/consolidation/?period={period}&node=group"
            return lambda: client.get(url, headers=finance)

        open_timing, open_responses = await timed(repeats, consolidation(open_period))
        for response in open_responses:
            assert response.status_code == 200, response.text
        body = open_responses[-1].json()
        assert body["source"] == "computed", body["source"]
        assert len(body["members"]) == len(inputs.members)
        # The API's figures are the computation's, to the cent.
        want = {r[0]: r[3] for r in expected.items.iter_rows()}
        for row in body["items"]:
            assert Decimal(row["consolidated"]) == want[row["item"]], row

        locked_timing, locked_responses = await timed(repeats, consolidation(locked_period))
        assert locked_responses[0].status_code == 200, locked_responses[0].text
        assert locked_responses[0].json()["source"] == "computed"  # and stored
        for response in locked_responses[1:]:
            assert response.status_code == 200, response.text
            assert response.json()["source"] == "stored"

        # The scoped user's submit: a balanced statement of a company its platform holds the
        # majority of the votes in, as generated.
        company = (
            group.stakes.filter(
                (pl.col("holder_id") == loaded.scoped_platform)
                & (pl.col("voting_share") > 0.5)
                & pl.col("valid_to").is_null()
            )
            .sort("held_id")["held_id"]
            .first()
        )
        items = {
            item: str(amount)
            for _, item, amount in group.statements[open_period]
            .filter(pl.col("entity_id") == company)
            .iter_rows()
        }
        corrections = iter(range(1, 1_000_000))

        async def submit() -> Any:
            # A correction each time (a cent moved from other assets to cash, totals unchanged):
            # an identical statement would answer with the version it repeats and store nothing.
            cents = Decimal(next(corrections)) / 100
            corrected = {
                **items,
                "cash": str(Decimal(items["cash"]) + cents),
                "other_assets": str(Decimal(items["other_assets"]) - cents),
            }
            payload = {"entity_id": company, "period": open_period, "items": corrected}
            headers = {**scoped, "Idempotency-Key": str(uuid.uuid4())}
            return await client.post("/api/v1/ledger/statements/", json=payload, headers=headers)

        submit_timing, submitted = await timed(repeats, submit)
        versions = []
        for response in submitted:
            assert response.status_code == 201, response.text
            versions.append(response.json()["version"])
        assert versions == list(range(2, repeats + 3)), versions  # version 1 was loaded

        scope_seconds, scope_size = client.blocking_portal.call(
            scope_timings, loaded.scoped_user_id, SCOPE_CALLS
        )

        # Where one warm request of each kind spends its time.
        rounds = max(3, repeats)
        open_steps = await breakdown(rounds, consolidation(open_period))
        locked_steps = await breakdown(rounds, consolidation(locked_period))
    return Measured(
        compute=compute_timing,
        open=open_timing,
        locked=locked_timing,
        submit=submit_timing,
        scope_ms=[s * 1000 for s in scope_seconds],
        scope_size=scope_size,
        open_bytes=len(open_responses[-1].content),
        locked_bytes=len(locked_responses[-1].content),
        open_steps=open_steps,
        locked_steps=locked_steps,
    )


# --------------------------------------------------------------------------------------------
# Report


def report(
    args: argparse.Namespace,
    group: synthetic.Group,
    loaded: Loaded,
    inputs: Inputs,
    m: Measured,
    open_period: str,
    locked_period: str,
) -> str:
    base = m.compute.best

    def met(ok: bool) -> str:
        return "yes" if ok else "**no**"

    def row(what: str, t: Timing, target: str, ok: str) -> str:
        return f"| {what} | {t.best:.3f} | {t.best / base:.2f}× | {t.first:.3f} | {target} | {ok} |"

    scope_median = statistics.median(m.scope_ms)
    open_ratio = m.open.best / base
    locked_ratio = m.locked.best / base
    table = [
        "| step | best s | × compute alone | first call s | target | met |",
        "|---|---:|---:|---:|---|---|",
        row("compute alone (`consolidate`, open period)", m.compute, "denominator", ""),
        row(
            f"GET consolidation, open period {open_period}",
            m.open,
            f"≤ {TARGETS['open']:g}×",
            met(open_ratio <= TARGETS["open"]),
        ),
        row(
            f"GET consolidation, locked period {locked_period} (stored)",
            m.locked,
            f"≤ {TARGETS['locked']:g}×",
            met(locked_ratio <= TARGETS["locked"]),
        ),
        f"| scope check alone (`scope_of`, warm, median of {SCOPE_CALLS}) | "
        f"{scope_median / 1000:.5f} | {scope_median / 1000 / base:.4f}× | | "
        f"≤ {SCOPE_TARGET_MS:g} ms | {met(scope_median <= SCOPE_TARGET_MS)} |",
        row("POST statement, scoped user (new version)", m.submit, "", ""),
    ]
    steps = [
        "| where one warm request's time goes (exclusive, mean) | open s | locked s |",
        "|---|---:|---:|",
        f"| the request, as the client saw it | {m.open_steps.request:.3f} | "
        f"{m.locked_steps.request:.3f} |",
        f"| outside the service: HTTP, JWT, actor lookup, test client | "
        f"{m.open_steps.request - m.open_steps.service:.3f} | "
        f"{m.locked_steps.request - m.locked_steps.service:.3f} |",
    ]
    locked_by_name = {name: seconds for name, seconds, _ in m.locked_steps.steps}
    for name, seconds, calls in m.open_steps.steps:
        locked = locked_by_name.pop(name, 0.0)
        times = f" (×{calls:g})" if calls != 1 else ""
        steps.append(f"| {name}{times} | {seconds:.3f} | {locked:.3f} |")
    steps.extend(f"| {name} | 0.000 | {seconds:.3f} |" for name, seconds in locked_by_name.items())
    p = sorted(m.scope_ms)
    rows = loaded.rows
    header = [
        "# End-to-end benchmark",
        "",
        f"{group.entities:,} entities ({len(inputs.members):,} consolidated members), "
        f"{rows['stake']:,} stakes, {rows['statement_line']:,} statement lines and "
        f"{rows['intercompany_line']:,} intercompany lines over {args.periods} periods in an "
        f"embedded PostgreSQL (loaded in {loaded.seconds:.0f} s); periods up to {locked_period} "
        f"locked, {open_period} open; seed {args.seed}. Best of {args.repeats} after one warm-up "
        "(the warm-up is the first-call column: ownership computed, the locked body stored). "
        f"Polars {pl.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs.",
        "",
        f"Open-period request {open_ratio:.2f}× compute alone, locked period "
        f"{locked_ratio:.2f}× (response bodies {m.open_bytes / 1e6:.1f} MB and "
        f"{m.locked_bytes / 1e6:.1f} MB), scope check {scope_median:.3f} ms median "
        f"(p90 {p[int(len(p) * 0.9)]:.3f} ms; scope of {m.scope_size:,} entities).",
        "",
    ]
    note = [
        "",
        "Each step's own time, without the steps it calls, so the rows add up to the request; "
        "`consolidate` is the same work as compute alone.",
        "",
    ]
    return "\n".join([*header, *table, "", *steps, *note])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=5000)
    parser.add_argument("--periods", type=int, default=12, help="periods loaded (at least 2)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=20251231)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results/end_to_end.md"
    )
    args = parser.parse_args(argv)
    if args.periods < 2:
        parser.error("--periods must be at least 2: one locked, one open")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per test-client request

    started = time.perf_counter()
    group = synthetic.generate(args.entities, args.periods, args.seed)
    periods = sorted(group.statements)
    open_period, locked = periods[-1], periods[:-1]
    locked_period = locked[-1]
    url = start_database()
    loaded = asyncio.run(load(url, group, periods, locked))
    print(
        f"loaded {group.entities} entities, "
        + ", ".join(f"{n:,} {t}" for t, n in loaded.rows.items())
        + f" in {loaded.seconds:.1f}s",
        file=sys.stderr,
    )
    inputs = asyncio.run(read_inputs(open_period))
    measured = asyncio.run(
        through_app(loaded, inputs, group, open_period, locked_period, args.repeats)
    )
    text = report(args, group, loaded, inputs, measured, open_period, locked_period)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"written to {args.out} ({time.perf_counter() - started:.0f} s in all)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
