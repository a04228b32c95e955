"""Users, passwords and sign-in."""

from __future__ import annotations

import asyncio
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID, uuid4

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from stateasset import db
from stateasset.audit import service as audit_service
from stateasset.auth.roles import Role, effective_permissions, known_permissions
from stateasset.auth.schemas import Actor, UserCreate, UserRead, UserUpdate
from stateasset.auth.tables import User
from stateasset.core.errors import Conflict, NotFound, TooManyRequests, invalid
from stateasset.db import engine

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
# Argon2 takes ~50 ms of CPU and 64 MiB per call: run it beside the event loop (the C code releases
# the GIL), at most one call per core at a time, so a login flood queues here instead of stalling
# every other request and cannot claim more than cores × 64 MiB.
_hash_pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="argon2")

SYSTEM_ACTOR = "system"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


T = TypeVar("T")


async def _off_loop(function: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hash_pool, function, *args)


class LoginThrottle:
    """Refuse sign-in after too many failures inside a sliding window, in bounded memory.

    Two counters: per name and address (`attempts`, the usual lock-out), and per name across every
    address (`name_attempts`, looser), so guesses spread over many addresses are slowed too while
    a handful of bad requests from one address cannot lock the account for everyone. Each key
    keeps at most its limit of timestamps, is forgotten once its last failure leaves the window,
    and past `max_keys` keys the one failed least recently is dropped.
    """

    def __init__(
        self,
        attempts: int,
        window_seconds: int,
        *,
        name_attempts: int | None = None,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts = attempts
        self.name_attempts = name_attempts if name_attempts is not None else 10 * attempts
        self.window = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        # key → failure times, oldest first; keys ordered by their latest failure
        self._failures: OrderedDict[tuple[str, ...], list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def check(self, username: str, client: str) -> None:
        """Raise TooManyRequests (with `retry_after` seconds) while either counter is full."""
        self._expire()
        now = self._clock()
        name = username.lower()
        for key, limit in (((name, client), self.attempts), ((name,), self.name_attempts)):
            failures = [t for t in self._failures.get(key, ()) if t > now - self.window]
            if len(failures) >= limit:
                # open again when the oldest failure that counts leaves the window
                retry = max(1, int(self.window - (now - failures[-limit])) + 1)
                raise TooManyRequests(
                    f"Too many failed sign-in attempts; try again in {retry} seconds.",
                    extra={"retry_after": retry},
                )

    def failed(self, username: str, client: str) -> None:
        now = self._clock()
        name = username.lower()
        for key, limit in (((name, client), self.attempts), ((name,), self.name_attempts)):
            failures = self._failures.pop(key, [])
            failures.append(now)
            self._failures[key] = failures[-limit:]  # re-inserted: now the most recent
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str, client: str) -> None:
        # Only this address's count: a success here says nothing about guesses from elsewhere.
        self._failures.pop((username.lower(), client), None)

    def _expire(self) -> None:
        cutoff = self._clock() - self.window
        while self._failures:
            key, failures = next(iter(self._failures.items()))
            if failures[-1] >= cutoff:
                break
            del self._failures[key]


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
        await _off_loop(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row["active"]:
        return None
    return to_actor(row)


def issue_token(actor: Actor, *, secret: str, minutes: int) -> str:
    """A signed bearer token naming `actor`: what the API returns and the pages' session cookie holds."""
    from datetime import timedelta

    from litestar.security.jwt import Token

    now = datetime.now(UTC)
    return Token(
        sub=str(actor.id),
        exp=now + timedelta(minutes=minutes),
        iat=now,
        extras={"role": actor.role.value},
    ).encode(secret=secret, algorithm="HS256")


# Read on every authenticated request, so a disabled user or a changed grant counts from the next
# one: a prepared statement on the pool's connection, not the query builder (which cost ~0.3 ms of
# CPU a request building its SQL).
_ACTOR = (
    "SELECT id, username, role, entity_id, fund_ids, grants FROM app_user WHERE id = $1 AND active"
)


async def get_actor(user_id: UUID) -> Actor | None:
    async with db.connection() as conn:
        row = await conn.fetchrow(_ACTOR, user_id)
    return to_actor(row) if row else None


def _check_scope(role: Role, entity_id: UUID | None) -> None:
    if role == Role.entity_finance and entity_id is None:
        raise invalid("body.entity_id", "entity_finance users must be scoped to an entity")


async def create_user(*, actor: str, data: UserCreate) -> UserRead:
    """Create a user; scoped roles must name their scope."""
    _check_scope(data.role, data.entity_id)
    password_hash = await _off_loop(hash_password, data.password)
    async with engine().transaction():
        if await User.exists().where(User.username == data.username):
            raise Conflict(f"username {data.username!r} is taken")
        user = User(
            id=uuid4(),
            username=data.username,
            display_name=data.display_name,
            password_hash=password_hash,
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
