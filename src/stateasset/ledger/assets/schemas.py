"""Shapes of the asset register's requests and answers (msgspec Structs), with Chinese labels."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=60, pattern=r"^\S(.*\S)?$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Money = Annotated[Decimal, msgspec.Meta(description="yuan, at most 2 decimal places")]
Months = Annotated[int, msgspec.Meta(ge=0, le=1200)]


class Category(StrEnum):
    land = "land"
    buildings = "buildings"
    infrastructure = "infrastructure"
    equipment = "equipment"
    vehicles = "vehicles"
    equity = "equity"
    fund_interest = "fund_interest"
    intangible = "intangible"
    other = "other"


CATEGORY_LABELS = {
    Category.land: "土地",
    Category.buildings: "房屋建筑物",
    Category.infrastructure: "基础设施",
    Category.equipment: "设备",
    Category.vehicles: "车辆",
    Category.equity: "股权",
    Category.fund_interest: "基金份额",
    Category.intangible: "无形资产",
    Category.other: "其他",
}


class Source(StrEnum):
    transfer_in = "transfer_in"
    purchase = "purchase"
    self_built = "self_built"
    donation = "donation"
    surplus = "surplus"


SOURCE_LABELS = {
    Source.transfer_in: "划拨",
    Source.purchase: "购置",
    Source.self_built: "自建",
    Source.donation: "接收",
    Source.surplus: "盘盈",
}


class Status(StrEnum):
    in_use = "in_use"
    idle = "idle"
    leased_out = "leased_out"
    disposed = "disposed"


STATUS_LABELS = {
    Status.in_use: "在用",
    Status.idle: "闲置",
    Status.leased_out: "出租",
    Status.disposed: "已处置",
}


class EventKind(StrEnum):
    acquire = "acquire"
    depreciate = "depreciate"
    revalue = "revalue"
    income = "income"
    transfer_out = "transfer_out"
    transfer_in = "transfer_in"
    dispose = "dispose"
    reversal = "reversal"


EVENT_LABELS = {
    EventKind.acquire: "取得",
    EventKind.depreciate: "计提折旧",
    EventKind.revalue: "重估",
    EventKind.income: "收益",
    EventKind.transfer_out: "划出",
    EventKind.transfer_in: "划入",
    EventKind.dispose: "处置",
    EventKind.reversal: "冲销",
}


class PostableKind(StrEnum):
    """The events a person posts directly; transfers and depreciation have their own routes."""

    revalue = "revalue"
    income = "income"
    dispose = "dispose"
    reversal = "reversal"


class CardCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new card and the acquisition that puts its original value on the books."""

    code: Code
    name: Name
    category: Category
    holder_id: UUID
    source: Source
    acquired_on: date
    original_value: Money
    operating: bool = True
    location: str = ""
    useful_life_months: Months = 0
    salvage: Money = Decimal(0)
    status: Status = Status.in_use


class CardUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What may change on a card without an event: description, place and use."""

    name: Name | None = None
    location: str | None = None
    operating: bool | None = None
    status: Status | None = None


class CardRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    code: str
    name: str
    category: Category
    category_label: str
    holder_id: UUID
    holder_name: str
    location: str
    source: Source
    source_label: str
    operating: bool
    useful_life_months: int
    salvage: Decimal
    status: Status
    status_label: str
    acquired_on: date
    original_value: Decimal  # 原值
    accumulated_depreciation: Decimal  # 累计折旧
    book_value: Decimal  # 账面价值
    income_12m: Decimal  # income over the 12 months to today


class EventCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A revaluation (amount: the change to original value), income, disposal or reversal."""

    kind: PostableKind
    event_date: date
    amount: Money | None = None
    reverses: UUID | None = None
    note: str = ""


class EventRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    card_id: UUID
    holder_id: UUID
    holder_name: str
    kind: EventKind
    kind_label: str
    event_date: date
    original: Decimal
    depreciation: Decimal
    income: Decimal
    book_change: Decimal  # original − depreciation
    month: str | None
    reverses: UUID | None
    transfer_id: UUID | None
    campaign_id: UUID | None
    note: str
    created_at: datetime
    created_by: str


class Balance(msgspec.Struct, frozen=True, kw_only=True):
    original_value: Decimal
    accumulated_depreciation: Decimal
    book_value: Decimal
    income: Decimal


class HolderSpan(msgspec.Struct, frozen=True, kw_only=True):
    holder_id: UUID
    holder_name: str
    from_date: date
    to_date: date | None  # exclusive; None: holds it still


class CardLineage(msgspec.Struct, frozen=True, kw_only=True):
    """资产脉络: a card, every event in order (who did what) and every holder it had."""

    card: CardRead
    events: list[EventRead]
    holders: list[HolderSpan]


class TransferCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    card_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=5000)]
    to_holder_id: UUID
    transfer_date: date
    note: str = ""


class TransferReject(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class TransferRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    from_holder_id: UUID
    from_holder_name: str
    to_holder_id: UUID
    to_holder_name: str
    transfer_date: date
    into_group: bool  # 划入集团: from an agency or institution into the group
    status: str
    status_label: str
    note: str
    card_ids: list[UUID]
    book_value: Decimal  # of the cards when requested, or when posted once posted
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reject_reason: str | None
    posted_by: str | None
    posted_at: datetime | None


TRANSFER_STATUS_LABELS = {
    "requested": "待审批",
    "approved": "已审批",
    "posted": "已过账",
    "rejected": "已驳回",
}


class HolderFlow(msgspec.Struct, frozen=True, kw_only=True):
    """Per holder and period: what came in and went out, by source or event kind."""

    holder_id: UUID
    period: str
    direction: str  # in / out
    kind: str  # acquire:<source> / transfer_in / transfer_out / dispose / ...
    cards: int
    book_value: Decimal


class DepreciationReport(msgspec.Struct, frozen=True, kw_only=True):
    months: list[str]
    posted: int
    already_posted: int
    amount: Decimal
    skipped_locked: list[str]  # "<entity id>/<period>" whose period was closed


class CampaignCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    as_of: date
    entity_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=5000)]
    categories: list[Category] = []


class CountCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A counted item: its code at a holder, where it was seen; name/value for one not on the books."""

    holder_id: UUID
    code: Code
    location: str | None = None
    name: str | None = None
    category: Category | None = None
    value: Money | None = None


class CampaignRead(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    as_of: date
    entity_ids: list[UUID]
    categories: list[str]
    status: str
    counts: int
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None


class CampaignLine(msgspec.Struct, frozen=True, kw_only=True):
    outcome: str  # matched / surplus (盘盈) / shortage (盘亏)
    outcome_label: str
    holder_id: UUID
    code: str
    name: str
    card_id: UUID | None
    book_location: str | None
    counted_location: str | None
    value: Decimal


class CampaignReport(msgspec.Struct, frozen=True, kw_only=True):
    campaign: CampaignRead
    matched: int
    surplus: int
    shortage: int
    matched_value: Decimal
    surplus_value: Decimal
    shortage_value: Decimal
    lines: list[CampaignLine]


class EffectiveRow(msgspec.Struct, frozen=True, kw_only=True):
    """有效资产 of an entity or node as of a date."""

    node: str
    name: str
    total_book: Decimal
    operating_book: Decimal
    effective_book: Decimal
    cash: Decimal
    effective_ratio: Decimal | None  # 有效资产比重; None when there are no assets
    operating_share: Decimal | None  # 经营性资产占比


class CardImportProblem(msgspec.Struct, frozen=True, kw_only=True):
    row: int
    column: str
    reason: str


class CardImportReport(msgspec.Struct, frozen=True, kw_only=True):
    imported: bool
    cards: int
    errors: list[CardImportProblem]
