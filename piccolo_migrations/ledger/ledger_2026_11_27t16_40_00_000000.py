from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigSerial
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-27T16:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "asset events numbered in insert order, so a reader can fetch only the new ones"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ledger", description=DESCRIPTION)

    manager.add_column(
        table_class_name="AssetEvent",
        tablename="asset_event",
        column_name="seq",
        db_column_name="seq",
        column_class_name="BigSerial",
        column_class=BigSerial,
        params={
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
