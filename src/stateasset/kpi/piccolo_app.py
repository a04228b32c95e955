from piccolo.conf.apps import AppConfig

from stateasset.kpi.tables import (
    Contract,
    MacroPoint,
    PeerStandard,
    Ratio,
    RatioRun,
    RatioSource,
    RatioSubject,
    Score,
    ScoreIndicator,
    ScoreRun,
)
from stateasset.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="kpi",
    migrations_folder_path=str(PROJECT_ROOT / "piccolo_migrations" / "kpi"),
    table_classes=[
        Contract,
        PeerStandard,
        MacroPoint,
        RatioRun,
        Ratio,
        RatioSource,
        RatioSubject,
        ScoreRun,
        Score,
        ScoreIndicator,
    ],
    migration_dependencies=["stateasset.ledger.piccolo_app"],
    commands=[],
)
