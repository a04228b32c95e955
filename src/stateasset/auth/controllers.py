"""Sign-in, the current user, and user administration."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from stateasset.auth import service
from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import (
    Actor,
    LoginRequest,
    TokenResponse,
    UserCreate,
    UserRead,
    UserUpdate,
)
from stateasset.core.errors import DomainError
from stateasset.settings import get_settings


class BadCredentials(DomainError):
    status = 401
    title = "Not authenticated"
    slug = "bad-credentials"


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", operation_id="login", exclude_from_auth=True, opt={"public": True})
    async def login(
        self, data: JSONBody[LoginRequest], request: Request[Any, Any, Any], state: State
    ) -> TokenResponse:
        """Exchange a username and password for a short-lived bearer token."""
        settings = get_settings()
        client = request.client.host if request.client else "unknown"
        throttle = state.login_throttle
        throttle.check(data.username, client)
        actor = await service.authenticate(data.username, data.password)
        if actor is None:
            throttle.failed(data.username, client)
            raise BadCredentials("Wrong username or password, or the account is disabled.")
        throttle.succeeded(data.username, client)
        token = service.issue_token(
            actor, secret=settings.jwt_secret, minutes=settings.token_minutes
        )
        return TokenResponse(
            access_token=token,
            token_type="bearer",
            expires_in=settings.token_minutes * 60,
            user=await service.get_user(actor.id),
        )

    @get("/me", operation_id="me", guards=[requires(Permission.self_service)])
    async def me(self, request: Request[Actor, Any, Any]) -> UserRead:
        """The signed-in user."""
        return await service.get_user(request.user.id)


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["auth"]
    guards = [requires(Permission.users_admin)]

    @get("/", operation_id="list_users")
    async def list_users(self) -> list[UserRead]:
        """Every user, by name."""
        return await service.list_users()

    @post("/", operation_id="create_user")
    async def create_user(
        self, data: JSONBody[UserCreate], request: Request[Actor, Any, Any]
    ) -> UserRead:
        """Create a user with a role, a scope and any permissions granted on top of the role."""
        return await service.create_user(actor=request.user.username, data=data)

    @patch("/{user_id:uuid}", operation_id="update_user")
    async def update_user(
        self, user_id: FromPath[UUID], data: JSONBody[UserUpdate], request: Request[Actor, Any, Any]
    ) -> UserRead:
        """Change a user's role, scope, grants or whether they may sign in."""
        return await service.update_user(actor=request.user.username, user_id=user_id, data=data)
