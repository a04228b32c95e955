"""Versioned result stores: one way to number a key's runs and switch which one readers see.

A job that stores its results as versions (ratios of a period, scores of a year, fund metrics of a
date) keeps a run table with `id`, the key column, `version` and `current`, at most one current run
a key. Inside the job's transaction it calls `next_version` first (the key's lock, the number, the
run readers saw until now), writes its run row and rows, then `make_current` just before its audit
record: a reader sees the old version or the new, never a mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple
from uuid import UUID

import asyncpg

KeyType = Literal["date", "int", "text"]


class NextVersion(NamedTuple):
    """The number the new run takes, and the key's current run (None before its first)."""

    version: int
    previous: UUID | None


async def next_version(
    conn: asyncpg.Connection, *, table: str, key_column: str, key: Any, key_type: KeyType
) -> NextVersion:
    """Take the key's transaction lock, then number its next run and find its current one.

    The lock makes two runs of one key number and switch in turn; other keys run side by side.
    """
    await conn.execute(
        f"SELECT pg_advisory_xact_lock(hashtextextended('{table}:' || $1::{key_type}::text, 0))",
        key,
    )
    row = await conn.fetchrow(
        "SELECT coalesce(max(version), 0) + 1 AS version, "
        f"(array_agg(id) FILTER (WHERE current))[1] AS previous FROM {table} "
        f"WHERE {key_column} = $1",
        key,
    )
    return NextVersion(row["version"], row["previous"])


async def make_current(
    conn: asyncpg.Connection,
    *,
    table: str,
    key_column: str,
    key: Any,
    run_id: UUID,
    columns: str,
    counts: Mapping[str, str] | None = None,
    counted_from: str | None = None,
) -> asyncpg.Record:
    """Make `run_id` the key's current run in place of the one before; its `columns` as stored.

    `counts` (run column → aggregate over `counted_from`'s rows of the run) fills in totals that
    are known only once the rows are written, in the same statement as the switch.
    """
    await conn.execute(
        f"UPDATE {table} SET current = false WHERE {key_column} = $1 AND current", key
    )
    returning = ", ".join(f"r.{c}" for c in columns.split(", "))
    if not counts:
        return await conn.fetchrow(
            f"UPDATE {table} r SET current = true WHERE r.id = $1 RETURNING {returning}", run_id
        )
    assigned = ", ".join(f"{c} = c.{c}" for c in counts)
    aggregates = ", ".join(f"{sql} AS {c}" for c, sql in counts.items())
    return await conn.fetchrow(
        f"UPDATE {table} r SET current = true, {assigned} FROM ("
        f"SELECT {aggregates} FROM {counted_from} WHERE run = $1) c "
        f"WHERE r.id = $1 RETURNING {returning}",
        run_id,
    )
