"""Amounts and shares past what can be stored, and unknown fields, are 422 naming the field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import problem
from tests.ledger.conftest import credit_code

JSON = {"Content-Type": "application/json"}
# 29 digits before the point (past Decimal's 28-digit context), and exponents past its range.
# Each as a JSON string and as a JSON number.
HUGE = [
    f(v)
    for v in ("12345678901234567890123456789.001", "1e+999999999", "-1e+999999999", "1e-999999999")
    for f in (lambda v: f'"{v}"', str)
]
MakeEntity = Callable[..., Awaitable[str]]


@pytest.mark.parametrize("amount", HUGE)
async def test_huge_statement_amount_names_the_item(
    client: AsyncTestClient, admin: dict[str, str], make_entity: MakeEntity, amount: str
) -> None:
    entity = await make_entity("甲公司")
    body = f'{{"entity_id": "{entity}", "period": "2025-Q3", "items": {{"revenue": {amount}}}}}'
    response = await client.post(
        "/api/v1/ledger/statements/", content=body.encode(), headers={**admin, **JSON}
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in problem(response)["errors"]] == ["body.items.revenue"]


@pytest.mark.parametrize("amount", HUGE)
async def test_huge_intercompany_amount_names_the_line(
    client: AsyncTestClient, admin: dict[str, str], make_entity: MakeEntity, amount: str
) -> None:
    a, b = await make_entity("甲公司"), await make_entity("乙公司")
    body = (
        f'{{"entity_id": "{a}", "period": "2025-Q3", "lines": '
        f'[{{"partner_id": "{b}", "kind": "receivable", "amount": {amount}}}]}}'
    )
    response = await client.post(
        "/api/v1/ledger/intercompany/", content=body.encode(), headers={**admin, **JSON}
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in problem(response)["errors"]] == ["body.lines[0].amount"]


@pytest.mark.parametrize("share", HUGE)
@pytest.mark.parametrize("field", ["economic_share", "voting_share"])
async def test_huge_stake_share_names_the_field(
    client: AsyncTestClient, admin: dict[str, str], make_entity: MakeEntity, share: str, field: str
) -> None:
    a, b = await make_entity("甲公司"), await make_entity("乙公司")
    shares = {"economic_share": '"0.5"', "voting_share": '"0.5"', field: share}
    body = (
        f'{{"holder_id": "{a}", "held_id": "{b}", "valid_from": "2020-01-01", '
        f'"economic_share": {shares["economic_share"]}, "voting_share": {shares["voting_share"]}}}'
    )
    response = await client.post(
        "/api/v1/ledger/stakes", content=body.encode(), headers={**admin, **JSON}
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in problem(response)["errors"]] == [f"body.{field}"]


@pytest.mark.parametrize("zero", ["0e+999999999", "-0e-999999999"])
async def test_zero_with_any_exponent_is_stored_as_zero(
    client: AsyncTestClient, admin: dict[str, str], make_entity: MakeEntity, zero: str
) -> None:
    a, b = await make_entity("甲公司"), await make_entity("乙公司")
    statement = f'{{"entity_id": "{a}", "period": "2025-Q3", "items": {{"revenue": "{zero}"}}}}'
    response = await client.post(
        "/api/v1/ledger/statements/", content=statement.encode(), headers={**admin, **JSON}
    )
    assert response.status_code == 201, response.text
    assert [(x["item"], x["amount"]) for x in response.json()["lines"]] == [("revenue", "0.00")]
    lines = (
        f'{{"entity_id": "{a}", "period": "2025-Q3", "lines": '
        f'[{{"partner_id": "{b}", "kind": "receivable", "amount": "{zero}"}}]}}'
    )
    response = await client.post(
        "/api/v1/ledger/intercompany/", content=lines.encode(), headers={**admin, **JSON}
    )
    assert response.status_code == 201, response.text
    assert [x["amount"] for x in response.json()] == ["0.00"]


async def test_an_amount_sent_as_a_json_number_keeps_every_digit(
    client: AsyncTestClient, admin: dict[str, str], make_entity: MakeEntity
) -> None:
    # As a float, 12345678901234567.01 would be 12345678901234568: the cent lost before any check.
    entity = await make_entity("甲公司")
    items = '{"revenue": 12345678901234567.01}'
    body = f'{{"entity_id": "{entity}", "period": "2025-Q3", "items": {items}}}'
    response = await client.post(
        "/api/v1/ledger/statements/", content=body.encode(), headers={**admin, **JSON}
    )
    assert response.status_code == 201, response.text
    assert [x["amount"] for x in response.json()["lines"]] == ["12345678901234567.01"]


async def test_a_misspelt_field_is_refused_by_name(
    client: AsyncTestClient, admin: dict[str, str], make_entity: MakeEntity, db: asyncpg.Connection
) -> None:
    # `voting_sahre` used to be dropped silently: the stake got the default votes (the economic share).
    a, b = await make_entity("甲公司"), await make_entity("乙公司")
    body = {
        "holder_id": a,
        "held_id": b,
        "economic_share": "0.3",
        "voting_sahre": "0.6",
        "valid_from": "2020-01-01",
    }
    response = await client.post("/api/v1/ledger/stakes", json=body, headers=admin)
    assert response.status_code == 400, response.text
    assert problem(response)["errors"] == [
        {"field": "body.voting_sahre", "reason": "unknown field"}
    ]
    assert await db.fetchval("SELECT count(*) FROM stake") == 0


async def test_a_problem_lists_at_most_100_errors_and_counts_the_rest(
    client: AsyncTestClient, admin: dict[str, str], make_entity: MakeEntity
) -> None:
    # 8,000 unknown item codes of 1,000 characters each: an 8 MB body, which used to come back
    # as 8,000 errors each echoing its code (over 8 MB of problem details).
    entity = await make_entity("甲公司")
    items = {f"{i:06d}{'x' * 994}": "1.00" for i in range(8000)}
    body = {"entity_id": entity, "period": "2025-Q3", "items": items}
    response = await client.post("/api/v1/ledger/statements/", json=body, headers=admin)
    assert response.status_code == 422
    found = problem(response)
    assert len(found["errors"]) == 100
    assert found["errors_truncated"] == 7900
    assert found["errors"][0] == {
        "field": f"body.items.000000{'x' * 182}…",  # 200 characters of the field
        "reason": "unknown item code",
    }
    assert len(response.content) < 30_000


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("100%", ["增长100%公司"]),
        ("a_b", ["a_b 公司"]),
        ("\\", ["back\\slash 公司"]),
        ("%", ["增长100%公司"]),
    ],
)
async def test_search_matches_like_wildcards_literally(
    client: AsyncTestClient,
    admin: dict[str, str],
    make_entity: MakeEntity,
    q: str,
    expected: list[str],
) -> None:
    # Unescaped, `100%` also found 增长1000公司, `a_b` found axb, and `%` found every entity.
    for name in ["增长100%公司", "增长1000公司", "a_b 公司", "axb 公司", "back\\slash 公司"]:
        await make_entity(name)
    response = await client.get("/api/v1/ledger/entities/", params={"q": q}, headers=admin)
    assert response.status_code == 200, response.text
    assert [e["name"] for e in response.json()["items"]] == expected


async def test_an_upload_with_thousands_of_bad_rows_lists_the_first_100(
    client: AsyncTestClient, admin: dict[str, str]
) -> None:
    # 5,000 rows naming no registered entity: each was listed twice (errors and import_errors).
    lines = ["统一社会信用代码,期间,项目编码,金额"]
    lines += [f"{credit_code(n)},2025-Q3,revenue,1.00" for n in range(5000)]
    response = await client.post(
        "/api/v1/ledger/statements/import",
        headers=admin,
        files={"file": ("q3.csv", "\n".join(lines).encode(), "text/csv")},
    )
    assert response.status_code == 422, response.text
    found = problem(response)
    assert (len(found["errors"]), found["errors_truncated"]) == (100, 4900)
    assert (len(found["import_errors"]), found["import_errors_truncated"]) == (100, 4900)
    assert found["import_errors"][0]["row"] == 2


@pytest.mark.parametrize("q", ["a\x00b", "x" * 201])
async def test_a_search_that_cannot_match_is_400_naming_q(
    client: AsyncTestClient, admin: dict[str, str], q: str
) -> None:
    # NUL was a 422 naming nothing (PostgreSQL's "invalid byte sequence"); length was unbounded.
    response = await client.get("/api/v1/ledger/entities/", params={"q": q}, headers=admin)
    assert response.status_code == 400, response.text
    assert [e["field"] for e in problem(response)["errors"]] == ["query.q"]
