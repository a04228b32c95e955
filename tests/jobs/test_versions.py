"""The versioned stores' shared steps on a real run table (kpi_ratio_run): numbering under the
key's lock, the `current` switch with totals counted as it switches, and a page's total past the
end."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import asyncpg

from stateasset.db import fetch_page
from stateasset.jobs.versions import make_current, next_version

COUNTS = {
    "entities": "count(DISTINCT entity)::int",
    "nodes": "count(DISTINCT node)::int",
    "rows": "count(*)::int",
    "null_values": "count(*) FILTER (WHERE value IS NULL)::int",
}
COLUMNS = "id, period, version, current, entities, nodes, rows, null_values"


async def _run(conn: asyncpg.Connection, period: str, version: int) -> UUID:
    run_id = uuid4()
    await conn.execute(
        "INSERT INTO kpi_ratio_run (id, period, version, current, as_of, entities, nodes, rows, "
        "null_values, created_at, created_by) VALUES ($1, $2, $3, false, $4, 0, 0, 0, 0, $5, 't')",
        run_id,
        period,
        version,
        date(2024, 12, 31),
        datetime(2025, 1, 1, tzinfo=UTC),
    )
    return run_id


async def _store(conn: asyncpg.Connection, period: str, rows: list[tuple]) -> asyncpg.Record:
    """One store's shared steps around its own run row and rows, as the jobs do them."""
    async with conn.transaction():
        version, _ = await next_version(
            conn, table="kpi_ratio_run", key_column="period", key=period, key_type="text"
        )
        run_id = await _run(conn, period, version)
        for entity, node, ratio, value, reason in rows:
            await conn.execute(
                "INSERT INTO kpi_ratio (run, entity, node, period, ratio, value, reason) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                run_id,
                entity,
                node,
                period,
                ratio,
                value,
                reason,
            )
        return await make_current(
            conn,
            table="kpi_ratio_run",
            key_column="period",
            key=period,
            run_id=run_id,
            columns=COLUMNS,
            counts=COUNTS,
            counted_from="kpi_ratio",
        )


async def test_versions_number_per_key_and_switch_current(db: asyncpg.Connection) -> None:
    entity = uuid4()
    # Three rows: one entity with two ratios (one of them null), one node → 1 entity, 1 node,
    # 3 rows, 1 null value.
    first = await _store(
        db,
        "2024-12",
        [
            (entity, None, "roe", 0.1, None),
            (entity, None, "roa", None, "no assets"),
            (None, "group", "roe", 0.2, None),
        ],
    )
    assert dict(first) == {
        "id": first["id"],
        "period": "2024-12",
        "version": 1,
        "current": True,
        "entities": 1,
        "nodes": 1,
        "rows": 3,
        "null_values": 1,
    }
    async with db.transaction():
        numbered = await next_version(
            db, table="kpi_ratio_run", key_column="period", key="2024-12", key_type="text"
        )
    assert numbered == (2, first["id"])
    # A second version with no rows counts zeros and takes `current` from the first.
    second = await _store(db, "2024-12", [])
    assert (second["version"], second["current"], second["rows"], second["entities"]) == (
        2,
        True,
        0,
        0,
    )
    currents = await db.fetch("SELECT id FROM kpi_ratio_run WHERE period = '2024-12' AND current")
    assert [r["id"] for r in currents] == [second["id"]]
    # Another period numbers from 1 and has no current run yet.
    async with db.transaction():
        other = await next_version(
            db, table="kpi_ratio_run", key_column="period", key="2025-12", key_type="text"
        )
    assert other == (1, None)


async def test_next_version_waits_for_the_keys_other_run(
    db: asyncpg.Connection, database_url: str
) -> None:
    """A second run of the same period numbers only after the first commits, so it gets 2."""
    other = await asyncpg.connect(database_url)
    try:
        first = db.transaction()
        await first.start()
        version, _ = await next_version(
            db, table="kpi_ratio_run", key_column="period", key="2024-12", key_type="text"
        )
        await _run(db, "2024-12", version)

        async def second() -> int:
            async with other.transaction():
                numbered, _ = await next_version(
                    other,
                    table="kpi_ratio_run",
                    key_column="period",
                    key="2024-12",
                    key_type="text",
                )
                return numbered

        waiting = asyncio.ensure_future(second())
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await first.commit()
        assert await asyncio.wait_for(waiting, 5) == 2
    finally:
        await other.close()


async def test_fetch_page_counts_past_the_end(db: asyncpg.Connection) -> None:
    for period, version in (("2024-12", 1), ("2024-12", 2), ("2025-12", 1)):
        await _run(db, period, version)

    async def page(period: str | None, limit: int, offset: int) -> tuple[list, int]:
        rows, total = await fetch_page(
            db,
            columns="period, version",
            source="kpi_ratio_run",
            where="$1::text IS NULL OR period = $1",
            args=(period,),
            order="period, version DESC",
            limit=limit,
            offset=offset,
        )
        return [(r["period"], r["version"]) for r in rows], total

    assert await page(None, 2, 0) == ([("2024-12", 2), ("2024-12", 1)], 3)
    assert await page(None, 2, 2) == ([("2025-12", 1)], 3)
    # Past the end the page is empty but still says how many there are.
    assert await page(None, 2, 5) == ([], 3)
    assert await page("2024-12", 50, 9) == ([], 2)
    assert await page("2023-12", 50, 0) == ([], 0)
