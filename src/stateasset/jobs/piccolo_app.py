from piccolo.conf.apps import AppConfig

from stateasset.jobs.tables import JobRun
from stateasset.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="jobs",
    migrations_folder_path=str(PROJECT_ROOT / "piccolo_migrations" / "jobs"),
    table_classes=[JobRun],
    migration_dependencies=["stateasset.kpi.piccolo_app", "stateasset.funds.piccolo_app"],
    commands=[],
)
