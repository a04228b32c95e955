from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from stateasset.auth.roles import Permission, Role, effective_permissions

Username = Annotated[str, msgspec.Meta(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=200)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Actor(msgspec.Struct, frozen=True):
    """The signed-in user as services see it: who, what they may do, and where their scope starts."""

    id: UUID
    username: str
    role: Role
    entity_id: UUID | None = None
    fund_ids: tuple[UUID, ...] = ()
    grants: frozenset[Permission] = frozenset()

    @property
    def permissions(self) -> frozenset[Permission]:
        """Effective permissions: the role's and the user's grants."""
        return effective_permissions(self.role, self.grants)


class LoginRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    # Bounded like the names and passwords users are created with; no pattern, so a wrong name is
    # the same 401 as a wrong password.
    username: Annotated[str, msgspec.Meta(max_length=100)]
    password: Annotated[str, msgspec.Meta(max_length=200)]


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
    grants: list[Permission]  # granted on top of the role's
    permissions: list[Permission]  # effective: the role's and the grants
    active: bool
    created_at: datetime


class UserCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    username: Username
    display_name: DisplayName
    password: Password
    role: Role
    entity_id: UUID | None = None
    fund_ids: list[UUID] = []
    grants: list[Permission] = []


class UserUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change; `entity_id: null` clears the entity."""

    display_name: DisplayName | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    entity_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    fund_ids: list[UUID] | msgspec.UnsetType = msgspec.UNSET
    grants: list[Permission] | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
