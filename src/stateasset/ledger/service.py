"""Ledger master data: entities, dated stakes, control and who may see what.

Each public function is one unit of work in one transaction, and audited. Controllers parse and
authorise; these functions decide. Other domains call them as
`from stateasset.ledger import service as ledger_service`. The quarter close (statements,
intercompany lines, periods) is in `closing/`, consolidation in `consolidation`, and every read
of a table into Polars in `frames`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import msgspec
import polars as pl

from stateasset.audit import service as audit
from stateasset.auth import scope
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import Conflict, FieldProblem, Invalid, NotFound, invalid
from stateasset.core.periods import parse_period
from stateasset.core.schemas import Page
from stateasset.db import engine
from stateasset.ledger import ownership
from stateasset.ledger.credit_code import credit_code_problem
from stateasset.ledger.schemas import (
    ENTITY_KIND_LABELS,
    SEGMENT_LABELS,
    ConsolidationMethod,
    ControlOverrideCreate,
    ControlOverrideRead,
    EntityCreate,
    EntityKind,
    EntityRead,
    EntityUpdate,
    OwnershipRow,
    OwnershipView,
    Segment,
    StakeCreate,
    StakeRead,
    TreeNode,
)
from stateasset.ledger.tables import (
    ControlOverride,
    Entity,
    PeriodState,
    Stake,
)
from stateasset.settings import get_settings

SHARE_STEP = Decimal("0.000001")


# ------------------------------------------------------------------------------------------
# Ownership, from the frames of `ledger.frames`


async def ownership_frame(root: UUID, as_of: date) -> pl.DataFrame:
    """`root`'s ownership at `as_of` (compute.ownership), once per ownership version."""
    return (await ownership.snapshot(root, as_of)).frame


async def group_id() -> UUID:
    """The group (集团): the root of the legal hierarchy."""
    row = await Entity.select(Entity.id).where(Entity.kind == EntityKind.group.value).first()
    if row is None:
        raise NotFound("no entity of kind 'group' is registered yet")
    return row["id"]


async def controlled_by(root: UUID, as_of: date) -> list[UUID]:
    """Entities `root` controls (directly or through controlled entities) at `as_of`."""
    return sorted((await ownership.snapshot(root, as_of)).controlled, key=str)


# ------------------------------------------------------------------------------------------
# Scope: the ledger's rule, registered with `auth.scope`; seeing every entity is `ledger:all`


async def _by_control(actor: Actor, as_of: date) -> frozenset[UUID]:
    """The actor's entity and every entity it controls at `as_of`, from the cached snapshot."""
    if actor.entity_id is None:
        return frozenset()
    return (await ownership.snapshot(actor.entity_id, as_of)).controlled | {actor.entity_id}


scope.register(scope.Domain.ledger, _by_control)


async def visible_entity_ids(actor: Actor, as_of: date | None = None) -> set[UUID] | None:
    """The entities `actor` may see; None means all of them."""
    seen = await scope.scope_of(actor, scope.Domain.ledger, as_of=as_of)
    return None if seen.all else set(seen.ids)


async def ensure_visible(actor: Actor, entity_ids: Iterable[UUID]) -> None:
    """404 for entities outside the actor's scope: their existence is not revealed."""
    seen = await scope.scope_of(actor, scope.Domain.ledger)
    for entity_id in entity_ids:
        if not seen.allows(entity_id):
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
        state_share=row["state_share"],
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def entity_row(entity_id: UUID) -> dict[str, Any]:
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
    if problems := _share_problems(state_share=data.state_share):
        raise Invalid("the state share is out of range", errors=problems)
    async with engine().transaction():
        await _check_platform(data.platform_id)
        if data.kind == EntityKind.group and await Entity.exists().where(
            Entity.kind == EntityKind.group.value
        ):
            raise Conflict("a group entity already exists; there is one group")
        if await Entity.exists().where(Entity.credit_code == code):
            raise Conflict(f"credit code {code} is already registered")
        now = utc_now()
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
            state_share=data.state_share,
            status="active",
            created_at=now,
            updated_at=now,
        )
        await entity.save()
        read = _entity_read(await entity_row(entity.id))
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
    if problems := _share_problems(state_share=data.state_share):
        raise Invalid("the state share is out of range", errors=problems)
    async with engine().transaction():
        before = _entity_read(await entity_row(entity_id))
        await _check_platform(data.platform_id)
        values = {
            getattr(Entity, k): (v.value if hasattr(v, "value") else v) for k, v in changes.items()
        }
        values[Entity.updated_at] = utc_now()
        await Entity.update(values).where(Entity.id == entity_id)
        after = _entity_read(await entity_row(entity_id))
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
    return _entity_read(await entity_row(entity_id))


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
        # Staff know companies by their short names (城建投) as often as by their full names.
        pattern = f"%{_like_literal(search)}%"
        where.append(
            Entity.name.ilike(pattern)
            | Entity.short_name.ilike(pattern)
            | (Entity.credit_code == search.upper())
        )
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
    own = await ownership_frame(root, as_of)
    children: dict[str, list[dict[str, Any]]] = {}
    for row in own.filter(pl.col("parent_id").is_not_null()).iter_rows(named=True):
        children.setdefault(row["parent_id"], []).append(row)

    def build(entity_id: str, method: str, interest: float | None) -> TreeNode:
        row = entities.get(UUID(entity_id))
        kids = sorted(children.get(entity_id, []), key=lambda r: r["entity_id"])
        return TreeNode(
            id=entity_id,
            name=row["name"] if row else entity_id,
            kind=row["kind"] if row else "unknown",
            method=ConsolidationMethod(method),
            effective_interest=interest,
            children=[build(k["entity_id"], k["method"], k["effective_interest"]) for k in kids],
        )

    # The top of the tree consolidates itself in full.
    return [build(str(root), ConsolidationMethod.full, 1.0)]


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


def _like_literal(text: str) -> str:
    """`text` for a LIKE pattern, matched literally: `100%` is not `100` then anything.

    PostgreSQL's LIKE escapes with a backslash unless told otherwise.
    """
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _share_problems(**shares: Decimal | None) -> list[FieldProblem]:
    """A problem for each share (keyword: body field name) outside 0..1 or past 6 places."""
    problems = []
    for field, value in shares.items():
        if value is None:
            continue
        if not value.is_finite() or not 0 <= value <= 1:
            problems.append(FieldProblem(field=f"body.{field}", reason="must be between 0 and 1"))
        elif value != value.quantize(SHARE_STEP):
            problems.append(FieldProblem(field=f"body.{field}", reason="at most 6 decimal places"))
    return problems


async def _refuse_change_in_locked_periods(entity_ids: list[UUID], effective: date) -> None:
    """409 when an ownership change from `effective` on would alter a locked period.

    Locked periods are immutable: their ownership, and so their consolidation, must not move.
    """
    rows = await PeriodState.select(PeriodState.entity, PeriodState.period).where(
        PeriodState.entity.is_in(entity_ids), PeriodState.state == "locked"
    )
    touched = sorted(
        (r["period"], r["entity"]) for r in rows if parse_period(r["period"]).end >= effective
    )
    if touched:
        period, entity_id = touched[-1]
        raise Conflict(
            f"a change effective {effective.isoformat()} would alter locked period {period} of "
            f"entity {entity_id}; date it after that period or have an admin reopen it",
            extra={"locked_periods": sorted({p for p, _ in touched})},
        )


async def create_stake(*, actor: Actor, data: StakeCreate) -> StakeRead:
    if problems := _share_problems(
        economic_share=data.economic_share, voting_share=data.voting_share
    ):
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
        await _refuse_change_in_locked_periods([data.holder_id, data.held_id], data.valid_from)
        # One writer per held entity at a time, so two stakes cannot both squeeze under 100%.
        await Stake.raw("SELECT pg_advisory_xact_lock(hashtext({}))", f"stake:{data.held_id}")
        await ownership.bump_version()
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
            created_at=utc_now(),
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
        await _refuse_change_in_locked_periods([row["holder"], row["held"]], valid_to)
        before = _stake_read(row)
        await ownership.bump_version()
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
    """Record a control judgement; a method must agree with it (only `full` is controlled)."""
    if data.method is not None and (data.method == ConsolidationMethod.full) != data.controlled:
        raise invalid(
            "body.method",
            "full goes with controlled: true; equity and none with controlled: false",
        )
    async with engine().transaction():
        if not await Entity.exists().where(Entity.id == data.entity_id):
            raise invalid("body.entity_id", f"entity {data.entity_id} does not exist")
        await _refuse_change_in_locked_periods([data.entity_id], data.valid_from)
        await ownership.bump_version()
        override = ControlOverride(
            id=uuid4(),
            entity=data.entity_id,
            controlled=data.controlled,
            method=data.method.value if data.method else None,
            reason=data.reason,
            valid_from=data.valid_from,
            valid_to=data.valid_to,
            created_at=utc_now(),
        )
        await override.save()
        read = ControlOverrideRead(
            id=override.id,
            entity_id=data.entity_id,
            controlled=data.controlled,
            method=data.method,
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
    await entity_row(root_id)
    own = await ownership_frame(root_id, as_of)
    names = {r["id"]: r["name"] for r in await Entity.select(Entity.id, Entity.name)}
    rows = [
        OwnershipRow(
            entity_id=UUID(r["entity_id"]),
            name=names.get(UUID(r["entity_id"]), ""),
            effective_interest=r["effective_interest"],
            consolidated_interest=r["consolidated_interest"],
            group_votes=r["group_votes"],
            controlled=r["controlled"],
            method=ConsolidationMethod(r["method"]),
            parent_id=UUID(r["parent_id"]) if r["parent_id"] else None,
        )
        for r in own.iter_rows(named=True)
    ]
    return OwnershipView(
        root_id=root_id, as_of=as_of, control_threshold=get_settings().control_threshold, rows=rows
    )


async def entity_names() -> dict[UUID, str]:
    return {r["id"]: r["name"] for r in await Entity.select(Entity.id, Entity.name)}
