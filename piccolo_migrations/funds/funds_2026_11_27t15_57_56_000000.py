from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T15:57:56:000000"
VERSION = "1.38.0"
DESCRIPTION = "funds: entities behind funds and GPs, known values, and flows that cannot be changed"

SQL = r"""
ALTER TABLE fund_gp ADD CONSTRAINT fund_gp_entity FOREIGN KEY (id) REFERENCES entity (id);
ALTER TABLE fund ADD CONSTRAINT fund_entity FOREIGN KEY (id) REFERENCES entity (id);
ALTER TABLE fund ADD CONSTRAINT fund_parent_fund FOREIGN KEY (parent) REFERENCES fund (id);
ALTER TABLE fund_gp ADD CONSTRAINT fund_gp_kind_known CHECK (kind IN ('government', 'market'));
ALTER TABLE fund_gp ADD CONSTRAINT fund_gp_registration_code CHECK (registration_code ~ '^P[0-9]{7}$');
ALTER TABLE fund ADD CONSTRAINT fund_category_known CHECK (
    category IN ('mother', 'direct', 'cooperative', 'special'));
ALTER TABLE fund ADD CONSTRAINT fund_mother_has_no_parent CHECK (
    (category = 'mother') = (parent IS NULL));
ALTER TABLE fund ADD CONSTRAINT fund_fee_basis_known CHECK (fee_basis IN ('paid_in', 'invested'));
ALTER TABLE fund ADD CONSTRAINT fund_size_positive CHECK (size > 0);
ALTER TABLE fund ADD CONSTRAINT fund_cap_share CHECK (
    government_cap IS NULL OR (government_cap > 0 AND government_cap <= 1));
ALTER TABLE fund_gp_role ADD CONSTRAINT fund_gp_role_once UNIQUE (fund, gp);
ALTER TABLE fund_gp_role ADD CONSTRAINT fund_gp_role_known CHECK (
    role IN ('executive_partner', 'manager', 'co_gp'));
ALTER TABLE fund_commitment ADD CONSTRAINT fund_commitment_once UNIQUE (fund, lp);
ALTER TABLE fund_commitment ADD CONSTRAINT fund_commitment_positive CHECK (amount > 0);
ALTER TABLE fund_flow ADD CONSTRAINT fund_flow_kind_known CHECK (kind IN ('call', 'distribution'));
ALTER TABLE fund_flow ADD CONSTRAINT fund_flow_purpose_known CHECK (purpose IN (
    'investment', 'fee', 'expense', 'return_of_capital', 'income', 'reversal'));
ALTER TABLE fund_flow ADD CONSTRAINT fund_flow_reversed_once UNIQUE (reverses);
CREATE INDEX fund_flow_fund_date ON fund_flow (fund, flow_date);
ALTER TABLE fund_nav ADD CONSTRAINT fund_nav_once UNIQUE (fund, period);
ALTER TABLE fund_investment ADD CONSTRAINT fund_investment_stage_known CHECK (
    stage IN ('seed', 'venture', 'growth', 'pre_ipo', 'buyout'));
ALTER TABLE fund_investment ADD CONSTRAINT fund_investment_reinvestment_known CHECK (
    reinvestment_kind IN ('none', 'local', 'relocated', 'local_fund'));
ALTER TABLE fund_investment ADD CONSTRAINT fund_investment_share CHECK (share > 0 AND share <= 1);
ALTER TABLE fund_valuation ADD CONSTRAINT fund_valuation_once UNIQUE (investment, as_of);
ALTER TABLE fund_index_point ADD CONSTRAINT fund_index_point_once UNIQUE (series, day);
CREATE OR REPLACE FUNCTION fund_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A call's settlement date may be set once; nothing else changes.
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'fund_flow' AND OLD.paid_on IS NULL
        AND NEW.paid_on IS NOT NULL
        AND (to_jsonb(NEW) - 'paid_on') = (to_jsonb(OLD) - 'paid_on') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: post a reversal or a new statement instead', TG_TABLE_NAME;
END $$;
CREATE TRIGGER fund_flow_no_update BEFORE UPDATE OR DELETE ON fund_flow
    FOR EACH ROW EXECUTE FUNCTION fund_append_only();
CREATE TRIGGER fund_flow_no_truncate BEFORE TRUNCATE ON fund_flow
    FOR EACH STATEMENT EXECUTE FUNCTION fund_append_only();
CREATE TRIGGER fund_nav_no_update BEFORE UPDATE OR DELETE ON fund_nav
    FOR EACH ROW EXECUTE FUNCTION fund_append_only();
CREATE TRIGGER fund_nav_no_truncate BEFORE TRUNCATE ON fund_nav
    FOR EACH STATEMENT EXECUTE FUNCTION fund_append_only();
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="funds", description=DESCRIPTION)

    async def constraints():
        transaction = engine_finder().current_transaction.get()
        await transaction.connection.execute(SQL)

    manager.add_raw(constraints)
    return manager
