from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T15:13:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "asset register: uniqueness, known values, and events that cannot be changed"

SQL = """
ALTER TABLE asset_card ADD CONSTRAINT asset_card_code_per_holder UNIQUE (holder, code);
ALTER TABLE asset_card ADD CONSTRAINT asset_card_category_known CHECK (category IN (
    'land', 'buildings', 'infrastructure', 'equipment', 'vehicles', 'equity', 'fund_interest',
    'intangible', 'other'));
ALTER TABLE asset_card ADD CONSTRAINT asset_card_source_known CHECK (
    source IN ('transfer_in', 'purchase', 'self_built', 'donation', 'surplus'));
ALTER TABLE asset_card ADD CONSTRAINT asset_card_status_known CHECK (
    status IN ('in_use', 'idle', 'leased_out', 'disposed'));
ALTER TABLE asset_card ADD CONSTRAINT asset_card_life_not_negative CHECK (useful_life_months >= 0);
ALTER TABLE asset_event ADD CONSTRAINT asset_event_kind_known CHECK (kind IN (
    'acquire', 'depreciate', 'revalue', 'income', 'transfer_out', 'transfer_in', 'dispose',
    'reversal'));
ALTER TABLE asset_event ADD CONSTRAINT asset_event_reversed_once UNIQUE (reverses);
CREATE UNIQUE INDEX asset_event_depreciation_once ON asset_event (card, month)
    WHERE kind = 'depreciate';
CREATE INDEX asset_event_card_date ON asset_event (card, event_date);
ALTER TABLE asset_transfer ADD CONSTRAINT asset_transfer_status_known CHECK (
    status IN ('requested', 'approved', 'posted', 'rejected'));
ALTER TABLE asset_transfer ADD CONSTRAINT asset_transfer_not_self CHECK (from_holder <> to_holder);
ALTER TABLE asset_transfer_item ADD CONSTRAINT asset_transfer_item_once UNIQUE (transfer, card);
ALTER TABLE asset_campaign ADD CONSTRAINT asset_campaign_status_known CHECK (
    status IN ('open', 'closed'));
ALTER TABLE asset_count ADD CONSTRAINT asset_count_once UNIQUE (campaign, holder, code);
CREATE OR REPLACE FUNCTION asset_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'asset_event is append-only: post a reversal instead';
END $$;
CREATE TRIGGER asset_event_no_update BEFORE UPDATE OR DELETE ON asset_event
    FOR EACH ROW EXECUTE FUNCTION asset_event_append_only();
CREATE TRIGGER asset_event_no_truncate BEFORE TRUNCATE ON asset_event
    FOR EACH STATEMENT EXECUTE FUNCTION asset_event_append_only();
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def constraints():
        transaction = engine_finder().current_transaction.get()
        await transaction.connection.execute(SQL)

    manager.add_raw(constraints)
    return manager
