"""KPI tables. A contract's terms (indicators, targets, bonus/deduction items, grade bands, pay
table, floor) are one JSONB document validated by `kpi.schemas`; a contract version is never
edited once signed: a change is a new version of the same lineage, and the old stays readable.
"""

from piccolo.columns import (
    JSONB,
    UUID,
    BigSerial,
    Boolean,
    Date,
    DoublePrecision,
    Integer,
    Numeric,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Contract(Table, tablename="kpi_contract"):
    """经营业绩责任书: one version of a second-level company's tenure contract."""

    id = UUID(primary_key=True)
    lineage = UUID()  # the first version's id, shared by every version
    version = Integer()
    company = UUID()  # a ledger entity (a foreign key, in the migration)
    name = Text()
    industry = Varchar(length=40)
    tenure_start = Integer()
    tenure_years = Integer()
    state = Varchar(length=10)
    terms = JSONB()
    created_at = Timestamptz()
    created_by = Varchar(length=100)
    signed_at = Timestamptz(null=True, default=None)
    signed_by = Varchar(length=100, null=True, default=None)


class PeerStandard(Table, tablename="kpi_peer_standard"):
    """企业绩效评价标准值: five tiers (优秀 … 较差) per industry, indicator and year."""

    id = UUID(primary_key=True)
    industry = Varchar(length=40)
    indicator = Varchar(length=60)
    year = Integer()
    tier_1 = Numeric(digits=(20, 6))
    tier_2 = Numeric(digits=(20, 6))
    tier_3 = Numeric(digits=(20, 6))
    tier_4 = Numeric(digits=(20, 6))
    tier_5 = Numeric(digits=(20, 6))
    source = Text()
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class MacroPoint(Table, tablename="kpi_macro_point"):
    """One year's value of a macro series (e.g. GDP growth, %)."""

    id = UUID(primary_key=True)
    series = Varchar(length=60)
    year = Integer()
    value = Numeric(digits=(20, 6))
    source = Text()
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class Indicator(Table, tablename="kpi_indicator"):
    """自定义指标: a custom indicator of the catalogue, whose values are entered with evidence."""

    id = UUID(primary_key=True)
    code = Varchar(length=40, unique=True)
    name = Varchar(length=100)
    unit = Varchar(length=20)
    direction = Varchar(length=6)
    description = Text()
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class EnteredValue(Table, tablename="kpi_entered_value"):
    """A company's value of an indicator for a year, entered with its evidence (录入值及依据).

    Append-only: a correction is the next version of (company, year, indicator); the latest
    version is the value, the older ones stay readable.
    """

    id = UUID(primary_key=True)
    company = UUID()  # a ledger entity (a foreign key, in the migration)
    year = Integer()
    indicator = Varchar(length=40)
    version = Integer()
    value = Numeric()  # as entered: at most 6 places, no scale that pads it
    evidence = Text()
    evidence_url = Text(null=True, default=None)
    entered_at = Timestamptz()
    entered_by = Varchar(length=100)


class RatioRun(Table, tablename="kpi_ratio_run"):
    """One computation of a period's ratios (比率计算批次): a version, of which one is current.

    Every run holds a whole snapshot of the period (a partial run carries the current run's other
    rows forward), so switching `current` in the run's own transaction switches every reader.
    """

    id = UUID(primary_key=True)
    period = Varchar(length=7)
    version = Integer()
    current = Boolean()
    as_of = Date()  # the period's end: the asset register's date
    entities = Integer()
    nodes = Integer()
    rows = Integer()
    null_values = Integer()
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class Ratio(Table, tablename="kpi_ratio"):
    """A ratio (§6) of an entity (its own statement) or of a node (its consolidation) in a run."""

    id = BigSerial(primary_key=True)
    run = UUID()  # kpi_ratio_run (no foreign key: checked per row, it doubled a run's COPY)
    entity = UUID(null=True, default=None)  # exactly one of entity and node
    node = Varchar(length=60, null=True, default=None)
    period = Varchar(length=7)
    ratio = Varchar(length=40)
    value = DoublePrecision(null=True, default=None)
    reason = Text(null=True, default=None)  # why the value is null


class RatioSource(Table, tablename="kpi_ratio_source"):
    """A statement version a subject's ratios used in a run: the period's and the opening's."""

    id = BigSerial(primary_key=True)
    run = UUID()
    entity = UUID(null=True, default=None)  # the subject, as in kpi_ratio
    node = Varchar(length=60, null=True, default=None)
    period = Varchar(length=7)  # the statement's period (the run's, or the opening year-end)
    member = UUID()  # the entity whose statement it is
    statement = UUID()
    version = Integer()


class RatioSubject(Table, tablename="kpi_ratio_subject"):
    """Which run holds a subject's ratio and source rows in a run: itself when it computed the
    subject, an earlier run when it carried the subject forward unchanged. Read a run's rows
    through the views `kpi_ratio_in_run` and `kpi_ratio_source_in_run`."""

    id = BigSerial(primary_key=True)
    run = UUID()
    entity = UUID(null=True, default=None)
    node = Varchar(length=60, null=True, default=None)
    holder = UUID()


class ScoreRun(Table, tablename="kpi_score_run"):
    """One scoring of a year's contracts (考核评分批次): a version, of which one per year is
    current; switching `current` in the run's transaction switches every reader."""

    id = UUID(primary_key=True)
    year = Integer()
    version = Integer()
    current = Boolean()
    contracts = Integer()
    rows = Integer()  # indicator rows
    created_at = Timestamptz()
    created_by = Varchar(length=100)


class Score(Table, tablename="kpi_score"):
    """A contract's total, rank, grade, pay coefficient and review flag in a run."""

    id = BigSerial(primary_key=True)
    run = UUID()  # kpi_score_run (no foreign key: written by COPY in the run's transaction)
    contract = UUID()
    company = UUID()
    bonus = DoublePrecision()
    deduction = DoublePrecision()
    total = DoublePrecision()
    rank = Integer()
    band_grade = Varchar(length=1)
    a_capped = Boolean()
    grade = Varchar(length=1)
    pay_coefficient = DoublePrecision()
    review = Boolean()
    review_reason = Text(null=True, default=None)


class ScoreIndicator(Table, tablename="kpi_score_indicator"):
    """An indicator's actual, target and score of a contract in a run, in the contract's order."""

    id = BigSerial(primary_key=True)
    run = UUID()
    contract = UUID()
    position = Integer()
    indicator = Varchar(length=40)
    name = Text()
    method = Varchar(length=20)
    weight = DoublePrecision()
    actual = DoublePrecision(null=True, default=None)
    actual_reason = Text(null=True, default=None)
    target = DoublePrecision(null=True, default=None)
    tier = Varchar(length=10, null=True, default=None)
    base = DoublePrecision(null=True, default=None)
    efficacy = DoublePrecision(null=True, default=None)
    adjustment = DoublePrecision(null=True, default=None)
    score = DoublePrecision()
