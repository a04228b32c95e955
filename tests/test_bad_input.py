"""Hostile or malformed request bodies are 4xx problem details naming the field, never 500."""

from __future__ import annotations

from typing import Any, get_args, get_type_hints

import msgspec
from litestar.testing import AsyncTestClient

from stateasset.app import create_app
from tests.conftest import problem

JSON = {"Content-Type": "application/json"}


async def test_json_nested_1000_deep_is_400(client: AsyncTestClient) -> None:
    body = b'{"username": ' + b"[" * 1000 + b"]" * 1000 + b', "password": "x"}'
    response = await client.post("/api/v1/auth/login", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert problem(response)["errors"] == [{"field": "body", "reason": "JSON nested too deeply"}]


async def test_non_utf8_body_is_400(client: AsyncTestClient) -> None:
    body = b'{"username": "\xff\xfe", "password": "x"}'
    response = await client.post("/api/v1/auth/login", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert problem(response)["errors"] == [
        {"field": "body", "reason": "not valid UTF-8 (byte 0xff)"}
    ]


async def test_malformed_json_names_the_body(client: AsyncTestClient) -> None:
    response = await client.post("/api/v1/auth/login", content=b'{"username": ', headers=JSON)
    assert response.status_code == 400, response.text
    [error] = problem(response)["errors"]
    assert error["field"] == "body"
    assert error["reason"].startswith("not valid JSON: Input data was truncated")


def _structs_in(annotation: Any) -> set[type[msgspec.Struct]]:
    found: set[type[msgspec.Struct]] = set()
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        found.add(annotation)
        for hint in get_type_hints(annotation, include_extras=True).values():
            found |= _structs_in(hint)
    for arg in get_args(annotation):
        found |= _structs_in(arg)
    return found


def test_every_request_body_refuses_unknown_fields() -> None:
    # A typo such as `voting_sahre` must be refused, not dropped in favour of the default.
    app = create_app()
    bodies: set[type[msgspec.Struct]] = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None:
                bodies |= _structs_in(data.annotation)
    assert len(bodies) >= 12, bodies
    lenient = [s.__name__ for s in bodies if not s.__struct_config__.forbid_unknown_fields]
    assert lenient == []
