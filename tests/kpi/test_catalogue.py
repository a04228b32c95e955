"""The indicator catalogue: built-in ratios and items, custom indicators usable in contracts, and
values entered with evidence whose corrections keep the old value readable."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
import polars as pl
import pytest

from stateasset.auth.roles import Role
from stateasset.auth.schemas import Actor
from stateasset.kpi import catalogue, compute
from stateasset.ledger import service as ledger
from stateasset.ledger.schemas import EntityCreate, EntityKind
from tests.kpi.test_contracts_api import CONTRACTS, contract
from tests.ledger.conftest import credit_code

INDICATORS = "/api/v1/kpi/indicators/"
GREEN = {
    "code": "green_revenue",
    "name": "绿色产业收入占比",
    "unit": "%",
    "direction": "higher",
    "description": "绿色低碳产业营业收入 / 营业收入",
}


async def test_the_catalogue_lists_ratios_items_and_objective_factors(api: Any) -> None:
    listed = {i["code"]: i for i in await api("GET", INDICATORS)}
    # Read from compute at run time: every ratio there is here.
    assert set(compute.RATIO_NAMES) <= set(listed)
    assert (listed["roe"]["kind"], listed["roe"]["unit"], listed["roe"]["name"]) == (
        "ratio",
        "%",
        "净资产收益率",
    )
    assert listed["debt_to_asset"]["direction"] == "lower"
    assert (listed["net_profit"]["kind"], listed["net_profit"]["unit"]) == ("item", "元")
    assert listed["objective_factors"]["kind"] == "entered"


async def test_custom_indicator_is_usable_in_a_contract(
    api: Any, make_entity: Any, db: asyncpg.Connection
) -> None:
    company = await make_entity("城建投")
    body = contract(company)
    body["indicators"][0]["source"] = "green_revenue"
    problem = await api("POST", CONTRACTS, json=body, status=422)
    assert [e["field"] for e in problem["errors"]] == ["body.indicators[0].source"]
    made = await api("POST", INDICATORS, json=GREEN, status=201)
    assert (made["kind"], made["created_by"]) == ("custom", "admin")
    assert (await api("POST", CONTRACTS, json=body, status=201))["terms"]["indicators"][0][
        "source"
    ] == "green_revenue"
    listed = {i["code"]: i for i in await api("GET", INDICATORS)}
    assert listed["green_revenue"]["name"] == "绿色产业收入占比"
    await api("POST", INDICATORS, json=GREEN, status=409)
    audit = await db.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'kpi_indicator.create'"
    )
    assert audit == 1


async def test_a_built_in_code_or_a_name_without_chinese_is_422(api: Any) -> None:
    clash = await api("POST", INDICATORS, json={**GREEN, "code": "roe"}, status=422)
    assert clash["errors"] == [{"field": "body.code", "reason": "roe is a built-in indicator"}]
    item = await api("POST", INDICATORS, json={**GREEN, "code": "net_profit"}, status=422)
    assert [e["field"] for e in item["errors"]] == ["body.code"]
    named = await api("POST", INDICATORS, json={**GREEN, "name": "Green revenue"}, status=422)
    assert [e["field"] for e in named["errors"]] == ["body.name"]
    await api("POST", INDICATORS, json={**GREEN, "code": "Bad-Code"}, status=400)


async def test_a_value_without_evidence_is_422_on_body_evidence(api: Any, make_entity: Any) -> None:
    company = await make_entity("城建投")
    url = f"{INDICATORS}objective_factors/values"
    body = {"company_id": company, "year": 2025, "value": "-1250000.00"}
    problem = await api("POST", url, json=body, status=422)
    assert [e["field"] for e in problem["errors"]] == ["body.evidence"]
    problem = await api("POST", url, json={**body, "evidence": "   "}, status=422)
    assert [e["field"] for e in problem["errors"]] == ["body.evidence"]
    problem = await api("POST", url, json={**body, "value": "1e5", "evidence": "x"}, status=422)
    assert [e["field"] for e in problem["errors"]] == ["body.value"]
    # A ratio is computed from the statements, not entered; an unknown code is not found.
    await api("POST", f"{INDICATORS}roe/values", json={**body, "evidence": "x"}, status=422)
    await api("POST", f"{INDICATORS}nothing/values", json={**body, "evidence": "x"}, status=404)


async def test_a_replacement_keeps_the_old_value_readable(
    api: Any, make_entity: Any, login_as: Any, db: asyncpg.Connection
) -> None:
    company = await make_entity("城建投")
    other = await make_entity("交通投")
    url = f"{INDICATORS}objective_factors/values"
    first = await api(
        "POST",
        url,
        json={
            "company_id": company,
            "year": 2025,
            "value": "-1250000.00",
            "evidence": "福国资〔2025〕12号 关于无偿划出资产的批复",
        },
        status=201,
    )
    assert (first["version"], first["value"], first["current"]) == (1, "-1250000.00", True)
    second = await api(
        "POST",
        url,
        json={
            "company_id": company,
            "year": 2025,
            "value": "-1300000.5",
            "evidence": "福国资〔2025〕15号（更正）",
            "evidence_url": "https://gzw.example.cn/2025/15.pdf",
        },
        status=201,
    )
    await api(
        "POST",
        url,
        json={"company_id": other, "year": 2025, "value": "300000", "evidence": "划入协议"},
        status=201,
    )
    assert (second["version"], second["value"]) == (2, "-1300000.5")
    versions = await api("GET", f"{url}?company={company}&year=2025")
    assert [(v["version"], v["value"], v["current"], v["evidence"]) for v in versions] == [
        (2, "-1300000.5", True, "福国资〔2025〕15号（更正）"),
        (1, "-1250000.00", False, "福国资〔2025〕12号 关于无偿划出资产的批复"),
    ]
    assert versions[1]["entered_by"] == "admin"
    actions = await db.fetch(
        "SELECT action, before->>'value' AS before FROM audit_log "
        "WHERE object_type = 'kpi_entered_value' ORDER BY id"
    )
    assert [(a["action"], a["before"]) for a in actions] == [
        ("kpi_entered_value.create", None),
        ("kpi_entered_value.replace", "-1250000.00"),
        ("kpi_entered_value.create", None),
    ]
    # The board reads them and writes nothing.
    board = await login_as("board")
    assert len(await api("GET", url, headers=board)) == 3
    await api(
        "POST",
        url,
        json={"company_id": company, "year": 2025, "value": "1", "evidence": "x"},
        headers=board,
        status=403,
    )
    await api("POST", INDICATORS, json=GREEN, headers=board, status=403)


async def test_a_custom_indicator_takes_values_and_the_contract_check_names_the_field(
    api: Any, make_entity: Any
) -> None:
    company = await make_entity("城建投")
    await api("POST", INDICATORS, json=GREEN, status=201)
    made = await api(
        "POST",
        f"{INDICATORS}green_revenue/values",
        json={"company_id": company, "year": 2026, "value": "12.345678", "evidence": "年报 P.12"},
        status=201,
    )
    assert made["value"] == "12.345678"
    bad = copy.deepcopy(contract(company))
    bad["indicators"][1]["source"] = "nothing_here"
    problem = await api("POST", CONTRACTS, json=bad, status=422)
    assert problem["errors"] == [
        {
            "field": "body.indicators[1].source",
            "reason": "unknown source nothing_here: not in the catalogue",
        }
    ]


async def test_entered_values_reads_the_latest_version_in_bulk(db: asyncpg.Connection) -> None:
    # Through the services, without the app: its pool would live on another loop.
    actor = Actor(id=uuid4(), username="gf", role=Role.group_finance)
    ids = []
    for n, name in enumerate(("城建投", "交通投"), start=1):
        made = await ledger.create_entity(
            actor=actor,
            data=EntityCreate(credit_code=credit_code(n), name=name, kind=EntityKind.subsidiary),
        )
        ids.append(made.id)
    entries = [
        (ids[0], 2025, "-1250000.00", "福国资〔2025〕12号"),
        (ids[0], 2025, "-1300000.5", "福国资〔2025〕15号（更正）"),
        (ids[1], 2025, "300000", "划入协议"),
        (ids[1], 2023, "1", "outside the years asked"),
    ]
    for company, year, value, evidence in entries:
        await catalogue.enter_value(
            actor=actor,
            code="objective_factors",
            data=catalogue.EnteredValueCreate(
                company_id=company, year=year, value=value, evidence=evidence
            ),
        )
    frame = await catalogue.entered_values(ids, range(2024, 2027))
    assert frame.schema == pl.Schema(catalogue.ENTERED_SCHEMA)
    # 城建投's second version replaced its first; 交通投's 2023 value is outside 2024–2026.
    assert sorted(frame.rows()) == sorted(
        [
            (str(ids[0]), 2025, "objective_factors", Decimal("-1300000.5")),
            (str(ids[1]), 2025, "objective_factors", Decimal("300000")),
        ]
    )


async def test_the_app_can_only_append_entered_values(db: asyncpg.Connection) -> None:
    # The app's own role: a correction must be a new version, never an edit or a deletion.
    from stateasset import db as database

    app = await asyncpg.connect(database.database_url())
    try:
        for statement in (
            "UPDATE kpi_entered_value SET value = 0",
            "DELETE FROM kpi_entered_value",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute(statement)
        assert await app.fetchval("SELECT count(*) FROM kpi_entered_value") == 0
    finally:
        await app.close()
