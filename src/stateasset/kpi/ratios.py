"""Stored ratios (§6) of every entity and consolidation node, computed on request, in runs.

A run computes a period's ratios and stores them with the statement versions each subject used:
an entity's own latest statement of the period (and of the opening year-end, for averages); a
node's consolidation's members' versions (`ledger.consolidation`). A run is one version of the
period; the period's `current` run is the one readers see, switched in the run's own transaction,
so a reader sees the old run or the new, never a mix, and older runs stay readable by id. A run
for some entities or nodes only carries the current run's other subjects forward, so every run is
a whole snapshot of its period.

Values are fractions (0.1061 is 10.61%) except labour productivity (yuan per employee) and the
capital-preservation multiple. The hot path reads statement lines with COPY into Polars, computes
with `kpi.compute.ratios` and `ratio_compute`, and writes rows as CSV through COPY: no Python
object per ratio. The asset register's two ratios are `ledger.assets.effective` as of the
period's end.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import msgspec
import polars as pl

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth import scope
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import (
    DomainError,
    FieldProblem,
    Forbidden,
    Invalid,
    NotFound,
    invalid,
)
from stateasset.core.periods import period_of
from stateasset.core.schemas import Page
from stateasset.db import engine
from stateasset.jobs.versions import make_current, next_version
from stateasset.kpi import compute, ratio_compute
from stateasset.kpi.ratio_schemas import RatioRead, RatioRunRead, StatementVersionUsed
from stateasset.ledger import consolidation
from stateasset.ledger.assets import effective
from stateasset.ledger.frames import statement_lines_frame, statement_versions_frame
from stateasset.ledger.schemas import Segment

SOURCES_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "subject": pl.String(),
    "period": pl.String(),
    "member": pl.String(),
    "statement": pl.String(),
    "version": pl.Int64(),
}
"""The statement versions behind each subject's ratios."""

_RUN_COLUMNS = (
    "id, period, version, current, as_of, entities, nodes, rows, null_values, created_at, "
    "created_by"
)


class _Body(msgspec.Struct):
    """The parts of a ConsolidationRead body a node's ratios need, left as JSON for Polars."""

    items: msgspec.Raw
    statement_versions: msgspec.Raw


def _run_read(row: Any) -> RatioRunRead:
    return RatioRunRead(**dict(row))


async def _node_items(
    actor: Actor, node: str, period: str, field: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A node's consolidated items (entity = node) and the members' versions it used."""
    try:
        raw = await consolidation.consolidation_body(actor=actor, node=node, period=period)
    except Invalid as exc:
        raise invalid(field, exc.errors[0].reason if exc.errors else exc.detail) from exc
    except DomainError as exc:  # an unknown entity or no group: the node names nothing
        raise invalid(field, f"{node!r}: {exc.detail}") from exc
    body = msgspec.json.decode(raw, type=_Body)
    items = pl.read_json(
        io.BytesIO(bytes(body.items)), schema={"item": pl.String, "consolidated": pl.String}
    ).select(
        pl.lit(node).alias("entity"),
        pl.lit(period).alias("period"),
        "item",
        pl.col("consolidated").cast(compute.ITEMS_SCHEMA["amount"]).alias("amount"),
    )
    used = pl.read_json(
        io.BytesIO(bytes(body.statement_versions)),
        schema={"entity_id": pl.String, "version": pl.Int64},
    ).select(pl.lit(node).alias("subject"), pl.lit(period).alias("period"), "entity_id", "version")
    # No member filed: the consolidation's zeros are no statement, not balances of zero.
    return (items.clear() if used.is_empty() else items), used


async def _check_entities(entity_ids: Sequence[UUID]) -> None:
    async with db.connection() as conn:
        known = {
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM entity WHERE id = ANY($1::uuid[])", list(entity_ids)
            )
        }
    problems = [
        FieldProblem(field=f"body.entity_ids[{i}]", reason=f"no such entity {e}")
        for i, e in enumerate(entity_ids)
        if e not in known
    ]
    if problems:
        raise Invalid("body.entity_ids: unknown entities", errors=problems)


async def compute_ratios(
    *,
    actor: Actor,
    period: str,
    entity_ids: Sequence[UUID] | None = None,
    nodes: Sequence[str] | None = None,
) -> RatioRunRead:
    """Compute and store a period's ratios as a new run and make it current.

    Without `entity_ids` and `nodes`: every entity that filed a statement for the period, and the
    group, platforms and segments. With either, only those subjects are computed; the current
    run's other subjects are carried into the new run unchanged.
    """
    parsed = period_of(period, "body.period")
    if not (await _visible(actor)).all:
        # A run stores figures of every company and node: only a reader of all may make one.
        raise Forbidden("computing ratios needs kpi:all (a run covers every company)")
    code = parsed.code
    opening = ratio_compute.opening_period(parsed)
    everything = entity_ids is None and nodes is None
    if not everything and not entity_ids and not nodes:
        raise invalid("body", "name entities or nodes to compute, or neither for all of them")
    if entity_ids is not None:
        await _check_entities(entity_ids)
    if nodes is None:
        nodes = await consolidation.reporting_nodes() if everything else []
    # Each node once, with the position it was asked at (for the field a problem names).
    positions: dict[str, int] = {}
    for i, node in enumerate(nodes):
        positions.setdefault(node, i)
    node_list = list(positions)

    # The latest statement versions of the period and of the opening year-end.
    versions = pl.concat(
        [
            (await statement_versions_frame(p)).with_columns(pl.lit(p).alias("period"))
            for p in (code, opening)
        ]
    )
    opened = versions.filter(pl.col("period") == opening).height > 0

    # Nodes: each one's consolidation of the period and of the opening year-end.
    node_items, node_used = [], []
    for node, i in positions.items():
        # Nobody filed for the opening period: no node has an opening to consolidate.
        for p in (code, opening) if opened else (code,):
            items, members = await _node_items(actor, node, p, f"body.nodes[{i}]")
            node_items.append(items)
            node_used.append(members)

    # Entities: their own statements of both periods.
    if entity_ids is not None:
        chosen = pl.DataFrame(
            {"entity_id": [str(e) for e in dict.fromkeys(entity_ids)]},
            schema={"entity_id": pl.String},
        )
    else:
        chosen = versions.filter(pl.lit(everything) & (pl.col("period") == code)).select(
            "entity_id"
        )
    used = versions.join(chosen, on="entity_id", how="semi")
    lines = (
        await statement_lines_frame(used["statement_id"].to_list(), items=compute.RATIO_ITEMS)
        if used.height
        else None
    )
    entity_items = (
        lines.lazy().select(
            pl.col("entity_id").alias("entity"),
            "period",
            "item",
            pl.col("amount").cast(compute.ITEMS_SCHEMA["amount"]),
        )
        if lines is not None
        else pl.LazyFrame(schema=compute.ITEMS_SCHEMA)
    )

    subjects = pl.concat(
        [
            chosen.select(pl.lit("entity").alias("kind"), pl.col("entity_id").alias("subject")),
            pl.DataFrame(
                {"kind": ["node"] * len(node_list), "subject": node_list},
                schema=ratio_compute.SUBJECTS_SCHEMA,
            ),
        ]
    )
    eff = (await effective.effective_frame(actor=actor, as_of=parsed.end)).lazy()
    all_node_items = (
        pl.concat(node_items).lazy() if node_items else pl.LazyFrame(schema=compute.ITEMS_SCHEMA)
    )
    # On Polars' threads: a nightly run in the server's process leaves its loop answering.
    rows = await (
        pl.concat(
            [
                ratio_compute.statement_ratios(entity_items, subjects.lazy(), code, "entity"),
                ratio_compute.statement_ratios(all_node_items, subjects.lazy(), code, "node"),
                ratio_compute.asset_ratios(subjects.lazy(), eff),
            ]
        )
        .sort("kind", "subject", "ratio")
        .collect_async()
    )
    sources = pl.concat(
        [
            used.select(
                pl.lit("entity").alias("kind"),
                pl.col("entity_id").alias("subject"),
                "period",
                pl.col("entity_id").alias("member"),
                pl.col("statement_id").alias("statement"),
                "version",
            ),
            *(
                u.join(versions, on=["entity_id", "period", "version"]).select(
                    pl.lit("node").alias("kind"),
                    "subject",
                    "period",
                    pl.col("entity_id").alias("member"),
                    pl.col("statement_id").alias("statement"),
                    "version",
                )
                for u in node_used
            ),
        ]
    ).sort("kind", "subject", "period", "member")
    return await _store(actor, parsed.code, parsed.end, rows, sources, subjects, everything)


def _subject_columns(frame: pl.DataFrame) -> list[pl.Expr]:
    """entity and node columns from kind and subject: exactly one of them is set."""
    return [
        pl.when(pl.col("kind") == "entity").then(pl.col("subject")).alias("entity"),
        pl.when(pl.col("kind") == "node").then(pl.col("subject")).alias("node"),
    ]


async def _store(
    actor: Actor,
    period: str,
    as_of: date,
    rows: pl.DataFrame,
    sources: pl.DataFrame,
    subjects: pl.DataFrame,
    everything: bool,
) -> RatioRunRead:
    """Write the run, its rows and sources, carry the rest forward, switch `current`; audited."""
    run_id = uuid4()
    recomputed = subjects["subject"].to_list()
    async with engine().transaction(), db.connection() as conn:
        # One run of a period at a time: versions are numbered and switched in order.
        version, previous = await next_version(
            conn, table="kpi_ratio_run", key_column="period", key=period, key_type="text"
        )
        await conn.execute(
            "INSERT INTO kpi_ratio_run (id, period, version, current, as_of, entities, nodes, "
            "rows, null_values, created_at, created_by) "
            "VALUES ($1, $2, $3, false, $4, 0, 0, 0, 0, $5, $6)",
            run_id,
            period,
            version,
            as_of,
            utc_now(),
            actor.username,
        )
        await conn.copy_to_table(
            "kpi_ratio",
            source=db.copy_source(
                rows.select(
                    pl.lit(str(run_id)).alias("run"),
                    *_subject_columns(rows),
                    pl.lit(period).alias("period"),
                    "ratio",
                    "value",
                    "reason",
                )
            ),
            columns=["run", "entity", "node", "period", "ratio", "value", "reason"],
            format="csv",
        )
        if sources.height:
            await conn.copy_to_table(
                "kpi_ratio_source",
                source=db.copy_source(
                    sources.select(
                        pl.lit(str(run_id)).alias("run"),
                        *_subject_columns(sources),
                        "period",
                        "member",
                        "statement",
                        "version",
                    )
                ),
                columns=["run", "entity", "node", "period", "member", "statement", "version"],
                format="csv",
            )
        # Each subject's rows: this run's own for the recomputed, the previous run's holder
        # for the others (no copy of their rows: `kpi_ratio_in_run` reads through these).
        await conn.copy_to_table(
            "kpi_ratio_subject",
            source=db.copy_source(
                subjects.select(
                    pl.lit(str(run_id)).alias("run"),
                    *_subject_columns(subjects),
                    pl.lit(str(run_id)).alias("holder"),
                )
            ),
            columns=["run", "entity", "node", "holder"],
            format="csv",
        )
        if previous is not None and not everything:
            await conn.execute(
                "INSERT INTO kpi_ratio_subject (run, entity, node, holder) "
                "SELECT $1, entity, node, holder FROM kpi_ratio_subject "
                "WHERE run = $2 AND NOT coalesce(entity::text, node) = ANY($3::text[])",
                run_id,
                previous,
                recomputed,
            )
        row = await make_current(
            conn,
            table="kpi_ratio_run",
            key_column="period",
            key=period,
            run_id=run_id,
            columns=_RUN_COLUMNS,
            counts={
                "entities": "count(DISTINCT entity)::int",
                "nodes": "count(DISTINCT node)::int",
                "rows": "count(*)::int",
                "null_values": "count(*) FILTER (WHERE value IS NULL)::int",
            },
            counted_from="kpi_ratio_in_run",
        )
        read = _run_read(row)
        await audit.record(
            actor=actor.username,
            action="kpi_ratio_run.create",
            object_type="kpi_ratio_run",
            object_id=run_id,
            after=read,
        )
    return read


async def list_runs(
    *, period: str | None = None, limit: int = 50, offset: int = 0
) -> Page[RatioRunRead]:
    """The ratio runs, newest first (of one period when given); runs name no company's figures."""
    code = period_of(period, "query.period").code if period is not None else None
    async with db.connection() as conn:
        rows, total = await db.fetch_page(
            conn,
            columns=_RUN_COLUMNS,
            source="kpi_ratio_run",
            where="$1::text IS NULL OR period = $1",
            args=(code,),
            order="created_at DESC, period, version DESC",
            limit=limit,
            offset=offset,
        )
    items = [_run_read({k: v for k, v in r.items() if k != "total"}) for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


async def get_run(*, run_id: UUID) -> RatioRunRead:
    """One run by id."""
    async with db.connection() as conn:
        row = await conn.fetchrow(f"SELECT {_RUN_COLUMNS} FROM kpi_ratio_run WHERE id = $1", run_id)
    if row is None:
        raise NotFound(f"ratio run {run_id} not found")
    return _run_read(row)


def _check_node(node: str) -> None:
    kind, _, value = node.partition(":")
    if node == "group":
        return
    if kind == "segment" and value in set(Segment):
        return
    if kind in ("entity", "platform"):
        try:
            UUID(value)
            return
        except ValueError:
            pass
    raise invalid("query.node", "use group, entity:<id>, platform:<id> or segment:<code>")


async def list_ratios(
    *,
    actor: Actor,
    period: str,
    entity_id: UUID | None = None,
    node: str | None = None,
    ratio: str | None = None,
    run_id: UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[RatioRead]:
    """A period's ratios from its current run (or the run `run_id`), with the versions used.

    In a company-scoped reader's view only their entities and the nodes rooted at them.
    """
    code = period_of(period, "query.period").code
    if node is not None:
        _check_node(node)
    if ratio is not None and ratio not in compute.RATIO_NAMES:
        raise invalid("query.ratio", f"unknown ratio; one of {', '.join(compute.RATIO_NAMES)}")
    seen = await _visible(actor)
    ids = sorted(seen.ids, key=str)
    own_nodes = [f"{k}:{i}" for i in ids for k in ("entity", "platform")]
    async with db.connection() as conn:
        run = await conn.fetchrow(
            "SELECT id, version FROM kpi_ratio_run WHERE period = $1 AND "
            "CASE WHEN $2::uuid IS NULL THEN current ELSE id = $2 END",
            code,
            run_id,
        )
        if run is None:
            if run_id is not None:
                raise NotFound(f"ratio run {run_id} of {code} not found")
            return Page(items=[], total=0, limit=limit, offset=offset)
        # A page past the end still says how many match.
        rows, total = await db.fetch_page(
            conn,
            columns="entity, node, ratio, value, reason",
            source="kpi_ratio_in_run",
            where="run = $1 AND ($2::uuid IS NULL OR entity = $2) "
            "AND ($3::text IS NULL OR node = $3) AND ($4::text IS NULL OR ratio = $4) "
            "AND ($5 OR entity = ANY($6::uuid[]) OR node = ANY($7::text[]))",
            args=[run["id"], entity_id, node, ratio, seen.all, ids, own_nodes],
            order="node NULLS FIRST, entity, ratio",
            limit=limit,
            offset=offset,
        )
        subjects = sorted({str(r["entity"] or r["node"]) for r in rows})
        used = await conn.fetch(
            "SELECT coalesce(entity::text, node) AS subject, member, period, statement, version "
            "FROM kpi_ratio_source_in_run WHERE run = $1 "
            "AND (entity = ANY($2::uuid[]) OR node = ANY($3::text[])) "
            "ORDER BY subject, period DESC, member",
            run["id"],
            sorted({r["entity"] for r in rows if r["entity"] is not None}, key=str),
            sorted({r["node"] for r in rows if r["node"] is not None}),
        )
    statements: dict[str, list[StatementVersionUsed]] = {s: [] for s in subjects}
    for u in used:
        statements[u["subject"]].append(
            StatementVersionUsed(
                entity_id=u["member"],
                period=u["period"],
                statement_id=u["statement"],
                version=u["version"],
            )
        )
    items = [
        RatioRead(
            run_id=run["id"],
            run_version=run["version"],
            entity_id=r["entity"],
            node=r["node"],
            period=code,
            ratio=r["ratio"],
            ratio_name=compute.RATIO_NAMES.get(r["ratio"], r["ratio"]),
            value=r["value"],
            reason=r["reason"],
            statements=statements[str(r["entity"] or r["node"])],
        )
        for r in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset)


async def _visible(actor: Actor) -> scope.Scope:
    return await scope.scope_of(actor, scope.Domain.kpi)
