from piccolo.conf.apps import AppConfig

from stateasset.ledger.assets.tables import (
    AssetCampaign,
    AssetCard,
    AssetCount,
    AssetEvent,
    AssetTransfer,
    AssetTransferItem,
)
from stateasset.ledger.tables import (
    ConsolidationResult,
    ControlOverride,
    Entity,
    IntercompanyLine,
    OwnershipVersion,
    PeriodState,
    Stake,
    Statement,
    StatementLine,
)
from stateasset.settings import PROJECT_ROOT

APP_CONFIG = AppConfig(
    app_name="ledger",
    migrations_folder_path=str(PROJECT_ROOT / "piccolo_migrations" / "ledger"),
    table_classes=[
        Entity,
        Stake,
        ControlOverride,
        PeriodState,
        Statement,
        StatementLine,
        IntercompanyLine,
        OwnershipVersion,
        ConsolidationResult,
        AssetCard,
        AssetTransfer,
        AssetTransferItem,
        AssetEvent,
        AssetCampaign,
        AssetCount,
    ],
    migration_dependencies=[],
    commands=[],
)
