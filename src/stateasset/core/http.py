"""Request ids, structured logs and the mapping of every error to RFC 9457 problem details."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from enum import Enum
from typing import Any
from urllib.parse import quote

import asyncpg
import msgspec
import structlog
from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from stateasset.core.errors import DomainError, FieldProblem
from stateasset.core.schemas import Problem

log = structlog.get_logger("stateasset.http")

request_id_var: ContextVar[str] = ContextVar("request_id", default="")

PROBLEM_MEDIA_TYPE = "application/problem+json"
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
# What a caller's X-Request-ID may be before it is echoed, logged and stored in the audit log.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `([^`]+)`")
MAX_FIELD_PROBLEMS = 100
"""A problem lists at most this many errors; `errors_truncated` counts the rest."""
MAX_PROBLEM_TEXT = 200
"""Characters kept of an error's field and reason, which may echo the caller's input."""


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(content: bytes, filename: str) -> Response[bytes]:
    """A workbook as an attachment, for the API's exports and the pages' alike.

    The name goes out twice (RFC 6266): `filename*` percent-encoded UTF-8, which keeps a Chinese
    name, and a plain ASCII `filename` for clients that read only that.
    """
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("_-") or "export.xlsx"
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
            )
        },
    )


def configure_logging(*, json: bool) -> None:
    """Structured logs: key=value for people at a terminal, JSON lines for collectors."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )


class RequestIdMiddleware(ASGIMiddleware):
    """Give every request an id (or keep the caller's `X-Request-ID`) and log its outcome.

    A caller's id is kept only when it is 1–64 of `A-Z a-z 0-9 . _ -`; anything else is replaced
    by a fresh id rather than refused, so a proxy's odd ids never cost a request. Requests whose
    headers together pass `max_header_bytes` are answered 431 before anything else reads them.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, max_header_bytes: int = 32 * 1024) -> None:
        self.max_header_bytes = max_header_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        raw_headers = scope.get("headers", [])
        incoming = next((v for k, v in raw_headers if k == b"x-request-id"), b"")
        valid = _REQUEST_ID.fullmatch(incoming)
        request_id = incoming.decode("ascii") if valid else uuid.uuid4().hex
        if sum(len(k) + len(v) for k, v in raw_headers) > self.max_header_bytes:
            await _refuse_large_headers(scope, send, request_id, self.max_header_bytes)
            return
        token = request_id_var.set(request_id)
        # Errors raised by outer middleware are rendered after this frame unwinds; keep the id
        # on the scope for them.
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                existing = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in existing):
                    existing.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = existing
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        except Exception as exc:
            # Rendered by the app's exception handler after this frame; log what it will send.
            status = 503 if database_unavailable(exc) else getattr(exc, "status_code", 500)
            raise
        finally:
            log.info("request", method=scope.get("method"), path=scope.get("path"), status=status)
            structlog.contextvars.unbind_contextvars("request_id", "user")
            request_id_var.reset(token)


async def _refuse_large_headers(scope: Scope, send: Send, request_id: str, limit: int) -> None:
    problem = Problem(
        type="/problems/headers-too-large",
        title="Request header fields too large",
        status=431,
        detail=f"The request's headers exceed {limit} bytes.",
        instance=scope.get("path", ""),
        request_id=request_id,
        errors=[FieldProblem(field="headers", reason=f"more than {limit} bytes")],
    )
    body = msgspec.json.encode(problem)
    await send(
        {
            "type": "http.response.start",
            "status": 431,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
    log.info("request", method=scope.get("method"), path=scope.get("path"), status=431)


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    title: str,
    slug: str,
    detail: str = "",
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[Any]:
    """The one place a problem-details body is built."""
    request_id = request_id_var.get() or request.scope.get("state", {}).get("request_id", "")
    errors = errors or []
    problem = Problem(
        type=f"/problems/{slug}",
        title=title,
        status=status,
        detail=_clip(detail, 4 * MAX_PROBLEM_TEXT),
        instance=request.url.path,
        request_id=request_id,
        # An 8 MiB body of bad items once answered 25.6 MB of errors: the first ones suffice.
        errors=[
            FieldProblem(field=_clip(e.field), reason=_clip(e.reason))
            for e in errors[:MAX_FIELD_PROBLEMS]
        ],
        errors_truncated=max(0, len(errors) - MAX_FIELD_PROBLEMS),
    )
    body: Any = problem
    if extra:
        from msgspec import structs

        body = {**structs.asdict(problem), **extra}
        body["errors"] = [structs.asdict(e) for e in problem.errors]
        if not problem.errors_truncated:
            del body["errors_truncated"]
        for key, value in extra.items():  # lists beside `errors` (an upload's rows) alike
            if isinstance(value, list) and len(value) > MAX_FIELD_PROBLEMS:
                body[key] = value[:MAX_FIELD_PROBLEMS]
                body[f"{key}_truncated"] = len(value) - MAX_FIELD_PROBLEMS
    headers = {**(headers or {}), "x-request-id": request_id} if request_id else headers
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _clip(text: str, limit: int = MAX_PROBLEM_TEXT) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _field_problems(exc: ValidationException) -> list[FieldProblem]:
    problems = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        message = str(item.get("message", "invalid value"))
        key = str(item.get("key", "")).replace("$", "").strip(".")
        if key == "data" or key.startswith("data."):
            key = key[4:].strip(".")  # litestar's name for the request body
        source = item.get("source", "body")
        # Litestar gives a ParamType (a str-mixin Enum), whose str() is "ParamType.QUERY".
        source = source.value if isinstance(source, Enum) else str(source)
        if missing := _MISSING_FIELD.search(message):
            key = f"{key}.{missing.group(1)}".strip(".")
        elif unknown := _UNKNOWN_FIELD.search(message):
            key, message = f"{key}.{unknown.group(1)}".strip("."), "unknown field"
        problems.append(FieldProblem(field=f"{source}.{key}".rstrip("."), reason=message))
    return problems


def on_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = _field_problems(exc)
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors[:3]) or str(exc.detail)
    if len(errors) > 3:
        detail += f"; and {len(errors) - 3} more"
    return problem_response(
        request,
        status=400,
        title="Invalid request",
        slug="bad-request",
        detail=detail,
        errors=errors,
    )


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    title = {
        400: "Bad request",
        401: "Not authenticated",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        413: "Request too large",
        429: "Too many requests",
    }.get(exc.status_code, "Error")
    detail = str(exc.detail) if exc.detail else title
    return problem_response(
        request,
        status=exc.status_code,
        title=title,
        slug=title.lower().replace(" ", "-"),
        detail=detail,
        headers=exc.headers,
    )


def on_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    retry_after = exc.extra.get("retry_after")
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        slug=exc.slug,
        detail=exc.detail,
        errors=exc.errors,
        headers={"Retry-After": str(retry_after)} if retry_after is not None else None,
        extra=exc.extra,
    )


DATABASE_RETRY_AFTER = "5"
"""Seconds a client is asked to wait when the database cannot be reached."""

_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,  # includes ConnectionDoesNotExistError: lost mid-query
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached now, rather than that a request is bad.

    Socket errors (refused, reset, a missing Unix socket, a connect timeout) count only when they
    come from the driver, so a missing file elsewhere stays a 500.
    """
    if isinstance(exc, _UNAVAILABLE):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return "closed" in str(exc) or "closing" in str(exc)
    if isinstance(exc, OSError):
        frame = exc.__traceback__
        while frame is not None:
            if frame.tb_frame.f_globals.get("__name__", "").startswith("asyncpg"):
                return True
            frame = frame.tb_next
    return False


def on_database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """503 with Retry-After and one log line, not a traceback per request, during an outage."""
    if not database_unavailable(exc):
        return on_unexpected_error(request, exc)
    log.warning("database unavailable", error=f"{type(exc).__name__}: {exc}"[:300])
    return problem_response(
        request,
        status=503,
        title="Service unavailable",
        slug="unavailable",
        detail=(
            "The database cannot be reached now. Retry after a few seconds; a POST retried with "
            "the same Idempotency-Key is never applied twice."
        ),
        headers={"Retry-After": DATABASE_RETRY_AFTER},
    )


def on_database_error(request: Request[Any, Any, Any], exc: asyncpg.PostgresError) -> Response[Any]:
    """Constraint violations that slipped past validation are the client's input, not a crash."""
    if database_unavailable(exc):
        return on_database_unavailable(request, exc)
    if isinstance(exc, asyncpg.UniqueViolationError):
        status, title, slug = 409, "Conflict", "conflict"
    elif isinstance(exc, asyncpg.IntegrityConstraintViolationError | asyncpg.DataError):
        status, title, slug = 422, "Validation failed", "validation"
    else:
        return on_unexpected_error(request, exc)
    detail = getattr(exc, "detail", None) or str(exc).splitlines()[0]
    return problem_response(request, status=status, title=title, slug=slug, detail=detail)


def on_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", exc_info=exc)
    return problem_response(
        request,
        status=500,
        title="Internal error",
        slug="internal",
        detail="The server failed to handle this request; it has been logged with the request id.",
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    DomainError: on_domain_error,
    asyncpg.PostgresError: on_database_error,
    asyncpg.InterfaceError: on_database_unavailable,
    OSError: on_database_unavailable,
    Exception: on_unexpected_error,
}
