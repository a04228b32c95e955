"""Contracts, benchmarks and scorecards of second-level companies (经营业绩考核).

Each public write is one transaction, audited last. Reading needs `kpi:read`; `kpi:all` (group
finance, the board, auditors) sees every company, anyone else only their own company (the kpi
scope of `auth.scope`); outside one's scope a contract is "not found". A contract version moves
draft → signed → active → closed; only a draft's terms change (a database trigger refuses the
rest), a signed contract changes by a new version of its lineage and the old stays readable.

Scorecards read the ledger's latest statement versions of each year's Q4 (the year's close) and
name them. The ranking takes its grade bands, A cap and pay table from the earliest-created
contract scored that year: the group sets one policy for all second-level companies.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from itertools import pairwise
from typing import Any
from uuid import UUID, uuid4

import msgspec
import polars as pl

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth import scope
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import Conflict, FieldProblem, Invalid, NotFound, invalid
from stateasset.db import engine
from stateasset.kpi import catalogue, compute
from stateasset.kpi.schemas import (
    METHOD_LABELS,
    NEXT_STATE,
    STATE_LABELS,
    ContractCreate,
    ContractRead,
    ContractState,
    ContractTerms,
    IndicatorScore,
    MacroPointCreate,
    MacroPointRead,
    Method,
    PeerStandardCreate,
    PeerStandardRead,
    RankingRow,
    Scorecard,
    StatementUsed,
    TenureIndicator,
    TenureIndicatorYear,
    TenureScorecard,
    TenureYear,
)
from stateasset.ledger.closing.statements import latest_versions
from stateasset.ledger.frames import statement_lines_frame

PERCENT_RATIOS = frozenset(
    {
        "debt_to_asset",
        "roe",
        "operating_cash_ratio",
        "cash_recovery_on_assets",
        "rd_intensity",
        "capital_preservation",
    }
)
"""Ratios scored in percent (10.61, not 0.1061), as contracts state their targets."""


def year_period(year: int) -> str:
    """The statement period that closes a year."""
    return f"{year}-Q4"


# ------------------------------------------------------------------------------------------
# Validation


def terms_problems(
    data: ContractTerms,
    tenure_start: int,
    tenure_years: int,
    sources: Collection[str] | None = None,
) -> list[FieldProblem]:
    """Every rule msgspec cannot state: weights, methods' parameters, targets, tenure years.

    `sources`: the indicator catalogue's codes (`catalogue.source_codes()`, custom ones
    included); without it, only the built-in ones are known.
    """
    known = (
        frozenset(i.code for i in catalogue.builtin_indicators()) if sources is None else sources
    )
    problems: list[FieldProblem] = []
    years = range(tenure_start, tenure_start + tenure_years)
    total = sum(i.weight for i in data.indicators)
    if abs(total - 100) > 1e-9:
        problems.append(FieldProblem("body.indicators", f"weights sum to {total:g}, not 100"))
    codes: set[str] = set()
    for n, ind in enumerate(data.indicators):
        at = f"body.indicators[{n}]"
        if ind.code in codes:
            problems.append(FieldProblem(f"{at}.code", f"{ind.code} appears twice"))
        codes.add(ind.code)
        if ind.source not in known and ind.source != "entered":
            problems.append(
                FieldProblem(f"{at}.source", f"unknown source {ind.source}: not in the catalogue")
            )
        p = ind.parameters
        if ind.method is Method.efficacy and not p.use_peer_standard:
            if p.tiers is None or len(p.tiers) != 5:
                problems.append(
                    FieldProblem(
                        f"{at}.parameters.tiers",
                        "efficacy needs five tiers 优秀…较差 (or use_peer_standard)",
                    )
                )
            elif not _ordered(p.tiers, ind.direction.value):
                problems.append(
                    FieldProblem(f"{at}.parameters.tiers", "tiers must run from 优秀 to 较差")
                )
        if ind.method is Method.macro:
            if p.macro_series is None:
                problems.append(
                    FieldProblem(f"{at}.parameters.macro_series", "macro needs a macro series")
                )
            if p.offsets is None or len(p.offsets) != 5:
                problems.append(
                    FieldProblem(f"{at}.parameters.offsets", "macro needs five offsets 优秀…较差")
                )
            elif not _ordered(p.offsets, "higher"):
                problems.append(
                    FieldProblem(f"{at}.parameters.offsets", "offsets must run from 优秀 to 较差")
                )
        for k, e in enumerate(ind.entered):
            if e.year not in years:
                problems.append(FieldProblem(f"{at}.entered[{k}].year", "outside the tenure"))
    seen: set[tuple[str, int]] = set()
    for n, t in enumerate(data.targets):
        if t.indicator not in codes:
            problems.append(
                FieldProblem(
                    f"body.targets[{n}].indicator", f"no indicator {t.indicator} in this contract"
                )
            )
        if t.year not in years:
            problems.append(FieldProblem(f"body.targets[{n}].year", "outside the tenure"))
        if (t.indicator, t.year) in seen:
            problems.append(FieldProblem(f"body.targets[{n}]", "a second target for the same year"))
        seen.add((t.indicator, t.year))
        if t.value == 0:
            problems.append(
                FieldProblem(f"body.targets[{n}].value", "a target of 0 cannot be scored")
            )
    for n, a in enumerate(data.adjustments):
        if a.year not in years:
            problems.append(FieldProblem(f"body.adjustments[{n}].year", "outside the tenure"))
    b = data.grade_bands
    if not b.A > b.B > b.C:
        problems.append(FieldProblem("body.grade_bands", "bands must fall: A > B > C"))
    return problems


def _ordered(values: list[float], direction: str) -> bool:
    pairs = list(pairwise(values))
    return all(a > b for a, b in pairs) if direction == "higher" else all(a < b for a, b in pairs)


async def _check(data: ContractCreate) -> None:
    problems = terms_problems(
        data, data.tenure_start, data.tenure_years, await catalogue.source_codes()
    )
    if problems:
        raise Invalid("; ".join(f"{p.field}: {p.reason}" for p in problems), errors=problems)


# ------------------------------------------------------------------------------------------
# Contracts

_SELECT = "SELECT c.*, e.name AS company_name FROM kpi_contract c JOIN entity e ON e.id = c.company"


def _read(row: Any) -> ContractRead:
    state = ContractState(row["state"])
    terms = row["terms"]
    return ContractRead(
        id=row["id"],
        lineage=row["lineage"],
        version=row["version"],
        company_id=row["company"],
        company_name=row["company_name"],
        name=row["name"],
        industry=row["industry"],
        tenure_start=row["tenure_start"],
        tenure_years=row["tenure_years"],
        state=state,
        state_label=STATE_LABELS[state],
        terms=msgspec.json.decode(
            terms if isinstance(terms, str) else json.dumps(terms), type=ContractTerms
        ),
        created_at=row["created_at"],
        created_by=row["created_by"],
        signed_at=row["signed_at"],
        signed_by=row["signed_by"],
    )


def _terms_json(data: ContractTerms) -> str:
    return msgspec.json.encode(
        ContractTerms(**{f: getattr(data, f) for f in ContractTerms.__struct_fields__})
    ).decode()


async def _visible(actor: Actor) -> scope.Scope:
    return await scope.scope_of(actor, scope.Domain.kpi)


async def _insert(
    conn: Any, actor: Actor, data: ContractCreate, lineage: UUID | None, version: int
) -> UUID:
    if not await conn.fetchval("SELECT 1 FROM entity WHERE id = $1", data.company_id):
        raise invalid("body.company_id", "no such entity: register the company in the ledger first")
    new_id = uuid4()
    await conn.execute(
        "INSERT INTO kpi_contract (id, lineage, version, company, name, industry, tenure_start, "
        "tenure_years, state, terms, created_at, created_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9::jsonb, $10, $11)",
        new_id,
        lineage or new_id,
        version,
        data.company_id,
        data.name,
        data.industry,
        data.tenure_start,
        data.tenure_years,
        _terms_json(data),
        utc_now(),
        actor.username,
    )
    return new_id


async def create_contract(*, actor: Actor, data: ContractCreate) -> ContractRead:
    """A new contract (version 1) as a draft."""
    await _check(data)
    async with engine().transaction(), db.connection() as conn:
        new_id = await _insert(conn, actor, data, None, 1)
        read = _read(await conn.fetchrow(f"{_SELECT} WHERE c.id = $1", new_id))
        await audit.record(
            actor=actor.username,
            action="kpi_contract.create",
            object_type="kpi_contract",
            object_id=new_id,
            after=read,
        )
    return read


async def _locked(conn: Any, actor: Actor, contract_id: UUID) -> Any:
    row = await conn.fetchrow(f"{_SELECT} WHERE c.id = $1 FOR UPDATE OF c", contract_id)
    if row is None or not (await _visible(actor)).allows(row["company"]):
        raise NotFound(f"contract {contract_id} not found")
    return row


async def update_contract(*, actor: Actor, contract_id: UUID, data: ContractCreate) -> ContractRead:
    """Replace a draft's terms; a signed contract is refused (409): make a new version."""
    await _check(data)
    async with engine().transaction(), db.connection() as conn:
        row = await _locked(conn, actor, contract_id)
        if row["state"] != ContractState.draft:
            raise Conflict(
                f"contract {contract_id} is {row['state']}: a change is a new version (POST …/versions)"
            )
        if data.company_id != row["company"]:
            raise invalid("body.company_id", "a contract's company does not change")
        before = _read(row)
        await conn.execute(
            "UPDATE kpi_contract SET name = $2, industry = $3, tenure_start = $4, tenure_years = $5, "
            "terms = $6::jsonb WHERE id = $1",
            contract_id,
            data.name,
            data.industry,
            data.tenure_start,
            data.tenure_years,
            _terms_json(data),
        )
        read = _read(await conn.fetchrow(f"{_SELECT} WHERE c.id = $1", contract_id))
        await audit.record(
            actor=actor.username,
            action="kpi_contract.update",
            object_type="kpi_contract",
            object_id=contract_id,
            before=before,
            after=read,
        )
    return read


async def new_version(*, actor: Actor, contract_id: UUID, data: ContractCreate) -> ContractRead:
    """A new draft version of a signed (or later) contract; the old one stays as it was."""
    await _check(data)
    async with engine().transaction(), db.connection() as conn:
        row = await _locked(conn, actor, contract_id)
        if row["state"] == ContractState.draft:
            raise Conflict(f"contract {contract_id} is a draft: edit it instead")
        if data.company_id != row["company"]:
            raise invalid("body.company_id", "a contract's company does not change")
        if await conn.fetchval(
            "SELECT 1 FROM kpi_contract WHERE lineage = $1 AND state = 'draft'", row["lineage"]
        ):
            raise Conflict("this contract already has a draft version")
        version = await conn.fetchval(
            "SELECT max(version) + 1 FROM kpi_contract WHERE lineage = $1", row["lineage"]
        )
        new_id = await _insert(conn, actor, data, row["lineage"], version)
        read = _read(await conn.fetchrow(f"{_SELECT} WHERE c.id = $1", new_id))
        await audit.record(
            actor=actor.username,
            action="kpi_contract.version",
            object_type="kpi_contract",
            object_id=new_id,
            before=_read(row),
            after=read,
        )
    return read


async def transition(*, actor: Actor, contract_id: UUID, to: ContractState) -> ContractRead:
    """draft → signed → active → closed; a version activated supersedes (closes) the older one."""
    async with engine().transaction(), db.connection() as conn:
        row = await _locked(conn, actor, contract_id)
        current = ContractState(row["state"])
        if NEXT_STATE.get(current) != to:
            raise Conflict(
                f"contract {contract_id} is {current.value}: it cannot become {to.value}"
            )
        if to is ContractState.signed:
            await conn.execute(
                "UPDATE kpi_contract SET state = 'signed', signed_at = $2, signed_by = $3 WHERE id = $1",
                contract_id,
                utc_now(),
                actor.username,
            )
        else:
            await conn.execute(
                "UPDATE kpi_contract SET state = $2 WHERE id = $1", contract_id, to.value
            )
        if to is ContractState.active:
            await conn.execute(
                "UPDATE kpi_contract SET state = 'closed' WHERE lineage = $1 AND id <> $2 "
                "AND state IN ('signed', 'active')",
                row["lineage"],
                contract_id,
            )
        read = _read(await conn.fetchrow(f"{_SELECT} WHERE c.id = $1", contract_id))
        await audit.record(
            actor=actor.username,
            action=f"kpi_contract.{to.value}",
            object_type="kpi_contract",
            object_id=contract_id,
            before=_read(row),
            after=read,
        )
    return read


async def get_contract(*, actor: Actor, contract_id: UUID) -> ContractRead:
    async with db.connection() as conn:
        row = await conn.fetchrow(f"{_SELECT} WHERE c.id = $1", contract_id)
    if row is None or not (await _visible(actor)).allows(row["company"]):
        raise NotFound(f"contract {contract_id} not found")
    return _read(row)


async def list_contracts(*, actor: Actor) -> list[ContractRead]:
    """Every contract version in scope, by company, then lineage and version."""
    seen = await _visible(actor)
    async with db.connection() as conn:
        rows = await conn.fetch(f"{_SELECT} ORDER BY e.name, c.lineage, c.version")
    return [_read(r) for r in rows if seen.allows(r["company"])]


# ------------------------------------------------------------------------------------------
# Benchmarks


async def add_peer_standard(*, actor: Actor, data: PeerStandardCreate) -> PeerStandardRead:
    """One industry's five tiers for an indicator and year; a year's values are entered once."""
    new_id = uuid4()
    async with engine().transaction(), db.connection() as conn:
        if await conn.fetchval(
            "SELECT 1 FROM kpi_peer_standard WHERE industry = $1 AND indicator = $2 AND year = $3",
            data.industry,
            data.indicator,
            data.year,
        ):
            raise Conflict(
                f"{data.industry} {data.indicator} {data.year} already has standard values"
            )
        await conn.execute(
            "INSERT INTO kpi_peer_standard (id, industry, indicator, year, tier_1, tier_2, tier_3, "
            "tier_4, tier_5, source, created_at, created_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            new_id,
            data.industry,
            data.indicator,
            data.year,
            *[round(t, 6) for t in data.tiers],
            data.source,
            utc_now(),
            actor.username,
        )
        read = PeerStandardRead(id=new_id, **msgspec.structs.asdict(data))
        await audit.record(
            actor=actor.username,
            action="kpi_peer_standard.create",
            object_type="kpi_peer_standard",
            object_id=new_id,
            after=read,
        )
    return read


async def list_peer_standards() -> list[PeerStandardRead]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT * FROM kpi_peer_standard ORDER BY industry, indicator, year"
        )
    return [
        PeerStandardRead(
            id=r["id"],
            industry=r["industry"],
            indicator=r["indicator"],
            year=r["year"],
            tiers=[float(r[f"tier_{i}"]) for i in range(1, 6)],
            source=r["source"],
        )
        for r in rows
    ]


async def add_macro_point(*, actor: Actor, data: MacroPointCreate) -> MacroPointRead:
    """One year of a macro series (e.g. gdp_growth in %), entered once."""
    new_id = uuid4()
    async with engine().transaction(), db.connection() as conn:
        if await conn.fetchval(
            "SELECT 1 FROM kpi_macro_point WHERE series = $1 AND year = $2", data.series, data.year
        ):
            raise Conflict(f"{data.series} {data.year} is already entered")
        await conn.execute(
            "INSERT INTO kpi_macro_point (id, series, year, value, source, created_at, created_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            new_id,
            data.series,
            data.year,
            round(data.value, 6),
            data.source,
            utc_now(),
            actor.username,
        )
        read = MacroPointRead(id=new_id, **msgspec.structs.asdict(data))
        await audit.record(
            actor=actor.username,
            action="kpi_macro_point.create",
            object_type="kpi_macro_point",
            object_id=new_id,
            after=read,
        )
    return read


async def list_macro_points() -> list[MacroPointRead]:
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT * FROM kpi_macro_point ORDER BY series, year")
    return [
        MacroPointRead(
            id=r["id"],
            series=r["series"],
            year=r["year"],
            value=float(r["value"]),
            source=r["source"],
        )
        for r in rows
    ]


# ------------------------------------------------------------------------------------------
# Scorecards

_SCORED_STATES = ("signed", "active", "closed")


async def _contracts_of_year(year: int) -> list[ContractRead]:
    """For each lineage covering `year`, its latest version that is not a draft."""
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT ON (c.lineage) c.*, e.name AS company_name FROM kpi_contract c "
            "JOIN entity e ON e.id = c.company WHERE c.state = ANY($1::text[]) "
            "AND c.tenure_start <= $2 AND c.tenure_start + c.tenure_years > $2 "
            "ORDER BY c.lineage, c.version DESC",
            list(_SCORED_STATES),
            year,
        )
    return sorted((_read(r) for r in rows), key=lambda c: (c.created_at, str(c.id)))


async def _source_values(
    companies: list[UUID], years: range
) -> tuple[
    dict[tuple[str, int, str], tuple[float | None, str | None]], dict[UUID, list[StatementUsed]]
]:
    """Each company's ratios and items at each year's close, from the latest statement versions."""
    used: dict[UUID, list[StatementUsed]] = {c: [] for c in companies}
    ids: list[UUID] = []
    for y in years:
        for entity, row in (await latest_versions(year_period(y), companies)).items():
            used[entity].append(
                StatementUsed(period=year_period(y), statement_id=row["id"], version=row["version"])
            )
            ids.append(row["id"])
    values: dict[tuple[str, int, str], tuple[float | None, str | None]] = {}
    if not ids:
        return values, used
    items = (
        (await statement_lines_frame(ids))
        .lazy()
        .rename({"entity_id": "entity"})
        .select("entity", "period", "item", pl.col("amount").cast(compute.ITEMS_SCHEMA["amount"]))
    )
    for r in compute.ratios(items).collect().iter_rows(named=True):
        value = (
            r["value"] * 100
            if r["value"] is not None and r["ratio"] in PERCENT_RATIOS
            else r["value"]
        )
        values[(r["entity"], int(r["period"][:4]), r["ratio"])] = (value, r["reason"])
    for r in items.collect().iter_rows(named=True):
        values[(r["entity"], int(r["period"][:4]), r["item"])] = (float(r["amount"]), None)
    return values, used


async def _benchmarks(year: int) -> tuple[dict[tuple[str, str], list[float]], dict[str, float]]:
    async with db.connection() as conn:
        peers = await conn.fetch("SELECT * FROM kpi_peer_standard WHERE year = $1", year)
        macros = await conn.fetch("SELECT series, value FROM kpi_macro_point WHERE year = $1", year)
    return (
        {
            (r["industry"], r["indicator"]): [float(r[f"tier_{i}"]) for i in range(1, 6)]
            for r in peers
        },
        {r["series"]: float(r["value"]) for r in macros},
    )


def _actual(
    values: dict[tuple[str, int, str], tuple[float | None, str | None]],
    company: UUID,
    year: int,
    source: str,
    entered: dict[int, float],
) -> tuple[float | None, str | None]:
    if source == "entered":
        return (entered[year], None) if year in entered else (None, "not entered")
    return values.get((str(company), year, source), (None, f"no statement for {year_period(year)}"))


async def _score_year(
    year: int,
) -> tuple[pl.DataFrame, pl.DataFrame, list[ContractRead], dict[UUID, list[StatementUsed]]]:
    """Indicator rows (with their arithmetic) and ranked totals of every contract scored in `year`."""
    contracts = await _contracts_of_year(year)
    companies = sorted({c.company_id for c in contracts}, key=str)
    values, used = await _source_values(companies, range(year - 4, year + 1))
    standards, macros = await _benchmarks(year)
    rows: list[dict[str, Any]] = []
    peer_rows: list[tuple[str, int, str, float]] = []
    for c in contracts:
        targets = {(t.indicator, t.year): t.value for t in c.terms.targets}
        for ind in c.terms.indicators:
            entered = {e.year: e.value for e in ind.entered}
            actual, reason = _actual(values, c.company_id, year, ind.source, entered)
            past = []
            for y in (year - 1, year - 2, year - 3):
                v = _actual(values, c.company_id, y, ind.source, entered)[0]
                past.append(ind.history.get(str(y)) if v is None else v)
            known = [v for v in past if v is not None]
            p = ind.parameters
            tiers = p.tiers if not p.use_peer_standard else standards.get((c.industry, ind.code))
            macro = macros.get(p.macro_series) if p.macro_series else None
            if ind.method is Method.macro and macro is None:
                reason = reason or f"no {p.macro_series} for {year}"
            rows.append(
                {
                    "contract": str(c.id),
                    "year": year,
                    "indicator": ind.code,
                    "name": ind.name,
                    "weight": ind.weight,
                    "direction": ind.direction.value,
                    "method": ind.method.value,
                    "main": ind.main,
                    "industry": c.industry,
                    "actual": actual,
                    "actual_reason": reason,
                    "target": targets.get((ind.code, year)),
                    "last_year": past[0],
                    "avg_3y": sum(known) / len(known) if known else None,
                    "macro": macro,
                    "step_pct": p.step_pct,
                    **dict(zip(compute.TIER_COLUMNS, tiers or [None] * 5, strict=True)),
                    **dict(zip(compute.OFFSET_COLUMNS, p.offsets or [None] * 5, strict=True)),
                }
            )
            peer_rows.extend((c.industry, year, ind.code, v) for v in ind.peers.get(str(year), []))
    if not rows:
        return pl.DataFrame(), pl.DataFrame(), contracts, used
    adjustments = [
        (str(c.id), year, a.kind, a.points)
        for c in contracts
        for a in c.terms.adjustments
        if a.year == year
    ]
    policy = contracts[0].terms
    scores, flagged = pl.collect_all(
        compute.score(
            pl.LazyFrame(rows, schema=compute.INDICATORS_SCHEMA),
            pl.LazyFrame(peer_rows, schema=compute.PEERS_SCHEMA, orient="row"),
            pl.LazyFrame(adjustments, schema=compute.ADJUSTMENTS_SCHEMA, orient="row"),
            compute.Policy(
                bands=msgspec.structs.asdict(policy.grade_bands),
                a_cap=policy.a_cap,
                pay=msgspec.structs.asdict(policy.pay_coefficients),
                floor_score=policy.floor.score,
                floor_ratio=policy.floor.ratio,
            ),
        )
    )
    return scores, flagged, contracts, used


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


async def ranking(*, actor: Actor, year: int) -> list[RankingRow]:
    """Every second-level company's total, rank, grade, pay coefficient and review flag."""
    seen = await _visible(actor)
    _, totals, contracts, _ = await _score_year(year)
    by_id = {str(c.id): c for c in contracts}
    out = []
    for r in totals.iter_rows(named=True) if totals.height else []:
        c = by_id[r["contract"]]
        if seen.allows(c.company_id):
            out.append(
                RankingRow(
                    contract_id=c.id,
                    company_id=c.company_id,
                    company_name=c.company_name,
                    year=year,
                    total=r["total"],
                    rank=r["rank"],
                    grade=r["grade"],
                    pay_coefficient=r["pay_coefficient"],
                    review=r["review"],
                    review_reason=r["review_reason"],
                )
            )
    return out


async def scorecard(*, actor: Actor, contract_id: UUID, year: int) -> Scorecard:
    """One contract's year: every indicator with actual, target, benchmarks, score and arithmetic."""
    contract = await get_contract(actor=actor, contract_id=contract_id)
    end = contract.tenure_start + contract.tenure_years
    if not contract.tenure_start <= year < end:
        raise invalid("query.year", f"outside the tenure {contract.tenure_start}–{end - 1}")
    scores, totals, contracts, used = await _score_year(year)
    scored = {c.id: c for c in contracts}
    if contract_id not in scored:
        raise Conflict(
            f"contract {contract_id} is not the version scored for {year} (a draft or superseded)"
        )
    mine = scores.filter(pl.col("contract") == str(contract_id))
    total = totals.filter(pl.col("contract") == str(contract_id)).row(0, named=True)
    peers = {ind.code: ind.peers.get(str(year)) for ind in contract.terms.indicators}
    indicators = []
    for r in mine.iter_rows(named=True):
        method = Method(r["method"])
        cap = r.get("cap_up") if method is Method.target_step else None
        indicators.append(
            IndicatorScore(
                code=r["indicator"],
                name=r["name"],
                weight=r["weight"],
                direction=r["direction"],
                method=method.value,
                method_label=METHOD_LABELS[method],
                main=r["main"],
                actual=_f(r["actual"]),
                actual_reason=r["actual_reason"],
                target=_f(r["target"]),
                history_benchmark=_f(r.get("benchmark"))
                if method is Method.target_step
                else _f(
                    (max if r["direction"] == "lower" else min)(
                        v for v in (r["last_year"], r["avg_3y"]) if v is not None
                    )
                )
                if r["last_year"] is not None or r["avg_3y"] is not None
                else None,
                macro_benchmark=_f(r["macro"]),
                peer_benchmark=[r[c] for c in compute.TIER_COLUMNS]
                if r["tier_1"] is not None
                else peers.get(r["indicator"]),
                tier=r.get("tier"),
                base=_f(r.get("base")),
                efficacy=_f(r.get("efficacy")),
                adjustment=_f(r.get("adjustment")),
                cap=_f(cap),
                percentile=_f(r.get("percentile")),
                score=_f(r["score"]),
            )
        )
    return Scorecard(
        contract_id=contract.id,
        company_id=contract.company_id,
        company_name=contract.company_name,
        year=year,
        indicators=indicators,
        bonus=total["bonus"],
        deduction=total["deduction"],
        total=total["total"],
        rank=total["rank"],
        grade=total["grade"],
        band_grade=total["band_grade"],
        a_capped=total["a_capped"],
        pay_coefficient=total["pay_coefficient"],
        review=total["review"],
        review_reason=total["review_reason"],
        statements=used.get(contract.company_id, []),
    )


async def tenure_scorecard(*, actor: Actor, contract_id: UUID) -> TenureScorecard:
    """任期考核: each year of the contract's tenure as its year's scorecard gives it, and the tenure
    total as the plain average of the scored years' totals (rounded to 2 places; null when none
    is scored). A year is listed unscored, with the reason, when this version is not the one
    scored that year (a draft or superseded) or when no indicator has an actual (no statement
    filed, nothing entered); targets are shown for every year from the contract's terms."""
    contract = await get_contract(actor=actor, contract_id=contract_id)
    years: list[TenureYear] = []
    cards: dict[int, Scorecard] = {}
    for year in range(contract.tenure_start, contract.tenure_start + contract.tenure_years):
        try:
            card = await scorecard(actor=actor, contract_id=contract_id, year=year)
        except Conflict as refused:
            years.append(TenureYear(year=year, scored=False, reason=refused.detail))
            continue
        if all(i.actual is None for i in card.indicators):
            reasons = sorted({i.actual_reason for i in card.indicators if i.actual_reason})
            years.append(TenureYear(year=year, scored=False, reason="；".join(reasons) or None))
            continue
        cards[year] = card
        years.append(
            TenureYear(
                year=year,
                scored=True,
                total=card.total,
                rank=card.rank,
                grade=card.grade,
                pay_coefficient=card.pay_coefficient,
                review=card.review,
                review_reason=card.review_reason,
            )
        )
    targets = {(t.indicator, t.year): t.value for t in contract.terms.targets}
    scored = {y: {i.code: i for i in c.indicators} for y, c in cards.items()}
    indicators = []
    for ind in contract.terms.indicators:
        per_year = []
        for y in years:
            got = scored.get(y.year, {}).get(ind.code)
            per_year.append(
                TenureIndicatorYear(
                    year=y.year,
                    actual=got.actual if got else None,
                    target=got.target if got else targets.get((ind.code, y.year)),
                    score=got.score if got else None,
                )
            )
        indicators.append(
            TenureIndicator(
                code=ind.code,
                name=ind.name,
                weight=ind.weight,
                direction=ind.direction.value,
                method=ind.method.value,
                method_label=METHOD_LABELS[ind.method],
                main=ind.main,
                years=per_year,
            )
        )
    totals = [c.total for c in cards.values()]
    return TenureScorecard(
        contract_id=contract.id,
        company_id=contract.company_id,
        company_name=contract.company_name,
        tenure_start=contract.tenure_start,
        tenure_years=contract.tenure_years,
        years=years,
        indicators=indicators,
        scored_years=len(totals),
        total=round(sum(totals) / len(totals), 2) if totals else None,
    )


RANKING_COLUMNS = (
    ("rank", "排名"),
    ("company_name", "公司"),
    ("total", "总分"),
    ("grade", "等级"),
    ("pay_coefficient", "绩效年薪系数"),
    ("review", "解聘审查"),
    ("review_reason", "审查原因"),
)


def ranking_workbook(rows: list[RankingRow], year: int) -> bytes:
    """经营业绩考核排名 as XLSX; text stays text (no formulas)."""
    import io

    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(f"{year}年考核排名")
    bold = book.add_format({"bold": True})
    for c, (_, label) in enumerate(RANKING_COLUMNS):
        sheet.write_string(0, c, label, bold)
    for r, row in enumerate(rows, start=1):
        for c, (key, _) in enumerate(RANKING_COLUMNS):
            value = getattr(row, key)
            if isinstance(value, bool):
                sheet.write_string(r, c, "是" if value else "否")
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, "" if value is None else str(value))
    book.close()
    return buffer.getvalue()
