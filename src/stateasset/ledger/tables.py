"""Ledger tables: entities, dated stakes, period states, statement versions, intercompany lines.

Nothing here is deleted or edited in place where history matters: a stake ends with `valid_to`,
a statement correction is a new version, and every write is in the audit log.
"""

from decimal import Decimal

from piccolo.columns import (
    UUID,
    Boolean,
    Bytea,
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

SHARE = (9, 6)


class Entity(Table, tablename="entity"):
    """主体: a legal person or unit, identified by its unified social credit code."""

    id = UUID(primary_key=True)
    credit_code = Varchar(length=18, unique=True)
    name = Varchar(length=200)
    short_name = Varchar(length=100, null=True, default=None)
    kind = Varchar(length=30)
    platform_id = UUID(null=True, default=None, index=True)
    segment = Varchar(length=30, null=True, default=None, index=True)
    industry = Varchar(length=50, null=True, default=None)
    second_level = Boolean(default=False)
    state_share = Numeric(
        digits=SHARE, default=Decimal(1)
    )  # 国有股权比例: 1 for a wholly state-owned entity
    status = Varchar(length=20, default="active")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Stake(Table, tablename="stake"):
    """A dated holding: economic share (持股比例) and voting share (表决权比例); valid_to is exclusive."""

    id = UUID(primary_key=True)
    holder = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    held = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    economic_share = Numeric(digits=SHARE)
    voting_share = Numeric(digits=SHARE)
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    note = Text(default="")
    created_at = Timestamptz()


class ControlOverride(Table, tablename="control_override"):
    """A recorded judgement that an entity is (or is not) controlled, whatever the votes say."""

    id = UUID(primary_key=True)
    entity = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    controlled = Boolean()
    method = Varchar(length=10, null=True, default=None)  # full / equity / none; None: by votes
    reason = Text()
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    created_at = Timestamptz()


class PeriodState(Table, tablename="period_state"):
    """Where an entity's period stands: open → submitted → validated → locked."""

    id = UUID(primary_key=True)
    entity = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    period = Varchar(length=10)
    state = Varchar(length=12, default="open")
    updated_at = Timestamptz()
    updated_by = Varchar(length=100)


class Statement(Table, tablename="statement"):
    """One version of an entity's 财务快报 for a period; a correction is the next version."""

    id = UUID(primary_key=True)
    entity = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    period = Varchar(length=10)
    version = Integer()
    source = Varchar(length=20, default="api")
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class StatementLine(Table, tablename="statement_line"):
    """One item of one statement version."""

    statement = ForeignKey(references=Statement, on_delete=OnDelete.cascade, index=True)
    item = Varchar(length=50)
    amount = Numeric(digits=MONEY_DIGITS)


class IntercompanyLine(Table, tablename="intercompany_line"):
    """内部往来: what `entity` reports against `partner` for a period, one side of a pair."""

    id = UUID(primary_key=True)
    entity = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    partner = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    period = Varchar(length=10)
    kind = Varchar(length=20)
    amount = Numeric(digits=MONEY_DIGITS)
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class OwnershipVersion(Table, tablename="ownership_version"):
    """One row whose token changes in the same transaction as every stake or override write.

    Ownership computed for (root, as-of date) stays valid while the token does not change, so it
    is computed once per version rather than on every request. A random token, not a counter:
    a database emptied and refilled can never bring an old version's number back.
    """

    id = Integer(primary_key=True)
    token = UUID()


class ConsolidationResult(Table, tablename="consolidation_result"):
    """A stored consolidation of a locked period: the response body, keyed by all it depends on.

    The key hashes node, period, mode, the statement versions used, the ownership version and
    the thresholds, so a new statement version or stake change can never be answered from an
    old row; a reopen deletes the period's rows.
    """

    key = Varchar(length=64, primary_key=True)
    node = Varchar(length=60)
    period = Varchar(length=10, index=True)
    mode = Varchar(length=20)
    body = Bytea()
    created_at = Timestamptz()
