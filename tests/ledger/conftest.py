"""Builders for ledger API tests: a small group made through the API itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from stateasset.ledger.credit_code import check_character


def credit_code(n: int) -> str:
    """A valid unified social credit code, distinct for each n."""
    first17 = f"913501{n:011d}"
    return first17 + check_character(first17)


Api = Callable[..., Awaitable[Any]]


@pytest.fixture
async def admin(login_as: Any) -> dict[str, str]:
    return await login_as("admin", username="admin")


@pytest.fixture
def api(client: AsyncTestClient, admin: dict[str, str]) -> Api:
    """Call the API as admin (or `headers`), asserting the expected status; return the JSON."""

    async def call(
        method: str,
        url: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        response = await client.request(method, url, headers=headers or admin, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    return call


@pytest.fixture
def make_entity(api: Api) -> Callable[..., Awaitable[str]]:
    counter = iter(range(1, 10_000))

    async def make(name: str, kind: str = "subsidiary", **fields: Any) -> str:
        body = {"credit_code": credit_code(next(counter)), "name": name, "kind": kind, **fields}
        return (await api("POST", "/api/v1/ledger/entities/", json=body, status=201))["id"]

    return make


@pytest.fixture
def make_stake(api: Api) -> Callable[..., Awaitable[str]]:
    async def make(
        holder: str,
        held: str,
        share: str,
        voting: str | None = None,
        valid_from: str = "2020-01-01",
    ) -> str:
        body = {
            "holder_id": holder,
            "held_id": held,
            "economic_share": share,
            "valid_from": valid_from,
        }
        if voting is not None:
            body["voting_share"] = voting
        return (await api("POST", "/api/v1/ledger/stakes", json=body, status=201))["id"]

    return make
