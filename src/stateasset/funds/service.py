"""GPs, funds and their terms, the fund tree, and who may see and write which fund.

Each public function is one unit of work in one transaction, audited last. A fund manager sees
and writes the funds assigned to them (`Actor.fund_ids`, resolved by `auth.scope`'s funds rule);
`funds:all` sees every fund. Outside one's scope a fund is "not found", never "forbidden".
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from uuid import UUID

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth import scope
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import Conflict, FieldProblem, Invalid, NotFound, invalid
from stateasset.core.money import as_stored, money_problem
from stateasset.db import engine
from stateasset.funds.schemas import (
    CATEGORY_LABELS,
    GP_KIND_LABELS,
    GP_ROLE_LABELS,
    INDUSTRY_LABELS,
    FundCategory,
    FundCreate,
    FundNode,
    FundRead,
    GpCreate,
    GpKind,
    GpOfFund,
    GpRead,
    GpRole,
    Industry,
    ReinvestmentKind,
    Terms,
)
from stateasset.funds.tables import Fund
from stateasset.ledger.schemas import EntityKind

SHARE_STEP = Decimal("0.000001")

# ------------------------------------------------------------------------------------------
# Scope


async def visible_fund_ids(actor: Actor) -> set[UUID] | None:
    """The funds `actor` may see, or None for all of them."""
    seen = await scope.scope_of(actor, scope.Domain.funds)
    return None if seen.all else set(seen.ids)


async def ensure_fund_visible(actor: Actor, fund_id: UUID) -> None:
    """404 unless the fund exists and is in the actor's scope (reads and writes alike)."""
    seen = await scope.scope_of(actor, scope.Domain.funds)
    if not seen.allows(fund_id) or not await Fund.exists().where(Fund.id == fund_id):
        raise NotFound(f"fund {fund_id} not found")


# ------------------------------------------------------------------------------------------
# GPs


def _gp_read(row: Any) -> GpRead:
    kind = GpKind(row["kind"])
    return GpRead(
        id=row["id"],
        name=row["name"],
        credit_code=row["credit_code"],
        kind=kind,
        kind_label=GP_KIND_LABELS[kind],
        registration_code=row["registration_code"],
    )


_GP_SELECT = (
    "SELECT g.id, g.kind, g.registration_code, e.name, e.credit_code "
    "FROM fund_gp g JOIN entity e ON e.id = g.id"
)


async def create_gp(*, actor: Actor, data: GpCreate) -> GpRead:
    """Make a registered entity a GP; its registration code must be new (P + 7 digits)."""
    async with engine().transaction(), db.connection() as conn:
        entity = await conn.fetchrow("SELECT id, kind FROM entity WHERE id = $1", data.entity_id)
        if entity is None:
            raise invalid("body.entity_id", "no such entity: register it in the ledger first")
        if await conn.fetchval("SELECT 1 FROM fund_gp WHERE id = $1", data.entity_id):
            raise Conflict(f"entity {data.entity_id} is already a GP")
        if await conn.fetchval(
            "SELECT 1 FROM fund_gp WHERE registration_code = $1", data.registration_code
        ):
            raise Conflict(f"registration code {data.registration_code} is already used")
        await conn.execute(
            "INSERT INTO fund_gp (id, kind, registration_code, created_at, created_by) "
            "VALUES ($1, $2, $3, $4, $5)",
            data.entity_id,
            data.kind.value,
            data.registration_code,
            utc_now(),
            actor.username,
        )
        read = _gp_read(await conn.fetchrow(f"{_GP_SELECT} WHERE g.id = $1", data.entity_id))
        await audit.record(
            actor=actor.username,
            action="fund_gp.create",
            object_type="fund_gp",
            object_id=data.entity_id,
            after=read,
        )
    return read


async def list_gps() -> list[GpRead]:
    """Every GP, by name. GPs are master data: whoever reads funds reads them all."""
    async with db.connection() as conn:
        rows = await conn.fetch(f"{_GP_SELECT} ORDER BY e.name")
    return [_gp_read(row) for row in rows]


# ------------------------------------------------------------------------------------------
# Funds


def _refusals(category: FundCategory, gps: list[tuple[GpKind, GpRole]]) -> list[FieldProblem]:
    """Why this category cannot have these GPs (DOMAIN §7: who may manage which kind of fund)."""
    kinds = [kind for kind, _ in gps]
    problems = []
    if category == FundCategory.cooperative and GpKind.government in kinds:
        problems.append(
            FieldProblem(
                field="body.gps",
                reason="a cooperative sub-fund (合作子基金) is managed by a market GP; "
                "a government GP makes it a direct sub-fund (直投子基金)",
            )
        )
    if category == FundCategory.direct and GpKind.government not in kinds:
        problems.append(
            FieldProblem(
                field="body.gps",
                reason="a direct sub-fund (直投子基金) has a government GP, alone or with a "
                "market GP (双GP)",
            )
        )
    if len(gps) > 2:
        problems.append(FieldProblem(field="body.gps", reason="at most two GPs (双GP)"))
    if len(gps) == 2 and gps[0][1] == gps[1][1]:
        problems.append(
            FieldProblem(field="body.gps", reason="the two GPs of a dual-GP fund need two roles")
        )
    if category != FundCategory.mother and not gps:
        problems.append(FieldProblem(field="body.gps", reason="name the fund's GP"))
    return problems


def _terms_problems(terms: Terms) -> list[FieldProblem]:
    problems = []
    if problem := money_problem(terms.size):
        problems.append(FieldProblem(field="body.terms.size", reason=problem))
    elif terms.size <= 0:
        problems.append(FieldProblem(field="body.terms.size", reason="must be greater than 0"))
    fractions = {
        "fee_rate": terms.fee_rate,
        "hurdle": terms.hurdle,
        "carry": terms.carry,
        "government_cap": terms.government_cap,
    }
    for name, value in fractions.items():
        if value is not None and not (0 <= value <= 1 and value == value.quantize(SHARE_STEP)):
            problems.append(
                FieldProblem(field=f"body.terms.{name}", reason="a fraction from 0 to 1, 6 places")
            )
    if terms.reinvestment_multiple is not None and not 0 <= terms.reinvestment_multiple <= 10:
        problems.append(
            FieldProblem(field="body.terms.reinvestment_multiple", reason="from 0 to 10")
        )
    for kind, value in terms.reinvestment_multipliers.items():
        if not 0 <= value <= 5:
            problems.append(
                FieldProblem(
                    field=f"body.terms.reinvestment_multipliers.{kind.value}", reason="from 0 to 5"
                )
            )
    if terms.investment_period_end <= terms.first_close:
        problems.append(
            FieldProblem(
                field="body.terms.investment_period_end", reason="must be after the first close"
            )
        )
    return problems


def _terms(row: Any) -> Terms:
    multipliers = row["reinvestment_multipliers"]
    if isinstance(multipliers, str):
        multipliers = json.loads(multipliers)
    return Terms(
        size=as_stored(row["size"]),
        vintage=row["vintage"],
        first_close=row["first_close"],
        term_years=row["term_years"],
        investment_period_end=row["investment_period_end"],
        fee_basis=row["fee_basis"],
        fee_rate=row["fee_rate"].normalize(),
        hurdle=row["hurdle"].normalize(),
        carry=row["carry"].normalize(),
        government_cap=None if row["government_cap"] is None else row["government_cap"].normalize(),
        reinvestment_multiple=None
        if row["reinvestment_multiple"] is None
        else row["reinvestment_multiple"].normalize(),
        reinvestment_multipliers={
            ReinvestmentKind(k): Decimal(str(v)) for k, v in (multipliers or {}).items()
        },
        industries=[Industry(i) for i in row["industries"]],
    )


_FUND_SELECT = (
    "SELECT f.*, e.name, e.short_name, e.credit_code FROM fund f JOIN entity e ON e.id = f.id"
)


async def _fund_read(conn: Any, fund_id: UUID) -> FundRead:
    row = await conn.fetchrow(f"{_FUND_SELECT} WHERE f.id = $1", fund_id)
    if row is None:
        raise NotFound(f"fund {fund_id} not found")
    gps = await conn.fetch(
        "SELECT r.gp, r.role, g.kind, g.registration_code, e.name FROM fund_gp_role r "
        "JOIN fund_gp g ON g.id = r.gp JOIN entity e ON e.id = r.gp WHERE r.fund = $1 "
        "ORDER BY r.role, e.name",
        fund_id,
    )
    category = FundCategory(row["category"])
    terms = _terms(row)
    return FundRead(
        id=row["id"],
        name=row["name"],
        short_name=row["short_name"],
        credit_code=row["credit_code"],
        category=category,
        category_label=CATEGORY_LABELS[category],
        parent_id=row["parent"],
        gps=[
            GpOfFund(
                gp_id=g["gp"],
                name=g["name"],
                kind=GpKind(g["kind"]),
                registration_code=g["registration_code"],
                role=GpRole(g["role"]),
                role_label=GP_ROLE_LABELS[GpRole(g["role"])],
            )
            for g in gps
        ],
        terms=terms,
        industry_labels=[INDUSTRY_LABELS[i] for i in terms.industries],
    )


async def create_fund(*, actor: Actor, data: FundCreate) -> FundRead:
    """Make a registered fund entity a fund of the tree with its GPs and terms.

    A cooperative sub-fund with a government GP is refused with the reason (422), as is a direct
    sub-fund without one. A sub-fund goes under a fund the actor may write.
    """
    if problems := _terms_problems(data.terms):
        raise Invalid("the fund's terms are not valid", errors=problems)
    if (data.category == FundCategory.mother) != (data.parent_id is None):
        raise invalid("body.parent_id", "the mother fund has no parent; every other fund has one")
    if data.parent_id is not None:
        await ensure_fund_visible(actor, data.parent_id)
    elif (await visible_fund_ids(actor)) is not None:
        raise NotFound("only whoever sees every fund may register a mother fund")
    async with engine().transaction(), db.connection() as conn:
        entity = await conn.fetchrow("SELECT kind FROM entity WHERE id = $1", data.entity_id)
        if entity is None or entity["kind"] != EntityKind.fund.value:
            raise invalid("body.entity_id", "must be a registered entity of kind fund (基金)")
        if await conn.fetchval("SELECT 1 FROM fund WHERE id = $1", data.entity_id):
            raise Conflict(f"fund {data.entity_id} is already registered")
        gp_kinds: list[tuple[GpKind, GpRole]] = []
        for i, assignment in enumerate(data.gps):
            kind = await conn.fetchval("SELECT kind FROM fund_gp WHERE id = $1", assignment.gp_id)
            if kind is None:
                raise invalid(f"body.gps[{i}].gp_id", "not a registered GP")
            gp_kinds.append((GpKind(kind), assignment.role))
        if problems := _refusals(data.category, gp_kinds):
            raise Invalid(problems[0].reason, errors=problems)
        t = data.terms
        now = utc_now()
        await conn.execute(
            "INSERT INTO fund (id, parent, category, size, vintage, first_close, term_years, "
            "investment_period_end, fee_basis, fee_rate, hurdle, carry, government_cap, "
            "reinvestment_multiple, reinvestment_multipliers, industries, created_at, created_by, "
            "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
            "$15::jsonb, $16, $17, $18, $17)",
            data.entity_id,
            data.parent_id,
            data.category.value,
            as_stored(t.size),
            t.vintage,
            t.first_close,
            t.term_years,
            t.investment_period_end,
            t.fee_basis.value,
            t.fee_rate,
            t.hurdle,
            t.carry,
            t.government_cap,
            t.reinvestment_multiple,
            json.dumps({k.value: str(v) for k, v in t.reinvestment_multipliers.items()}),
            [i.value for i in t.industries],
            now,
            actor.username,
        )
        for assignment in data.gps:
            await conn.execute(
                "INSERT INTO fund_gp_role (fund, gp, role) VALUES ($1, $2, $3)",
                data.entity_id,
                assignment.gp_id,
                assignment.role.value,
            )
        read = await _fund_read(conn, data.entity_id)
        await audit.record(
            actor=actor.username,
            action="fund.create",
            object_type="fund",
            object_id=data.entity_id,
            after=read,
        )
    return read


async def get_fund(*, actor: Actor, fund_id: UUID) -> FundRead:
    """A fund with its GPs and terms."""
    await ensure_fund_visible(actor, fund_id)
    async with db.connection() as conn:
        return await _fund_read(conn, fund_id)


async def list_funds(*, actor: Actor) -> list[FundRead]:
    """Every fund in the actor's scope, mother first, then by name."""
    seen = await visible_fund_ids(actor)
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT f.id FROM fund f JOIN entity e ON e.id = f.id "
            "WHERE $1::uuid[] IS NULL OR f.id = ANY($1::uuid[]) "
            "ORDER BY f.category <> 'mother', e.name",
            None if seen is None else list(seen),
        )
        return [await _fund_read(conn, row["id"]) for row in rows]


async def fund_tree(*, actor: Actor) -> list[FundNode]:
    """The funds in the actor's scope as a tree: each visible fund whose parent is not is a root."""
    seen = await visible_fund_ids(actor)
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT f.id, f.parent, f.category, f.vintage, f.size, "
            "coalesce(e.short_name, e.name) AS name FROM fund f JOIN entity e ON e.id = f.id "
            "WHERE $1::uuid[] IS NULL OR f.id = ANY($1::uuid[]) ORDER BY f.vintage, e.name",
            None if seen is None else list(seen),
        )
    ids = {row["id"] for row in rows}
    children: dict[UUID | None, list[Any]] = {}
    for row in rows:
        parent = row["parent"] if row["parent"] in ids else None
        children.setdefault(parent, []).append(row)

    def node(row: Any) -> FundNode:
        category = FundCategory(row["category"])
        return FundNode(
            id=row["id"],
            name=row["name"],
            category=category,
            category_label=CATEGORY_LABELS[category],
            vintage=row["vintage"],
            size=as_stored(row["size"]),
            children=[node(c) for c in children.get(row["id"], [])],
        )

    return [node(row) for row in children.get(None, [])]


async def fund_names() -> dict[UUID, str]:
    """Every fund's short name (or name), for labels."""
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT f.id, coalesce(e.short_name, e.name) AS name FROM fund f "
            "JOIN entity e ON e.id = f.id"
        )
    return {row["id"]: row["name"] for row in rows}


async def mother_fund_id() -> UUID | None:
    """The mother fund (母基金), when one is registered."""
    row = await Fund.select(Fund.id).where(Fund.category == FundCategory.mother.value).first()
    return None if row is None else row["id"]
