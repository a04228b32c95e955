"""Route guards: each names the permission it checks, so the app can prove every route has one."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor


def requires(permission: Permission) -> Guard:
    """A guard that lets through only actors holding `permission`, by role or by grant."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        actor = connection.scope.get("user")
        if not isinstance(actor, Actor):
            raise NotAuthorizedException("Sign in first")
        if not allowed(actor, permission):
            raise PermissionDeniedException(
                f"role {actor.role.value} does not have permission {permission.value}"
                " and it was not granted"
            )

    guard.permission = permission  # type: ignore[attr-defined]
    guard.__name__ = f"requires_{permission.name}"
    return guard


def route_permission(handler: BaseRouteHandler) -> Permission | None:
    """The permission a route is guarded by, if any."""
    for guard in handler.resolve_guards():
        if (permission := getattr(guard, "permission", None)) is not None:
            return permission
    return None


def allowed(actor: Actor, permission: Permission) -> bool:
    """Whether `actor` holds `permission` (role or grant): the one check services make."""
    return permission in actor.permissions
