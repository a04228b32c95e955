from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "kpi: contracts in versions, peer standard values and macro series"

SQL = r"""
CREATE TABLE kpi_contract (
    id uuid PRIMARY KEY,
    lineage uuid NOT NULL,
    version integer NOT NULL CHECK (version >= 1),
    company uuid NOT NULL REFERENCES entity (id),
    name text NOT NULL,
    industry varchar(40) NOT NULL,
    tenure_start integer NOT NULL,
    tenure_years integer NOT NULL CHECK (tenure_years BETWEEN 1 AND 10),
    state varchar(10) NOT NULL CHECK (state IN ('draft', 'signed', 'active', 'closed')),
    terms jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    created_by varchar(100) NOT NULL,
    signed_at timestamptz,
    signed_by varchar(100),
    CONSTRAINT kpi_contract_version_once UNIQUE (lineage, version)
);
CREATE INDEX kpi_contract_company ON kpi_contract (company);
CREATE TABLE kpi_peer_standard (
    id uuid PRIMARY KEY,
    industry varchar(40) NOT NULL,
    indicator varchar(60) NOT NULL,
    year integer NOT NULL,
    tier_1 numeric(20, 6) NOT NULL,
    tier_2 numeric(20, 6) NOT NULL,
    tier_3 numeric(20, 6) NOT NULL,
    tier_4 numeric(20, 6) NOT NULL,
    tier_5 numeric(20, 6) NOT NULL,
    source text NOT NULL,
    created_at timestamptz NOT NULL,
    created_by varchar(100) NOT NULL,
    CONSTRAINT kpi_peer_standard_once UNIQUE (industry, indicator, year)
);
CREATE TABLE kpi_macro_point (
    id uuid PRIMARY KEY,
    series varchar(60) NOT NULL,
    year integer NOT NULL,
    value numeric(20, 6) NOT NULL,
    source text NOT NULL,
    created_at timestamptz NOT NULL,
    created_by varchar(100) NOT NULL,
    CONSTRAINT kpi_macro_point_once UNIQUE (series, year)
);
CREATE OR REPLACE FUNCTION kpi_contract_signed_is_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once signed, only the state moves on (signed → active → closed); terms never change.
    IF OLD.state <> 'draft' AND (to_jsonb(NEW) - 'state') <> (to_jsonb(OLD) - 'state') THEN
        RAISE EXCEPTION 'a signed contract changes only by a new version';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER kpi_contract_fixed BEFORE UPDATE ON kpi_contract
    FOR EACH ROW EXECUTE FUNCTION kpi_contract_signed_is_fixed();
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="kpi", description=DESCRIPTION)

    async def create():
        transaction = engine_finder().current_transaction.get()
        await transaction.connection.execute(SQL)

    manager.add_raw(create)
    return manager
