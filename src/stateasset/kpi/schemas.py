"""KPI request and response shapes (msgspec Structs). Scores and ratios are floats (points and
fractions, not money); targets and benchmarks are in the indicator's own unit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from stateasset.kpi.compute import RATIO_NAMES

Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,59}$", description="a–z, 0–9, _")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Year = Annotated[int, msgspec.Meta(ge=2000, le=2100)]
Value = Annotated[float, msgspec.Meta(ge=-1e12, le=1e12)]
Points = Annotated[float, msgspec.Meta(gt=0, le=100)]
Weight = Annotated[float, msgspec.Meta(gt=0, le=100)]
Reason = Annotated[str, msgspec.Meta(min_length=2, max_length=1000)]
Industry = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class Direction(StrEnum):
    higher = "higher"
    lower = "lower"


class Method(StrEnum):
    efficacy = "efficacy"
    target_step = "target_step"
    macro = "macro"
    peer_rank = "peer_rank"


class ContractState(StrEnum):
    draft = "draft"
    signed = "signed"
    active = "active"
    closed = "closed"


METHOD_LABELS = {
    Method.efficacy: "功效系数法",
    Method.target_step: "同自身历史比",
    Method.macro: "跟经济大势比",
    Method.peer_rank: "跟同行比",
}
STATE_LABELS = {
    ContractState.draft: "草稿",
    ContractState.signed: "已签订",
    ContractState.active: "执行中",
    ContractState.closed: "已结束",
}
NEXT_STATE = {
    ContractState.draft: ContractState.signed,
    ContractState.signed: ContractState.active,
    ContractState.active: ContractState.closed,
}
SOURCE_HELP = (
    "a ratio of DOMAIN §6 ("
    + ", ".join(RATIO_NAMES)
    + "), a statement item code (e.g. net_profit), or 'entered' (actuals entered with evidence)"
)


class Parameters(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A method's parameters: efficacy needs `tiers` unless it reads the peer standard values;
    macro needs `macro_series` and `offsets`; target_step may set `step_pct`."""

    tiers: list[Value] | None = None  # 优秀, 良好, 平均, 较低, 较差 (else the peer standard)
    use_peer_standard: bool = False
    macro_series: Code | None = None
    offsets: list[Value] | None = None
    step_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] = 3.0


class EnteredActual(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    year: Year
    value: Value
    evidence: Reason


class IndicatorTerm(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Label
    weight: Weight
    direction: Direction = Direction.higher
    method: Method
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=60, description=SOURCE_HELP)]
    main: bool = False
    parameters: Parameters = msgspec.field(default_factory=Parameters)
    history: dict[str, Value] = msgspec.field(default_factory=dict)  # year → actual before tenure
    peers: dict[str, list[Value]] = msgspec.field(default_factory=dict)  # year → peer values
    entered: list[EnteredActual] = msgspec.field(default_factory=list)


class Target(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    indicator: Code
    year: Year
    value: Value
    basis: Annotated[str, msgspec.Meta(max_length=1000)] = ""  # how the target was set


class Adjustment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    year: Year
    kind: Annotated[str, msgspec.Meta(pattern="^(bonus|deduction)$")]
    points: Points
    reason: Reason


class GradeBands(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    A: Annotated[float, msgspec.Meta(ge=0, le=200)] = 90.0
    B: Annotated[float, msgspec.Meta(ge=0, le=200)] = 80.0
    C: Annotated[float, msgspec.Meta(ge=0, le=200)] = 70.0


class PayTable(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    A: Annotated[float, msgspec.Meta(ge=0, le=5)] = 1.5
    B: Annotated[float, msgspec.Meta(ge=0, le=5)] = 1.2
    C: Annotated[float, msgspec.Meta(ge=0, le=5)] = 1.0
    D: Annotated[float, msgspec.Meta(ge=0, le=5)] = 0.6


class Floor(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    score: Annotated[float, msgspec.Meta(ge=0, le=200)] = 70.0
    ratio: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.7


class ContractTerms(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a contract binds: indicators, targets, bonus/deduction, grades, pay, floor."""

    managers: Annotated[list[Label], msgspec.Meta(min_length=1, max_length=20)]
    indicators: Annotated[list[IndicatorTerm], msgspec.Meta(min_length=1, max_length=30)]
    targets: Annotated[list[Target], msgspec.Meta(max_length=300)]
    adjustments: Annotated[list[Adjustment], msgspec.Meta(max_length=100)] = []
    grade_bands: GradeBands = msgspec.field(default_factory=GradeBands)
    a_cap: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None
    pay_coefficients: PayTable = msgspec.field(default_factory=PayTable)
    floor: Floor = msgspec.field(default_factory=Floor)


class ContractCreate(ContractTerms, frozen=True, kw_only=True, forbid_unknown_fields=True):
    company_id: UUID
    name: Label
    industry: Industry
    tenure_start: Year
    tenure_years: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3


class Transition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    to: ContractState


class ContractRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    lineage: UUID
    version: int
    company_id: UUID
    company_name: str
    name: str
    industry: str
    tenure_start: int
    tenure_years: int
    state: ContractState
    state_label: str
    terms: ContractTerms
    created_at: datetime
    created_by: str
    signed_at: datetime | None
    signed_by: str | None


class PeerStandardCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    industry: Industry
    indicator: Code
    year: Year
    tiers: Annotated[list[Value], msgspec.Meta(min_length=5, max_length=5)]
    source: Reason


class PeerStandardRead(PeerStandardCreate, frozen=True, kw_only=True):
    id: UUID


class MacroPointCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    series: Code
    year: Year
    value: Value
    source: Reason


class MacroPointRead(MacroPointCreate, frozen=True, kw_only=True):
    id: UUID


class IndicatorScore(msgspec.Struct, frozen=True, kw_only=True):
    """One indicator's score with the arithmetic behind it."""

    code: str
    name: str
    weight: float
    direction: str
    method: str
    method_label: str
    main: bool
    actual: float | None
    actual_reason: str | None
    target: float | None
    history_benchmark: float | None
    macro_benchmark: float | None
    peer_benchmark: list[float] | None
    tier: str | None
    base: float | None
    efficacy: float | None
    adjustment: float | None
    cap: float | None
    percentile: float | None
    score: float | None


class StatementUsed(msgspec.Struct, frozen=True, kw_only=True):
    period: str
    statement_id: UUID
    version: int


class Scorecard(msgspec.Struct, frozen=True, kw_only=True):
    contract_id: UUID
    company_id: UUID
    company_name: str
    year: int
    indicators: list[IndicatorScore]
    bonus: float
    deduction: float
    total: float
    rank: int
    grade: str
    band_grade: str
    a_capped: bool
    pay_coefficient: float
    review: bool
    review_reason: str | None
    statements: list[StatementUsed]


class RankingRow(msgspec.Struct, frozen=True, kw_only=True):
    contract_id: UUID
    company_id: UUID
    company_name: str
    year: int
    total: float
    rank: int
    grade: str
    pay_coefficient: float
    review: bool
    review_reason: str | None


class TenureYear(msgspec.Struct, frozen=True, kw_only=True):
    """One year of a tenure: its result, or why it is not scored (`reason`)."""

    year: int
    scored: bool
    reason: str | None = None
    total: float | None = None
    rank: int | None = None
    grade: str | None = None
    pay_coefficient: float | None = None
    review: bool | None = None
    review_reason: str | None = None


class TenureIndicatorYear(msgspec.Struct, frozen=True, kw_only=True):
    year: int
    actual: float | None
    target: float | None
    score: float | None


class TenureIndicator(msgspec.Struct, frozen=True, kw_only=True):
    """One indicator over the tenure: actual, target and score per year (null where unscored)."""

    code: str
    name: str
    weight: float
    direction: str
    method: str
    method_label: str
    main: bool
    years: list[TenureIndicatorYear]


class TenureScorecard(msgspec.Struct, frozen=True, kw_only=True):
    """任期考核: every year of the tenure and the tenure total (the mean of the scored years)."""

    contract_id: UUID
    company_id: UUID
    company_name: str
    tenure_start: int
    tenure_years: int
    years: list[TenureYear]
    indicators: list[TenureIndicator]
    scored_years: int
    total: float | None
