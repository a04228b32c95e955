from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "state share and override method checks; the ownership version's one row"

SQL = """
ALTER TABLE entity ADD CONSTRAINT entity_state_share_is_fraction CHECK (
    state_share >= 0 AND state_share <= 1);
ALTER TABLE control_override ADD CONSTRAINT control_override_method_known CHECK (
    method IS NULL OR method IN ('full', 'equity', 'none'));
ALTER TABLE control_override ADD CONSTRAINT control_override_method_agrees CHECK (
    method IS NULL OR (method = 'full') = controlled);
ALTER TABLE ownership_version ADD CONSTRAINT ownership_version_one_row CHECK (id = 1);
INSERT INTO ownership_version (id, token) VALUES (1, gen_random_uuid()) ON CONFLICT DO NOTHING;
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def constraints():
        transaction = engine_finder().current_transaction.get()
        await transaction.connection.execute(SQL)

    manager.add_raw(constraints)
    return manager
