"""Statements (财务快报): versions per entity and period, checked by the 审核公式 before storing.

A statement is never changed: a correction is the next version, and a change to a submitted
period sends it back to open.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import polars as pl

from stateasset.audit import service as audit
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import FieldProblem, Invalid, NotFound
from stateasset.core.money import as_stored, money_problem
from stateasset.core.periods import Period, parse_period, period_of
from stateasset.db import engine
from stateasset.ledger import rules
from stateasset.ledger.catalogue import ITEM_BY_CODE, label
from stateasset.ledger.closing import periods
from stateasset.ledger.frames import statement_lines_frame
from stateasset.ledger.schemas import (
    Finding,
    StatementLineRead,
    StatementRead,
    StatementSubmit,
)
from stateasset.ledger.service import ensure_visible, entity_row
from stateasset.ledger.tables import Statement, StatementLine

_ITEM_ORDER = {code: index for index, code in enumerate(ITEM_BY_CODE)}


def _check_items(items: dict[str, Decimal], prefix: str) -> list[FieldProblem]:
    problems = []
    for code, amount in items.items():
        if code not in ITEM_BY_CODE:
            problems.append(FieldProblem(field=f"{prefix}.{code}", reason="unknown item code"))
        elif reason := money_problem(amount):
            problems.append(FieldProblem(field=f"{prefix}.{code}", reason=f"amount {reason}"))
    return problems


async def latest_versions(
    period: str, entity_ids: list[UUID] | None = None
) -> dict[UUID, dict[str, Any]]:
    """Each entity's latest statement version for `period` (id, version, source, created_*)."""
    rows = await Statement.raw(
        "SELECT DISTINCT ON (entity) entity, id, version, source, created_at, created_by "
        "FROM statement WHERE period = {} ORDER BY entity, version DESC",
        period,
    )
    wanted = set(entity_ids) if entity_ids is not None else None
    return {r["entity"]: r for r in rows if wanted is None or r["entity"] in wanted}


async def _earlier_in_year(entity_ids: list[UUID], period: Period) -> pl.DataFrame | None:
    """Latest versions of the same entities' earlier periods of the year, for the YTD rule."""
    rows = await Statement.raw(
        "SELECT DISTINCT ON (s.entity, s.period) s.entity::text AS entity_id, s.period, s.id "
        "FROM statement s WHERE s.entity = ANY({}::uuid[]) AND s.period LIKE {} "
        "ORDER BY s.entity, s.period, s.version DESC",
        [str(e) for e in entity_ids],
        f"{period.year}%",
    )
    ids = []
    for r in rows:
        try:
            other = parse_period(r["period"])
        except ValueError:
            continue
        if other.kind == period.kind and other.end < period.end:
            ids.append(r["id"])
    if not ids:
        return None
    return await statement_lines_frame(ids)


def _findings(frame: pl.DataFrame) -> list[Finding]:
    return [
        Finding(
            entity_id=UUID(r["entity_id"]),
            period=r["period"],
            item=r["item"],
            rule=r["rule"],
            severity=r["severity"],
            message=r["message"],
        )
        for r in frame.iter_rows(named=True)
    ]


async def check(frame: pl.DataFrame, period: Period) -> list[Finding]:
    """The 审核公式 findings of statements in `frame` (one period), against earlier periods."""
    entity_ids = [UUID(e) for e in frame["entity_id"].unique().to_list()]
    earlier = await _earlier_in_year(entity_ids, period)
    return _findings(rules.check_statements(frame, earlier))


async def _earlier_lines(entity_id: UUID, period: Period) -> list[tuple[str, str, Decimal]]:
    """(period, item, amount) of the entity's earlier periods of the year, latest versions.

    The same periods as `_earlier_in_year`, in one round trip and without a frame.
    """
    rows = await StatementLine.raw(
        "SELECT s.period, l.item, l.amount FROM ("
        "SELECT DISTINCT ON (period) id, period FROM statement "
        "WHERE entity = {} AND period LIKE {} ORDER BY period, version DESC"
        ") s JOIN statement_line l ON l.statement = s.id",
        entity_id,
        f"{period.year}%",
    )
    earlier: dict[str, bool] = {}
    for r in rows:
        code = r["period"]
        if code not in earlier:
            try:
                other = parse_period(code)
            except ValueError:
                other = None
            earlier[code] = (
                other is not None and other.kind == period.kind and other.end < period.end
            )
    return [(r["period"], r["item"], r["amount"]) for r in rows if earlier[r["period"]]]


async def check_one(entity_id: UUID, period: Period, items: dict[str, Decimal]) -> list[Finding]:
    """The 审核公式 findings of one statement, as `check` would find them, without Polars.

    A single posting checks ~20 lines: the frame path's per-operation overhead cost ~5 ms
    of CPU per statement, the plain-Python path of the same rules well under 0.1 ms.
    """
    earlier = await _earlier_lines(entity_id, period)
    return [
        Finding(
            entity_id=entity_id,
            period=f["period"],
            item=f["item"],
            rule=f["rule"],
            severity=f["severity"],
            message=f["message"],
        )
        for f in rules.check_statement(str(entity_id), period.code, items, earlier)
    ]


async def latest_findings(entity_id: UUID, period: str) -> list[Finding] | None:
    """The findings of the entity's latest statement for `period`; None when it filed none."""
    latest = (await latest_versions(period, [entity_id])).get(entity_id)
    if latest is None:
        return None
    items = await _lines(latest["id"])
    return await check_one(entity_id, parse_period(period), items)


async def _lines(statement_id: UUID) -> dict[str, Decimal]:
    rows = await StatementLine.select(StatementLine.item, StatementLine.amount).where(
        StatementLine.statement == statement_id
    )
    return {r["item"]: r["amount"] for r in rows}


async def store_statement(
    *, actor: Actor, entity_id: UUID, period: str, items: dict[str, Decimal], source: str
) -> Statement:
    """Write the next version of a statement (left open); the caller holds the transaction."""
    state = await periods.ensure_writable(entity_id, period)
    rows = await Statement.raw(
        "SELECT coalesce(max(version), 0) + 1 AS next FROM statement WHERE entity = {} AND period = {}",
        entity_id,
        period,
    )
    version = rows[0]["next"]
    statement_id = uuid4()
    statement = Statement(
        id=statement_id,
        entity=entity_id,
        period=period,
        version=version,
        source=source,
        created_at=utc_now(),
        created_by=actor.username,
    )
    await Statement.insert(statement)
    if items:
        await StatementLine.insert(
            *[
                StatementLine(statement=statement_id, item=k, amount=v)
                for k, v in sorted(items.items())
            ]
        )
    if state != "open":  # a change after submission needs submitting again
        await periods.set_state(
            actor=actor,
            entity_id=entity_id,
            period=period,
            before=state,
            after="open",
            action="reset",
            reason="statement changed",
        )
    await audit.record(
        actor=actor.username,
        action="statement.submit",
        object_type="statement",
        object_id=f"{entity_id}/{period}/v{version}",
        after={"source": source, "items": {k: str(v) for k, v in sorted(items.items())}},
    )
    return statement


async def submit_statement(*, actor: Actor, data: StatementSubmit) -> StatementRead:
    """Store a new version of an entity's statement; blocking errors refuse it (422)."""
    read, _ = await file_statement(actor=actor, data=data)
    return read


async def file_statement(*, actor: Actor, data: StatementSubmit) -> tuple[StatementRead, bool]:
    """The entity's statement as filed, and whether this call added it as a new version.

    A statement identical to the latest version (same items and amounts, as stored) adds
    nothing: the latest version is the answer and the period keeps its state. Blocking errors
    refuse it (422).
    """
    period = period_of(data.period)
    await ensure_visible(actor, [data.entity_id])
    if problems := _check_items(data.items, "body.items"):
        raise Invalid(f"{len(problems)} item(s) are invalid", errors=problems)
    items = {code: as_stored(amount) for code, amount in data.items.items()}
    async with engine().transaction():
        await entity_row(data.entity_id)
        findings = await check_one(data.entity_id, period, items)
        if errors := [f for f in findings if f.severity == "error"]:
            raise Invalid(
                f"the statement fails {len(errors)} validation rule(s); nothing was stored",
                errors=[
                    FieldProblem(field=f"body.items.{f.item}", reason=f"{f.rule}: {f.message}")
                    for f in errors
                ],
            )
        # Under the period row's lock, so two identical submissions cannot both add a version.
        state = await periods.ensure_writable(data.entity_id, data.period)
        latest = (
            await Statement.select()
            .where(Statement.entity == data.entity_id, Statement.period == data.period)
            .order_by(Statement.version, ascending=False)
            .first()
        )
        if latest is not None and await _lines(latest["id"]) == items:
            return _statement_read(Statement(**latest), items, findings, state=state), False
        stored = await store_statement(
            actor=actor,
            entity_id=data.entity_id,
            period=data.period,
            items=items,
            source="api",
        )
    # Answer from what was just checked and stored rather than reading it all back.
    return _statement_read(stored, items, findings, state="open"), True


async def get_statement(
    *, actor: Actor, entity_id: UUID, period: str, version: int | None = None
) -> StatementRead:
    """A statement version (latest by default) with its findings and the period's state."""
    await ensure_visible(actor, [entity_id])
    parsed = period_of(period, "path.period")
    query = Statement.select().where(Statement.entity == entity_id, Statement.period == period)
    if version is not None:
        query = query.where(Statement.version == version)
    row = await query.order_by(Statement.version, ascending=False).first()
    if row is None:
        raise NotFound(f"no statement for entity {entity_id} and period {period}")
    items = await _lines(row["id"])
    findings = await check_one(entity_id, parsed, items)
    return _statement_read(
        Statement(**row), items, findings, state=await periods.state_of(entity_id, period)
    )


def _statement_read(
    statement: Statement, items: dict[str, Decimal], findings: list[Finding], *, state: str
) -> StatementRead:
    return StatementRead(
        entity_id=statement.entity,
        period=statement.period,
        version=statement.version,
        source=statement.source,
        created_at=statement.created_at,
        created_by=statement.created_by,
        state=state,
        lines=[
            StatementLineRead(item=code, label=label(code), amount=items[code])
            for code in sorted(items, key=_ITEM_ORDER.__getitem__)
        ],
        findings=findings,
    )
