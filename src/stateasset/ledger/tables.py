"""Ledger tables: entities, dated stakes, period states, statement versions, intercompany lines.

Nothing here is deleted or edited in place where history matters: a stake ends with `valid_to`,
a statement correction is a new version, and every write is in the audit log.
"""

from piccolo.columns import (
    UUID,
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
