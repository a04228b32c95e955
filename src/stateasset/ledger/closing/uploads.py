"""Statement uploads (导入) and the workbook template staff fill in.

An upload is all or nothing: every problem in the file is listed, and its statements are stored
in one transaction only when none fails.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from uuid import UUID

import anyio.to_thread
import msgspec
from anyio import CapacityLimiter

from stateasset.auth.schemas import Actor
from stateasset.core.errors import FieldProblem, Invalid, TooLarge
from stateasset.core.periods import parse_period, period_of
from stateasset.db import engine
from stateasset.ledger import importer
from stateasset.ledger.closing import statements
from stateasset.ledger.schemas import (
    EntityKind,
    Finding,
    ImportProblem,
    ImportReport,
    StoredStatement,
)
from stateasset.ledger.service import visible_entity_ids
from stateasset.ledger.tables import Entity
from stateasset.settings import get_settings

# One limiter per event loop: anyio's limiters belong to the loop that made them.
_parsers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def upload_limits() -> importer.UploadLimits:
    """The configured limits of one upload (`STATEASSET_UPLOAD_MAX_*`)."""
    s = get_settings()
    return importer.UploadLimits(
        bytes=s.upload_max_bytes,
        rows=s.upload_max_rows,
        columns=s.upload_max_columns,
        cells=s.upload_max_cells,
        sheets=s.upload_max_sheets,
        uncompressed_bytes=s.upload_max_uncompressed_bytes,
        compression_ratio=s.upload_max_compression_ratio,
    )


def _too_large(filename: str, exc: importer.UploadTooLarge) -> TooLarge:
    return TooLarge(
        f"{filename} is refused, nothing was imported: {exc}",
        errors=[FieldProblem(field="file", reason=str(exc))],
        extra={"limit": exc.limit, "value": exc.value, "maximum": exc.maximum},
    )


async def parse_upload(
    data: bytes, filename: str, known: Mapping[str, str]
) -> importer.ParsedUpload:
    """Parse an upload in a worker thread, a few at a time, so requests keep being answered.

    TooLarge (413) past the configured limits, naming the limit and the value found.
    """
    limits = upload_limits()
    if len(data) > limits.bytes:  # refused before waiting for a parser
        raise _too_large(
            filename, importer.UploadTooLarge("bytes", len(data), limits.bytes, filename)
        )
    loop = asyncio.get_running_loop()
    if (parsers := _parsers.get(loop)) is None:
        parsers = _parsers[loop] = CapacityLimiter(max(1, get_settings().upload_parsers))
    try:
        return await anyio.to_thread.run_sync(
            importer.parse_statement_upload, data, filename, known, limits, limiter=parsers
        )
    except importer.UploadTooLarge as exc:
        raise _too_large(filename, exc) from None


async def import_statements(*, actor: Actor, data: bytes, filename: str) -> ImportReport:
    """Check the whole upload first; store every statement in it, or nothing at all."""
    visible = await visible_entity_ids(actor)
    known = {
        r["credit_code"]: str(r["id"])
        for r in await Entity.select(Entity.id, Entity.credit_code)
        if visible is None or r["id"] in visible
    }
    parsed = await parse_upload(data, filename, known)
    if parsed.errors:
        problems = [
            ImportProblem(
                sheet=e.sheet,
                row=e.row or 0,
                column=f"{e.column or ''}{f' ({e.header})' if e.header else ''}",
                reason=e.reason,
                item=e.item,
            )
            for e in parsed.errors
        ]
        raise Invalid(
            f"{len(problems)} problem(s) in {filename}; nothing was imported",
            errors=[
                FieldProblem(
                    field=f"file.{p.sheet}!{p.column.split(' ')[0]}{p.row}", reason=p.reason
                )
                for p in problems
            ],
            extra={"import_errors": [msgspec.structs.asdict(p) for p in problems]},
        )
    rows = parsed.rows
    findings: list[Finding] = []
    for (period_code,), frame in rows.group_by(["period"], maintain_order=True):
        findings += await statements.check(
            frame.select("entity_id", "period", "item", "amount"), parse_period(str(period_code))
        )
    if errors := [f for f in findings if f.severity == "error"]:
        codes = {v: k for k, v in known.items()}
        raise Invalid(
            f"{len(errors)} validation rule(s) fail; nothing was imported",
            errors=[
                FieldProblem(
                    field=f"file.{codes.get(str(f.entity_id), f.entity_id)}.{f.period}.{f.item}",
                    reason=f"{f.rule}: {f.message}",
                )
                for f in errors
            ],
            extra={"rule_errors": [msgspec.to_builtins(f) for f in errors]},
        )
    stored: list[StoredStatement] = []
    async with engine().transaction():
        for (entity_id, period_code), frame in rows.sort("entity_id", "period", "item").group_by(
            ["entity_id", "period"], maintain_order=True
        ):
            items = dict(zip(frame["item"].to_list(), frame["amount"].to_list(), strict=True))
            statement = await statements.store_statement(
                actor=actor,
                entity_id=UUID(str(entity_id)),
                period=str(period_code),
                items=items,
                source="import",
            )
            stored.append(
                StoredStatement(
                    entity_id=statement.entity,  # type: ignore[arg-type]
                    period=statement.period,
                    version=statement.version,
                )
            )
    return ImportReport(
        imported=True,
        statements=len(stored),
        rows=rows.height,
        errors=[],
        warnings=findings,
        stored=stored,
    )


async def statement_template(*, actor: Actor, period: str) -> bytes:
    """The XLSX template (one sheet per entity in scope, Chinese labels) for `period`."""
    period_of(period, "query.period")
    visible = await visible_entity_ids(actor)
    rows = (
        await Entity.select(Entity.id, Entity.credit_code, Entity.name)
        .where(Entity.status == "active", Entity.kind.not_in([EntityKind.outside.value]))
        .order_by(Entity.name)
    )
    entities = [
        (r["credit_code"], r["name"]) for r in rows if visible is None or r["id"] in visible
    ]
    # Seconds of CPU for a group of thousands of entities: not on the event loop.
    return await anyio.to_thread.run_sync(importer.statement_template, period, entities)
