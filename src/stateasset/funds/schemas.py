"""Fund request and response shapes (msgspec Structs). Money is Decimal; ratios are floats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from stateasset.ledger.schemas import Share

Money = Annotated[Decimal, msgspec.Meta(description="元, at most 2 decimal places")]
Rate = Annotated[Decimal, msgspec.Meta(description="a fraction (0.02 is 2%), at most 6 places")]
RegistrationCode = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^P[0-9]{7}$",
        description="私募基金管理人登记编号: P and 7 digits",
        examples=["P1012345"],
    ),
]
Note = Annotated[str, msgspec.Meta(max_length=1000)]


class GpKind(StrEnum):
    government = "government"  # 政府出资平台的基金管理公司
    market = "market"  # 市场化管理机构


GP_KIND_LABELS = {GpKind.government: "政府类", GpKind.market: "市场化"}


class FundCategory(StrEnum):
    mother = "mother"  # 母基金
    direct = "direct"  # 直投子基金: government GP, or dual GP with a market firm
    cooperative = "cooperative"  # 合作子基金: market GP
    special = "special"  # 专项基金, e.g. PRE-IPO


CATEGORY_LABELS = {
    FundCategory.mother: "母基金",
    FundCategory.direct: "直投子基金",
    FundCategory.cooperative: "合作子基金",
    FundCategory.special: "专项基金",
}


class GpRole(StrEnum):
    executive_partner = "executive_partner"  # 执行事务合伙人
    manager = "manager"  # 基金管理人
    co_gp = "co_gp"  # 联席普通合伙人


GP_ROLE_LABELS = {
    GpRole.executive_partner: "执行事务合伙人",
    GpRole.manager: "基金管理人",
    GpRole.co_gp: "联席普通合伙人",
}


class FeeBasis(StrEnum):
    paid_in = "paid_in"  # 按实缴
    invested = "invested"  # 按已投


class Industry(StrEnum):
    """The "3+N" industry system: three leading industries and N emerging ones."""

    electronics = "electronics"  # 电子信息
    chemicals = "chemicals"  # 化工新材料
    food = "food"  # 食品
    digital = "digital"  # 数字经济
    equipment = "equipment"  # 高端装备
    new_energy = "new_energy"  # 新能源
    other = "other"  # 其他


INDUSTRY_LABELS = {
    Industry.electronics: "电子信息",
    Industry.chemicals: "化工新材料",
    Industry.food: "食品",
    Industry.digital: "数字经济",
    Industry.equipment: "高端装备",
    Industry.new_energy: "新能源",
    Industry.other: "其他",
}


class Stage(StrEnum):
    seed = "seed"  # 种子期
    venture = "venture"  # 初创期
    growth = "growth"  # 成长期
    pre_ipo = "pre_ipo"  # Pre-IPO
    buyout = "buyout"  # 成熟期/并购


STAGE_LABELS = {
    Stage.seed: "种子期",
    Stage.venture: "初创期",
    Stage.growth: "成长期",
    Stage.pre_ipo: "Pre-IPO",
    Stage.buyout: "成熟期",
}


class ReinvestmentKind(StrEnum):
    """What a portfolio investment counts as toward 返投, each kind with the fund's multiplier."""

    none = "none"  # 不计返投
    local = "local"  # 投资本地企业
    relocated = "relocated"  # 招引落地企业
    local_fund = "local_fund"  # 本地设立的基金/项目


REINVESTMENT_LABELS = {
    ReinvestmentKind.none: "不计返投",
    ReinvestmentKind.local: "本地企业",
    ReinvestmentKind.relocated: "招引落地",
    ReinvestmentKind.local_fund: "本地基金/项目",
}


class FlowKind(StrEnum):
    call = "call"  # 出资/实缴
    distribution = "distribution"  # 分配


class CallPurpose(StrEnum):
    investment = "investment"  # 项目投资
    fee = "fee"  # 管理费
    expense = "expense"  # 费用


class DistributionPurpose(StrEnum):
    return_of_capital = "return_of_capital"  # 返还本金
    income = "income"  # 收益分配


PURPOSE_LABELS = {
    "investment": "项目投资",
    "fee": "管理费",
    "expense": "费用",
    "return_of_capital": "返还本金",
    "income": "收益分配",
    "reversal": "冲销",
}


# ------------------------------------------------------------------------------------------
# GPs and funds


class GpCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Make a registered entity a GP."""

    entity_id: UUID
    kind: GpKind
    registration_code: RegistrationCode


class GpRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    credit_code: str
    kind: GpKind
    kind_label: str
    registration_code: str


class GpAssignment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    gp_id: UUID
    role: GpRole


class GpOfFund(msgspec.Struct, frozen=True, kw_only=True):
    gp_id: UUID
    name: str
    kind: GpKind
    registration_code: str
    role: GpRole
    role_label: str


class Terms(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A fund's terms (基金要素)."""

    size: Money  # 基金规模 (认缴总额)
    vintage: Annotated[int, msgspec.Meta(ge=1990, le=2100)]
    first_close: date
    term_years: Annotated[int, msgspec.Meta(ge=1, le=30)]
    investment_period_end: date
    fee_basis: FeeBasis = FeeBasis.paid_in
    fee_rate: Rate = Decimal("0.02")
    hurdle: Rate = Decimal("0.08")
    carry: Rate = Decimal("0.20")
    government_cap: Share | None = None  # 政府出资比例上限
    reinvestment_multiple: Decimal | None = None  # 返投倍数
    # 返投认定: the multiplier each kind counts with, e.g. {"local": 1, "relocated": 1.5}
    reinvestment_multipliers: dict[ReinvestmentKind, Decimal] = {}
    industries: list[Industry] = []  # 3+N 产业方向


class FundCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Make a registered fund entity a fund of the tree, with its GPs and terms."""

    entity_id: UUID
    category: FundCategory
    parent_id: UUID | None = None
    gps: list[GpAssignment] = []
    terms: Terms


class FundRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    short_name: str | None
    credit_code: str
    category: FundCategory
    category_label: str
    parent_id: UUID | None
    gps: list[GpOfFund]
    terms: Terms
    industry_labels: list[str]


class FundNode(msgspec.Struct, frozen=True, kw_only=True):
    """One fund of the tree with its sub-funds."""

    id: UUID
    name: str
    category: FundCategory
    category_label: str
    vintage: int
    size: Decimal
    children: list[FundNode] = []


# ------------------------------------------------------------------------------------------
# Capital


class CommitmentCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """认缴: an LP (a registered entity) commits to the fund."""

    lp_id: UUID
    amount: Money
    committed_on: date
    government: bool = False  # 政府出资 (counts toward the fund's government cap)


class CommitmentRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    fund_id: UUID
    lp_id: UUID
    lp_name: str
    amount: Decimal
    government: bool
    committed_on: date


class CallCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A capital call on one LP position; paid-in once `paid_on` is given."""

    commitment_id: UUID
    amount: Money
    call_date: date
    due_on: date | None = None
    paid_on: date | None = None
    purpose: CallPurpose = CallPurpose.investment
    outside_commitment: bool = False  # 认缴外出资: allowed over the unfunded amount
    note: Note = ""


class CallSettle(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    paid_on: date


class DistributionCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A distribution to one LP position; a recallable one adds back to its unfunded amount."""

    commitment_id: UUID
    amount: Money
    distribution_date: date
    purpose: DistributionPurpose = DistributionPurpose.income
    recallable: bool = False
    note: Note = ""


class FlowRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    fund_id: UUID
    commitment_id: UUID
    lp_id: UUID
    kind: FlowKind
    purpose: str
    purpose_label: str
    flow_date: date
    due_on: date | None
    paid_on: date | None
    amount: Decimal
    recallable: bool
    outside_commitment: bool
    note: str


class PositionRead(msgspec.Struct, frozen=True, kw_only=True):
    """One LP's capital account (出资台账) in a fund: commitment = paid-in + unfunded."""

    commitment_id: UUID
    lp_id: UUID
    lp_name: str
    government: bool
    commitment: Decimal
    called: Decimal  # 已通知 (paid or not)
    paid_in: Decimal  # 实缴
    recallable: Decimal  # distributions that may be called again
    unfunded: Decimal  # 未缴 = commitment − called inside the commitment + recallable
    distributed: Decimal


class NavCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A quarter's NAV with its roll-forward: begin + contributions − distributions + gains − fees."""

    period: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-Q[1-4]$", examples=["2025-Q3"])]
    contributions: Money
    distributions: Money
    gains: Money  # 估值变动 (negative for a loss)
    fees: Money
    nav: Money


class NavRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    fund_id: UUID
    period: str
    as_of: date
    nav_begin: Decimal
    contributions: Decimal
    distributions: Decimal
    gains: Decimal
    fees: Decimal
    nav: Decimal


# ------------------------------------------------------------------------------------------
# Portfolio


class InvestmentCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    company_id: UUID
    industry: Industry
    local: bool = False
    reinvestment_kind: ReinvestmentKind = ReinvestmentKind.none
    stage: Stage
    invested_on: date
    amount: Money
    share: Share


class ExitCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    exited_on: date
    proceeds: Money


class ValuationCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    as_of: date
    value: Money


class InvestmentRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    fund_id: UUID
    company_id: UUID
    company_name: str
    industry: Industry
    industry_label: str
    local: bool
    reinvestment_kind: ReinvestmentKind
    stage: Stage
    stage_label: str
    invested_on: date
    amount: Decimal
    share: Decimal
    valuation: Decimal  # the latest valuation, or cost when none
    valuation_date: date | None
    exited_on: date | None
    exit_proceeds: Decimal | None


class IndexUpload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An index series for KS-PME: dated values (replaces values on the same days)."""

    series: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    points: Annotated[list[IndexValue], msgspec.Meta(min_length=1, max_length=20000)]


class IndexValue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    day: date
    value: Decimal  # above 0


# ------------------------------------------------------------------------------------------
# Metrics, look-through, checks


class Metrics(msgspec.Struct, frozen=True, kw_only=True):
    """Performance as of a date: money exact, ratios floats; null where undefined, with why."""

    key: str
    fund_id: UUID | None = None
    lp_id: UUID | None = None
    as_of: date
    commitment: Decimal
    paid_in: Decimal
    unfunded: Decimal
    distributed: Decimal
    nav: Decimal
    picc: float | None
    dpi: float | None
    rvpi: float | None
    tvpi: float | None
    irr: float | None
    irr_reason: str | None
    pme: float | None = None
    pme_reason: str | None = None


class MotherMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """The mother fund's position across its sub-funds, leverage (放大倍数) and 返投 per sub-fund."""

    fund_id: UUID
    as_of: date
    metrics: Metrics
    leverage: float | None  # sub-funds' total paid-in / the mother fund's paid-in to them
    sub_funds_paid_in: Decimal
    mother_paid_in: Decimal
    reinvestment: list[ReinvestmentRow]


class ReinvestmentRow(msgspec.Struct, frozen=True, kw_only=True):
    fund_id: UUID
    name: str
    mother_paid_in: Decimal
    counted: Decimal  # local investments × their multipliers
    achieved: float | None  # counted / mother_paid_in
    required: float | None  # the fund's 返投倍数
    expected_now: float | None  # required × the share of the investment period elapsed
    behind: bool


class JCurvePoint(msgspec.Struct, frozen=True, kw_only=True):
    quarter: str
    contributions: Decimal
    distributions: Decimal
    net: Decimal
    cumulative_net: Decimal
    nav: Decimal | None


class ExposureRow(msgspec.Struct, frozen=True, kw_only=True):
    """穿透: the mother fund's exposure to one company, summed over every path."""

    company_id: UUID
    company_name: str
    industry: Industry
    industry_label: str
    local: bool
    stage: Stage
    exposure: Decimal  # Σ over paths of (the mother's share of the fund) × the fund's position
    paths: int
    group_direct_interest: float | None  # the group's own stake from the ledger, if any


class ExposureSummary(msgspec.Struct, frozen=True, kw_only=True):
    by: str  # industry, local or stage
    key: str
    label: str
    exposure: Decimal
    companies: int


class LookThrough(msgspec.Struct, frozen=True, kw_only=True):
    fund_id: UUID
    as_of: date
    rows: list[ExposureRow]
    summaries: list[ExposureSummary]


class CheckKind(StrEnum):
    over_government_cap = "over_government_cap"  # 政府出资超比例
    behind_reinvestment = "behind_reinvestment"  # 返投进度落后
    call_overdue = "call_overdue"  # 出资逾期
    slow_deployment = "slow_deployment"  # 投资期将满而投资进度慢


CHECK_LABELS = {
    CheckKind.over_government_cap: "政府出资超比例",
    CheckKind.behind_reinvestment: "返投进度落后",
    CheckKind.call_overdue: "出资逾期",
    CheckKind.slow_deployment: "投资期将满、投资进度慢",
}


class CheckRow(msgspec.Struct, frozen=True, kw_only=True):
    fund_id: UUID
    fund_name: str
    kind: CheckKind
    kind_label: str
    message: str
    numbers: dict[str, str]  # the figures behind the flag, as text (money exact)


class CapitalImportReport(msgspec.Struct, frozen=True, kw_only=True):
    fund_id: UUID
    calls: int
    distributions: int
