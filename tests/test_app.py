"""The service shell: health, the offline API reference, problem details and route guarding."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from typing import Any

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


@pytest.mark.parametrize(
    "sent",
    ["a" * 65, "abc 123", "id;rm -rf", "<script>", "x\x01y", "=HYPERLINK(1)"],
)
async def test_a_malformed_request_id_is_replaced_by_a_fresh_one(
    client: AsyncTestClient, sent: str
) -> None:
    response = await client.get("/health", headers={"X-Request-ID": sent})
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_the_audit_log_keeps_only_a_valid_request_id(
    client: AsyncTestClient, login_as: Login, db: Any
) -> None:
    admin = await login_as("admin")
    for request_id in ("import-2026.11_a", "bad id with spaces " + "x" * 60):
        created = await client.post(
            "/api/v1/users/",
            headers={**admin, "X-Request-ID": request_id},
            json={
                "username": f"u{len(request_id)}",
                "display_name": "x",
                "password": "long enough pw",
                "role": "board",
            },
        )
        assert created.status_code == 201, created.text
    stored = await db.fetch("SELECT request_id FROM audit_log ORDER BY id")
    assert stored[0]["request_id"] == "import-2026.11_a"
    assert re.fullmatch(r"[0-9a-f]{32}", stored[1]["request_id"])


def test_a_one_megabyte_header_is_refused_with_431(live_server: str) -> None:
    import http.client
    import json
    from urllib.parse import urlsplit

    url = urlsplit(live_server)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    connection.request("GET", "/health", headers={"X-Padding": "a" * 1024 * 1024})
    response = connection.getresponse()
    assert response.status == 431
    assert response.getheader("content-type") == "application/problem+json"
    body = json.loads(response.read())
    assert body["status"] == 431
    assert body["errors"] == [{"field": "headers", "reason": "more than 32768 bytes"}]
    connection.close()
    with urllib.request.urlopen(f"{live_server}/health", timeout=5) as ok:
        assert ok.status == 200


def test_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_throttle(
    live_server: str,
) -> None:
    statuses = []
    for i in range(6):
        request = urllib.request.Request(
            f"{live_server}/api/v1/auth/login",
            data=b'{"username": "nobody", "password": "wrong password"}',
            headers={"Content-Type": "application/json", "X-Forwarded-For": f"10.9.{i}.1"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
            if error.code == 429:
                assert int(error.headers["Retry-After"]) > 0
    assert statuses == [401] * 5 + [429]
