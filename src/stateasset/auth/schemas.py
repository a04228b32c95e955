from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from stateasset.auth.roles import Role

Username = Annotated[str, msgspec.Meta(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=200)]


class Actor(msgspec.Struct, frozen=True):
    """The signed-in user as services see it: who, which role, which scope."""

    id: UUID
    username: str
    role: Role
    entity_id: UUID | None = None
    fund_ids: tuple[UUID, ...] = ()


class LoginRequest(msgspec.Struct, frozen=True):
    username: str
    password: str


class TokenResponse(msgspec.Struct, frozen=True):
    access_token: str
    token_type: str
    expires_in: int
    user: UserRead


class UserRead(msgspec.Struct, frozen=True):
    id: UUID
    username: str
    display_name: str
    role: Role
    entity_id: UUID | None
    fund_ids: list[UUID]
    active: bool
    created_at: datetime


class UserCreate(msgspec.Struct, frozen=True):
    username: Username
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    password: Password
    role: Role
    entity_id: UUID | None = None
    fund_ids: list[UUID] = []
