"""Fund tables. A fund, a GP, an LP and a portfolio company are ledger entities: a fund's and a
GP's row here share the entity's id, so `Actor.fund_ids` name funds and entities alike.

Capital flows (`fund_flow`) and NAV statements are append-only (a trigger refuses UPDATE of
anything but a call's settlement date, DELETE and TRUNCATE); a mistake is a reversing flow.
"""

from piccolo.columns import (
    JSONB,
    UUID,
    Array,
    BigSerial,
    Boolean,
    Date,
    DoublePrecision,
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
from stateasset.ledger.tables import SHARE, Entity

RATE = (9, 6)


class FundGp(Table, tablename="fund_gp"):
    """普通合伙人/基金管理人: a government or market GP with its 私募基金管理人登记编号."""

    id = UUID(primary_key=True)  # the entity's id (a foreign key, in the migration)
    kind = Varchar(length=12)
    registration_code = Varchar(length=8, unique=True)
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class Fund(Table, tablename="fund"):
    """A fund and its terms; `parent` is the fund that invests in it (the mother fund's is null)."""

    id = UUID(primary_key=True)  # the entity's id (a foreign key, in the migration)
    parent = UUID(null=True, default=None, index=True)
    category = Varchar(length=12)
    size = Numeric(digits=MONEY_DIGITS)
    vintage = Integer()
    first_close = Date()
    term_years = Integer()
    investment_period_end = Date()
    fee_basis = Varchar(length=12)
    fee_rate = Numeric(digits=RATE)
    hurdle = Numeric(digits=RATE)
    carry = Numeric(digits=RATE)
    government_cap = Numeric(digits=SHARE, null=True, default=None)
    reinvestment_multiple = Numeric(digits=RATE, null=True, default=None)
    reinvestment_multipliers = JSONB(default="{}")
    industries = Array(base_column=Varchar(length=20))
    created_at = Timestamptz()
    created_by = Varchar(length=100)
    updated_at = Timestamptz()


class FundGpRole(Table, tablename="fund_gp_role"):
    """Which GP manages a fund in which role (a dual-GP fund has two rows)."""

    fund = ForeignKey(references=Fund, on_delete=OnDelete.restrict, index=True)
    gp = ForeignKey(references=FundGp, on_delete=OnDelete.restrict, index=True)
    role = Varchar(length=20)


class Commitment(Table, tablename="fund_commitment"):
    """认缴: an LP's commitment to a fund; `government` marks state money (for the cap)."""

    id = UUID(primary_key=True)
    fund = ForeignKey(references=Fund, on_delete=OnDelete.restrict, index=True)
    lp = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    amount = Numeric(digits=MONEY_DIGITS)
    government = Boolean(default=False)
    committed_on = Date()
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class FundFlow(Table, tablename="fund_flow"):
    """A capital call (实缴/出资) or distribution (分配) of one LP position; never deleted.

    A call is paid-in when `paid_on` is set (it may be set once, later); a distribution is paid
    on `flow_date`. `amount` is positive; a reversal is a row of the same kind with the
    opposite sign naming the row it undoes.
    """

    id = UUID(primary_key=True)
    fund = ForeignKey(references=Fund, on_delete=OnDelete.restrict, index=True)
    commitment = ForeignKey(references=Commitment, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=12)
    purpose = Varchar(length=20)
    flow_date = Date(index=True)
    due_on = Date(null=True, default=None)
    paid_on = Date(null=True, default=None)
    amount = Numeric(digits=MONEY_DIGITS)
    recallable = Boolean(default=False)
    outside_commitment = Boolean(default=False)
    reverses = UUID(null=True, default=None)
    note = Text(default="")
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class NavStatement(Table, tablename="fund_nav"):
    """估值: a fund's NAV at a quarter's end with its roll-forward from the quarter before."""

    id = UUID(primary_key=True)
    fund = ForeignKey(references=Fund, on_delete=OnDelete.restrict, index=True)
    period = Varchar(length=7)
    as_of = Date()
    nav_begin = Numeric(digits=MONEY_DIGITS)
    contributions = Numeric(digits=MONEY_DIGITS)
    distributions = Numeric(digits=MONEY_DIGITS)
    gains = Numeric(digits=MONEY_DIGITS)
    fees = Numeric(digits=MONEY_DIGITS)
    nav = Numeric(digits=MONEY_DIGITS)
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class Investment(Table, tablename="fund_investment"):
    """A fund's investment in a portfolio company (or in another fund's company), with its exit."""

    id = UUID(primary_key=True)
    fund = ForeignKey(references=Fund, on_delete=OnDelete.restrict, index=True)
    company = ForeignKey(references=Entity, on_delete=OnDelete.restrict, index=True)
    industry = Varchar(length=20)
    local = Boolean(default=False)
    reinvestment_kind = Varchar(length=20, default="none")
    stage = Varchar(length=12)
    invested_on = Date()
    amount = Numeric(digits=MONEY_DIGITS)
    share = Numeric(digits=SHARE)
    exited_on = Date(null=True, default=None)
    exit_proceeds = Numeric(digits=MONEY_DIGITS, null=True, default=None)
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class Valuation(Table, tablename="fund_valuation"):
    """A dated valuation of a fund's position in a company."""

    id = UUID(primary_key=True)
    investment = ForeignKey(references=Investment, on_delete=OnDelete.restrict, index=True)
    as_of = Date()
    value = Numeric(digits=MONEY_DIGITS)
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class IndexPoint(Table, tablename="fund_index_point"):
    """One value of an index series users upload for KS-PME (e.g. 沪深300 全收益)."""

    id = UUID(primary_key=True)
    series = Varchar(length=50)
    day = Date()
    value = Numeric(digits=(20, 6))
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class MetricRun(Table, tablename="fund_metric_run"):
    """One computation of every fund's metrics as of a date (业绩指标计算批次): a version, of
    which one per date is current; switching `current` in the run's transaction switches readers.
    """

    id = UUID(primary_key=True)
    as_of = Date()
    version = Integer()
    current = Boolean()
    index_series = Varchar(length=50, null=True, default=None)  # KS-PME's series, when named
    funds = Integer()
    rows = Integer()
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class Metric(Table, tablename="fund_metric"):
    """A fund's (lp null) or an LP position's metrics in a run: money exact, ratios floats."""

    id = BigSerial(primary_key=True)
    run = UUID()  # fund_metric_run (no foreign key: written by COPY in the run's transaction)
    fund = UUID()
    lp = UUID(null=True, default=None)
    commitment = Numeric(digits=MONEY_DIGITS)
    paid_in = Numeric(digits=MONEY_DIGITS)
    unfunded = Numeric(digits=MONEY_DIGITS)
    distributed = Numeric(digits=MONEY_DIGITS)
    nav = Numeric(digits=MONEY_DIGITS)
    picc = DoublePrecision(null=True, default=None)
    dpi = DoublePrecision(null=True, default=None)
    rvpi = DoublePrecision(null=True, default=None)
    tvpi = DoublePrecision(null=True, default=None)
    irr = DoublePrecision(null=True, default=None)
    irr_reason = Text(null=True, default=None)
    pme = DoublePrecision(null=True, default=None)
    pme_reason = Text(null=True, default=None)
