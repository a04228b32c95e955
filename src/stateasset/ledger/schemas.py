"""Ledger request and response shapes (msgspec Structs)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

Share = Annotated[
    Decimal, msgspec.Meta(description="a fraction from 0 to 1 (0.8 is 80%), at most 6 places")
]
PERIOD_PATTERN = r"^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$"
"""A month `2025-09`, a quarter `2025-Q3` or a year `2025` (core.periods has the full rules)."""
PeriodCode = Annotated[str, msgspec.Meta(pattern=PERIOD_PATTERN, examples=["2025-Q3"])]
Reason = Annotated[str, msgspec.Meta(min_length=4, max_length=1000)]


class EntityKind(StrEnum):
    group = "group"  # 集团
    platform = "platform"  # 平台公司 (五大投)
    subsidiary = "subsidiary"  # 子公司
    agency = "agency"  # 机关
    institution = "institution"  # 事业单位
    park_company = "park_company"  # 园区国企
    fund = "fund"  # 基金
    outside = "outside"  # 外部股东


ENTITY_KIND_LABELS = {
    EntityKind.group: "集团",
    EntityKind.platform: "平台公司",
    EntityKind.subsidiary: "子公司",
    EntityKind.agency: "机关",
    EntityKind.institution: "事业单位",
    EntityKind.park_company: "园区国企",
    EntityKind.fund: "基金",
    EntityKind.outside: "外部股东",
}


class Segment(StrEnum):
    urban_construction = "urban_construction"  # 城市建设
    transport_logistics = "transport_logistics"  # 交通物流
    water_environment = "water_environment"  # 水务环保
    culture_tourism = "culture_tourism"  # 文旅
    industry_finance = "industry_finance"  # 产业金融


SEGMENT_LABELS = {
    Segment.urban_construction: "城市建设",
    Segment.transport_logistics: "交通物流",
    Segment.water_environment: "水务环保",
    Segment.culture_tourism: "文旅",
    Segment.industry_finance: "产业金融",
}


class EntityStatus(StrEnum):
    active = "active"
    dormant = "dormant"
    deregistered = "deregistered"


class Hierarchy(StrEnum):
    """The three hierarchies over the same entities, each usable as a consolidation node."""

    legal = "legal"  # 股权: by control, from the stakes
    platform = "platform"  # 五大投: which platform company an entity belongs to
    segment = "segment"  # 业务板块


class ConsolidationMode(StrEnum):
    """合并 (consolidated) or 汇总 (aggregated)."""

    consolidated = "consolidated"  # 合并: members under control, eliminations, minority interest
    aggregated = "aggregated"  # 汇总: the plain sum of the members' items


class ConsolidationMethod(StrEnum):
    """How a holding enters the holder's consolidation: by control, then by votes."""

    full = "full"  # 全面合并 (子公司): controlled
    equity = "equity"  # 权益法 (联营/合营): 20%–50% of the votes without control
    none = "none"  # 不合并: a financial investment


class IntercompanyKind(StrEnum):
    """What an intercompany line (内部往来) reports about its partner.

    `receivable`/`payable`: what one side is owed and the other owes. `revenue`: the seller's
    internal sales; the buyer reports what it bought as `cost` (expensed) and `inventory_held`
    (still in stock at period end). `investment`: the holder's carrying amount of the partner's
    shares. `equity` is accepted from older clients and eliminates nothing: the held side's
    equity comes from its statement and the stakes.
    """

    receivable = "receivable"  # 应收
    payable = "payable"  # 应付
    revenue = "revenue"  # 内部营业收入
    cost = "cost"  # 内部采购, 已计入营业成本
    inventory_held = "inventory_held"  # 内部采购, 期末仍在存货
    investment = "investment"  # 长期股权投资
    equity = "equity"


class EntityCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    credit_code: Annotated[str, msgspec.Meta(description="统一社会信用代码, GB 32100-2015")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    short_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    kind: EntityKind
    platform_id: UUID | None = None
    segment: Segment | None = None
    industry: Annotated[str, msgspec.Meta(max_length=50)] | None = None
    second_level: bool = False
    state_share: Share = Decimal(1)  # 国有股权比例: 1 for a wholly state-owned entity


class EntityUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    short_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    platform_id: UUID | None = None
    segment: Segment | None = None
    industry: Annotated[str, msgspec.Meta(max_length=50)] | None = None
    second_level: bool | None = None
    state_share: Share | None = None
    status: EntityStatus | None = None


class EntityRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    credit_code: str
    name: str
    short_name: str | None
    kind: EntityKind
    kind_label: str
    platform_id: UUID | None
    segment: Segment | None
    segment_label: str | None
    industry: str | None
    second_level: bool
    state_share: Decimal  # 国有股权比例
    status: EntityStatus
    created_at: datetime
    updated_at: datetime


class TreeNode(msgspec.Struct, frozen=True, kw_only=True):
    """One node of a hierarchy; `method` and `effective_interest` only in the legal tree.

    The legal tree's top node is the entity it starts from: method `full`, interest 1.
    """

    id: str
    name: str
    kind: str
    method: ConsolidationMethod | None = None
    effective_interest: float | None = None
    children: list[TreeNode] = []


class StakeCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    holder_id: UUID
    held_id: UUID
    economic_share: Share
    voting_share: Share | None = None  # defaults to the economic share
    valid_from: date
    valid_to: date | None = None
    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class StakeEnd(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    valid_to: date


class StakeRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    holder_id: UUID
    held_id: UUID
    economic_share: Decimal
    voting_share: Decimal
    valid_from: date
    valid_to: date | None
    note: str


class ControlOverrideCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A judgement of control with its reason; `method` says how an uncontrolled one is held.

    Without a method, "not controlled" on 20% or more of the votes means the equity method.
    """

    entity_id: UUID
    controlled: bool
    method: ConsolidationMethod | None = None
    reason: Reason
    valid_from: date
    valid_to: date | None = None


class ControlOverrideRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    entity_id: UUID
    controlled: bool
    method: ConsolidationMethod | None
    reason: str
    valid_from: date
    valid_to: date | None


class OwnershipRow(msgspec.Struct, frozen=True, kw_only=True):
    entity_id: UUID
    name: str
    effective_interest: float  # 穿透持股比例: every path, through associates too
    consolidated_interest: float  # 归属于母公司的权益比例: paths through consolidated members
    group_votes: float
    controlled: bool
    method: ConsolidationMethod
    parent_id: UUID | None


class OwnershipView(msgspec.Struct, frozen=True, kw_only=True):
    root_id: UUID
    as_of: date
    control_threshold: float
    rows: list[OwnershipRow]


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    entity_id: UUID | None = None
    period: str | None = None
    item: str
    rule: str
    severity: str
    message: str


class StatementSubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    entity_id: UUID
    period: PeriodCode
    items: dict[str, Decimal]


class StatementLineRead(msgspec.Struct, frozen=True, kw_only=True):
    item: str
    label: str
    amount: Decimal


class StatementRead(msgspec.Struct, frozen=True, kw_only=True):
    entity_id: UUID
    period: str
    version: int
    source: str
    created_at: datetime
    created_by: str
    state: str
    lines: list[StatementLineRead]
    findings: list[Finding]


class StatementVersionRead(msgspec.Struct, frozen=True, kw_only=True):
    """One stored version of a statement, without its lines: the version history."""

    version: int
    source: str
    created_at: datetime
    created_by: str


class IntercompanyLineIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    partner_id: UUID
    kind: IntercompanyKind
    amount: Decimal


class IntercompanySubmit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The entity's whole set of intercompany lines for the period; it replaces the previous set."""

    entity_id: UUID
    period: PeriodCode
    lines: list[IntercompanyLineIn]


class IntercompanyLineRead(msgspec.Struct, frozen=True, kw_only=True):
    entity_id: UUID
    partner_id: UUID
    period: str
    kind: IntercompanyKind
    amount: Decimal


class Mismatch(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An intercompany pair whose sides disagree, or a stake with no investment line.

    kind receivable_payable or revenue_cost: both sides' amounts and their difference (the
    seller's revenue against the buyer's cost + inventory_held). kind missing_investment_line:
    entity_id holds economic_share of partner_id, both consolidated, and reported no
    `investment` line toward it, so the investment cannot be eliminated.
    """

    kind: str
    entity_id: UUID
    partner_id: UUID
    entity_amount: Decimal | None
    partner_amount: Decimal | None
    difference: Decimal | None
    economic_share: float | None = None


class PeriodAction(StrEnum):
    submit = "submit"
    validate = "validate"
    lock = "lock"
    reopen = "reopen"


class PeriodTransition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    action: PeriodAction
    reason: Reason | None = None


class PeriodStateRead(msgspec.Struct, frozen=True, kw_only=True):
    entity_id: UUID
    entity_name: str
    period: str
    state: str
    updated_at: datetime | None
    updated_by: str | None


class ItemRow(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a consolidated statement: aggregated − eliminated = consolidated.

    Summary rows (NCI, attributable equity and profit, differences) are not sums of the
    members' items: their aggregated and eliminated are null.
    """

    item: str
    label: str
    aggregated: Decimal | None
    eliminated: Decimal | None
    consolidated: Decimal


class EliminationKind(StrEnum):
    """What an elimination (抵销分录) takes out."""

    receivable_payable = "receivable_payable"  # 内部往来: receivable against payable
    revenue_cost = "revenue_cost"  # 内部交易: the seller's internal revenue and its cost
    unrealized_profit = "unrealized_profit"  # 未实现内部销售利润 in the buyer's inventory
    investment = "investment"  # 长期股权投资 against the held member's equity
    treasury_stock = "treasury_stock"  # 库存股: a member's stake in the consolidating parent


class EliminationRow(msgspec.Struct, frozen=True, kw_only=True):
    """One elimination at the lowest common consolidated parent of its two sides.

    For a pair (receivable_payable, revenue_cost): each side's amount and their difference.
    For investment and treasury_stock: the holder's carrying amount. For unrealized_profit:
    the profit (entity_amount, the seller's) and the inventory_held it sits in (partner_amount).
    """

    kind: EliminationKind
    entity_id: UUID
    partner_id: UUID
    at_entity_id: UUID | None
    entity_amount: Decimal
    partner_amount: Decimal | None
    difference: Decimal | None


class EliminationSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The eliminations of one kind, summed."""

    kind: EliminationKind
    count: int
    entity_amount: Decimal
    partner_amount: Decimal | None
    difference: Decimal | None


class NciRow(msgspec.Struct, frozen=True, kw_only=True):
    """少数股东权益 of one consolidated member: (1 − x) of its own net assets and profit."""

    entity_id: UUID
    consolidated_interest: float  # 归属于母公司的权益比例 x
    own_net_assets: Decimal
    non_controlling_interest: Decimal
    net_profit: Decimal
    nci_profit: Decimal


class MissingInvestmentLine(msgspec.Struct, frozen=True, kw_only=True):
    """A stake between two consolidated members whose holder reported no investment line."""

    holder_id: UUID
    held_id: UUID
    economic_share: float


class StatementVersionUsed(msgspec.Struct, frozen=True):
    entity_id: UUID
    version: int


class EliminationDetail(StrEnum):
    """How much of the eliminations a consolidation lists."""

    summary = "summary"  # one row per kind
    all = "all"  # every elimination


class ResultSource(StrEnum):
    stored = "stored"  # read back: every member's period is locked
    computed = "computed"  # computed for this request


class ConsolidationRead(msgspec.Struct, frozen=True, kw_only=True):
    """合并/汇总报表 for a node and period, with what went into it."""

    node: str
    node_name: str
    period: str
    mode: ConsolidationMode
    source: ResultSource
    root_id: UUID
    members: list[UUID]
    missing_statements: list[UUID]
    statement_versions: list[StatementVersionUsed]
    items: list[ItemRow]
    elimination_summary: list[EliminationSummary]
    eliminations: list[EliminationRow]
    nci: list[NciRow]
    missing_investment_lines: list[MissingInvestmentLine]
    notes: list[str]


class ImportProblem(msgspec.Struct, frozen=True, kw_only=True):
    sheet: str
    row: int
    column: str
    reason: str
    item: str | None = None  # the item code on the problem's row, when it has one


class StoredStatement(msgspec.Struct, frozen=True, kw_only=True):
    """One statement version an upload stored."""

    entity_id: UUID
    period: str
    version: int


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an upload did: nothing at all unless `errors` is empty."""

    imported: bool
    statements: int
    rows: int
    errors: list[ImportProblem]
    warnings: list[Finding]
    stored: list[StoredStatement] = []


class CatalogueItem(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the 财务快报 catalogue, as the import template and the pages show it."""

    code: str
    label: str
    section: str
    non_negative: bool
    flow: bool
    parts: list[str] = []
