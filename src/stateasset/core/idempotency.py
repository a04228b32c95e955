"""Idempotency-Key handling: a retried money-moving POST returns the first answer and writes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Response

from stateasset import db
from stateasset.core.errors import Conflict, DomainError, FieldProblem, invalid
from stateasset.db import engine

REPLAYED_HEADER = "Idempotency-Replayed"
KEY_FIELD = "header.Idempotency-Key"


class KeyRequired(DomainError):
    """A route that adds amounts was called without an Idempotency-Key."""

    status = 400
    title = "Bad request"
    slug = "idempotency-key-required"


class Answer(msgspec.Struct, frozen=True):
    """A result with its own status, for work whose status depends on what it found (200 or 201)."""

    body: Any
    status_code: int


async def run_once(
    *,
    key: str | None,
    actor: str,
    route: str,
    payload: Any,
    work: Callable[[], Awaitable[Any]],
    status_code: int = 201,
    required: bool = False,
) -> Response[Any]:
    """Run `work` once per (actor, route, key); a replay with the same payload gets the stored answer.

    The key row is inserted in the same transaction as the work, so a concurrent duplicate waits on
    the unique index and then reads the committed answer; if the work fails, the key is not kept.
    A `required` route refuses a request without a key (400), so a client's retry after a lost
    answer can never apply the same amounts twice. `work` may return an `Answer` to choose its
    status (e.g. 200 when it found the result already there).
    """
    if key is None:
        if required:
            reason = "required on this route: a client-chosen key that makes a retry harmless"
            raise KeyRequired(
                f"{KEY_FIELD}: {reason}", errors=[FieldProblem(field=KEY_FIELD, reason=reason)]
            )
        result = await work()
        if isinstance(result, Answer):
            return Response(result.body, status_code=result.status_code)
        return Response(result, status_code=status_code)
    if not 1 <= len(key) <= 200:
        raise invalid(KEY_FIELD, "must be 1 to 200 characters")
    request_hash = hashlib.sha256(msgspec.json.encode(payload)).hexdigest()
    scope_key = f"{actor}|{route}|{key}"
    async with engine().transaction(), db.connection() as conn:
        # Raw asyncpg: two statements on every money-moving POST, not worth a query builder.
        inserted = await conn.fetchval(
            "INSERT INTO idempotency_record (scope_key, request_hash, created_at) "
            "VALUES ($1, $2, now()) ON CONFLICT (scope_key) DO NOTHING RETURNING id",
            scope_key,
            request_hash,
        )
        if inserted is None:
            stored = await conn.fetchrow(
                "SELECT request_hash, status_code, response FROM idempotency_record "
                "WHERE scope_key = $1",
                scope_key,
            )
            assert stored is not None  # the conflicting row is committed before we can see it
            if stored["request_hash"] != request_hash:
                raise Conflict(
                    "This Idempotency-Key was already used with a different request body; "
                    "use a new key for a new request."
                )
            return Response(
                content=bytes(stored["response"]),
                status_code=stored["status_code"],
                media_type="application/json",
                headers={REPLAYED_HEADER: "true"},
            )
        result = await work()
        if isinstance(result, Answer):
            result, status_code = result.body, result.status_code
        body = msgspec.json.encode(result)
        await conn.execute(
            "UPDATE idempotency_record SET status_code = $1, response = $2 WHERE scope_key = $3",
            status_code,
            body,
            scope_key,
        )
    return Response(content=body, status_code=status_code, media_type="application/json")
