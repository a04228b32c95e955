from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "constraints, triggers and indexes the table classes cannot express"

SQL = """
ALTER TABLE stake ADD CONSTRAINT stake_shares_are_fractions CHECK (
    economic_share >= 0 AND economic_share <= 1 AND voting_share >= 0 AND voting_share <= 1);
ALTER TABLE stake ADD CONSTRAINT stake_dates_ordered CHECK (valid_to IS NULL OR valid_to > valid_from);
ALTER TABLE stake ADD CONSTRAINT stake_not_self CHECK (holder <> held);
ALTER TABLE control_override ADD CONSTRAINT control_override_dates_ordered CHECK (
    valid_to IS NULL OR valid_to > valid_from);
ALTER TABLE period_state ADD CONSTRAINT period_state_one_row UNIQUE (entity, period);
ALTER TABLE period_state ADD CONSTRAINT period_state_known CHECK (
    state IN ('open', 'submitted', 'validated', 'locked'));
ALTER TABLE statement ADD CONSTRAINT statement_version_unique UNIQUE (entity, period, version);
ALTER TABLE statement_line ADD CONSTRAINT statement_line_item_unique UNIQUE (statement, item);
ALTER TABLE intercompany_line ADD CONSTRAINT intercompany_line_unique UNIQUE (entity, partner, period, kind);
ALTER TABLE intercompany_line ADD CONSTRAINT intercompany_line_kind_known CHECK (
    kind IN ('receivable', 'payable', 'revenue', 'cost', 'investment', 'equity'));
ALTER TABLE intercompany_line ADD CONSTRAINT intercompany_line_not_self CHECK (entity <> partner);
CREATE INDEX intercompany_line_period ON intercompany_line (period);
CREATE INDEX statement_period ON statement (period);
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def constraints():
        # Several statements (and a plpgsql body): run them through the simple query protocol
        # on the migration's own transaction.
        transaction = engine_finder().current_transaction.get()
        await transaction.connection.execute(SQL)

    manager.add_raw(constraints)
    return manager
