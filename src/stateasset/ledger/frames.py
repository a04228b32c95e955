"""The ledger's tables read into Polars: one loader per table, its schema declared once here.

Tests and `bench/` build their frames from these same constants, so a frame made by hand has the
shape the database gives.

The large tables (statement lines, intercompany lines) and the stakes are read in bulk with
PostgreSQL's `COPY (SELECT ...) TO STDOUT` in CSV, through the asyncpg connection Piccolo would
use (`stateasset.db.connection`), and parsed by `pl.read_csv` with a fixed schema. Fetching them
as rows turned every row into a Python dict and every amount into a `Decimal` before Polars saw
it: at 5,000 entities × 12 periods that was 44% of a group consolidation request. Why COPY:
- It keeps a NUMERIC as the text PostgreSQL prints (`12345678901234567.89`, `-0.01`); the text
  is cast to `Decimal(38, 2)` by Polars' exact decimal parser, never through a float. The
  columns are NUMERIC(20, 2), so the text never has more than two places and the cast does not
  round. The statement lines go faster as integer cents (`_copy_money_frame`), just as exact.
- ADBC, the other bulk path into Arrow, mishandles NUMERIC (STYLE.md), and would be a new
  dependency; COPY needs only asyncpg, which Piccolo already runs on.
An empty result is still a frame with the full schema (COPY writes the header either way).

The control overrides stay a plain `.raw()` read: they are a handful of rows, and their boolean
column prints as `t`/`f`, which CSV readers do not take as a boolean.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from uuid import UUID

import asyncpg
import polars as pl

from stateasset.core.money import MONEY
from stateasset.db import connection
from stateasset.ledger.tables import ControlOverride

STAKES_SCHEMA: dict[str, pl.DataType] = {
    "holder_id": pl.String(),
    "held_id": pl.String(),
    "economic_share": pl.Float64(),
    "voting_share": pl.Float64(),
}
"""Stakes valid at a date, as `compute.ownership` takes them (shares as fractions)."""

OVERRIDES_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "controlled": pl.Boolean(),
    "method": pl.String(),
}
"""The latest control override per entity valid at a date; method full/equity/none or null."""

STATEMENT_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "period": pl.String(),
    "item": pl.String(),
    "amount": MONEY,
}
"""Statements in long form, as `rules.check_statements` and `compute` take them."""

INTERCOMPANY_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "partner_id": pl.String(),
    "kind": pl.String(),
    "amount": MONEY,
}
"""Intercompany lines (内部往来): what `entity_id` reports toward `partner_id`."""


async def _copy_frame(
    query: str,
    *args: object,
    schema: dict[str, pl.DataType],
    conn: asyncpg.Connection | None = None,
) -> pl.DataFrame:
    """The rows of `query` (its columns named and ordered as `schema`) as a frame of `schema`.

    Decimal columns travel as text and are cast exactly; a wrong column order raises rather
    than silently relabelling the columns. `conn`: read on it (e.g. inside its snapshot) rather
    than on `connection()`'s.
    """
    buffer = io.BytesIO()

    async def write(chunk: bytes) -> None:
        # A coroutine, not the buffer itself: asyncpg would hand each chunk of a file-like
        # output to a thread, which costs more than the in-memory write.
        buffer.write(chunk)

    if conn is not None:
        await conn.copy_from_query(query, *args, output=write, format="csv", header=True)
    else:
        async with connection() as own:
            await own.copy_from_query(query, *args, output=write, format="csv", header=True)
    buffer.seek(0)
    header = buffer.readline().decode().rstrip("\r\n").split(",")
    if header != list(schema):
        raise RuntimeError(f"COPY gave columns {header}, expected {list(schema)}")
    buffer.seek(0)
    decimals = {name: dtype for name, dtype in schema.items() if isinstance(dtype, pl.Decimal)}
    as_text = {name: pl.String() if name in decimals else dtype for name, dtype in schema.items()}
    frame = pl.read_csv(buffer, schema=as_text)
    return frame.with_columns(pl.col(name).cast(dtype) for name, dtype in decimals.items())


def cents_to_money(cents: pl.Expr) -> pl.Expr:
    """Integer cents as exact money (Decimal(38, 2)): 12345 is 123.45."""
    return cents.cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.01"), dtype=MONEY)


async def _copy_money_frame(
    query: str, *args: object, schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    """`_copy_frame` of a query whose `{amount}` is an amount column, sent as integer cents.

    PostgreSQL prints an int8 and Polars parses it several times faster than NUMERIC text, and
    cents are as exact (a NUMERIC(20, 2) times 100 is an integer). An amount beyond int8's cents
    (±92 233 720 368 547 758.07) makes PostgreSQL refuse the cast rather than round, and then
    the read runs again with the NUMERIC text (after a savepoint, so a caller's transaction
    survives the refusal).
    """
    (column,) = (name for name, dtype in schema.items() if isinstance(dtype, pl.Decimal))
    as_cents = {name: pl.Int64() if name == column else dtype for name, dtype in schema.items()}
    async with connection() as conn:
        try:
            async with conn.transaction():
                frame = await _copy_frame(
                    query.format(amount=f"({column} * 100)::int8"),
                    *args,
                    schema=as_cents,
                    conn=conn,
                )
        except asyncpg.NumericValueOutOfRangeError:
            return await _copy_frame(query.format(amount=column), *args, schema=schema, conn=conn)
    return frame.with_columns(cents_to_money(pl.col(column)))


async def stakes_frame(as_of: date) -> pl.LazyFrame:
    """Every stake valid at `as_of` (STAKES_SCHEMA)."""
    frame = await _copy_frame(
        "SELECT holder::text AS holder_id, held::text AS held_id, "
        "economic_share::float8 AS economic_share, voting_share::float8 AS voting_share "
        "FROM stake WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)",
        as_of,
        schema=STAKES_SCHEMA,
    )
    return frame.lazy()


async def overrides_frame(as_of: date) -> pl.LazyFrame:
    """Each entity's latest control override valid at `as_of` (OVERRIDES_SCHEMA)."""
    rows = await ControlOverride.raw(
        "SELECT DISTINCT ON (entity) entity::text AS entity_id, controlled, method "
        "FROM control_override "
        "WHERE valid_from <= {} AND (valid_to IS NULL OR valid_to > {}) "
        "ORDER BY entity, created_at DESC",
        as_of,
        as_of,
    )
    return pl.DataFrame(rows, schema=OVERRIDES_SCHEMA, orient="row").lazy()


async def statement_lines_frame(
    statement_ids: Sequence[UUID], items: Sequence[str] | None = None
) -> pl.DataFrame:
    """The lines of these statement versions in long form (STATEMENT_SCHEMA); only `items`'."""
    return await _copy_money_frame(
        "SELECT s.entity::text AS entity_id, s.period, l.item, {amount} AS amount "
        "FROM statement_line l JOIN statement s ON s.id = l.statement "
        "WHERE l.statement = ANY($1::uuid[]) AND ($2::text[] IS NULL OR l.item = ANY($2))",
        list(statement_ids),
        None if items is None else list(items),
        schema=STATEMENT_SCHEMA,
    )


async def intercompany_frame(
    period: str, entity_ids: Sequence[UUID | str] | None = None
) -> pl.LazyFrame:
    """The period's intercompany lines (INTERCOMPANY_SCHEMA).

    With `entity_ids`, only lines whose entity and partner are both among them: a platform's or
    an entity's consolidation must not read lines toward companies outside it.
    """
    if entity_ids is None:
        frame = await _copy_frame(
            "SELECT entity::text AS entity_id, partner::text AS partner_id, kind, amount "
            "FROM intercompany_line WHERE period = $1",
            period,
            schema=INTERCOMPANY_SCHEMA,
        )
    else:
        frame = await _copy_frame(
            "SELECT entity::text AS entity_id, partner::text AS partner_id, kind, amount "
            "FROM intercompany_line WHERE period = $1 "
            "AND entity = ANY($2::uuid[]) AND partner = ANY($2::uuid[])",
            period,
            list(entity_ids),
            schema=INTERCOMPANY_SCHEMA,
        )
    return frame.lazy()


STATEMENT_VERSIONS_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "statement_id": pl.String(),
    "version": pl.Int64(),
    "state": pl.String(),
}
"""The latest statement version of each entity that filed for a period, and the entity's state
for the period (open when it has no state row)."""

POSITIONED_LINES_SCHEMA: dict[str, pl.DataType] = {
    "position": pl.Int64(),
    "item": pl.String(),
    "amount": MONEY,
}
"""Statement lines by the 1-based position of their statement in the list asked for."""


async def statement_versions_frame(period: str) -> pl.DataFrame:
    """The latest statement version of every entity that filed for `period`, with its state."""
    return await _copy_frame(
        "SELECT DISTINCT ON (s.entity) s.entity::text AS entity_id, s.id::text AS statement_id, "
        "s.version, coalesce(p.state, 'open') AS state FROM statement s "
        "LEFT JOIN period_state p ON p.entity = s.entity AND p.period = s.period "
        "WHERE s.period = $1 ORDER BY s.entity, s.version DESC",
        period,
        schema=STATEMENT_VERSIONS_SCHEMA,
    )


async def positioned_lines_frame(
    statement_ids: Sequence[str], items: Sequence[str] | None = None
) -> pl.DataFrame:
    """The lines of these statements, each tagged with its statement's position in the list.

    For a group's 165,000 lines, a small integer instead of the entity's id and the period as
    text halves what COPY sends; the caller maps positions back to entities in Polars. `items`:
    only those items' lines (the ratios read 17 of a statement's items).
    """
    return await _copy_money_frame(
        "SELECT o.position, l.item, {amount} AS amount FROM unnest($1::uuid[]) WITH ORDINALITY "
        "AS o(statement, position) JOIN statement_line l ON l.statement = o.statement "
        "WHERE $2::text[] IS NULL OR l.item = ANY($2)",
        list(statement_ids),
        None if items is None else list(items),
        schema=POSITIONED_LINES_SCHEMA,
    )
