"""指标库: the indicators a contract may score, and the values entered for them with evidence.

The catalogue is built at each call from what the code defines — the DOMAIN §6 ratios of
`compute.RATIO_NAMES`, the statement items of the ledger's catalogue, and `objective_factors`
(国有资本保值增值率's 客观因素) — plus the custom indicators group finance adds. A code is unique
across all of them: a custom indicator cannot shadow a built-in one.

Values entered with evidence (录入值) are append-only: each (company, year, indicator) has versions
1, 2, …; the latest is the value, the older stay readable with who entered them and on what
document. `entered_values` reads the latest ones in bulk for the scoring and the ratios.
Each write is one transaction, audited last; scope is the kpi scope of `auth.scope` (a company
outside it is "not found").
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
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
from stateasset.kpi import compute
from stateasset.kpi.schemas import Direction, Year
from stateasset.ledger.catalogue import ITEMS, TOTALS
from stateasset.ledger.frames import _copy_frame

OBJECTIVE_FACTORS = "objective_factors"
"""国有资本保值增值率's 客观因素, entered with evidence and removed from the closing state capital."""

_LOWER_IS_BETTER = frozenset({"debt_to_asset", "total_liabilities", "operating_cost"}) | set(
    TOTALS["total_liabilities"]
)
_RATIO_UNITS = {"cash_earnings_coverage": "倍", "labor_productivity": "元/人"}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_DECIMAL = re.compile(r"[+-]?[0-9]{1,18}(\.[0-9]{1,6})?")
_URL = re.compile(r"https?://[^\s]{1,490}")

ENTERED_SCHEMA: dict[str, pl.DataType] = {
    "company": pl.String(),
    "year": pl.Int64(),
    "indicator": pl.String(),
    "value": pl.Decimal(38, 6),
}
"""The latest entered value per (company, year, indicator), as `entered_values` gives it."""


class Kind(StrEnum):
    ratio = "ratio"  # DOMAIN §6, computed from statements
    item = "item"  # a statement line item (财务快报项目)
    entered = "entered"  # built in, entered with evidence (objective_factors)
    custom = "custom"  # added by group finance, entered with evidence


KIND_LABELS = {
    Kind.ratio: "财务比率",
    Kind.item: "报表项目",
    Kind.entered: "录入（内置）",
    Kind.custom: "自定义",
}
DIRECTION_LABELS = {"higher": "越高越好", "lower": "越低越好"}


class CatalogueIndicator(msgspec.Struct, frozen=True, kw_only=True):
    """One indicator of the catalogue: a valid contract source and peer-standard indicator."""

    code: str
    name: str
    kind: Kind
    unit: str
    direction: Direction
    description: str = ""
    created_at: datetime | None = None
    created_by: str | None = None


class IndicatorCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[
        str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="a–z, 0–9, _; 2–40")
    ]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="中文名称")]
    unit: Annotated[str, msgspec.Meta(max_length=20)] = ""
    direction: Direction = Direction.higher
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class EnteredValueCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A value with its evidence; `value` is a decimal string (at most 6 places), kept exact."""

    company_id: UUID
    year: Year
    value: Annotated[str, msgspec.Meta(max_length=40, description='e.g. "-1250000.00"')]
    evidence: Annotated[
        str, msgspec.Meta(max_length=1000, description="the document: 文件名 / 文号 (required)")
    ] = ""
    evidence_url: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class EnteredValueRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    company_id: UUID
    company_name: str
    year: int
    indicator: str
    version: int
    current: bool  # the latest version: the value scoring reads
    value: Decimal
    evidence: str
    evidence_url: str | None
    entered_at: datetime
    entered_by: str


# ------------------------------------------------------------------------------------------
# The catalogue


def builtin_indicators() -> list[CatalogueIndicator]:
    """The ratios (read from `compute.RATIO_NAMES` now), the statement items, objective_factors."""
    from stateasset.kpi.service import PERCENT_RATIOS  # service imports this module

    ratios = [
        CatalogueIndicator(
            code=code,
            name=name,
            kind=Kind.ratio,
            unit="%" if code in PERCENT_RATIOS else _RATIO_UNITS.get(code, "比值"),
            direction=Direction.lower if code in _LOWER_IS_BETTER else Direction.higher,
            description="财务比率，由财务快报计算",
        )
        for code, name in compute.RATIO_NAMES.items()
    ]
    items = [
        CatalogueIndicator(
            code=i.code,
            name=i.label,
            kind=Kind.item,
            unit="人" if i.code == "employees_avg" else "元",
            direction=Direction.lower if i.code in _LOWER_IS_BETTER else Direction.higher,
            description="财务快报项目" + ("（本年累计数）" if i.flow else "（期末数）"),
        )
        for i in ITEMS
    ]
    entered = CatalogueIndicator(
        code=OBJECTIVE_FACTORS,
        name="国有资本保值增值客观因素",
        kind=Kind.entered,
        unit="元",
        direction=Direction.higher,
        description=(
            "无偿划入（+）/划出（−）、政策性增减等客观因素对国有资本的影响，凭文件录入；"
            "计算国有资本保值增值率时从期末国有资本中剔除"
        ),
    )
    return [*ratios, *items, entered]


def _custom(row: Any) -> CatalogueIndicator:
    return CatalogueIndicator(
        code=row["code"],
        name=row["name"],
        kind=Kind.custom,
        unit=row["unit"],
        direction=Direction(row["direction"]),
        description=row["description"],
        created_at=row["created_at"],
        created_by=row["created_by"],
    )


async def indicators() -> list[CatalogueIndicator]:
    """Every indicator: the built-in ones in their order, then the custom ones by code."""
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT * FROM kpi_indicator ORDER BY code")
    return [*builtin_indicators(), *(_custom(r) for r in rows)]


async def by_code() -> dict[str, CatalogueIndicator]:
    """The catalogue keyed by code, for the checks that name an indicator."""
    return {i.code: i for i in await indicators()}


async def source_codes() -> frozenset[str]:
    """Every code a contract may name as an indicator's source."""
    return frozenset(await by_code())


async def _enterable(code: str) -> CatalogueIndicator:
    found = (await by_code()).get(code)
    if found is None:
        raise NotFound(f"no indicator {code} in the catalogue")
    if found.kind not in (Kind.entered, Kind.custom):
        raise invalid(
            "path.code", f"{code} is computed from the statements ({KIND_LABELS[found.kind]})"
        )
    return found


async def create_indicator(*, actor: Actor, data: IndicatorCreate) -> CatalogueIndicator:
    """A custom indicator; a code of a built-in or existing indicator is refused (422/409)."""
    problems = []
    if data.code in {i.code for i in builtin_indicators()}:
        problems.append(FieldProblem("body.code", f"{data.code} is a built-in indicator"))
    if not _CJK.search(data.name):
        problems.append(FieldProblem("body.name", "the Chinese name staff know it by"))
    if problems:
        raise Invalid("; ".join(f"{p.field}: {p.reason}" for p in problems), errors=problems)
    async with engine().transaction(), db.connection() as conn:
        if await conn.fetchval("SELECT 1 FROM kpi_indicator WHERE code = $1", data.code):
            raise Conflict(f"indicator {data.code} already exists")
        row = await conn.fetchrow(
            "INSERT INTO kpi_indicator (id, code, name, unit, direction, description, "
            "created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            uuid4(),
            data.code,
            data.name.strip(),
            data.unit.strip(),
            data.direction.value,
            data.description.strip(),
            utc_now(),
            actor.username,
        )
        read = _custom(row)
        await audit.record(
            actor=actor.username,
            action="kpi_indicator.create",
            object_type="kpi_indicator",
            object_id=row["id"],
            after=read,
        )
    return read


# ------------------------------------------------------------------------------------------
# Values entered with evidence

_VALUES = (
    "SELECT v.*, e.name AS company_name, v.version = max(v.version) OVER "
    "(PARTITION BY v.company, v.year, v.indicator) AS current "
    "FROM kpi_entered_value v JOIN entity e ON e.id = v.company"
)


def _value(row: Any) -> EnteredValueRead:
    return EnteredValueRead(
        id=row["id"],
        company_id=row["company"],
        company_name=row["company_name"],
        year=row["year"],
        indicator=row["indicator"],
        version=row["version"],
        current=row["current"],
        value=row["value"],
        evidence=row["evidence"],
        evidence_url=row["evidence_url"],
        entered_at=row["entered_at"],
        entered_by=row["entered_by"],
    )


def _checked(data: EnteredValueCreate) -> Decimal:
    problems = []
    text = data.value.strip().replace(",", "")
    if not _DECIMAL.fullmatch(text):
        problems.append(
            FieldProblem("body.value", 'a decimal number as text, at most 6 places: "-1250000.00"')
        )
    if not data.evidence.strip():
        problems.append(
            FieldProblem("body.evidence", "required: the document it comes from (文件名 / 文号)")
        )
    if data.evidence_url is not None and not _URL.fullmatch(data.evidence_url.strip()):
        problems.append(FieldProblem("body.evidence_url", "an http(s) address, or leave it out"))
    if problems:
        raise Invalid("; ".join(f"{p.field}: {p.reason}" for p in problems), errors=problems)
    return Decimal(text) + 0  # + 0 turns -0 into 0


async def enter_value(*, actor: Actor, code: str, data: EnteredValueCreate) -> EnteredValueRead:
    """The next version of (company, year, indicator): the older ones stay readable."""
    value = _checked(data)
    await _enterable(code)
    seen = await scope.scope_of(actor, scope.Domain.kpi)
    async with engine().transaction(), db.connection() as conn:
        if not seen.allows(data.company_id) or not await conn.fetchval(
            "SELECT 1 FROM entity WHERE id = $1", data.company_id
        ):
            raise invalid("body.company_id", "no such company (or outside your scope)")
        # Two corrections at once: one waits here, then takes the next version number.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"kpi_entered_value|{data.company_id}|{data.year}|{code}",
        )
        previous = await conn.fetchrow(
            f"{_VALUES} WHERE v.company = $1 AND v.year = $2 AND v.indicator = $3 "
            "ORDER BY v.version DESC LIMIT 1",
            data.company_id,
            data.year,
            code,
        )
        new_id = uuid4()
        await conn.execute(
            "INSERT INTO kpi_entered_value (id, company, year, indicator, version, value, "
            "evidence, evidence_url, entered_at, entered_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            new_id,
            data.company_id,
            data.year,
            code,
            1 if previous is None else previous["version"] + 1,
            value,
            data.evidence.strip(),
            data.evidence_url.strip() if data.evidence_url else None,
            utc_now(),
            actor.username,
        )
        read = _value(await conn.fetchrow(f"{_VALUES} WHERE v.id = $1", new_id))
        await audit.record(
            actor=actor.username,
            action="kpi_entered_value.create" if previous is None else "kpi_entered_value.replace",
            object_type="kpi_entered_value",
            object_id=new_id,
            before=None if previous is None else _value(previous),
            after=read,
        )
    return read


async def list_values(
    *, actor: Actor, code: str, company: UUID | None = None, year: int | None = None
) -> list[EnteredValueRead]:
    """Every version in scope, latest first within (company, year): the old ones stay readable."""
    await _enterable(code)
    seen = await scope.scope_of(actor, scope.Domain.kpi)
    async with db.connection() as conn:
        rows = await conn.fetch(
            f"SELECT * FROM ({_VALUES} WHERE v.indicator = $1) t "
            "WHERE ($2::uuid IS NULL OR company = $2) AND ($3::int IS NULL OR year = $3) "
            "ORDER BY company_name, year, version DESC",
            code,
            company,
            year,
        )
    return [_value(r) for r in rows if seen.allows(r["company"])]


async def entered_values(
    companies: list[UUID] | list[str], years: range | list[int]
) -> pl.DataFrame:
    """The latest entered value per (company, year, indicator) of these companies and years.

    ENTERED_SCHEMA (company as text, value Decimal(38, 6) exact); read in bulk with COPY, for the
    scoring and the ratios (e.g. objective_factors into 国有资本保值增值率).
    """
    return await _copy_frame(
        "SELECT DISTINCT ON (company, year, indicator) company::text AS company, year::int8 "
        "AS year, indicator, value FROM kpi_entered_value "
        "WHERE company = ANY($1::uuid[]) AND year = ANY($2::int[]) "
        "ORDER BY company, year, indicator, version DESC",
        [UUID(str(c)) for c in companies],
        list(years),
        schema=ENTERED_SCHEMA,
    )
