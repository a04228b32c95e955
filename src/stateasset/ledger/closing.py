"""The period close (结账): statements, intercompany lines, uploads and period states.

Every write checks the entity's period under a row lock: a locked period takes none.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

import msgspec
import polars as pl

from stateasset.audit import service as audit
from stateasset.auth.roles import Role
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import Conflict, FieldProblem, Forbidden, Invalid, NotFound, invalid
from stateasset.core.money import CENT, money_problem
from stateasset.core.periods import Period, parse_period, period_of
from stateasset.db import engine
from stateasset.ledger import importer, rules
from stateasset.ledger.catalogue import ITEM_BY_CODE, label
from stateasset.ledger.compute import consolidation as consolidation_calc
from stateasset.ledger.frames import (
    STATEMENT_SCHEMA,
    intercompany_frame,
    statement_lines_frame,
)
from stateasset.ledger.schemas import (
    EntityKind,
    Finding,
    ImportProblem,
    ImportReport,
    IntercompanyLineRead,
    IntercompanySubmit,
    Mismatch,
    PeriodAction,
    PeriodStateRead,
    StatementLineRead,
    StatementRead,
    StatementSubmit,
)
from stateasset.ledger.service import (
    ensure_visible,
    entity_row,
    group_id,
    ownership_frame,
    visible_entity_ids,
)
from stateasset.ledger.tables import (
    Entity,
    IntercompanyLine,
    PeriodState,
    Statement,
    StatementLine,
)
from stateasset.settings import get_settings

WRITABLE_STATES = {"open", "submitted"}


# ------------------------------------------------------------------------------------------
# Periods


async def _state(entity_id: UUID, period: str) -> str:
    row = (
        await PeriodState.select(PeriodState.state)
        .where(PeriodState.entity == entity_id, PeriodState.period == period)
        .first()
    )
    return row["state"] if row else "open"


async def _lock_period_row(entity_id: UUID, period: str) -> str:
    """Take the period row's lock for this transaction (creating it open if absent)."""
    await PeriodState.raw(
        "INSERT INTO period_state (id, entity, period, state, updated_at, updated_by) "
        "VALUES ({}, {}, {}, 'open', now(), 'system') ON CONFLICT (entity, period) DO NOTHING",
        uuid4(),
        entity_id,
        period,
    )
    rows = await PeriodState.raw(
        "SELECT state FROM period_state WHERE entity = {} AND period = {} FOR UPDATE",
        entity_id,
        period,
    )
    return rows[0]["state"]


async def ensure_writable(entity_id: UUID, period: str) -> str:
    """409 unless the entity's period takes writes; call inside the write's transaction."""
    state = await _lock_period_row(entity_id, period)
    if state not in WRITABLE_STATES:
        raise Conflict(
            f"period {period} of entity {entity_id} is {state}; it takes no writes until an "
            "admin reopens it",
            extra={"entity_id": str(entity_id), "period": period, "state": state},
        )
    return state


async def _set_state(
    *,
    actor: Actor,
    entity_id: UUID,
    period: str,
    before: str,
    after: str,
    action: str,
    reason: str | None,
) -> None:
    await PeriodState.update(
        {
            PeriodState.state: after,
            PeriodState.updated_at: utc_now(),
            PeriodState.updated_by: actor.username,
        }
    ).where(PeriodState.entity == entity_id, PeriodState.period == period)
    await audit.record(
        actor=actor.username,
        action=f"period.{action}",
        object_type="period",
        object_id=f"{entity_id}/{period}",
        before={"state": before},
        after={"state": after},
        reason=reason,
    )


# action → (the state it starts from, the state it leads to); reopen is handled apart.
STEPS: dict[PeriodAction, tuple[str, str]] = {
    PeriodAction.submit: ("open", "submitted"),
    PeriodAction.validate: ("submitted", "validated"),
    PeriodAction.lock: ("validated", "locked"),
}
WHO_MAY: dict[PeriodAction, set[Role]] = {
    PeriodAction.submit: {Role.admin, Role.group_finance, Role.entity_finance},
    PeriodAction.validate: {Role.admin, Role.group_finance},
    PeriodAction.lock: {Role.admin, Role.group_finance},
    PeriodAction.reopen: {Role.admin},
}


async def transition_periods(
    *,
    actor: Actor,
    period: str,
    action: PeriodAction,
    entity_ids: list[UUID] | None,
    reason: str | None,
) -> list[PeriodStateRead]:
    """Move many entities' period at once: all succeed, or nothing changes."""
    parsed = period_of(period, "path.period")
    if actor.role not in WHO_MAY[action]:
        raise Forbidden(f"role {actor.role.value} may not {action.value} periods")
    if action == PeriodAction.reopen and not reason:
        raise invalid("body.reason", "a reopen needs a reason")
    if entity_ids is None:
        # "All" means every entity in scope that reports for this period.
        visible = await visible_entity_ids(actor, parsed.end)
        reporting = await latest_versions(period)
        entity_ids = sorted((e for e in reporting if visible is None or e in visible), key=str)
    await ensure_visible(actor, entity_ids)
    async with engine().transaction():
        if action == PeriodAction.reopen:
            assert reason is not None
            changed = await _reopen(actor, entity_ids, parsed, reason)
        else:
            changed = await _step(actor, entity_ids, period, action, reason)
    return await period_board(actor=actor, period=period, entity_ids=sorted(changed, key=str))


async def _step(
    actor: Actor, entity_ids: list[UUID], period: str, action: PeriodAction, reason: str | None
) -> list[UUID]:
    """Submit, validate or lock each entity, or raise listing every one that cannot move."""
    before, after = STEPS[action]
    mismatched = await _mismatched_entities(period) if action == PeriodAction.lock else set()
    problems: list[FieldProblem] = []
    movable: list[tuple[UUID, str]] = []
    for index, entity_id in enumerate(entity_ids):
        state = await _lock_period_row(entity_id, period)
        blocker = None
        if state != before:
            blocker = f"{entity_id} is {state}, not {before}"
        elif action == PeriodAction.submit:
            blocker = await _submit_blocker(entity_id, period)
        elif entity_id in mismatched:
            blocker = (
                f"{entity_id} has intercompany pairs that do not match; see the mismatch report"
            )
        if blocker:
            problems.append(FieldProblem(field=f"body.entity_ids[{index}]", reason=blocker))
        else:
            movable.append((entity_id, state))
    if problems:
        raise Conflict(
            f"{len(problems)} of {len(entity_ids)} entities cannot {action.value} {period}; "
            "nothing was changed",
            errors=problems,
        )
    for entity_id, state in movable:
        await _set_state(
            actor=actor,
            entity_id=entity_id,
            period=period,
            before=state,
            after=after,
            action=action.value,
            reason=reason,
        )
    return [entity_id for entity_id, _ in movable]


async def _submit_blocker(entity_id: UUID, period: str) -> str | None:
    findings = await _latest_findings(entity_id, period)
    if findings is None:
        return f"{entity_id} has no statement for {period}"
    if errors := [f for f in findings if f.severity == "error"]:
        return f"{entity_id} statement has {len(errors)} error(s): " + "; ".join(
            f"{f.item} {f.rule}" for f in errors[:5]
        )
    return None


async def _reopen(actor: Actor, entity_ids: list[UUID], period: Period, reason: str) -> set[UUID]:
    """Reopen each entity and every entity above it that consolidates it (级联重开)."""
    parents = await _control_parents(period.end)
    changed: set[UUID] = set()
    for entity_id in entity_ids:
        chain = [entity_id]
        while (up := parents.get(chain[-1])) is not None and up not in chain:
            chain.append(up)
        for target in chain:
            current = await _lock_period_row(target, period.code)
            if target in changed or current == "open":
                continue
            await _set_state(
                actor=actor,
                entity_id=target,
                period=period.code,
                before=current,
                after="open",
                action="reopen",
                reason=reason if target == entity_id else f"cascade from {entity_id}: {reason}",
            )
            changed.add(target)
    return changed


async def _control_parents(as_of: date) -> dict[UUID, UUID]:
    """Each controlled entity's controlling parent in the group's tree."""
    try:
        root = await group_id()
    except NotFound:
        return {}
    own = await ownership_frame(root, as_of)
    return {
        UUID(r["entity_id"]): UUID(r["parent_id"])
        for r in own.filter(pl.col("parent_id").is_not_null()).iter_rows(named=True)
    }


async def period_board(
    *, actor: Actor, period: str, entity_ids: list[UUID] | None = None
) -> list[PeriodStateRead]:
    """Every reporting entity in scope with its state for `period` (open when never touched).

    Reporting entities are those that have ever filed a statement or have a state this period;
    outside holders and agencies that file nothing stay off the board.
    """
    period_of(period, "path.period")
    visible = await visible_entity_ids(actor)
    entities = await Entity.raw(
        "SELECT e.id, e.name FROM entity e WHERE EXISTS (SELECT 1 FROM statement s "
        "WHERE s.entity = e.id) OR EXISTS (SELECT 1 FROM period_state p WHERE p.entity = e.id "
        "AND p.period = {}) ORDER BY e.name",
        period,
    )
    states = {
        r["entity"]: r for r in await PeriodState.select().where(PeriodState.period == period)
    }
    wanted = set(entity_ids) if entity_ids is not None else None
    board = []
    for e in entities:
        if visible is not None and e["id"] not in visible:
            continue
        if wanted is not None and e["id"] not in wanted:
            continue
        s = states.get(e["id"])
        board.append(
            PeriodStateRead(
                entity_id=e["id"],
                entity_name=e["name"],
                period=period,
                state=s["state"] if s else "open",
                updated_at=s["updated_at"] if s else None,
                updated_by=s["updated_by"] if s else None,
            )
        )
    return board


# ------------------------------------------------------------------------------------------
# Statements


def _check_items(items: dict[str, Decimal], prefix: str) -> list[FieldProblem]:
    problems = []
    for code, amount in items.items():
        if code not in ITEM_BY_CODE:
            problems.append(FieldProblem(field=f"{prefix}.{code}", reason="unknown item code"))
        elif reason := money_problem(amount):
            problems.append(FieldProblem(field=f"{prefix}.{code}", reason=f"amount {reason}"))
    return problems


_ITEM_ORDER = {code: index for index, code in enumerate(ITEM_BY_CODE)}


def _statement_frame(entity_id: UUID, period: str, items: dict[str, Decimal]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "entity_id": [str(entity_id)] * len(items),
            "period": [period] * len(items),
            "item": list(items),
            "amount": list(items.values()),
        },
        schema=STATEMENT_SCHEMA,
    )


async def latest_versions(period: str, entity_ids: list[UUID] | None = None) -> dict[UUID, dict]:
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


async def _latest_findings(entity_id: UUID, period: str) -> list[Finding] | None:
    latest = (await latest_versions(period, [entity_id])).get(entity_id)
    if latest is None:
        return None
    items = await _lines(latest["id"])
    return await check(_statement_frame(entity_id, period, items), parse_period(period))


async def _lines(statement_id: UUID) -> dict[str, Decimal]:
    rows = await StatementLine.select(StatementLine.item, StatementLine.amount).where(
        StatementLine.statement == statement_id
    )
    return {r["item"]: r["amount"] for r in rows}


async def _store_statement(
    *, actor: Actor, entity_id: UUID, period: str, items: dict[str, Decimal], source: str
) -> Statement:
    """Write the next version of a statement (left open); the caller holds the transaction."""
    state = await ensure_writable(entity_id, period)
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
        await _set_state(
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
    period = period_of(data.period)
    await ensure_visible(actor, [data.entity_id])
    if problems := _check_items(data.items, "body.items"):
        raise Invalid(f"{len(problems)} item(s) are invalid", errors=problems)
    items = {code: amount.quantize(CENT) for code, amount in data.items.items()}  # as stored
    frame = _statement_frame(data.entity_id, data.period, items)
    async with engine().transaction():
        await entity_row(data.entity_id)
        findings = await check(frame, period)
        if errors := [f for f in findings if f.severity == "error"]:
            raise Invalid(
                f"the statement fails {len(errors)} validation rule(s); nothing was stored",
                errors=[
                    FieldProblem(field=f"body.items.{f.item}", reason=f"{f.rule}: {f.message}")
                    for f in errors
                ],
            )
        stored = await _store_statement(
            actor=actor,
            entity_id=data.entity_id,
            period=data.period,
            items=items,
            source="api",
        )
    # Answer from what was just checked and stored rather than reading it all back.
    return _statement_read(stored, items, findings, state="open")


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
    findings = await check(_statement_frame(entity_id, period, items), parsed)
    return _statement_read(Statement(**row), items, findings, state=await _state(entity_id, period))


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


# ------------------------------------------------------------------------------------------
# Intercompany lines


async def put_intercompany(*, actor: Actor, data: IntercompanySubmit) -> list[IntercompanyLineRead]:
    """Replace the entity's intercompany lines for the period with this set."""
    period_of(data.period)
    await ensure_visible(actor, [data.entity_id])
    problems = []
    seen = set()
    for i, line in enumerate(data.lines):
        if reason := money_problem(line.amount):
            problems.append(FieldProblem(field=f"body.lines[{i}].amount", reason=reason))
        elif line.amount < 0:
            problems.append(
                FieldProblem(field=f"body.lines[{i}].amount", reason="must not be negative")
            )
        if line.partner_id == data.entity_id:
            problems.append(
                FieldProblem(
                    field=f"body.lines[{i}].partner_id", reason="an entity cannot trade with itself"
                )
            )
        if (line.partner_id, line.kind) in seen:
            problems.append(
                FieldProblem(field=f"body.lines[{i}]", reason="duplicate partner and kind")
            )
        seen.add((line.partner_id, line.kind))
    if problems:
        raise Invalid(f"{len(problems)} line(s) are invalid", errors=problems)
    async with engine().transaction():
        await entity_row(data.entity_id)
        partners = {line.partner_id for line in data.lines}
        known = {
            r["id"]
            for r in await Entity.select(Entity.id).where(
                Entity.id.is_in(list(partners) or [uuid4()])
            )
        }
        if missing := [
            FieldProblem(
                field=f"body.lines[{i}].partner_id",
                reason=f"entity {line.partner_id} does not exist",
            )
            for i, line in enumerate(data.lines)
            if line.partner_id not in known
        ]:
            raise Invalid("unknown partner entities", errors=missing)
        await ensure_writable(data.entity_id, data.period)
        before = await list_intercompany(actor=actor, period=data.period, entity_id=data.entity_id)
        await IntercompanyLine.delete().where(
            IntercompanyLine.entity == data.entity_id, IntercompanyLine.period == data.period
        )
        now = utc_now()
        if data.lines:
            await IntercompanyLine.insert(
                *[
                    IntercompanyLine(
                        id=uuid4(),
                        entity=data.entity_id,
                        partner=line.partner_id,
                        period=data.period,
                        kind=line.kind,
                        amount=line.amount,
                        created_at=now,
                        created_by=actor.username,
                    )
                    for line in data.lines
                ]
            )
        after = await list_intercompany(actor=actor, period=data.period, entity_id=data.entity_id)
        await audit.record(
            actor=actor.username,
            action="intercompany.replace",
            object_type="intercompany",
            object_id=f"{data.entity_id}/{data.period}",
            before=before,
            after=after,
        )
    return after


async def list_intercompany(
    *, actor: Actor, period: str, entity_id: UUID | None = None
) -> list[IntercompanyLineRead]:
    query = IntercompanyLine.select().where(IntercompanyLine.period == period)
    if entity_id is not None:
        await ensure_visible(actor, [entity_id])
        query = query.where(
            (IntercompanyLine.entity == entity_id) | (IntercompanyLine.partner == entity_id)
        )
    rows = (
        await query.order_by(IntercompanyLine.entity)
        .order_by(IntercompanyLine.partner)
        .order_by(IntercompanyLine.kind)
    )
    visible = await visible_entity_ids(actor)
    return [
        IntercompanyLineRead(
            entity_id=r["entity"],
            partner_id=r["partner"],
            period=r["period"],
            kind=r["kind"],
            amount=r["amount"],
        )
        for r in rows
        if visible is None or r["entity"] in visible or r["partner"] in visible
    ]


async def _mismatch_frame(period: str) -> pl.DataFrame:
    tolerance = Decimal(get_settings().intercompany_tolerance)
    return consolidation_calc.intercompany_mismatches(
        await intercompany_frame(period), tolerance
    ).collect()


async def _mismatched_entities(period: str) -> set[UUID]:
    frame = await _mismatch_frame(period)
    return {UUID(e) for e in frame["entity_id"].to_list() + frame["partner_id"].to_list()}


async def mismatches(*, actor: Actor, period: str, entity_id: UUID | None = None) -> list[Mismatch]:
    """Intercompany pairs whose two sides disagree beyond the tolerance (内部往来核对)."""
    period_of(period, "query.period")
    visible = await visible_entity_ids(actor)
    rows = []
    for r in (await _mismatch_frame(period)).iter_rows(named=True):
        ids = {UUID(r["entity_id"]), UUID(r["partner_id"])}
        if entity_id is not None and entity_id not in ids:
            continue
        if visible is not None and not ids & visible:
            continue
        rows.append(
            Mismatch(
                kind=r["kind"],
                entity_id=UUID(r["entity_id"]),
                partner_id=UUID(r["partner_id"]),
                entity_amount=r["entity_amount"],
                partner_amount=r["partner_amount"],
                difference=r["difference"],
            )
        )
    return rows


# ------------------------------------------------------------------------------------------
# Import (导入) and workbooks


async def import_statements(*, actor: Actor, data: bytes, filename: str) -> ImportReport:
    """Check the whole upload first; store every statement in it, or nothing at all."""
    visible = await visible_entity_ids(actor)
    known = {
        r["credit_code"]: str(r["id"])
        for r in await Entity.select(Entity.id, Entity.credit_code)
        if visible is None or r["id"] in visible
    }
    parsed = importer.parse_statement_upload(data, filename, known)
    if parsed.errors:
        problems = [
            ImportProblem(
                sheet=e.sheet,
                row=e.row or 0,
                column=f"{e.column or ''}{f' ({e.header})' if e.header else ''}",
                reason=e.reason,
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
        findings += await check(
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
        )
    statements = 0
    async with engine().transaction():
        for (entity_id, period_code), frame in rows.sort("entity_id", "period", "item").group_by(
            ["entity_id", "period"], maintain_order=True
        ):
            items = dict(zip(frame["item"].to_list(), frame["amount"].to_list(), strict=True))
            await _store_statement(
                actor=actor,
                entity_id=UUID(str(entity_id)),
                period=str(period_code),
                items=items,
                source="import",
            )
            statements += 1
    return ImportReport(
        imported=True, statements=statements, rows=rows.height, errors=[], warnings=findings
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
    return importer.statement_template(period, entities)
