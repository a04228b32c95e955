from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T19:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "kpi: custom indicators and values entered with evidence, in versions"

SQL = r"""
CREATE TABLE kpi_indicator (
    id uuid PRIMARY KEY,
    code varchar(40) NOT NULL UNIQUE CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
    name varchar(100) NOT NULL,
    unit varchar(20) NOT NULL,
    direction varchar(6) NOT NULL CHECK (direction IN ('higher', 'lower')),
    description text NOT NULL,
    created_at timestamptz NOT NULL,
    created_by varchar(100) NOT NULL
);
CREATE TABLE kpi_entered_value (
    id uuid PRIMARY KEY,
    company uuid NOT NULL REFERENCES entity (id),
    year integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    indicator varchar(40) NOT NULL,
    version integer NOT NULL CHECK (version >= 1),
    -- as entered (a decimal string, at most 6 places): no scale that would pad or round it
    value numeric NOT NULL CHECK (scale(value) <= 6 AND abs(value) < 1e18),
    evidence text NOT NULL CHECK (btrim(evidence) <> ''),
    evidence_url text,
    entered_at timestamptz NOT NULL,
    entered_by varchar(100) NOT NULL,
    CONSTRAINT kpi_entered_value_version_once UNIQUE (company, year, indicator, version)
);
CREATE INDEX kpi_entered_value_indicator ON kpi_entered_value (indicator, company, year);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="kpi", description=DESCRIPTION)

    async def create():
        transaction = engine_finder().current_transaction.get()
        await transaction.connection.execute(SQL)

    manager.add_raw(create)
    return manager
