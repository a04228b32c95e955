from piccolo.conf.apps import AppConfig

from stateasset.funds.tables import (
    Commitment,
    Fund,
    FundFlow,
    FundGp,
    FundGpRole,
    IndexPoint,
    Investment,
    Metric,
    MetricRun,
    NavStatement,
    Valuation,
)
from stateasset.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="funds",
    migrations_folder_path=str(PROJECT_ROOT / "piccolo_migrations" / "funds"),
    table_classes=[
        FundGp,
        Fund,
        FundGpRole,
        Commitment,
        FundFlow,
        NavStatement,
        Investment,
        Valuation,
        IndexPoint,
        MetricRun,
        Metric,
    ],
    migration_dependencies=["stateasset.ledger.piccolo_app"],
    commands=[],
)
