"""Piccolo's configuration: the engine and the apps whose tables and migrations it manages."""

from piccolo.conf.apps import AppRegistry

from stateasset.db import Engine, database_url

# The app's own role; `stateasset migrate` switches to the owner while it runs.
DB = Engine(config={"dsn": database_url()}, log_queries=False)

APP_REGISTRY = AppRegistry(
    apps=[
        "stateasset.core.piccolo_app",
        "stateasset.auth.piccolo_app",
        "stateasset.audit.piccolo_app",
        "stateasset.ledger.piccolo_app",
        "stateasset.funds.piccolo_app",
        "stateasset.kpi.piccolo_app",
        "stateasset.jobs.piccolo_app",
    ]
)
