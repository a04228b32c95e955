from piccolo.conf.apps import AppConfig

from stateasset.auth.tables import User
from stateasset.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="auth",
    migrations_folder_path=str(PROJECT_ROOT / "piccolo_migrations" / "auth"),
    table_classes=[User],
    migration_dependencies=[],
    commands=[],
)
