"""create_app(): the one place the service is wired together."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from typing import Any

import msgspec
import structlog
from litestar import Litestar, Response, get
from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.security.jwt import JWTCookieAuth, Token
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from stateasset import __version__, db
from stateasset.audit.controllers import AuditController
from stateasset.audit.pages import AUDIT_PAGES
from stateasset.audit.sealer import Sealer
from stateasset.auth import service as auth_service
from stateasset.auth.controllers import AuthController, UserController
from stateasset.auth.guards import route_permission
from stateasset.auth.schemas import Actor
from stateasset.core.body import ApiRequest
from stateasset.core.http import EXCEPTION_HANDLERS, RequestIdMiddleware, configure_logging
from stateasset.funds.controllers import FUND_CONTROLLERS
from stateasset.funds.pages import FUND_PAGES
from stateasset.jobs import scheduler as job_scheduler
from stateasset.jobs.controllers import JOB_CONTROLLERS
from stateasset.jobs.pages import JOB_PAGES
from stateasset.kpi.catalogue_controllers import CATALOGUE_CONTROLLERS
from stateasset.kpi.controllers import KPI_CONTROLLERS
from stateasset.kpi.editor_pages import EDITOR_PAGES
from stateasset.kpi.pages import KPI_PAGES
from stateasset.kpi.standard_pages import STANDARD_PAGES
from stateasset.ledger.assets.controllers import ASSET_CONTROLLERS
from stateasset.ledger.assets.pages import ASSET_PAGES
from stateasset.ledger.close_pages import CLOSE_PAGES
from stateasset.ledger.controllers import LEDGER_CONTROLLERS
from stateasset.ledger.overview_pages import OVERVIEW_PAGES
from stateasset.ledger.pages import LEDGER_PAGES
from stateasset.ledger.report_pages import REPORT_PAGES
from stateasset.ledger.upload_pages import UPLOAD_PAGES
from stateasset.settings import Settings, get_settings, resolve_secrets
from stateasset.web import shell

log = structlog.get_logger("stateasset.app")

PUBLIC_PATH_PREFIXES = ("/schema", "/static")
SWAGGER_ASSETS = "/static/swagger"
# Swagger UI 5 (OpenAPI 3.1) as shipped inside the swagger-ui-py wheel: served by us, no CDN.
SWAGGER_UI_DIR = Path(importlib.util.find_spec("swagger_ui").origin).parent / "static"  # type: ignore[arg-type, union-attr]


class Health(msgspec.Struct, frozen=True):
    status: str
    version: str = __version__


@get("/health", operation_id="health", exclude_from_auth=True, opt={"public": True}, tags=["ops"])
async def health() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@get("/ready", operation_id="ready", exclude_from_auth=True, opt={"public": True}, tags=["ops"])
async def ready() -> Response[Health]:
    """Readiness: the database answers too."""
    try:
        await db.engine().run_ddl("SELECT 1")
    except Exception as exc:  # any failure to reach the database means not ready
        log.warning("not ready", error=str(exc))
        return Response(Health(status="database unavailable"), status_code=503)
    return Response(Health(status="ready"))


def _configure_auth(settings: Settings) -> JWTCookieAuth[Actor, Token]:
    async def retrieve_actor(token: Token, _: Any) -> Actor | None:
        try:
            from uuid import UUID

            actor = await auth_service.get_actor(UUID(token.sub))
        except ValueError:
            return None
        if actor is not None:
            structlog.contextvars.bind_contextvars(user=actor.username)
        return actor

    # The API reads the bearer header, the pages the session cookie holding the same token.
    return JWTCookieAuth[Actor, Token](
        retrieve_user_handler=retrieve_actor,
        token_secret=settings.jwt_secret,
        exclude=[rf"^{p}" for p in PUBLIC_PATH_PREFIXES],
        openapi_security_scheme_name="BearerToken",
        key=shell.SESSION_COOKIE,
        samesite="lax",
        authentication_middleware_class=shell.BearerOrSessionMiddleware,
    )


def _configure_openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="StateAsset API",
        version=__version__,
        description="国有资产营运投资集团: unified asset ledger, mother fund and KPI scoring.",
        path="/schema",
        use_handler_docstrings=True,
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{SWAGGER_ASSETS}/favicon-32x32.png'>",
            )
        ],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
            }
        ),
    )


def _check_every_route_is_guarded(app: Litestar) -> None:
    """A route without an explicit permission (or an explicit `public`) must not ship."""
    unguarded = []
    for route in app.routes:
        if route.path.startswith(PUBLIC_PATH_PREFIXES):
            continue
        for handler in getattr(route, "route_handlers", []):
            if handler.http_methods == {"OPTIONS"}:
                continue  # CORS preflight answers carry no data
            if handler.opt.get("public") or route_permission(handler) is not None:
                continue
            unguarded.append(f"{route.path} ({handler.handler_name})")
    if unguarded:
        raise RuntimeError("routes without a permission: " + ", ".join(sorted(unguarded)))


def _summarise_operations(app: Litestar) -> None:
    """Give each operation without an explicit `summary=` its docstring's first line.

    Litestar would otherwise title-case the function name; the description is the whole docstring
    (`use_handler_docstrings`). The reference is built on first request, after this runs.
    """
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            doc = inspect.getdoc(handler.fn)
            if handler.summary is None and doc:
                handler.summary = doc.splitlines()[0]


def _request_id_first(max_header_bytes: int) -> Any:
    def insert(app_config: AppConfig) -> AppConfig:
        app_config.middleware.insert(0, RequestIdMiddleware(max_header_bytes=max_header_bytes))
        return app_config

    return insert


def _route_handlers() -> list[ControllerRouterHandler]:
    swagger_assets = create_static_files_router(
        path=SWAGGER_ASSETS,
        directories=[SWAGGER_UI_DIR],
        opt={"public": True},
        include_in_schema=False,
    )
    return [
        health,
        ready,
        swagger_assets,
        shell.static_router(),
        shell.ShellController,
        *LEDGER_PAGES,
        *OVERVIEW_PAGES,
        *CLOSE_PAGES,
        *REPORT_PAGES,
        *UPLOAD_PAGES,
        *ASSET_PAGES,
        *FUND_PAGES,
        *KPI_PAGES,
        *STANDARD_PAGES,
        *EDITOR_PAGES,
        AuthController,
        UserController,
        AuditController,
        *AUDIT_PAGES,
        *JOB_PAGES,
        *LEDGER_CONTROLLERS,
        *ASSET_CONTROLLERS,
        *FUND_CONTROLLERS,
        *KPI_CONTROLLERS,
        *CATALOGUE_CONTROLLERS,
        *JOB_CONTROLLERS,
    ]


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the ASGI app; the pool opens at startup and closes at shutdown."""
    from stateasset.auth.service import LoginThrottle

    settings = resolve_secrets(settings or get_settings())
    settings.check()
    configure_logging(json=settings.log_json)
    jwt_auth = _configure_auth(settings)

    async def open_pool() -> None:
        await db.open_pool()

    async def close_pool() -> None:
        await db.close_pool()

    # Links committed audit entries into the keyed chain; its own lock only, never a writer's.
    sealer = Sealer()

    async def start_sealer() -> None:
        sealer.start()

    async def stop_sealer() -> None:
        await sealer.stop()

    # Jobs on their schedules and the runs period locks queue; off where a separate
    # `stateasset scheduler` process runs them (and in tests).
    jobs = job_scheduler.InProcess(settings)

    async def start_jobs() -> None:
        if settings.scheduler_on:
            await jobs.start()

    async def stop_jobs() -> None:
        await jobs.stop()

    app = Litestar(
        route_handlers=_route_handlers(),
        # The request id goes outermost, so even an authentication failure carries one.
        on_app_init=[jwt_auth.on_app_init, _request_id_first(settings.max_header_bytes)],
        on_startup=[open_pool, start_sealer, start_jobs],
        on_shutdown=[stop_jobs, stop_sealer, close_pool],
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=shell.template_config(),
        csrf_config=shell.csrf_config(settings.jwt_secret),
        request_class=ApiRequest,  # exact numbers; undecodable bodies are 400
        openapi_config=_configure_openapi(),
        state=State(
            {
                "login_throttle": LoginThrottle(
                    settings.login_attempts,
                    settings.login_window_seconds,
                    name_attempts=settings.login_name_attempts,
                    max_keys=settings.login_throttle_max_keys,
                )
            }
        ),
        cors_config=CORSConfig(allow_origins=[]),
        request_max_body_size=50 * 1024 * 1024,
        debug=False,
    )
    _check_every_route_is_guarded(app)
    _summarise_operations(app)
    return app
