from piccolo.conf.apps import AppConfig

from stateasset.core.tables import IdempotencyRecord
from stateasset.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(PROJECT_ROOT / "piccolo_migrations" / "core"),
    table_classes=[IdempotencyRecord],
    migration_dependencies=[],
    commands=[],
)
