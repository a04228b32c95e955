"""Asset register tables. Balances are never stored: they are sums of `asset_event` rows.

`asset_event` is append-only (a trigger refuses UPDATE, DELETE and TRUNCATE, and the app role
may only SELECT and INSERT it); a mistake is fixed by a reversal row naming the row it undoes.
"""

from piccolo.columns import (
    UUID,
    Array,
    BigSerial,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from stateasset.core.money import MONEY_DIGITS
from stateasset.ledger.tables import Entity


class AssetCard(Table, tablename="asset_card"):
    """资产卡片: what an asset is and who holds it now; its values come from its events."""

    id = UUID(primary_key=True)
    code = Varchar(length=60)
    name = Varchar(length=200)
    category = Varchar(length=20, index=True)
    holder = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    location = Text(default="")
    source = Varchar(length=20)
    operating = Boolean(default=True)
    useful_life_months = Integer(default=0)  # 0: not depreciated (land, equity, fund interests)
    salvage = Numeric(digits=MONEY_DIGITS)
    status = Varchar(length=20, default="in_use")
    acquired_on = Date()
    created_at = Timestamptz()
    created_by = Varchar(length=100)
    updated_at = Timestamptz()


class AssetTransfer(Table, tablename="asset_transfer"):
    """划拨: several cards from one holder to another; requested → approved → posted or rejected."""

    id = UUID(primary_key=True)
    from_holder = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    to_holder = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    transfer_date = Date()
    into_group = Boolean(default=False)  # from an agency or institution into the group
    status = Varchar(length=12, default="requested", index=True)
    note = Text(default="")
    requested_by = Varchar(length=100)
    requested_at = Timestamptz()
    decided_by = Varchar(length=100, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    reject_reason = Text(null=True, default=None)
    posted_by = Varchar(length=100, null=True, default=None)
    posted_at = Timestamptz(null=True, default=None)


class AssetTransferItem(Table, tablename="asset_transfer_item"):
    """One card of a transfer."""

    transfer = ForeignKey(references=AssetTransfer, on_delete=OnDelete.restrict, index=True)
    card = ForeignKey(references=AssetCard, on_delete=OnDelete.restrict, index=True)


class AssetEvent(Table, tablename="asset_event"):
    """One dated change to a card, booked at one holder; never edited, never deleted.

    `original` and `depreciation` are the changes to 原值 and 累计折旧 (book = their difference);
    `income` is cash the asset earned. A transfer is two rows, out of the old holder and into the
    new, so a holder's balances are the sum of the rows booked at it.
    """

    id = UUID(primary_key=True)
    card = ForeignKey(references=AssetCard, on_delete=OnDelete.restrict, index=True)
    holder = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=20)
    event_date = Date(index=True)
    original = Numeric(digits=MONEY_DIGITS)
    depreciation = Numeric(digits=MONEY_DIGITS)
    income = Numeric(digits=MONEY_DIGITS)
    month = Varchar(length=7, null=True, default=None)  # the month a depreciation row is for
    reverses = UUID(null=True, default=None)
    transfer = UUID(null=True, default=None, index=True)
    campaign = UUID(null=True, default=None)
    note = Text(default="")
    created_at = Timestamptz()
    created_by = Varchar(length=100)
    # Insert order, for reading only the events appended since the last read (frames.py).
    seq = BigSerial(index=True)


class AssetCampaign(Table, tablename="asset_campaign"):
    """盘点: a count of the cards of some holders (and categories) as of a date."""

    id = UUID(primary_key=True)
    name = Varchar(length=200)
    as_of = Date()
    entity_ids = Array(base_column=UUID())
    categories = Array(base_column=Varchar(length=20))
    status = Varchar(length=10, default="open")
    created_by = Varchar(length=100)
    created_at = Timestamptz()
    closed_by = Varchar(length=100, null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)


class AssetCount(Table, tablename="asset_count"):
    """One counted item: a card code seen at a holder; a new count of the same code replaces it."""

    id = UUID(primary_key=True)
    campaign = ForeignKey(references=AssetCampaign, on_delete=OnDelete.restrict, index=True)
    holder = ForeignKey(references=Entity, on_delete=OnDelete.restrict)
    code = Varchar(length=60)
    location = Text(null=True, default=None)
    name = Varchar(length=200, null=True, default=None)  # for an item not on the books
    category = Varchar(length=20, null=True, default=None)
    value = Numeric(
        digits=MONEY_DIGITS, null=True, default=None
    )  # 评估值 of an item not on the books
    counted_by = Varchar(length=100)
    counted_at = Timestamptz()
