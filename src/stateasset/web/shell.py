"""The shell every page is built in: templates, the session cookie, CSRF, sign-in, error pages.

Session: signing in on `/login` checks the password with the API's own `auth.service.authenticate`
(Argon2 off the event loop) behind the same `LoginThrottle`, and sets an HttpOnly, SameSite=Lax
cookie (Secure over https) holding the same signed token the API hands out. One authentication
middleware reads the bearer header for `/api` and the cookie for everything else (`app.py`), so a
page's `request.user` is the same `Actor`, checked by the same guards and scopes.

CSRF: every unsafe method on a page needs Litestar's double-submit token (`csrf_token()` in a form,
`_csrf_token` field); the JSON API is excluded, as it authenticates by header only and a browser
never attaches that header by itself.

Errors: a page request without a valid session is sent to `/login?next=<where it was going>`; a
route whose permission the role lacks, or a record outside the user's scope, gets a 403 page in
Chinese. A record outside a scoped user's scope answers as the API does (not found, existence not
revealed) unless the page turns that into 403 itself, as the entity page does for scoped users.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware.authentication import AuthenticationResult
from litestar.params import Body, FromQuery
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.security.jwt import Token
from litestar.security.jwt.middleware import (
    JWTAuthenticationMiddleware,
    JWTCookieAuthenticationMiddleware,
)
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from stateasset import __version__
from stateasset.auth import service as auth_service
from stateasset.auth.schemas import Actor
from stateasset.auth.tokens import VerifiedTokens
from stateasset.core.errors import DomainError, NotFound, TooManyRequests
from stateasset.settings import get_settings
from stateasset.web import registry
from stateasset.web.format import FILTERS

WEB = Path(__file__).parent
SRC = WEB.parent
# The shell's templates, then one directory per domain that owns pages.
TEMPLATE_DIRS = [
    WEB / "templates",
    SRC / "ledger" / "templates",
    SRC / "audit" / "templates",
    SRC / "funds" / "templates",
    SRC / "kpi" / "templates",
    SRC / "jobs" / "templates",
]
STATIC_PATH = "/static/web"
SESSION_COOKIE = "stateasset_session"
CSRF_COOKIE = "stateasset_csrf"

ROLE_LABELS = {
    "admin": "系统管理员",
    "group_finance": "集团财务",
    "entity_finance": "子公司财务",
    "fund_manager": "基金管理人",
    "board": "董事会",
    "auditor": "审计",
}


def _register(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(FILTERS)
    engine.engine.globals.update(static=STATIC_PATH, version=__version__, role_labels=ROLE_LABELS)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        directory=TEMPLATE_DIRS, engine=JinjaTemplateEngine, engine_callback=_register
    )


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """Whether htmx asked (it then wants only the fragment it swaps in)."""
    return request.headers.get("hx-request") == "true"


def page(
    template: str, request: Request[Any, Any, Any], *, status_code: int = 200, **context: Any
) -> Template:
    """A page in the shell: `context` plus the signed-in user and the menu they may open."""
    actor = request.scope.get("user")
    actor = actor if isinstance(actor, Actor) else None
    return Template(
        template_name=template,
        context={
            "actor": actor,
            "menu": registry.menu_for(actor) if actor else [],
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
        media_type=MediaType.HTML,
    )


def _safe_next(target: str | None) -> str:
    """A local path to return to after signing in; anything else (another site) becomes `/`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _to_login(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/login?next=" + quote(target, safe="/%")
    if is_htmx(request):  # htmx follows this header with a full page load
        return Response(content="", status_code=401, headers={"HX-Redirect": location})
    response = Redirect(location, status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _forbidden(request: Request[Any, Any, Any], exc: Exception) -> Template:
    return page("403.html", request, status_code=403, message="您无权查看此页面。")


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Template:
    return page("403.html", request, status_code=404, message="未找到此页面或记录，或您无权查看。")


def _domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Template:
    return page("error.html", request, status_code=exc.status, problem=exc)


PAGE_EXCEPTION_HANDLERS: dict[Any, Any] = {
    NotAuthorizedException: _to_login,
    PermissionDeniedException: _forbidden,
    NotFound: _not_found,
    DomainError: _domain_error,
}


class PageController(Controller):
    """Base for a domain's page controllers: HTML, out of the API reference, errors as pages."""

    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS


class ShellController(PageController):
    """Sign-in and sign-out; the start page (`/`) is the group overview, `ledger.overview_pages`."""

    @get("/login", exclude_from_auth=True, opt={"public": True})
    async def login_form(
        self, request: Request[Any, Any, Any], next: FromQuery[str] = "/"
    ) -> Template:
        """The sign-in form."""
        return page("login.html", request, next=_safe_next(next), error=None, username="")

    @post("/login", exclude_from_auth=True, opt={"public": True}, status_code=303)
    async def login(
        self,
        request: Request[Any, Any, Any],
        state: State,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        """Check the password as the API does, then set the session cookie and go on."""
        settings = get_settings()
        username = (data.get("username") or "").strip()[:150]
        password = data.get("password") or ""
        target = _safe_next(data.get("next"))
        client = request.client.host if request.client else "unknown"
        throttle = state.login_throttle
        try:
            throttle.check(username, client)
        except TooManyRequests as exc:
            retry = exc.extra.get("retry_after", 60)
            error = f"登录失败次数过多，请 {retry} 秒后再试。"
            return page(
                "login.html", request, status_code=429, next=target, error=error, username=username
            )
        actor = await auth_service.authenticate(username, password) if username else None
        if actor is None:
            throttle.failed(username, client)
            error = "用户名或密码错误，或账号已停用。"
            return page(
                "login.html", request, status_code=401, next=target, error=error, username=username
            )
        throttle.succeeded(username, client)
        token = auth_service.issue_token(
            actor, secret=settings.jwt_secret, minutes=settings.token_minutes
        )
        response = Redirect(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=settings.token_minutes * 60,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @post("/logout", exclude_from_auth=True, opt={"public": True}, status_code=303)
    async def logout(self) -> Redirect:
        """Drop the session cookie."""
        response = Redirect("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response


def static_router() -> ControllerRouterHandler:
    """The shell's CSS and the vendored htmx and ECharts, from the package: no CDN."""
    return create_static_files_router(
        path=STATIC_PATH,
        directories=[WEB / "static"],
        opt={"public": True},
        include_in_schema=False,
    )


class BearerOrSessionMiddleware(JWTCookieAuthenticationMiddleware):
    """The API (`/api`) by its bearer header only; pages by the session cookie (or the header).

    Keeping the cookie away from the API is what lets the API skip CSRF: a browser attaches the
    cookie to a forged request by itself, but never an Authorization header.
    """

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        if connection.scope["path"].startswith("/api/"):
            return await JWTAuthenticationMiddleware.authenticate_request(self, connection)
        return await super().authenticate_request(connection)

    async def authenticate_token(
        self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """As Litestar's, but a token verified before is not verified again (auth/tokens.py)."""
        token = _VERIFIED.get(encoded_token, self._verify)
        user = await self.retrieve_user_handler(token, connection)
        revoked = bool(self.revoked_token_handler) and await self.revoked_token_handler(
            token, connection
        )
        if not user or revoked:
            raise NotAuthorizedException()
        return AuthenticationResult(user=user, auth=token)

    def _verify(self, encoded_token: str) -> Token:
        return self.token_cls.decode(
            encoded_token=encoded_token,
            secret=self.token_secret,
            algorithm=self.algorithm,
            audience=self.token_audience,
            issuer=self.token_issuer,
            require_claims=self.require_claims,
            verify_exp=self.verify_expiry,
            verify_nbf=self.verify_not_before,
            strict_audience=self.strict_audience,
        )


# Per process; a token is the same in every worker, so each keeps its own.
_VERIFIED = VerifiedTokens()


def csrf_config(secret: str) -> CSRFConfig:
    """Double-submit CSRF on every page form; the bearer-only API and public assets are exempt."""
    return CSRFConfig(
        secret=hashlib.sha256(f"csrf:{secret}".encode()).hexdigest(),
        cookie_name=CSRF_COOKIE,
        cookie_httponly=False,
        cookie_samesite="lax",
        exclude=[r"^/api/", r"^/schema", r"^/static/", r"^/health$", r"^/ready$"],
    )
