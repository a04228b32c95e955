from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "intercompany lines may report inventory_held (the buyer's stock from the seller)"

SQL = """
ALTER TABLE intercompany_line DROP CONSTRAINT IF EXISTS intercompany_line_kind_known;
ALTER TABLE intercompany_line ADD CONSTRAINT intercompany_line_kind_known CHECK (
    kind IN ('receivable', 'payable', 'revenue', 'cost', 'inventory_held', 'investment', 'equity'));
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    async def constraints():
        transaction = engine_finder().current_transaction.get()
        await transaction.connection.execute(SQL)

    manager.add_raw(constraints)
    return manager
