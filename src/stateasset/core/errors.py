"""One exception hierarchy for domain failures, mapped to RFC 9457 problem details once, in app.py."""

from __future__ import annotations

from typing import Any

import msgspec


class FieldProblem(msgspec.Struct, frozen=True):
    """One thing wrong with the input: where (`body.items[3].amount`) and why."""

    field: str
    reason: str


class DomainError(Exception):
    """A request the domain refuses; `status` picks the HTTP status."""

    status: int = 422
    title: str = "Unprocessable request"
    slug: str = "unprocessable"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldProblem] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra or {}


class NotFound(DomainError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(DomainError):
    """The request clashes with the state of the data (a locked period, a duplicate, a replay)."""

    status = 409
    title = "Conflict"
    slug = "conflict"


class Invalid(DomainError):
    """Well-formed input that breaks a domain rule; `errors` name the fields."""

    status = 422
    title = "Validation failed"
    slug = "validation"


class Forbidden(DomainError):
    """Authenticated, but outside the caller's role or scope."""

    status = 403
    title = "Forbidden"
    slug = "forbidden"


class TooLarge(DomainError):
    """Input past a configured size limit; `extra` names the limit and the value found."""

    status = 413
    title = "Content too large"
    slug = "too-large"


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"
    slug = "rate-limited"


def invalid(field: str, reason: str) -> Invalid:
    """Shorthand for the common one-field validation failure."""
    return Invalid(f"{field}: {reason}", errors=[FieldProblem(field=field, reason=reason)])
