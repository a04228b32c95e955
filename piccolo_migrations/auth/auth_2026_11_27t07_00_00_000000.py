from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "constraints, triggers and indexes the table classes cannot express"

SQL = """
ALTER TABLE app_user ADD CONSTRAINT app_user_role_known CHECK (
    role IN ('admin', 'group_finance', 'entity_finance', 'fund_manager', 'board', 'auditor'));
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="auth", description=DESCRIPTION)

    async def constraints():
        # Several statements (and a plpgsql body): run them through the simple query protocol
        # on the migration's own transaction.
        transaction = engine_finder().current_transaction.get()
        await transaction.connection.execute(SQL)

    manager.add_raw(constraints)
    return manager
