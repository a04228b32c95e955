"""Period states per entity (open → submitted → validated → locked), their transitions and board.

A write elsewhere in the close calls `ensure_writable` inside its transaction, which locks the
period row so a transition and a write cannot interleave. The transitions need the statements'
findings and the intercompany mismatches, and those modules need `ensure_writable`: siblings are
imported as modules, so the cycle resolves at call time.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import polars as pl

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.guards import allowed
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import Conflict, FieldProblem, Forbidden, NotFound, invalid
from stateasset.core.periods import Period, period_of
from stateasset.db import engine
from stateasset.ledger import consolidation
from stateasset.ledger.closing import intercompany, statements
from stateasset.ledger.schemas import PeriodAction, PeriodStateRead
from stateasset.ledger.service import (
    ensure_visible,
    group_id,
    ownership_frame,
    visible_entity_ids,
)
from stateasset.ledger.tables import Entity, PeriodState

WRITABLE_STATES = {"open", "submitted"}


async def state_of(entity_id: UUID, period: str) -> str:
    """The entity's state for `period`; open when never touched. Takes no lock."""
    row = (
        await PeriodState.select(PeriodState.state)
        .where(PeriodState.entity == entity_id, PeriodState.period == period)
        .first()
    )
    return row["state"] if row else "open"


async def _lock_period_row(entity_id: UUID, period: str) -> str:
    """Take the period row's lock for this transaction (creating it open if absent); its state.

    One round trip: the no-op update of an existing row locks it as `FOR UPDATE` would, after
    any concurrent writer of the row commits, and returns the state that writer left. A missing
    entity inserts nothing and is a 404.
    """
    async with db.connection() as conn:
        state = await conn.fetchval(
            "INSERT INTO period_state (id, entity, period, state, updated_at, updated_by) "
            "SELECT $1, e.id, $3, 'open', now(), 'system' FROM entity e WHERE e.id = $2 "
            "ON CONFLICT (entity, period) DO UPDATE SET state = period_state.state "
            "RETURNING state",
            uuid4(),
            entity_id,
            period,
        )
    if state is None:
        raise NotFound(f"entity {entity_id} not found")
    return state


def refuse_unless_writable(entity_id: UUID, period: str, state: str) -> None:
    """409 unless a period in `state` takes writes."""
    if state not in WRITABLE_STATES:
        raise Conflict(
            f"period {period} of entity {entity_id} is {state}; it takes no writes until an "
            "admin reopens it",
            extra={"entity_id": str(entity_id), "period": period, "state": state},
        )


async def lock_period(entity_id: UUID, period: str) -> str:
    """Lock the entity's period row for this transaction and return its state (404 if no entity).

    For a write that must answer other refusals (422) before a closed period's 409: it calls
    `refuse_unless_writable` itself once those are checked.
    """
    return await _lock_period_row(entity_id, period)


async def ensure_writable(entity_id: UUID, period: str) -> str:
    """409 unless the entity's period takes writes; call inside the write's transaction."""
    state = await _lock_period_row(entity_id, period)
    refuse_unless_writable(entity_id, period, state)
    return state


async def set_state(
    *,
    actor: Actor,
    entity_id: UUID,
    period: str,
    before: str,
    after: str,
    action: str,
    reason: str | None,
) -> None:
    """Move the (already locked) period row to `after`, and audit it."""
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
# The route only asks for ledger:write; each action then needs its own permission.
NEEDS: dict[PeriodAction, Permission] = {
    PeriodAction.submit: Permission.ledger_write,
    PeriodAction.validate: Permission.ledger_approve,
    PeriodAction.lock: Permission.ledger_approve,
    PeriodAction.reopen: Permission.ledger_reopen,
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
    permission = NEEDS[action]
    if not allowed(actor, permission):
        raise Forbidden(
            f"{actor.username} may not {action.value} periods: that needs permission "
            f"{permission.value}"
        )
    if action == PeriodAction.reopen and not reason:
        raise invalid("body.reason", "a reopen needs a reason")
    if entity_ids is None:
        # "All" means every entity in scope that reports for this period.
        visible = await visible_entity_ids(actor, parsed.end)
        reporting = await statements.latest_versions(period)
        entity_ids = sorted((e for e in reporting if visible is None or e in visible), key=str)
    await ensure_visible(actor, entity_ids)
    async with engine().transaction():
        if action == PeriodAction.reopen:
            assert reason is not None
            changed = await _reopen(actor, entity_ids, parsed, reason)
        else:
            changed = await _step(actor, entity_ids, period, action, reason)
            if action == PeriodAction.lock and changed:
                # Queued in the lock's own transaction: the lock and its recomputations
                # commit together or not at all; the scheduler starts them.
                from stateasset.jobs.runner import queue_after_period_lock

                await queue_after_period_lock(actor=actor, period=period, entity_ids=changed)
    return await period_board(actor=actor, period=period, entity_ids=sorted(changed, key=str))


async def _step(
    actor: Actor, entity_ids: list[UUID], period: str, action: PeriodAction, reason: str | None
) -> list[UUID]:
    """Submit, validate or lock each entity, or raise listing every one that cannot move."""
    before, after = STEPS[action]
    mismatched = (
        await intercompany.mismatched_entities(period) if action == PeriodAction.lock else set()
    )
    problems: list[tuple[int, FieldProblem]] = []
    movable: list[tuple[int, UUID, str]] = []
    # Rows are locked in entity-id order, as imports and reopens take them, whatever order the
    # caller listed them in; problems and changes keep the caller's order.
    for index, entity_id in sorted(enumerate(entity_ids), key=lambda pair: str(pair[1])):
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
            problems.append(
                (index, FieldProblem(field=f"body.entity_ids[{index}]", reason=blocker))
            )
        else:
            movable.append((index, entity_id, state))
    if problems:
        raise Conflict(
            f"{len(problems)} of {len(entity_ids)} entities cannot {action.value} {period}; "
            "nothing was changed",
            errors=[problem for _, problem in sorted(problems, key=lambda p: p[0])],
        )
    movable.sort(key=lambda m: m[0])
    for _, entity_id, state in movable:
        await set_state(
            actor=actor,
            entity_id=entity_id,
            period=period,
            before=state,
            after=after,
            action=action.value,
            reason=reason,
        )
    return [entity_id for _, entity_id, _ in movable]


async def _submit_blocker(entity_id: UUID, period: str) -> str | None:
    findings = await statements.latest_findings(entity_id, period)
    if findings is None:
        return f"{entity_id} has no statement for {period}"
    if errors := [f for f in findings if f.severity == "error"]:
        return f"{entity_id} statement has {len(errors)} error(s): " + "; ".join(
            f"{f.item} {f.rule}" for f in errors[:5]
        )
    return None


async def _reopen(actor: Actor, entity_ids: list[UUID], period: Period, reason: str) -> set[UUID]:
    """Reopen each entity and every entity above it that consolidates it (级联重开).

    Stored consolidations of the period go first: lines may change once it is open. The period
    rows are then locked in entity-id order, as imports and the other period actions take them,
    so a reopen never holds one row while waiting for another that its waiter holds.
    """
    await consolidation.forget_stored(period.code)
    parents = await _control_parents(period.end)
    reached_from: dict[UUID, UUID] = {}  # each entity to reopen → the requested one reaching it
    for entity_id in entity_ids:
        chain = [entity_id]
        while (up := parents.get(chain[-1])) is not None and up not in chain:
            chain.append(up)
        for target in chain:
            reached_from.setdefault(target, entity_id)
    changed: set[UUID] = set()
    for target in sorted(reached_from, key=str):
        current = await _lock_period_row(target, period.code)
        if current == "open":
            continue
        source = reached_from[target]
        await set_state(
            actor=actor,
            entity_id=target,
            period=period.code,
            before=current,
            after="open",
            action="reopen",
            reason=reason if target == source else f"cascade from {source}: {reason}",
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
