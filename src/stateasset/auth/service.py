"""Users, passwords and sign-in."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from uuid import UUID, uuid4

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from stateasset.audit import service as audit_service
from stateasset.auth.roles import Role, effective_permissions, known_permissions
from stateasset.auth.schemas import Actor, UserCreate, UserRead, UserUpdate
from stateasset.auth.tables import User
from stateasset.core.errors import Conflict, NotFound, TooManyRequests, invalid
from stateasset.db import engine

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

SYSTEM_ACTOR = "system"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class LoginThrottle:
    """Refuse sign-in for a name+address after too many failures inside a sliding window."""

    def __init__(self, attempts: int, window_seconds: int) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def check(self, username: str, client: str) -> None:
        failures = self._prune((username.lower(), client))
        if len(failures) >= self.attempts:
            retry = int(self.window - (time.monotonic() - failures[0])) + 1
            raise TooManyRequests(
                f"Too many failed sign-in attempts; try again in {retry} seconds.",
                extra={"retry_after": retry},
            )

    def failed(self, username: str, client: str) -> None:
        self._failures[(username.lower(), client)].append(time.monotonic())

    def succeeded(self, username: str, client: str) -> None:
        self._failures.pop((username.lower(), client), None)

    def _prune(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures[key]
        cutoff = time.monotonic() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures


def to_actor(row: dict) -> Actor:
    return Actor(
        id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        entity_id=row["entity_id"],
        fund_ids=tuple(row["fund_ids"] or ()),
        grants=frozenset(known_permissions(row["grants"] or ())),
    )


def _user_read(row: dict) -> UserRead:
    grants = known_permissions(row["grants"] or ())
    permissions = sorted(effective_permissions(Role(row["role"]), grants))
    return msgspec.convert({**row, "grants": grants, "permissions": permissions}, UserRead)


async def authenticate(username: str, password: str) -> Actor | None:
    """The actor for valid, active credentials; None otherwise (same cost either way)."""
    row = await User.select().where(User.username == username).first()
    stored = row["password_hash"] if row else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row["active"]:
        return None
    return to_actor(row)


async def get_actor(user_id: UUID) -> Actor | None:
    row = await User.select().where(User.id == user_id, User.active.eq(True)).first()
    return to_actor(row) if row else None


def _check_scope(role: Role, entity_id: UUID | None) -> None:
    if role == Role.entity_finance and entity_id is None:
        raise invalid("body.entity_id", "entity_finance users must be scoped to an entity")


async def create_user(*, actor: str, data: UserCreate) -> UserRead:
    """Create a user; scoped roles must name their scope."""
    _check_scope(data.role, data.entity_id)
    async with engine().transaction():
        if await User.exists().where(User.username == data.username):
            raise Conflict(f"username {data.username!r} is taken")
        user = User(
            id=uuid4(),
            username=data.username,
            display_name=data.display_name,
            password_hash=hash_password(data.password),
            role=data.role.value,
            entity_id=data.entity_id,
            fund_ids=list(data.fund_ids),
            grants=[g.value for g in sorted(set(data.grants))],
            active=True,
            created_at=datetime.now(UTC),
        )
        await user.save()
        read = await get_user(user.id)
        await audit_service.record(
            actor=actor,
            action="user.create",
            object_type="user",
            object_id=user.id,
            after=msgspec.structs.asdict(read),
        )
    return read


async def update_user(*, actor: str, user_id: UUID, data: UserUpdate) -> UserRead:
    """Change a user's name, role, scope, grants or whether they may sign in."""
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    if not changes:
        raise invalid("body", "name at least one field to change")
    async with engine().transaction():
        before = await get_user(user_id)
        _check_scope(changes.get("role", before.role), changes.get("entity_id", before.entity_id))
        if "role" in changes:
            changes["role"] = changes["role"].value
        if "grants" in changes:
            changes["grants"] = [g.value for g in sorted(set(changes["grants"]))]
        await User.update({getattr(User, k): v for k, v in changes.items()}).where(
            User.id == user_id
        )
        after = await get_user(user_id)
        await audit_service.record(
            actor=actor,
            action="user.update",
            object_type="user",
            object_id=user_id,
            before=msgspec.structs.asdict(before),
            after=msgspec.structs.asdict(after),
        )
    return after


async def get_user(user_id: UUID) -> UserRead:
    row = (
        await User.select(User.all_columns(exclude=[User.password_hash]))
        .where(User.id == user_id)
        .first()
    )
    if row is None:
        raise NotFound(f"user {user_id} not found")
    return _user_read(row)


async def list_users() -> list[UserRead]:
    rows = await User.select(User.all_columns(exclude=[User.password_hash])).order_by(User.username)
    return [_user_read(r) for r in rows]
