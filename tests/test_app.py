"""The service shell: health, the offline API reference, problem details and route guarding."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from stateasset.app import _check_every_route_is_guarded
from tests.conftest import Login, problem


async def test_health_and_ready(client: AsyncTestClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok", "version": "0.1.0"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_reference_page_makes_no_outside_request(client: AsyncTestClient) -> None:
    page = await client.get("/schema/swagger")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert urls, "the page should load its assets"
    assert all(u.startswith("/") for u in urls), urls
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
    spec = await client.get("/schema/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/audit" in spec.json()["paths"]


async def test_every_response_carries_a_request_id(client: AsyncTestClient) -> None:
    echoed = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    fresh = await client.get("/health")
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])


async def test_no_token_is_401_problem(client: AsyncTestClient) -> None:
    response = await client.get("/api/v1/audit/")
    assert response.status_code == 401
    body = problem(response)
    assert body["status"] == 401
    assert body["instance"].startswith("/api/v1/audit")
    assert body["request_id"] == response.headers["x-request-id"]


async def test_garbage_token_is_401(client: AsyncTestClient) -> None:
    response = await client.get("/api/v1/audit/", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401


async def test_role_without_permission_is_403(client: AsyncTestClient, login_as: Login) -> None:
    board = await login_as("board")
    response = await client.post(
        "/api/v1/users/",
        headers=board,
        json={"username": "x1", "display_name": "x", "password": "long enough pw", "role": "board"},
    )
    assert response.status_code == 403
    assert "users:admin" in problem(response)["detail"]


async def test_malformed_json_is_400_problem(client: AsyncTestClient, login_as: Login) -> None:
    admin = await login_as("admin")
    response = await client.post(
        "/api/v1/users/",
        headers={**admin, "Content-Type": "application/json"},
        content=b'{"username": "x1", ',
    )
    assert response.status_code == 400
    assert problem(response)["status"] == 400


async def test_missing_field_names_the_field(client: AsyncTestClient, login_as: Login) -> None:
    admin = await login_as("admin")
    response = await client.post(
        "/api/v1/users/",
        headers=admin,
        json={"username": "newuser", "password": "long enough pw", "role": "board"},
    )
    assert response.status_code == 400
    errors = problem(response)["errors"]
    assert errors == [
        {"field": "body.display_name", "reason": "Object missing required field `display_name`"}
    ]


async def test_wrong_type_names_the_field(client: AsyncTestClient, login_as: Login) -> None:
    admin = await login_as("admin")
    response = await client.post(
        "/api/v1/users/",
        headers=admin,
        json={
            "username": "newuser",
            "display_name": "N",
            "password": "long enough pw",
            "role": "emperor",
        },
    )
    assert response.status_code == 400
    [error] = problem(response)["errors"]
    assert error["field"] == "body.role"
    assert "emperor" in error["reason"]


def test_an_unguarded_route_stops_the_app() -> None:
    @get("/api/v1/naked", sync_to_thread=False)
    def naked() -> str:
        return "no permission declared"

    with pytest.raises(RuntimeError, match="/api/v1/naked"):
        _check_every_route_is_guarded(Litestar(route_handlers=[naked]))
