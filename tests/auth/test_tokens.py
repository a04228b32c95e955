"""A verified token is not verified again; a forged, expired or revoked one never gets through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.exceptions import NotAuthorizedException
from litestar.security.jwt import Token
from litestar.testing import AsyncTestClient

from stateasset.auth.tokens import VerifiedTokens


class Verifier:
    """Stands in for the signature check: counts calls, refuses the texts it is told to."""

    def __init__(self, exp: datetime) -> None:
        self.calls: list[str] = []
        self.exp = exp
        self.refuse: set[str] = set()

    def __call__(self, encoded: str) -> Token:
        self.calls.append(encoded)
        if encoded in self.refuse:
            raise NotAuthorizedException("bad token")
        return Token(exp=self.exp, sub=encoded)


def test_a_token_is_verified_once_while_it_lives() -> None:
    verify = Verifier(datetime.now(UTC) + timedelta(minutes=5))
    tokens = VerifiedTokens()
    assert tokens.get("a", verify).sub == "a"
    assert tokens.get("a", verify).sub == "a"
    assert verify.calls == ["a"]


def test_an_expired_token_is_verified_again_and_refused() -> None:
    verify = Verifier(datetime.now(UTC) + timedelta(minutes=5))
    tokens = VerifiedTokens()
    held = tokens.get("a", verify)
    held.exp = datetime.now(UTC) - timedelta(seconds=1)  # its lifetime has passed since
    verify.refuse.add("a")  # as PyJWT refuses an expired token
    with pytest.raises(NotAuthorizedException):
        tokens.get("a", verify)
    assert verify.calls == ["a", "a"]
    assert len(tokens) == 0


def test_a_refused_token_is_not_kept() -> None:
    verify = Verifier(datetime.now(UTC) + timedelta(minutes=5))
    verify.refuse.add("forged")
    tokens = VerifiedTokens()
    for _ in range(2):
        with pytest.raises(NotAuthorizedException):
            tokens.get("forged", verify)
    assert verify.calls == ["forged", "forged"]
    assert len(tokens) == 0


def test_a_token_with_a_not_before_claim_is_checked_every_time() -> None:
    tokens = VerifiedTokens()
    calls = []

    def verify(encoded: str) -> Token:
        calls.append(encoded)
        return Token(exp=datetime.now(UTC) + timedelta(minutes=5), sub="x", extras={"nbf": 1})

    tokens.get("n", verify)
    tokens.get("n", verify)
    assert calls == ["n", "n"]


def test_the_least_recently_used_token_goes_first() -> None:
    verify = Verifier(datetime.now(UTC) + timedelta(minutes=5))
    tokens = VerifiedTokens(size=2)
    tokens.get("a", verify)
    tokens.get("b", verify)
    tokens.get("a", verify)  # a is now the most recent
    tokens.get("c", verify)  # b goes
    assert len(tokens) == 2
    tokens.get("a", verify)
    tokens.get("b", verify)
    assert verify.calls == ["a", "b", "c", "b"]


async def test_a_tampered_token_is_refused_after_the_genuine_one_was_accepted(
    client: AsyncTestClient, login_as: Any
) -> None:
    headers = await login_as("group_finance")
    assert (await client.get("/api/v1/ledger/entities/", headers=headers)).status_code == 200
    token = headers["Authorization"].removeprefix("Bearer ")
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for forged in (f"{head}.{payload}.{flipped}", f"{head}.{payload}.", token + "x"):
        answer = await client.get(
            "/api/v1/ledger/entities/", headers={"Authorization": f"Bearer {forged}"}
        )
        assert answer.status_code == 401, forged
