"""Ledger services: each public function is one unit of work in one transaction, and audited.

Controllers parse and authorise; these functions decide. Other domains call them as
`from stateasset.ledger import service as ledger_service`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import msgspec
import polars as pl
import xlsxwriter

from stateasset.audit import service as audit
from stateasset.auth.roles import Role
from stateasset.auth.schemas import Actor
from stateasset.core.errors import Conflict, FieldProblem, Forbidden, Invalid, NotFound, invalid
from stateasset.core.money import money_problem
from stateasset.core.schemas import Page
from stateasset.db import engine
from stateasset.ledger import compute, importer, rules
from stateasset.ledger.catalogue import ITEM_BY_CODE, Period, label, parse_period
from stateasset.ledger.credit_code import credit_code_problem
from stateasset.ledger.schemas import (
    ENTITY_KIND_LABELS,
    SEGMENT_LABELS,
    ConsolidationRead,
    ControlOverrideCreate,
    ControlOverrideRead,
    EliminationRow,
    EntityCreate,
    EntityKind,
    EntityRead,
    EntityUpdate,
    Finding,
    ImportProblem,
    ImportReport,
    IntercompanyLineRead,
    IntercompanySubmit,
    ItemRow,
    Mismatch,
    NciRow,
    OwnershipRow,
    OwnershipView,
    PeriodAction,
    PeriodStateRead,
    Segment,
    StakeCreate,
    StakeRead,
    StatementLineRead,
    StatementRead,
    StatementSubmit,
    StatementVersionUsed,
    TreeNode,
)
from stateasset.ledger.tables import (
    ControlOverride,
    Entity,
    IntercompanyLine,
    PeriodState,
    Stake,
    Statement,
    StatementLine,
)
from stateasset.settings import get_settings

MONEY = compute.MONEY
WRITABLE_STATES = {"open", "submitted"}
SHARE_STEP = Decimal("0.000001")
ALL_ROLES_SEE_ALL = {Role.admin, Role.group_finance, Role.board, Role.auditor, Role.fund_manager}


def _now() -> datetime:
    return datetime.now(UTC)


def _period(code: str, field: str = "body.period") -> Period:
    try:
        return parse_period(code)
    except ValueError as exc:
        raise invalid(field, str(exc)) from exc


# ------------------------------------------------------------------------------------------
# Frames read from the tables, shaped for ledger.compute


async def _stakes_frame(as_of: date) -> pl.LazyFrame:
    rows = await Stake.raw(
        "SELECT holder::text AS holder_id, held::text AS held_id, "
        "economic_share::float8 AS economic_share, voting_share::float8 AS voting_share "
        "FROM stake WHERE valid_from <= {} AND (valid_to IS NULL OR valid_to > {})",
        as_of,
        as_of,
    )
    schema = {
        "holder_id": pl.String,
        "held_id": pl.String,
        "economic_share": pl.Float64,
        "voting_share": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row").lazy()


async def _overrides_frame(as_of: date) -> pl.LazyFrame:
    rows = await ControlOverride.raw(
        "SELECT DISTINCT ON (entity) entity::text AS entity_id, controlled FROM control_override "
        "WHERE valid_from <= {} AND (valid_to IS NULL OR valid_to > {}) "
        "ORDER BY entity, created_at DESC",
        as_of,
        as_of,
    )
    return pl.DataFrame(
        rows, schema={"entity_id": pl.String, "controlled": pl.Boolean}, orient="row"
    ).lazy()


async def _ownership(root: UUID, as_of: date) -> pl.DataFrame:
    settings = get_settings()
    return compute.ownership(
        await _stakes_frame(as_of),
        str(root),
        threshold=settings.control_threshold,
        overrides=await _overrides_frame(as_of),
        equity_floor=settings.equity_floor,
    ).collect()


async def group_id() -> UUID:
    """The group (集团): the root of the legal hierarchy."""
    row = await Entity.select(Entity.id).where(Entity.kind == EntityKind.group.value).first()
    if row is None:
        raise NotFound("no entity of kind 'group' is registered yet")
    return row["id"]


async def controlled_by(root: UUID, as_of: date) -> list[UUID]:
    """Entities `root` controls (directly or through controlled entities) at `as_of`."""
    own = await _ownership(root, as_of)
    return [UUID(e) for e in own.filter(pl.col("controlled"))["entity_id"].to_list()]


# ------------------------------------------------------------------------------------------
# Scope


async def visible_entity_ids(actor: Actor, as_of: date | None = None) -> set[UUID] | None:
    """The entities `actor` may see; None means all of them."""
    if actor.role in ALL_ROLES_SEE_ALL:
        return None
    if actor.entity_id is None:
        return set()
    return {actor.entity_id, *await controlled_by(actor.entity_id, as_of or date.today())}


async def ensure_visible(actor: Actor, entity_ids: Iterable[UUID]) -> None:
    """404 for entities outside the actor's scope: their existence is not revealed."""
    visible = await visible_entity_ids(actor)
    if visible is None:
        return
    for entity_id in entity_ids:
        if entity_id not in visible:
            raise NotFound(f"entity {entity_id} not found")


# ------------------------------------------------------------------------------------------
# Entities


def _entity_read(row: dict[str, Any]) -> EntityRead:
    kind = EntityKind(row["kind"])
    segment = Segment(row["segment"]) if row["segment"] else None
    return EntityRead(
        id=row["id"],
        credit_code=row["credit_code"],
        name=row["name"],
        short_name=row["short_name"],
        kind=kind,
        kind_label=ENTITY_KIND_LABELS[kind],
        platform_id=row["platform_id"],
        segment=segment,
        segment_label=SEGMENT_LABELS[segment] if segment else None,
        industry=row["industry"],
        second_level=row["second_level"],
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _entity_row(entity_id: UUID) -> dict[str, Any]:
    row = await Entity.select().where(Entity.id == entity_id).first()
    if row is None:
        raise NotFound(f"entity {entity_id} not found")
    return row


async def _check_platform(platform_id: UUID | None) -> None:
    if platform_id is None:
        return
    row = await Entity.select(Entity.kind).where(Entity.id == platform_id).first()
    if row is None or row["kind"] != EntityKind.platform.value:
        raise invalid("body.platform_id", f"{platform_id} is not a platform entity")


async def create_entity(*, actor: Actor, data: EntityCreate) -> EntityRead:
    """Register an entity; the credit code must pass GB 32100's checksum and be unused."""
    code = data.credit_code.strip().upper()
    if problem := credit_code_problem(code):
        raise invalid("body.credit_code", problem)
    async with engine().transaction():
        await _check_platform(data.platform_id)
        if data.kind == EntityKind.group and await Entity.exists().where(
            Entity.kind == EntityKind.group.value
        ):
            raise Conflict("a group entity already exists; there is one group")
        if await Entity.exists().where(Entity.credit_code == code):
            raise Conflict(f"credit code {code} is already registered")
        now = _now()
        entity = Entity(
            id=uuid4(),
            credit_code=code,
            name=data.name,
            short_name=data.short_name,
            kind=data.kind.value,
            platform_id=data.platform_id,
            segment=data.segment.value if data.segment else None,
            industry=data.industry,
            second_level=data.second_level,
            status="active",
            created_at=now,
            updated_at=now,
        )
        await entity.save()
        read = _entity_read(await _entity_row(entity.id))
        await audit.record(
            actor=actor.username,
            action="entity.create",
            object_type="entity",
            object_id=entity.id,
            after=read,
        )
    return read


async def update_entity(*, actor: Actor, entity_id: UUID, data: EntityUpdate) -> EntityRead:
    await ensure_visible(actor, [entity_id])
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
    if not changes:
        raise invalid("body", "name at least one field to change")
    async with engine().transaction():
        before = _entity_read(await _entity_row(entity_id))
        await _check_platform(data.platform_id)
        values = {
            getattr(Entity, k): (v.value if hasattr(v, "value") else v) for k, v in changes.items()
        }
        values[Entity.updated_at] = _now()
        await Entity.update(values).where(Entity.id == entity_id)
        after = _entity_read(await _entity_row(entity_id))
        await audit.record(
            actor=actor.username,
            action="entity.update",
            object_type="entity",
            object_id=entity_id,
            before=before,
            after=after,
        )
    return after


async def get_entity(*, actor: Actor, entity_id: UUID) -> EntityRead:
    await ensure_visible(actor, [entity_id])
    return _entity_read(await _entity_row(entity_id))


async def list_entities(
    *,
    actor: Actor,
    kind: EntityKind | None = None,
    platform_id: UUID | None = None,
    segment: Segment | None = None,
    status: str | None = None,
    second_level: bool | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[EntityRead]:
    """Entities in the actor's scope, filtered, by name."""
    where = []
    if kind:
        where.append(Entity.kind == kind.value)
    if platform_id:
        where.append(Entity.platform_id == platform_id)
    if segment:
        where.append(Entity.segment == segment.value)
    if status:
        where.append(Entity.status == status)
    if second_level is not None:
        where.append(Entity.second_level == second_level)
    if search:
        where.append((Entity.name.ilike(f"%{search}%")) | (Entity.credit_code == search.upper()))
    visible = await visible_entity_ids(actor)
    if visible is not None:
        where.append(Entity.id.is_in(list(visible) or [uuid4()]))
    query = Entity.select().order_by(Entity.name).limit(limit).offset(offset)
    count = Entity.count()
    if where:
        query = query.where(*where)
        count = count.where(*where)
    rows = await query
    return Page(
        items=[_entity_read(r) for r in rows], total=await count, limit=limit, offset=offset
    )


async def entity_tree(*, actor: Actor, hierarchy: str, as_of: date) -> list[TreeNode]:
    """The legal (by control), platform (五大投) or segment (业务板块) hierarchy."""
    visible = await visible_entity_ids(actor, as_of)
    rows = await Entity.select(
        Entity.id, Entity.name, Entity.kind, Entity.platform_id, Entity.segment
    )
    entities = {r["id"]: r for r in rows if visible is None or r["id"] in visible}
    if hierarchy == "platform":
        return _platform_tree(entities)
    if hierarchy == "segment":
        return _segment_tree(entities)
    if hierarchy == "legal":
        # A scoped user's tree starts at their own entity.
        root = await group_id() if visible is None else actor.entity_id
        return await _legal_tree(entities, as_of, root)
    raise invalid("query.hierarchy", "must be one of legal, platform, segment")


def _leaf(row: dict[str, Any], **extra: Any) -> TreeNode:
    return TreeNode(id=str(row["id"]), name=row["name"], kind=row["kind"], **extra)


def _platform_tree(entities: dict[UUID, dict[str, Any]]) -> list[TreeNode]:
    platforms = sorted(
        (r for r in entities.values() if r["kind"] == EntityKind.platform.value),
        key=lambda r: r["name"],
    )
    return [
        _leaf(
            p,
            children=[
                _leaf(r)
                for r in sorted(entities.values(), key=lambda r: r["name"])
                if r["platform_id"] == p["id"] and r["id"] != p["id"]
            ],
        )
        for p in platforms
    ]


def _segment_tree(entities: dict[UUID, dict[str, Any]]) -> list[TreeNode]:
    return [
        TreeNode(
            id=f"segment:{segment.value}",
            name=SEGMENT_LABELS[segment],
            kind="segment",
            children=[
                _leaf(r)
                for r in sorted(entities.values(), key=lambda r: r["name"])
                if r["segment"] == segment.value
            ],
        )
        for segment in Segment
    ]


async def _legal_tree(
    entities: dict[UUID, dict[str, Any]], as_of: date, root: UUID | None
) -> list[TreeNode]:
    if root is None:
        return []
    own = await _ownership(root, as_of)
    children: dict[str, list[dict[str, Any]]] = {}
    for row in own.filter(pl.col("parent_id").is_not_null()).iter_rows(named=True):
        children.setdefault(row["parent_id"], []).append(row)

    def build(entity_id: str, method: str | None, interest: float | None) -> TreeNode:
        row = entities.get(UUID(entity_id))
        kids = sorted(children.get(entity_id, []), key=lambda r: r["entity_id"])
        return TreeNode(
            id=entity_id,
            name=row["name"] if row else entity_id,
            kind=row["kind"] if row else "unknown",
            method=method,
            effective_interest=interest,
            children=[build(k["entity_id"], k["method"], k["effective_interest"]) for k in kids],
        )

    return [build(str(root), "root", 1.0)]


# ------------------------------------------------------------------------------------------
# Stakes, control overrides, ownership


def _stake_read(row: dict[str, Any]) -> StakeRead:
    return StakeRead(
        id=row["id"],
        holder_id=row["holder"],
        held_id=row["held"],
        economic_share=row["economic_share"],
        voting_share=row["voting_share"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        note=row["note"],
    )


def _overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (b_to is None or a_from < b_to) and (a_to is None or b_from < a_to)


async def _check_total_held(
    held: UUID, valid_from: date, valid_to: date | None, economic: Decimal, voting: Decimal
) -> None:
    """Refuse a stake that would take the total held in `held` above 100% at any date."""
    rows = await Stake.select().where(Stake.held == held)
    overlapping = [
        r for r in rows if _overlaps(valid_from, valid_to, r["valid_from"], r["valid_to"])
    ]
    checkpoints = {valid_from} | {
        r["valid_from"] for r in overlapping if r["valid_from"] > valid_from
    }
    for day in sorted(checkpoints):
        active = [
            r
            for r in overlapping
            if _overlaps(day, None, r["valid_from"], r["valid_to"]) and r["valid_from"] <= day
        ]
        for column, new_share, field in (
            ("economic_share", economic, "body.economic_share"),
            ("voting_share", voting, "body.voting_share"),
        ):
            total = sum((r[column] for r in active), Decimal(0)) + new_share
            if total > 1:
                raise invalid(
                    field,
                    f"the stakes held in this entity on {day.isoformat()} would total "
                    f"{total:.6f} (> 1); existing {total - new_share:.6f} + new {new_share:.6f}",
                )


def _share_problems(data: StakeCreate) -> list[FieldProblem]:
    problems = []
    for field, value in (
        ("economic_share", data.economic_share),
        ("voting_share", data.voting_share),
    ):
        if value is None:
            continue
        if not value.is_finite() or not 0 <= value <= 1:
            problems.append(FieldProblem(field=f"body.{field}", reason="must be between 0 and 1"))
        elif value != value.quantize(SHARE_STEP):
            problems.append(FieldProblem(field=f"body.{field}", reason="at most 6 decimal places"))
    return problems


async def create_stake(*, actor: Actor, data: StakeCreate) -> StakeRead:
    if problems := _share_problems(data):
        raise Invalid("the shares are out of range", errors=problems)
    if data.holder_id == data.held_id:
        raise invalid("body.held_id", "an entity cannot hold itself")
    if data.valid_to is not None and data.valid_to <= data.valid_from:
        raise invalid("body.valid_to", "must be after valid_from")
    voting = data.voting_share if data.voting_share is not None else data.economic_share
    async with engine().transaction():
        for field, entity_id in (
            ("body.holder_id", data.holder_id),
            ("body.held_id", data.held_id),
        ):
            if not await Entity.exists().where(Entity.id == entity_id):
                raise invalid(field, f"entity {entity_id} does not exist")
        # One writer per held entity at a time, so two stakes cannot both squeeze under 100%.
        await Stake.raw("SELECT pg_advisory_xact_lock(hashtext({}))", f"stake:{data.held_id}")
        await _check_total_held(
            data.held_id, data.valid_from, data.valid_to, data.economic_share, voting
        )
        stake = Stake(
            id=uuid4(),
            holder=data.holder_id,
            held=data.held_id,
            economic_share=data.economic_share,
            voting_share=voting,
            valid_from=data.valid_from,
            valid_to=data.valid_to,
            note=data.note,
            created_at=_now(),
        )
        await stake.save()
        read = _stake_read(await Stake.select().where(Stake.id == stake.id).first())
        await audit.record(
            actor=actor.username,
            action="stake.create",
            object_type="stake",
            object_id=stake.id,
            after=read,
        )
    return read


async def end_stake(*, actor: Actor, stake_id: UUID, valid_to: date) -> StakeRead:
    """Close a stake at `valid_to` (exclusive); history is kept, nothing is deleted."""
    async with engine().transaction():
        row = await Stake.select().where(Stake.id == stake_id).first()
        if row is None:
            raise NotFound(f"stake {stake_id} not found")
        if valid_to <= row["valid_from"]:
            raise invalid("body.valid_to", "must be after the stake's valid_from")
        if row["valid_to"] is not None and row["valid_to"] <= valid_to:
            raise Conflict(f"the stake already ended on {row['valid_to']}")
        before = _stake_read(row)
        await Stake.update({Stake.valid_to: valid_to}).where(Stake.id == stake_id)
        after = _stake_read(await Stake.select().where(Stake.id == stake_id).first())
        await audit.record(
            actor=actor.username,
            action="stake.end",
            object_type="stake",
            object_id=stake_id,
            before=before,
            after=after,
        )
    return after


async def list_stakes(*, actor: Actor, entity_id: UUID, as_of: date | None) -> list[StakeRead]:
    """Stakes held by or in `entity_id`; only those valid at `as_of` when given."""
    await ensure_visible(actor, [entity_id])
    rows = (
        await Stake.select()
        .where((Stake.holder == entity_id) | (Stake.held == entity_id))
        .order_by(Stake.valid_from)
    )
    if as_of is not None:
        rows = [
            r
            for r in rows
            if _overlaps(as_of, None, r["valid_from"], r["valid_to"]) and r["valid_from"] <= as_of
        ]
    return [_stake_read(r) for r in rows]


async def create_control_override(
    *, actor: Actor, data: ControlOverrideCreate
) -> ControlOverrideRead:
    async with engine().transaction():
        if not await Entity.exists().where(Entity.id == data.entity_id):
            raise invalid("body.entity_id", f"entity {data.entity_id} does not exist")
        override = ControlOverride(
            id=uuid4(),
            entity=data.entity_id,
            controlled=data.controlled,
            reason=data.reason,
            valid_from=data.valid_from,
            valid_to=data.valid_to,
            created_at=_now(),
        )
        await override.save()
        read = ControlOverrideRead(
            id=override.id,
            entity_id=data.entity_id,
            controlled=data.controlled,
            reason=data.reason,
            valid_from=data.valid_from,
            valid_to=data.valid_to,
        )
        await audit.record(
            actor=actor.username,
            action="control_override.create",
            object_type="entity",
            object_id=data.entity_id,
            after=read,
            reason=data.reason,
        )
    return read


async def ownership_view(*, actor: Actor, root_id: UUID, as_of: date) -> OwnershipView:
    """Effective interest, control and method of everything `root_id` reaches, at `as_of`."""
    await ensure_visible(actor, [root_id])
    await _entity_row(root_id)
    own = await _ownership(root_id, as_of)
    names = {r["id"]: r["name"] for r in await Entity.select(Entity.id, Entity.name)}
    rows = [
        OwnershipRow(
            entity_id=UUID(r["entity_id"]),
            name=names.get(UUID(r["entity_id"]), ""),
            effective_interest=r["effective_interest"],
            group_votes=r["group_votes"],
            controlled=r["controlled"],
            method=r["method"],
            parent_id=UUID(r["parent_id"]) if r["parent_id"] else None,
        )
        for r in own.iter_rows(named=True)
    ]
    return OwnershipView(
        root_id=root_id, as_of=as_of, control_threshold=get_settings().control_threshold, rows=rows
    )


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
            PeriodState.updated_at: _now(),
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


async def transition_periods(
    *,
    actor: Actor,
    period: str,
    action: PeriodAction,
    entity_ids: list[UUID] | None,
    reason: str | None,
) -> list[PeriodStateRead]:
    """Move many entities' period at once: all succeed, or nothing changes."""
    parsed = _period(period, "path.period")
    if action == PeriodAction.reopen and not reason:
        raise invalid("body.reason", "a reopen needs a reason")
    if action in (PeriodAction.validate, PeriodAction.lock, PeriodAction.reopen) and (
        actor.role not in (Role.admin, Role.group_finance)
        or (action == PeriodAction.reopen and actor.role != Role.admin)
    ):
        raise Forbidden(f"role {actor.role.value} may not {action.value} periods")
    visible = await visible_entity_ids(actor, parsed.end)
    if entity_ids is None:
        # "All" means every entity in scope that reports for this period.
        reporting = await _latest_versions(period)
        entity_ids = sorted((e for e in reporting if visible is None or e in visible), key=str)
    await ensure_visible(actor, entity_ids)
    problems: list[FieldProblem] = []
    changed: set[UUID] = set()
    async with engine().transaction():
        mismatched = await _mismatched_entities(period) if action == PeriodAction.lock else set()
        for index, entity_id in enumerate(entity_ids):
            state = await _lock_period_row(entity_id, period)
            field = f"body.entity_ids[{index}]"
            if action == PeriodAction.submit:
                if state != "open":
                    problems.append(
                        FieldProblem(field=field, reason=f"{entity_id} is {state}, not open")
                    )
                    continue
                findings = await _latest_findings(entity_id, period)
                if findings is None:
                    problems.append(
                        FieldProblem(
                            field=field, reason=f"{entity_id} has no statement for {period}"
                        )
                    )
                    continue
                if errors := [f for f in findings if f.severity == "error"]:
                    problems.append(
                        FieldProblem(
                            field=field,
                            reason=f"{entity_id} statement has {len(errors)} error(s): "
                            + "; ".join(f"{f.item} {f.rule}" for f in errors[:5]),
                        )
                    )
                    continue
                new = "submitted"
            elif action == PeriodAction.validate:
                if state != "submitted":
                    problems.append(
                        FieldProblem(field=field, reason=f"{entity_id} is {state}, not submitted")
                    )
                    continue
                new = "validated"
            elif action == PeriodAction.lock:
                if state != "validated":
                    problems.append(
                        FieldProblem(field=field, reason=f"{entity_id} is {state}, not validated")
                    )
                    continue
                if entity_id in mismatched:
                    problems.append(
                        FieldProblem(
                            field=field,
                            reason=f"{entity_id} has intercompany pairs that do not match; see the mismatch report",
                        )
                    )
                    continue
                new = "locked"
            else:  # reopen, cascading to every node that consolidates the entity
                for target in [entity_id, *await _consolidating_ancestors(entity_id, parsed.end)]:
                    if target in changed:
                        continue
                    current = await _lock_period_row(target, period)
                    if current == "open":
                        continue
                    await _set_state(
                        actor=actor,
                        entity_id=target,
                        period=period,
                        before=current,
                        after="open",
                        action="reopen",
                        reason=reason
                        if target == entity_id
                        else f"cascade from {entity_id}: {reason}",
                    )
                    changed.add(target)
                continue
            await _set_state(
                actor=actor,
                entity_id=entity_id,
                period=period,
                before=state,
                after=new,
                action=action.value,
                reason=reason,
            )
            changed.add(entity_id)
        if problems:
            raise Conflict(
                f"{len(problems)} of {len(entity_ids)} entities cannot {action.value} {period}; "
                "nothing was changed",
                errors=problems,
            )
    return await period_board(actor=actor, period=period, entity_ids=sorted(changed, key=str))


async def _consolidating_ancestors(entity_id: UUID, as_of: date) -> list[UUID]:
    """The controlling chain above `entity_id` up to the group."""
    try:
        root = await group_id()
    except NotFound:
        return []
    if root == entity_id:
        return []
    own = await _ownership(root, as_of)
    parent = {r["entity_id"]: r["parent_id"] for r in own.iter_rows(named=True)}
    chain: list[UUID] = []
    current = str(entity_id)
    while (up := parent.get(current)) is not None:
        chain.append(UUID(up))
        if up == str(root):
            break
        current = up
    return chain


async def period_board(
    *, actor: Actor, period: str, entity_ids: list[UUID] | None = None
) -> list[PeriodStateRead]:
    """Every reporting entity in scope with its state for `period` (open when never touched).

    Reporting entities are those that have ever filed a statement or have a state this period;
    outside holders and agencies that file nothing stay off the board.
    """
    _period(period, "path.period")
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


def _statement_frame(entity_id: UUID, period: str, items: dict[str, Decimal]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "entity_id": [str(entity_id)] * len(items),
            "period": [period] * len(items),
            "item": list(items),
            "amount": list(items.values()),
        },
        schema={"entity_id": pl.String, "period": pl.String, "item": pl.String, "amount": MONEY},
    )


async def _latest_versions(period: str, entity_ids: list[UUID] | None = None) -> dict[UUID, dict]:
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
    lines = await StatementLine.raw(
        "SELECT s.entity::text AS entity_id, s.period, l.item, l.amount FROM statement_line l "
        "JOIN statement s ON s.id = l.statement WHERE l.statement = ANY({}::uuid[])",
        ids,
    )
    return pl.DataFrame(
        lines,
        schema={"entity_id": pl.String, "period": pl.String, "item": pl.String, "amount": MONEY},
        orient="row",
    )


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
    latest = (await _latest_versions(period, [entity_id])).get(entity_id)
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
) -> int:
    """Write the next version of a statement; the caller holds the transaction."""
    state = await ensure_writable(entity_id, period)
    rows = await Statement.raw(
        "SELECT coalesce(max(version), 0) + 1 AS next FROM statement WHERE entity = {} AND period = {}",
        entity_id,
        period,
    )
    version = rows[0]["next"]
    statement_id = uuid4()
    await Statement.insert(
        Statement(
            id=statement_id,
            entity=entity_id,
            period=period,
            version=version,
            source=source,
            created_at=_now(),
            created_by=actor.username,
        )
    )
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
    return version


async def submit_statement(*, actor: Actor, data: StatementSubmit) -> StatementRead:
    """Store a new version of an entity's statement; blocking errors refuse it (422)."""
    period = _period(data.period)
    await ensure_visible(actor, [data.entity_id])
    if problems := _check_items(data.items, "body.items"):
        raise Invalid(f"{len(problems)} item(s) are invalid", errors=problems)
    frame = _statement_frame(data.entity_id, data.period, data.items)
    async with engine().transaction():
        await _entity_row(data.entity_id)
        findings = await check(frame, period)
        if errors := [f for f in findings if f.severity == "error"]:
            raise Invalid(
                f"the statement fails {len(errors)} validation rule(s); nothing was stored",
                errors=[
                    FieldProblem(field=f"body.items.{f.item}", reason=f"{f.rule}: {f.message}")
                    for f in errors
                ],
            )
        version = await _store_statement(
            actor=actor,
            entity_id=data.entity_id,
            period=data.period,
            items=data.items,
            source="api",
        )
    return await get_statement(
        actor=actor, entity_id=data.entity_id, period=data.period, version=version
    )


async def get_statement(
    *, actor: Actor, entity_id: UUID, period: str, version: int | None = None
) -> StatementRead:
    """A statement version (latest by default) with its findings and the period's state."""
    await ensure_visible(actor, [entity_id])
    parsed = _period(period, "path.period")
    query = Statement.select().where(Statement.entity == entity_id, Statement.period == period)
    if version is not None:
        query = query.where(Statement.version == version)
    row = await query.order_by(Statement.version, ascending=False).first()
    if row is None:
        raise NotFound(f"no statement for entity {entity_id} and period {period}")
    items = await _lines(row["id"])
    findings = await check(_statement_frame(entity_id, period, items), parsed)
    return StatementRead(
        entity_id=entity_id,
        period=period,
        version=row["version"],
        source=row["source"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        state=await _state(entity_id, period),
        lines=[
            StatementLineRead(item=k, label=label(k), amount=v)
            for k, v in sorted(items.items(), key=lambda kv: list(ITEM_BY_CODE).index(kv[0]))
        ],
        findings=findings,
    )


# ------------------------------------------------------------------------------------------
# Intercompany lines


async def put_intercompany(*, actor: Actor, data: IntercompanySubmit) -> list[IntercompanyLineRead]:
    """Replace the entity's intercompany lines for the period with this set."""
    _period(data.period)
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
        await _entity_row(data.entity_id)
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
        now = _now()
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


async def _lines_frame(period: str) -> pl.LazyFrame:
    rows = await IntercompanyLine.raw(
        "SELECT entity::text AS entity_id, partner::text AS partner_id, kind, amount "
        "FROM intercompany_line WHERE period = {}",
        period,
    )
    return pl.DataFrame(
        rows,
        schema={
            "entity_id": pl.String,
            "partner_id": pl.String,
            "kind": pl.String,
            "amount": MONEY,
        },
        orient="row",
    ).lazy()


async def _mismatch_frame(period: str) -> pl.DataFrame:
    tolerance = Decimal(get_settings().intercompany_tolerance)
    return compute.intercompany_mismatches(await _lines_frame(period), tolerance).collect()


async def _mismatched_entities(period: str) -> set[UUID]:
    frame = await _mismatch_frame(period)
    return {UUID(e) for e in frame["entity_id"].to_list() + frame["partner_id"].to_list()}


async def mismatches(*, actor: Actor, period: str, entity_id: UUID | None = None) -> list[Mismatch]:
    """Intercompany pairs whose two sides disagree beyond the tolerance (内部往来核对)."""
    _period(period, "query.period")
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
# Consolidation (合并) and aggregation (汇总)


async def _statements_frame(
    period: str, entity_ids: list[UUID]
) -> tuple[pl.LazyFrame, dict[UUID, int]]:
    latest = await _latest_versions(period, entity_ids)
    if not latest:
        empty = pl.DataFrame(schema={"entity_id": pl.String, "item": pl.String, "amount": MONEY})
        return empty.lazy(), {}
    rows = await StatementLine.raw(
        "SELECT s.entity::text AS entity_id, l.item, l.amount FROM statement_line l "
        "JOIN statement s ON s.id = l.statement WHERE l.statement = ANY({}::uuid[])",
        [r["id"] for r in latest.values()],
    )
    frame = pl.DataFrame(
        rows, schema={"entity_id": pl.String, "item": pl.String, "amount": MONEY}, orient="row"
    )
    return frame.lazy(), {e: r["version"] for e, r in latest.items()}


async def _node_members(node: str, as_of: date) -> tuple[UUID, str, list[UUID] | None, list[UUID]]:
    """(root, name, members for consolidation or None for the root's control set, aggregation members)."""
    kind, _, value = node.partition(":")
    if kind == "group":
        root = await group_id()
        row = await _entity_row(root)
        return root, row["name"], None, [root, *await controlled_by(root, as_of)]
    if kind in ("entity", "platform"):
        try:
            root = UUID(value)
        except ValueError as exc:
            raise invalid("query.node", f"{value!r} is not an entity id") from exc
        row = await _entity_row(root)
        if kind == "platform":
            if row["kind"] != EntityKind.platform.value:
                raise invalid("query.node", f"{value} is not a platform")
            members = [
                r["id"] for r in await Entity.select(Entity.id).where(Entity.platform_id == root)
            ]
            return root, row["name"], None, sorted({root, *members}, key=str)
        return root, row["name"], None, [root, *await controlled_by(root, as_of)]
    if kind == "segment":
        try:
            segment = Segment(value)
        except ValueError as exc:
            raise invalid(
                "query.node", f"unknown segment {value!r}; one of {[s.value for s in Segment]}"
            ) from exc
        root = await group_id()
        in_segment = {
            r["id"] for r in await Entity.select(Entity.id).where(Entity.segment == segment.value)
        }
        controlled = set(await controlled_by(root, as_of)) | {root}
        return (
            root,
            SEGMENT_LABELS[segment],
            sorted(in_segment & controlled, key=str),
            sorted(in_segment, key=str),
        )
    raise invalid("query.node", "use group, entity:<id>, platform:<id> or segment:<code>")


async def consolidation(*, actor: Actor, node: str, period: str, mode: str) -> ConsolidationRead:
    """The consolidated (合并) or aggregated (汇总) statement of a node for a period."""
    parsed = _period(period, "query.period")
    if mode not in ("consolidated", "aggregated"):
        raise invalid("query.mode", "must be consolidated or aggregated")
    root, name, segment_members, aggregation_members = await _node_members(node, parsed.end)
    # A segment belongs to the group: scoped users, who cannot see the group, cannot see it.
    await ensure_visible(actor, [root])
    own = await _ownership(root, parsed.end)
    if mode == "aggregated":
        members = aggregation_members
    else:
        members = (
            segment_members
            if segment_members is not None
            else [root, *[UUID(e) for e in own.filter(pl.col("controlled"))["entity_id"].to_list()]]
        )
    statements, versions = await _statements_frame(period, members)
    if mode == "aggregated":
        summed = compute.aggregate(statements, [str(m) for m in members]).collect()
        items = [
            ItemRow(
                item=r["item"],
                label=_label(r["item"]),
                aggregated=r["amount"],
                eliminated=Decimal("0.00"),
                consolidated=r["amount"],
            )
            for r in summed.iter_rows(named=True)
        ]
        eliminations: list[EliminationRow] = []
        nci: list[NciRow] = []
    else:
        result = compute.consolidate(
            statements,
            await _lines_frame(period),
            own.lazy(),
            str(root),
            members=[str(m) for m in members],
        )
        items = [
            ItemRow(
                item=r["item"],
                label=_label(r["item"]),
                aggregated=r["aggregated"] or Decimal("0.00"),
                eliminated=r["eliminated"] or Decimal("0.00"),
                consolidated=r["consolidated"],
            )
            for r in result.items.iter_rows(named=True)
        ]
        eliminations = [
            EliminationRow(
                kind=r["kind"],
                entity_id=UUID(r["entity_id"]),
                partner_id=UUID(r["partner_id"]),
                at_entity_id=UUID(r["at_entity_id"]) if r["at_entity_id"] else None,
                entity_amount=r["entity_amount"],
                partner_amount=r["partner_amount"],
                difference=r["difference"],
            )
            for r in result.eliminations.iter_rows(named=True)
        ]
        nci = [
            NciRow(
                entity_id=UUID(r["entity_id"]),
                effective_interest=r["effective_interest"],
                own_net_assets=r["own_net_assets"],
                non_controlling_interest=r["non_controlling_interest"],
                net_profit=r["net_profit"],
                nci_profit=r["nci_profit"],
            )
            for r in result.nci.iter_rows(named=True)
        ]
    return ConsolidationRead(
        node=node,
        node_name=name,
        period=period,
        mode=mode,
        root_id=root,
        members=sorted(members, key=str),
        missing_statements=sorted((m for m in members if m not in versions), key=str),
        statement_versions=[
            StatementVersionUsed(e, v)
            for e, v in sorted(versions.items(), key=lambda kv: str(kv[0]))
        ],
        items=items,
        eliminations=eliminations,
        nci=nci,
    )


EXTRA_LABELS = {
    "elimination_difference": "抵销差额",
    "non_controlling_interest": "少数股东权益",
    "equity_attributable_to_parent": "归属于母公司所有者权益",
    "nci_profit": "少数股东损益",
    "net_profit_attributable_to_parent": "归属于母公司所有者的净利润",
}


def _label(code: str) -> str:
    return EXTRA_LABELS.get(code) or (label(code) if code in ITEM_BY_CODE else code)


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
    _period(period, "query.period")
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


def consolidation_workbook(report: ConsolidationRead, names: dict[UUID, str]) -> bytes:
    """合并报表 as XLSX: statement, eliminations, NCI and the statement versions used."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money = book.add_format({"num_format": "#,##0.00"})
    title = book.add_format({"bold": True, "font_size": 14})
    mode = "合并报表" if report.mode == "consolidated" else "汇总报表"

    def table(name: str, heading: str, header: list[str], rows: list[list[Any]]) -> None:
        sheet = book.add_worksheet(name)
        sheet.write(0, 0, heading, title)
        for c, h in enumerate(header):
            sheet.write(2, c, h, bold)
            sheet.set_column(c, c, 18 if c else 28)
        for r, values in enumerate(rows, start=3):
            for c, value in enumerate(values):
                # Excel keeps numbers as binary floats; cents stay exact below 10^13 yuan.
                if isinstance(value, Decimal):
                    sheet.write_number(r, c, float(value), money)
                else:
                    sheet.write(r, c, value)

    table(
        mode,
        f"{report.node_name} {report.period} {mode}",
        ["项目编码", "项目名称", "汇总数", "抵销数", "合并数"],
        [[i.item, i.label, i.aggregated, i.eliminated, i.consolidated] for i in report.items],
    )
    table(
        "抵销分录",
        "内部往来抵销 Eliminations",
        ["类型", "本方", "对方", "抵销层级", "本方金额", "对方金额", "差额"],
        [
            [
                e.kind,
                names.get(e.entity_id, str(e.entity_id)),
                names.get(e.partner_id, str(e.partner_id)),
                names.get(e.at_entity_id, "") if e.at_entity_id else "",
                e.entity_amount,
                e.partner_amount,
                e.difference,
            ]
            for e in report.eliminations
        ],
    )
    table(
        "少数股东权益",
        "少数股东权益 Non-controlling interest",
        ["主体", "穿透持股比例", "自身净资产", "少数股东权益", "净利润", "少数股东损益"],
        [
            [
                names.get(n.entity_id, str(n.entity_id)),
                n.effective_interest,
                n.own_net_assets,
                n.non_controlling_interest,
                n.net_profit,
                n.nci_profit,
            ]
            for n in report.nci
        ],
    )
    table(
        "报表版本",
        "所用报表版本 Statement versions used",
        ["主体", "版本"],
        [[names.get(v.entity_id, str(v.entity_id)), v.version] for v in report.statement_versions]
        + [[names.get(m, str(m)), "缺报 missing"] for m in report.missing_statements],
    )
    book.close()
    return buffer.getvalue()


async def entity_names() -> dict[UUID, str]:
    return {r["id"]: r["name"] for r in await Entity.select(Entity.id, Entity.name)}
