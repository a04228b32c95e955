"""Tokens already verified, so a client's next request does not pay the signature check again.

Every authenticated request decoded and verified its bearer token with PyJWT (~0.1 ms, 5% of a
posting's server CPU under load), though a client sends the same token for its whole lifetime.
Only tokens that passed verification are kept, keyed by their exact text; a hit still honours
the token's expiry (a token with a not-before claim is not kept). Who the token names is read from the database on every
request as before (`service.get_actor`), so disabling a user or changing a grant counts from the
next request. Bounded: the least recently used token goes first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime

from litestar.security.jwt import Token

MAX_TOKENS = 4096


class VerifiedTokens:
    """Decoded tokens by their encoded text, at most `size` of them."""

    def __init__(self, size: int = MAX_TOKENS) -> None:
        self._size = size
        self._tokens: OrderedDict[str, Token] = OrderedDict()

    def get(self, encoded: str, verify: Callable[[str], Token]) -> Token:
        """The token `encoded` stands for; `verify` (which raises on a bad one) when not held."""
        token = self._tokens.get(encoded)
        now = datetime.now(UTC)
        if token is not None and token.exp > now:
            self._tokens.move_to_end(encoded)
            return token
        self._tokens.pop(encoded, None)
        token = verify(encoded)  # raises for a forged, expired or malformed token: never kept
        if "nbf" in token.extras:
            return token  # a not-before claim is checked by `verify` each time; ours carry none
        self._tokens[encoded] = token
        if len(self._tokens) > self._size:
            self._tokens.popitem(last=False)
        return token

    def __len__(self) -> int:
        return len(self._tokens)
