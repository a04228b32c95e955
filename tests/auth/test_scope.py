"""Scope: all of a domain by permission, else what the domain's rule resolves; and grants set by admins."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg
from litestar.testing import AsyncTestClient

from stateasset.auth.roles import Permission, Role
from stateasset.auth.schemas import Actor
from stateasset.auth.scope import EVERYTHING, Domain, Scope, scope_of
from stateasset.ledger import service as ledger_service  # registers the ledger's rule
from stateasset.ledger.credit_code import check_character
from tests.conftest import Login, problem

COMPANY, FUND_A, FUND_B = UUID(int=1), UUID(int=2), UUID(int=3)


def _actor(role: Role, **fields: object) -> Actor:
    return Actor(id=uuid4(), username=role.value, role=role, **fields)  # type: ignore[arg-type]


async def test_group_roles_see_every_domain_whole() -> None:
    # No database here: the app's pool lives on the app's loop, and "all" needs no query.
    for role in (Role.admin, Role.group_finance, Role.board, Role.auditor):
        for domain in Domain:
            assert await scope_of(_actor(role), domain) == EVERYTHING, (role, domain)
        assert await ledger_service.visible_entity_ids(_actor(role)) is None


async def test_funds_by_assignment_and_kpi_by_company() -> None:
    fm = _actor(Role.fund_manager, entity_id=COMPANY, fund_ids=(FUND_A,))
    funds = await scope_of(fm, Domain.funds)
    assert funds == Scope(ids=frozenset({FUND_A}))
    assert funds.allows(FUND_A) and not funds.allows(FUND_B)
    assert await scope_of(fm, Domain.kpi) == Scope(ids=frozenset({COMPANY}))
    assert await scope_of(_actor(Role.entity_finance), Domain.kpi) == Scope()
    # Seeing all is a permission, so it can be granted without changing the role.
    granted = _actor(
        Role.fund_manager, fund_ids=(FUND_A,), grants=frozenset({Permission.funds_all})
    )
    assert await scope_of(granted, Domain.funds) == EVERYTHING
    assert Permission.funds_all in granted.permissions


async def test_ledger_scope_is_the_users_entity_and_what_it_controls(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as("admin")
    ids = {}
    for n, (name, kind) in enumerate(
        [
            ("集团", "group"),
            ("基金管理公司", "subsidiary"),
            ("子基金", "fund"),
            ("外部", "subsidiary"),
        ]
    ):
        code = f"913501{n:011d}"
        created = await client.post(
            "/api/v1/ledger/entities/",
            headers=admin,
            json={"credit_code": code + check_character(code), "name": name, "kind": kind},
        )
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
    for holder, held in (("集团", "基金管理公司"), ("基金管理公司", "子基金")):
        stake = await client.post(
            "/api/v1/ledger/stakes",
            headers=admin,
            json={
                "holder_id": ids[holder],
                "held_id": ids[held],
                "economic_share": "0.6",
                "valid_from": "2020-01-01",
            },
        )
        assert stake.status_code == 201, stake.text
    manager = UUID(ids["基金管理公司"])
    fm = await login_as("entity_finance", entity_id=manager)

    listed = await client.get("/api/v1/ledger/entities/", headers=fm)
    assert {e["name"] for e in listed.json()["items"]} == {"基金管理公司", "子基金"}
    outside = await client.get(f"/api/v1/ledger/entities/{ids['外部']}", headers=fm)
    assert outside.status_code == 404  # not 403: existence outside one's scope is not revealed

    # Seeing every entity is a permission: granted, the same user sees the outside one too.
    await db.execute(
        "UPDATE app_user SET grants = '{ledger:all}' WHERE role = 'entity_finance' AND entity_id = $1",
        manager,
    )
    assert (
        await client.get(f"/api/v1/ledger/entities/{ids['外部']}", headers=fm)
    ).status_code == 200


async def test_admin_sets_grants_and_scope_on_update(
    client: AsyncTestClient, login_as: Login
) -> None:
    admin = await login_as("admin")
    created = await client.post(
        "/api/v1/users/",
        headers=admin,
        json={
            "username": "ef2",
            "display_name": "x",
            "password": "a long password",
            "role": "entity_finance",
            "entity_id": str(COMPANY),
            "grants": ["kpi:read", "kpi:read"],
        },
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["grants"] == ["kpi:read"]
    assert {"kpi:read", "ledger:statements"} <= set(user["permissions"])
    assert "ledger:all" not in user["permissions"]
    url = f"/api/v1/users/{user['id']}"

    cleared = await client.patch(url, headers=admin, json={"entity_id": None})
    assert cleared.status_code == 422
    assert problem(cleared)["errors"][0]["field"] == "body.entity_id"
    unknown = await client.patch(url, headers=admin, json={"grants": ["ledger:everything"]})
    assert unknown.status_code == 400
    assert (await client.patch(url, headers=admin, json={})).status_code == 422
    missing = await client.patch(f"/api/v1/users/{uuid4()}", headers=admin, json={"active": False})
    assert missing.status_code == 404

    moved = await client.patch(
        url, headers=admin, json={"role": "group_finance", "entity_id": None, "grants": []}
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["role"], moved.json()["entity_id"], moved.json()["grants"]) == (
        "group_finance",
        None,
        [],
    )
    assert "ledger:all" in moved.json()["permissions"]
