"""The served OpenAPI document says what the handlers say, and the routes hold to it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Login, problem
from tests.ledger.conftest import credit_code

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
async def spec(client: AsyncTestClient) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref` and a one-element `allOf` (how Litestar wraps a described enum)."""
    while True:
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        elif len(schema.get("allOf", [])) == 1:
            schema = schema["allOf"][0]
        else:
            return schema


def _parameters(spec: dict[str, Any], method: str, path: str) -> dict[str, dict[str, Any]]:
    operation = spec["paths"][path][method.lower()]
    return {p["name"]: p for p in operation.get("parameters", [])}


def test_every_operation_has_a_sentence_summary_and_its_docstring(spec: dict[str, Any]) -> None:
    operations = _operations(spec)
    assert len(operations) > 20
    for method, path, operation in operations:
        summary = operation.get("summary", "")
        assert summary.endswith(".") and summary[0].isupper(), (method, path, summary)
        assert operation.get("description", "").strip(), (method, path)
    # The description is the docstring itself, more than the summary where it says more.
    consolidation = spec["paths"]["/api/v1/ledger/consolidation"]["get"]
    assert consolidation["summary"] == (
        "The consolidated (合并) or aggregated (汇总) statement of a node for a period."
    )
    assert "business segment (业务板块)" in consolidation["description"]


def test_every_ledger_parameter_is_described(spec: dict[str, Any]) -> None:
    undescribed = [
        (method, path, p["name"])
        for method, path, operation in _operations(spec)
        if path.startswith("/api/v1/ledger")
        for p in operation.get("parameters", [])
        if p["in"] in ("query", "path") and not p.get("description")
    ]
    assert undescribed == []


@pytest.mark.parametrize(
    "path", ["/api/v1/ledger/consolidation", "/api/v1/ledger/consolidation/xlsx"]
)
def test_consolidation_mode_is_an_enum_and_node_a_pattern(spec: dict[str, Any], path: str) -> None:
    params = _parameters(spec, "GET", path)
    assert _schema(spec, params["mode"]["schema"])["enum"] == ["consolidated", "aggregated"]

    node = params["node"]
    pattern = node["schema"]["pattern"]
    examples = [e["value"] for e in node["examples"].values()]
    assert [e.partition(":")[0] for e in examples] == ["group", "entity", "platform", "segment"]
    assert all(re.search(pattern, e) for e in examples), examples
    for wrong in ("Group", "entity:42", "platform:", "segment:nowhere", "group:x", "entity"):
        assert not re.search(pattern, wrong), wrong
    assert re.search(pattern, "segment:water_environment")


def test_hierarchy_method_and_intercompany_kind_are_enums(spec: dict[str, Any]) -> None:
    params = _parameters(spec, "GET", "/api/v1/ledger/entities/tree")
    assert _schema(spec, params["hierarchy"]["schema"])["enum"] == ["legal", "platform", "segment"]
    components = spec["components"]["schemas"]
    kind = _schema(spec, components["IntercompanyLineIn"]["properties"]["kind"])
    assert kind["enum"] == [
        "receivable",
        "payable",
        "revenue",
        "cost",
        "inventory_held",
        "investment",
        "equity",
    ]
    method = _schema(spec, components["OwnershipRow"]["properties"]["method"])
    assert method["enum"] == ["full", "equity", "none"]


async def test_the_routes_refuse_what_the_schema_excludes(
    client: AsyncTestClient, login_as: Login
) -> None:
    admin = await login_as("admin")
    for query, field in [
        ("period=2025-Q3&mode=merged", "query.mode"),
        ("period=2025-Q3&node=segment:nowhere", "query.node"),
        ("period=2025-Q5", "query.period"),
    ]:
        response = await client.get(f"/api/v1/ledger/consolidation/?{query}", headers=admin)
        assert response.status_code == 400, query
        assert [e["field"] for e in problem(response)["errors"]] == [field], query
    tree = await client.get("/api/v1/ledger/entities/tree?hierarchy=family", headers=admin)
    assert tree.status_code == 400
    assert problem(tree)["errors"][0]["field"] == "query.hierarchy"


async def test_a_buyer_reports_the_stock_it_still_holds(
    client: AsyncTestClient, login_as: Login
) -> None:
    admin = await login_as("admin")
    ids = []
    for n, (name, kind) in enumerate([("集团", "group"), ("粮食购销", "subsidiary")], start=1):
        body = {"credit_code": credit_code(n), "name": name, "kind": kind}
        created = await client.post("/api/v1/ledger/entities/", json=body, headers=admin)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    seller, buyer = ids
    lines = [
        {"partner_id": seller, "kind": k, "amount": a}
        for k, a in [("cost", "88"), ("inventory_held", "12")]
    ]
    stored = await client.post(
        "/api/v1/ledger/intercompany/",
        json={"entity_id": buyer, "period": "2025-Q3", "lines": lines},
        headers=admin,
    )
    assert stored.status_code == 201, stored.text
    assert sorted((r["kind"], r["amount"]) for r in stored.json()) == [
        ("cost", "88.00"),
        ("inventory_held", "12.00"),
    ]
