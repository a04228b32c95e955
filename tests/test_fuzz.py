"""Bad input gets a 4xx, never a 500: schemathesis drives every operation of the live app.

Generated from the app's own OpenAPI document with a fixed seed, signed in as admin so requests
reach the services, over a small ledger seeded through the API first: the worked example of the
consolidation rules (a group, a platform holding a subsidiary, an associate holding a slice of
it, an outside holder), with statements and intercompany lines for one quarter.

Schemathesis' fuzz dictionaries (`[dictionaries]` bound in `[parameters]` of its config) make the
ids, periods and nodes it sends in paths and queries, and the ids in bodies, the seeded ones. They
apply to the valid requests only: the invalid ones still carry malformed values. The live
server's own request log is the proof that the requests reached real rows.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from stateasset.auth.service import hash_password
from tests.ledger.conftest import credit_code

SEED = "20261127"
PERIOD = "2025-Q3"
URBAN = "urban_construction"

# key: (name, kind, platform key, segment)
ENTITIES: dict[str, tuple[str, str, str | None, str | None]] = {
    "P": ("福清市国有资产营运投资集团有限公司", "group", None, None),
    "S1": ("福清市城市建设投资集团有限公司", "platform", None, URBAN),
    "S2": ("福清市城市建设开发有限公司", "subsidiary", "S1", URBAN),
    "A": ("福清市东壁岛旅游开发有限公司", "subsidiary", None, "culture_tourism"),
    "O": ("福建省旅游发展集团有限公司", "outside", None, None),
}
# (holder, held, economic share): P controls S1 and through it S2 (48%); A is an associate.
STAKES = [
    ("P", "S1", "0.8"),
    ("O", "S1", "0.2"),
    ("P", "A", "0.3"),
    ("O", "A", "0.7"),
    ("S1", "S2", "0.6"),
    ("A", "S2", "0.1"),
    ("O", "S2", "0.3"),
]
STATEMENTS: dict[str, dict[str, str]] = {
    "P": {
        "receivables": "50",
        "long_term_equity_investment": "600",
        "other_assets": "1350",
        "total_assets": "2000",
        "total_liabilities": "400",
        "paid_in_capital": "1000",
        "capital_reserve": "200",
        "retained_earnings": "400",
        "total_equity": "1600",
        "state_capital": "1600",
        "revenue": "500",
        "operating_cost": "300",
        "net_profit": "150",
    },
    "S1": {
        "long_term_equity_investment": "300",
        "fixed_assets": "900",
        "total_assets": "1200",
        "payables": "50",
        "long_term_borrowings": "350",
        "total_liabilities": "400",
        "paid_in_capital": "500",
        "capital_reserve": "100",
        "retained_earnings": "200",
        "total_equity": "800",
        "revenue": "1000",
        "operating_cost": "700",
        "net_profit": "200",
    },
    "S2": {
        "cash": "100",
        "inventory": "400",
        "total_assets": "500",
        "total_liabilities": "0",
        "paid_in_capital": "400",
        "retained_earnings": "100",
        "total_equity": "500",
        "revenue": "400",
        "operating_cost": "300",
        "net_profit": "60",
    },
    "A": {
        "cash": "330",
        "total_assets": "330",
        "total_liabilities": "0",
        "paid_in_capital": "300",
        "retained_earnings": "30",
        "total_equity": "330",
        "revenue": "90",
        "operating_cost": "60",
        "net_profit": "20",
    },
}
# entity: [(partner, kind, amount)]; S2 bought 100 from S1: 88 expensed, 12 still in stock.
INTERCOMPANY: dict[str, list[tuple[str, str, str]]] = {
    "P": [("S1", "receivable", "50"), ("S1", "investment", "500")],
    "S1": [("P", "payable", "50"), ("S2", "revenue", "100"), ("S2", "investment", "300")],
    "S2": [("S1", "cost", "88"), ("S1", "inventory_held", "12")],
}

ENTITY_PATHS = re.compile(
    r"^/api/v1/ledger/(entities/(?!tree$)[^/]+(/ownership|/stakes)?|statements/[^/]+/[^/]+)$"
)
"""The GET routes with an `{entity_id}` in their path (/entities/tree is not one of them)."""


@dataclass(frozen=True)
class Ledger:
    entities: dict[str, str]
    stakes: list[str]
    user: str
    """A user for the user routes to change: the fuzzing admin must not demote itself midway."""


async def _admin_token(db: asyncpg.Connection, base: str) -> str:
    await db.execute(
        "INSERT INTO app_user (id, username, display_name, password_hash, role, fund_ids, active, "
        "created_at) VALUES (gen_random_uuid(), 'fuzz', 'fuzz', $1, 'admin', '{}', true, now())",
        hash_password("fuzzing password"),
    )
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": "fuzz", "password": "fuzzing password"}
        )
    return response.json()["access_token"]


async def _seed(base: str, token: str) -> Ledger:
    """The ledger through the API, as a client would build it; every step must succeed."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as client:

        async def call(path: str, body: dict[str, Any]) -> Any:
            response = await client.post(path, json=body)
            assert response.status_code == 201, (path, response.text)
            return response.json()

        ids: dict[str, str] = {}
        for n, (key, (name, kind, platform, segment)) in enumerate(ENTITIES.items(), start=1):
            body = {"credit_code": credit_code(n), "name": name, "kind": kind, "segment": segment}
            if platform:
                body["platform_id"] = ids[platform]
            ids[key] = (await call("/api/v1/ledger/entities/", body))["id"]
        stakes = []
        for holder, held, share in STAKES:
            body = {"holder_id": ids[holder], "held_id": ids[held], "economic_share": share}
            stake = await call("/api/v1/ledger/stakes", {**body, "valid_from": "2020-01-01"})
            stakes.append(stake["id"])
        for key, items in STATEMENTS.items():
            body = {"entity_id": ids[key], "period": PERIOD, "items": items}
            await call("/api/v1/ledger/statements/", body)
        for key, lines in INTERCOMPANY.items():
            body = {
                "entity_id": ids[key],
                "period": PERIOD,
                "lines": [{"partner_id": ids[p], "kind": k, "amount": a} for p, k, a in lines],
            }
            await call("/api/v1/ledger/intercompany/", body)
        body = {"username": "target", "display_name": "董事会", "password": "x" * 12}
        user = await call("/api/v1/users/", {**body, "role": "board"})
    return Ledger(entities=ids, stakes=stakes, user=user["id"])


def _config(ledger: Ledger) -> str:
    """schemathesis.toml: draw ids, periods and nodes from the seeded ledger."""
    entity_ids = list(ledger.entities.values())
    dictionaries = {
        "entities": entity_ids,
        "stakes": ledger.stakes,
        "users": [ledger.user],
        "periods": [PERIOD],
        "nodes": [
            "group",
            f"entity:{ledger.entities['S1']}",
            f"platform:{ledger.entities['S1']}",
            f"segment:{URBAN}",
        ],
    }
    # (parameter, dictionary, probability): a valid request's path always names a seeded row;
    # queries and bodies keep some generated ids so "not found" stays covered too.
    bindings = [
        ("path.entity_id", "entities", 1.0),
        ("path.stake_id", "stakes", 1.0),
        ("path.user_id", "users", 1.0),
        ("path.period", "periods", 1.0),
        ("query.period", "periods", 0.9),
        ("query.node", "nodes", 0.9),
        ("query.entity_id", "entities", 0.8),
        ("body.entity_id", "entities", 0.8),
        ("body.lines[*].partner_id", "entities", 0.8),
        ("body.holder_id", "entities", 0.8),
        ("body.held_id", "entities", 0.8),
        ("body.platform_id", "entities", 0.5),
        ("body.entity_ids[*]", "entities", 0.8),
        ("body.period", "periods", 0.8),
    ]
    lines = []
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for key, name, probability in bindings:
        lines.append(f'"{key}" = {{ dictionary = "{name}", probability = {probability} }}')
    return "\n".join(lines) + "\n"


def _requests(log: Path) -> list[dict[str, Any]]:
    """The request lines the app logged (JSON), leaving uvicorn's own lines out."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [r for r in rows if r.get("event") == "request"]


@pytest.fixture(autouse=True)
def json_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The live server (started after this) logs one JSON line per request."""
    monkeypatch.setenv("STATEASSET_LOG_JSON", "true")


async def test_no_generated_request_gets_a_server_error(
    live_server: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    token = await _admin_token(db, live_server)
    ledger = await _seed(live_server, token)
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(ledger))
    seeded = len(_requests(tmp_path / "server.log"))
    report = tmp_path / "junit.xml"
    run = await asyncio.to_thread(
        subprocess.run,
        [
            str(Path(sys.executable).with_name("st")),
            "--config-file",
            str(config),
            "run",
            f"{live_server}/schema/openapi.json",
            "--checks",
            "not_a_server_error",
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            "25",
            "--seed",
            SEED,
            "--generation-database",
            "none",
            "--workers",
            "1",
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary: Any = run.stdout[-3000:]
    assert run.returncode == 0, summary
    assert "passed" in run.stdout

    fuzzed = _requests(tmp_path / "server.log")[seeded:]
    statuses = Counter(r["status"] for r in fuzzed)
    assert not [r for r in fuzzed if r["status"] >= 500], statuses
    by_entity = Counter(
        r["status"] for r in fuzzed if r["method"] == "GET" and ENTITY_PATHS.match(r["path"])
    )
    assert by_entity[200] > by_entity.total() / 2, by_entity
