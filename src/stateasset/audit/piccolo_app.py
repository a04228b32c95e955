from piccolo.conf.apps import AppConfig

from stateasset.audit.tables import AuditEntry, AuditSeal
from stateasset.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="audit",
    migrations_folder_path=str(PROJECT_ROOT / "piccolo_migrations" / "audit"),
    table_classes=[AuditEntry, AuditSeal],
    migration_dependencies=[],
    commands=[],
)
