"""Piccolo's configuration: the engine and the apps whose tables and migrations it manages."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from stateasset.db import database_url

DB = PostgresEngine(config={"dsn": database_url()}, log_queries=False)

APP_REGISTRY = AppRegistry(
    apps=[
        "stateasset.core.piccolo_app",
        "stateasset.auth.piccolo_app",
        "stateasset.audit.piccolo_app",
        "stateasset.ledger.piccolo_app",
    ]
)
