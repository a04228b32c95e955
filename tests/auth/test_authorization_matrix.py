"""Who may call what: every route of the app against a table of the roles allowed, written by hand.

The table is an independent statement of the permission design, not a copy of `ROLE_PERMISSIONS`:
a change to either that the other does not share fails here. A route added without a line in
the table fails too. Each route is then called as every role: a denied role must get 403, an
allowed one anything else but 401/403 (404 or 422 still means the guard let it through).
"""

from __future__ import annotations

import re
from uuid import UUID, uuid4

import asyncpg
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from stateasset.app import PUBLIC_PATH_PREFIXES, create_app
from stateasset.ledger.credit_code import check_character
from tests.conftest import Login, problem

ADMIN = "admin"
GROUP_FINANCE = "group_finance"
ENTITY_FINANCE = "entity_finance"
FUND_MANAGER = "fund_manager"
BOARD = "board"
AUDITOR = "auditor"
ROLES = (ADMIN, GROUP_FINANCE, ENTITY_FINANCE, FUND_MANAGER, BOARD, AUDITOR)

EVERYONE = frozenset(ROLES)
# Statements, intercompany, the period board and consolidation: not fund managers (unless granted).
STATEMENT_READERS = frozenset({ADMIN, GROUP_FINANCE, ENTITY_FINANCE, BOARD, AUDITOR})
LEDGER_WRITERS = frozenset({ADMIN, GROUP_FINANCE, ENTITY_FINANCE})
LEDGER_APPROVERS = frozenset({ADMIN, GROUP_FINANCE})
AUDIT_READERS = frozenset({ADMIN, AUDITOR})
# Funds: read by fund managers (their funds), group finance, the board and auditors (all of them);
# written by fund managers (their funds) and admins.
FUND_READERS = frozenset({ADMIN, GROUP_FINANCE, FUND_MANAGER, BOARD, AUDITOR})
FUND_WRITERS = frozenset({ADMIN, FUND_MANAGER})
# KPI contracts and scorecards: read by group finance, the board and auditors (every company) and
# entity finance (their own company); written by group finance and admins.
KPI_READERS = frozenset({ADMIN, GROUP_FINANCE, ENTITY_FINANCE, BOARD, AUDITOR})
KPI_WRITERS = frozenset({ADMIN, GROUP_FINANCE})
ADMINS = frozenset({ADMIN})
JOB_RUNNERS = frozenset({ADMIN, GROUP_FINANCE})

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/auth/me"): EVERYONE,
    ("GET", "/api/v1/users"): ADMINS,
    ("POST", "/api/v1/users"): ADMINS,
    ("PATCH", "/api/v1/users/{user_id:uuid}"): ADMINS,
    ("GET", "/api/v1/audit"): AUDIT_READERS,
    ("GET", "/api/v1/audit/verify"): AUDIT_READERS,
    # Master data: entities (funds, GPs and companies alike), trees, ownership.
    ("GET", "/api/v1/ledger/items"): EVERYONE,
    ("GET", "/api/v1/ledger/entities"): EVERYONE,
    ("GET", "/api/v1/ledger/entities/tree"): EVERYONE,
    ("GET", "/api/v1/ledger/entities/{entity_id:uuid}"): EVERYONE,
    ("GET", "/api/v1/ledger/entities/{entity_id:uuid}/ownership"): EVERYONE,
    ("GET", "/api/v1/ledger/entities/{entity_id:uuid}/stakes"): EVERYONE,
    ("POST", "/api/v1/ledger/entities"): LEDGER_APPROVERS,
    ("PATCH", "/api/v1/ledger/entities/{entity_id:uuid}"): LEDGER_APPROVERS,
    ("POST", "/api/v1/ledger/stakes"): LEDGER_APPROVERS,
    ("POST", "/api/v1/ledger/stakes/{stake_id:uuid}/end"): LEDGER_APPROVERS,
    ("POST", "/api/v1/ledger/control-overrides"): LEDGER_APPROVERS,
    # The quarter close.
    ("GET", "/api/v1/ledger/statements/{entity_id:uuid}/{period:str}"): STATEMENT_READERS,
    ("GET", "/api/v1/ledger/statements/template"): STATEMENT_READERS,
    ("POST", "/api/v1/ledger/statements"): LEDGER_WRITERS,
    ("POST", "/api/v1/ledger/statements/import"): LEDGER_WRITERS,
    ("GET", "/api/v1/ledger/intercompany"): STATEMENT_READERS,
    ("GET", "/api/v1/ledger/intercompany/mismatches"): STATEMENT_READERS,
    ("POST", "/api/v1/ledger/intercompany"): LEDGER_WRITERS,
    ("GET", "/api/v1/ledger/periods/{period:str}"): STATEMENT_READERS,
    # Which step (submit, validate, lock, reopen) is the service's to check.
    ("POST", "/api/v1/ledger/periods/{period:str}/transitions"): LEDGER_WRITERS,
    ("GET", "/api/v1/ledger/consolidation"): STATEMENT_READERS,
    ("GET", "/api/v1/ledger/consolidation/xlsx"): STATEMENT_READERS,
    # The asset register (资产台账): reads with the ledger's; transfers and campaigns closed by
    # approvers; the depreciation run is a job (jobs:run, held by admin and group finance).
    ("GET", "/api/v1/ledger/assets/cards"): EVERYONE,
    ("POST", "/api/v1/ledger/assets/cards"): LEDGER_WRITERS,
    ("GET", "/api/v1/ledger/assets/cards/export"): EVERYONE,
    ("GET", "/api/v1/ledger/assets/cards/template"): EVERYONE,
    ("POST", "/api/v1/ledger/assets/cards/import"): LEDGER_WRITERS,
    ("GET", "/api/v1/ledger/assets/cards/{card_id:uuid}"): EVERYONE,
    ("PATCH", "/api/v1/ledger/assets/cards/{card_id:uuid}"): LEDGER_WRITERS,
    ("GET", "/api/v1/ledger/assets/cards/{card_id:uuid}/lineage"): EVERYONE,
    ("POST", "/api/v1/ledger/assets/cards/{card_id:uuid}/events"): LEDGER_WRITERS,
    ("GET", "/api/v1/ledger/assets/holders/{entity_id:uuid}/flows"): EVERYONE,
    ("GET", "/api/v1/ledger/assets/transfers"): EVERYONE,
    ("POST", "/api/v1/ledger/assets/transfers"): LEDGER_WRITERS,
    ("GET", "/api/v1/ledger/assets/transfers/pending"): EVERYONE,
    ("GET", "/api/v1/ledger/assets/transfers/{transfer_id:uuid}"): EVERYONE,
    ("POST", "/api/v1/ledger/assets/transfers/{transfer_id:uuid}/approve"): LEDGER_APPROVERS,
    ("POST", "/api/v1/ledger/assets/transfers/{transfer_id:uuid}/post"): LEDGER_APPROVERS,
    ("POST", "/api/v1/ledger/assets/transfers/{transfer_id:uuid}/reject"): LEDGER_APPROVERS,
    ("POST", "/api/v1/ledger/assets/depreciation/{period:str}"): LEDGER_APPROVERS,
    ("GET", "/api/v1/ledger/assets/campaigns"): EVERYONE,
    ("POST", "/api/v1/ledger/assets/campaigns"): LEDGER_WRITERS,
    ("GET", "/api/v1/ledger/assets/campaigns/{campaign_id:uuid}"): EVERYONE,
    ("POST", "/api/v1/ledger/assets/campaigns/{campaign_id:uuid}/counts"): LEDGER_WRITERS,
    ("POST", "/api/v1/ledger/assets/campaigns/{campaign_id:uuid}/counts/import"): LEDGER_WRITERS,
    ("GET", "/api/v1/ledger/assets/campaigns/{campaign_id:uuid}/report"): EVERYONE,
    ("POST", "/api/v1/ledger/assets/campaigns/{campaign_id:uuid}/close"): LEDGER_APPROVERS,
    ("GET", "/api/v1/ledger/assets/effective"): EVERYONE,
    # The mother fund and its sub-funds.
    ("GET", "/api/v1/funds/gps"): FUND_READERS,
    ("POST", "/api/v1/funds/gps"): FUND_WRITERS,
    ("GET", "/api/v1/funds"): FUND_READERS,
    ("POST", "/api/v1/funds"): FUND_WRITERS,
    ("GET", "/api/v1/funds/tree"): FUND_READERS,
    ("GET", "/api/v1/funds/metrics"): FUND_READERS,
    # Stored fund metrics (the fund_metrics job's versions): read in one's fund scope.
    ("GET", "/api/v1/funds/metrics/stored"): FUND_READERS,
    ("GET", "/api/v1/funds/metrics/runs"): FUND_READERS,
    ("GET", "/api/v1/funds/checks"): FUND_READERS,
    ("POST", "/api/v1/funds/index-series"): FUND_WRITERS,
    ("GET", "/api/v1/funds/{fund_id:uuid}"): FUND_READERS,
    ("GET", "/api/v1/funds/{fund_id:uuid}/commitments"): FUND_READERS,
    ("POST", "/api/v1/funds/{fund_id:uuid}/commitments"): FUND_WRITERS,
    ("GET", "/api/v1/funds/{fund_id:uuid}/positions"): FUND_READERS,
    ("GET", "/api/v1/funds/{fund_id:uuid}/flows"): FUND_READERS,
    ("POST", "/api/v1/funds/{fund_id:uuid}/calls"): FUND_WRITERS,
    ("POST", "/api/v1/funds/{fund_id:uuid}/calls/{flow_id:uuid}/settle"): FUND_WRITERS,
    ("POST", "/api/v1/funds/{fund_id:uuid}/distributions"): FUND_WRITERS,
    ("POST", "/api/v1/funds/{fund_id:uuid}/capital/import"): FUND_WRITERS,
    ("GET", "/api/v1/funds/{fund_id:uuid}/navs"): FUND_READERS,
    ("POST", "/api/v1/funds/{fund_id:uuid}/navs"): FUND_WRITERS,
    ("GET", "/api/v1/funds/{fund_id:uuid}/investments"): FUND_READERS,
    ("POST", "/api/v1/funds/{fund_id:uuid}/investments"): FUND_WRITERS,
    (
        "POST",
        "/api/v1/funds/{fund_id:uuid}/investments/{investment_id:uuid}/valuations",
    ): FUND_WRITERS,
    ("POST", "/api/v1/funds/{fund_id:uuid}/investments/{investment_id:uuid}/exit"): FUND_WRITERS,
    ("GET", "/api/v1/funds/{fund_id:uuid}/metrics/positions"): FUND_READERS,
    ("GET", "/api/v1/funds/{fund_id:uuid}/mother"): FUND_READERS,
    ("GET", "/api/v1/funds/{fund_id:uuid}/j-curve"): FUND_READERS,
    ("GET", "/api/v1/funds/{fund_id:uuid}/look-through"): FUND_READERS,
    # KPI contracts, benchmarks and scorecards.
    ("GET", "/api/v1/kpi/contracts"): KPI_READERS,
    ("POST", "/api/v1/kpi/contracts"): KPI_WRITERS,
    ("GET", "/api/v1/kpi/contracts/{contract_id:uuid}"): KPI_READERS,
    ("PUT", "/api/v1/kpi/contracts/{contract_id:uuid}"): KPI_WRITERS,
    ("POST", "/api/v1/kpi/contracts/{contract_id:uuid}/versions"): KPI_WRITERS,
    ("POST", "/api/v1/kpi/contracts/{contract_id:uuid}/transitions"): KPI_WRITERS,
    ("GET", "/api/v1/kpi/contracts/{contract_id:uuid}/scorecard"): KPI_READERS,
    ("GET", "/api/v1/kpi/contracts/{contract_id:uuid}/tenure"): KPI_READERS,
    ("GET", "/api/v1/kpi/peer-standards"): KPI_READERS,
    ("POST", "/api/v1/kpi/peer-standards"): KPI_WRITERS,
    ("GET", "/api/v1/kpi/macro"): KPI_READERS,
    ("POST", "/api/v1/kpi/macro"): KPI_WRITERS,
    ("GET", "/api/v1/kpi/scorecards"): KPI_READERS,
    ("GET", "/api/v1/kpi/scorecards.xlsx"): KPI_READERS,
    # The indicator catalogue, values entered with evidence, the peer standard import.
    ("GET", "/api/v1/kpi/indicators"): KPI_READERS,
    ("POST", "/api/v1/kpi/indicators"): KPI_WRITERS,
    ("GET", "/api/v1/kpi/indicators/{code:str}/values"): KPI_READERS,
    ("POST", "/api/v1/kpi/indicators/{code:str}/values"): KPI_WRITERS,
    ("GET", "/api/v1/kpi/peer-standards/template.xlsx"): KPI_READERS,
    ("POST", "/api/v1/kpi/peer-standards/import"): KPI_WRITERS,
    # Stored ratios: computed as runs by KPI writers, read (in one's kpi scope) by KPI readers.
    ("GET", "/api/v1/kpi/ratios"): KPI_READERS,
    ("POST", "/api/v1/kpi/ratios/runs"): KPI_WRITERS,
    ("GET", "/api/v1/kpi/ratios/runs"): KPI_READERS,
    ("GET", "/api/v1/kpi/ratios/runs/{run_id:uuid}"): KPI_READERS,
    # Stored scores (the kpi_scores job's versions): read in one's kpi scope, as the ranking.
    ("GET", "/api/v1/kpi/scores/stored"): KPI_READERS,
    ("GET", "/api/v1/kpi/scores/runs"): KPI_READERS,
    # Jobs: started and followed by whoever runs the group's computations.
    ("GET", "/api/v1/jobs"): JOB_RUNNERS,
    ("POST", "/api/v1/jobs/{name:str}/runs"): JOB_RUNNERS,
    ("GET", "/api/v1/jobs/{name:str}/runs"): JOB_RUNNERS,
    ("GET", "/api/v1/jobs/runs"): JOB_RUNNERS,
    ("GET", "/api/v1/jobs/runs/{run_id:uuid}"): JOB_RUNNERS,
    # Pages (a bearer header opens them as the session cookie does).
    ("GET", "/"): EVERYONE,
    ("GET", "/ledger/entities"): EVERYONE,
    ("GET", "/ledger/entities/export.xlsx"): EVERYONE,
    ("GET", "/ledger/entities/{entity_id:uuid}"): EVERYONE,
    ("GET", "/overview/{period:str}"): EVERYONE,
    ("GET", "/overview/{period:str}/export.xlsx"): STATEMENT_READERS,
    ("GET", "/ledger/reports"): STATEMENT_READERS,
    ("GET", "/ledger/reports/{entity_id:uuid}/{period:str}"): STATEMENT_READERS,
    ("GET", "/ledger/reports/{entity_id:uuid}/{period:str}/{version:int}"): STATEMENT_READERS,
    ("GET", "/ledger/reports/{entity_id:uuid}/{period:str}/versions.xlsx"): STATEMENT_READERS,
    ("POST", "/ledger/reports/{entity_id:uuid}/{period:str}"): LEDGER_WRITERS,
    ("GET", "/ledger/periods"): STATEMENT_READERS,
    ("GET", "/ledger/periods/{period:str}"): STATEMENT_READERS,
    ("GET", "/ledger/periods/{period:str}/export.xlsx"): STATEMENT_READERS,
    ("POST", "/ledger/periods/{period:str}"): LEDGER_WRITERS,
    ("GET", "/ledger/consolidation"): STATEMENT_READERS,
    ("GET", "/ledger/consolidation/{period:str}/{node:str}"): STATEMENT_READERS,
    ("GET", "/ledger/consolidation/{period:str}/{node:str}/eliminations"): STATEMENT_READERS,
    ("GET", "/ledger/consolidation/{period:str}/{node:str}/nci"): STATEMENT_READERS,
    ("GET", "/ledger/consolidation/{period:str}/{node:str}/items/{item:str}"): STATEMENT_READERS,
    (
        "GET",
        "/ledger/consolidation/{period:str}/{node:str}/items/{item:str}/export.xlsx",
    ): STATEMENT_READERS,
    ("GET", "/ledger/consolidation/{period:str}/{node:str}/export/{tab:str}"): STATEMENT_READERS,
    ("GET", "/ledger/consolidation/{period:str}/{node:str}/report.xlsx"): STATEMENT_READERS,
    ("GET", "/audit"): AUDIT_READERS,
    ("GET", "/audit/export.xlsx"): AUDIT_READERS,
    ("GET", "/audit/{entry_id:int}"): AUDIT_READERS,
    # 作业: the jobs API's permission.
    ("GET", "/jobs"): JOB_RUNNERS,
    ("POST", "/jobs"): JOB_RUNNERS,
    ("GET", "/jobs/export.xlsx"): JOB_RUNNERS,
    ("GET", "/jobs/runs/{run_id:uuid}"): JOB_RUNNERS,
    ("POST", "/ledger/entities/{entity_id:uuid}"): LEDGER_APPROVERS,
    ("GET", "/ledger/import"): LEDGER_WRITERS,
    ("POST", "/ledger/import"): LEDGER_WRITERS,
    ("GET", "/ledger/import/template.xlsx"): STATEMENT_READERS,
    ("GET", "/ledger/import/reports/{token:str}"): LEDGER_WRITERS,
    ("GET", "/ledger/import/reports/{token:str}/export/{table_id:str}"): LEDGER_WRITERS,
    ("GET", "/ledger/intercompany"): STATEMENT_READERS,
    ("GET", "/ledger/intercompany/{period:str}"): STATEMENT_READERS,
    ("GET", "/ledger/intercompany/{period:str}/export/{table_id:str}"): STATEMENT_READERS,
    ("GET", "/ledger/intercompany/{period:str}/{entity_id:uuid}"): STATEMENT_READERS,
    ("POST", "/ledger/intercompany/{period:str}/{entity_id:uuid}"): LEDGER_WRITERS,
    ("GET", "/ledger/intercompany/{period:str}/{entity_id:uuid}/blank-line"): LEDGER_WRITERS,
    # The asset register's pages: as its API.
    ("GET", "/ledger/assets"): EVERYONE,
    ("GET", "/ledger/assets/export.xlsx"): EVERYONE,
    ("GET", "/ledger/assets/cards/{card_id:uuid}"): EVERYONE,
    ("GET", "/ledger/assets/transfers"): EVERYONE,
    ("GET", "/ledger/assets/transfers/export.xlsx"): EVERYONE,
    ("GET", "/ledger/assets/transfers/new"): LEDGER_WRITERS,
    ("POST", "/ledger/assets/transfers"): LEDGER_WRITERS,
    ("GET", "/ledger/assets/transfers/{transfer_id:uuid}"): EVERYONE,
    ("GET", "/ledger/assets/transfers/{transfer_id:uuid}/cards.xlsx"): EVERYONE,
    ("POST", "/ledger/assets/transfers/{transfer_id:uuid}/approve"): LEDGER_APPROVERS,
    ("POST", "/ledger/assets/transfers/{transfer_id:uuid}/reject"): LEDGER_APPROVERS,
    ("GET", "/ledger/assets/campaigns"): EVERYONE,
    ("POST", "/ledger/assets/campaigns"): LEDGER_WRITERS,
    ("GET", "/ledger/assets/campaigns/{campaign_id:uuid}"): EVERYONE,
    ("GET", "/ledger/assets/campaigns/{campaign_id:uuid}/report.xlsx"): EVERYONE,
    ("POST", "/ledger/assets/campaigns/{campaign_id:uuid}/counts"): LEDGER_WRITERS,
    ("POST", "/ledger/assets/campaigns/{campaign_id:uuid}/counts/import"): LEDGER_WRITERS,
    ("GET", "/ledger/assets/campaigns/{campaign_id:uuid}/close"): LEDGER_APPROVERS,
    ("POST", "/ledger/assets/campaigns/{campaign_id:uuid}/close"): LEDGER_APPROVERS,
    ("GET", "/ledger/assets/effective"): EVERYONE,
    ("GET", "/ledger/assets/effective/export.xlsx"): EVERYONE,
    # The funds' pages: as the funds API.
    ("GET", "/funds"): FUND_READERS,
    ("GET", "/funds/mother"): FUND_READERS,
    ("GET", "/funds/mother/metrics.xlsx"): FUND_READERS,
    ("GET", "/funds/{fund_id:uuid}"): FUND_READERS,
    ("GET", "/funds/{fund_id:uuid}/capital.xlsx"): FUND_READERS,
    ("GET", "/funds/{fund_id:uuid}/portfolio.xlsx"): FUND_READERS,
    ("POST", "/funds/{fund_id:uuid}/calls"): FUND_WRITERS,
    # The KPI pages: as the KPI API.
    ("GET", "/kpi"): KPI_READERS,
    ("GET", "/kpi/scorecards.xlsx"): KPI_READERS,
    ("GET", "/kpi/contracts/{contract_id:uuid}"): KPI_READERS,
    # The contract editor (业绩合同): group finance's.
    ("GET", "/kpi/contracts"): KPI_WRITERS,
    ("GET", "/kpi/contracts/export.xlsx"): KPI_WRITERS,
    ("GET", "/kpi/contracts/new"): KPI_WRITERS,
    ("GET", "/kpi/contracts/rows/{group:str}"): KPI_WRITERS,
    ("POST", "/kpi/contracts/new"): KPI_WRITERS,
    ("GET", "/kpi/contracts/{contract_id:uuid}/edit"): KPI_WRITERS,
    ("POST", "/kpi/contracts/{contract_id:uuid}/edit"): KPI_WRITERS,
    ("POST", "/kpi/contracts/{contract_id:uuid}/versions"): KPI_WRITERS,
    ("POST", "/kpi/contracts/{contract_id:uuid}/transitions"): KPI_WRITERS,
    ("GET", "/kpi/standards"): KPI_READERS,
    ("GET", "/kpi/standards/export/{table_id:str}"): KPI_READERS,
    ("GET", "/kpi/standards/template.xlsx"): KPI_READERS,
    ("POST", "/kpi/standards/import"): KPI_WRITERS,
    ("GET", "/kpi/standards/reports/{token:str}"): KPI_WRITERS,
    ("GET", "/kpi/standards/reports/{token:str}/export/{table_id:str}"): KPI_WRITERS,
}

# Pages that answer a made-up id outside a scoped role's scope with 403 (the API says 404): the
# guard let the role through, the scope check refused the record.
SCOPE_FORBIDS = {
    ("GET", "/ledger/entities/{entity_id:uuid}"): frozenset({ENTITY_FINANCE}),
    ("GET", "/ledger/intercompany/{period:str}/{entity_id:uuid}"): frozenset({ENTITY_FINANCE}),
    ("POST", "/ledger/intercompany/{period:str}/{entity_id:uuid}"): frozenset({ENTITY_FINANCE}),
    ("GET", "/ledger/reports/{entity_id:uuid}/{period:str}"): frozenset({ENTITY_FINANCE}),
    ("GET", "/ledger/reports/{entity_id:uuid}/{period:str}/{version:int}"): frozenset(
        {ENTITY_FINANCE}
    ),
    ("GET", "/ledger/reports/{entity_id:uuid}/{period:str}/versions.xlsx"): frozenset(
        {ENTITY_FINANCE}
    ),
    ("POST", "/ledger/reports/{entity_id:uuid}/{period:str}"): frozenset({ENTITY_FINANCE}),
    ("GET", "/ledger/assets/cards/{card_id:uuid}"): frozenset({ENTITY_FINANCE}),
    ("GET", "/ledger/assets/transfers/{transfer_id:uuid}"): frozenset({ENTITY_FINANCE}),
    ("GET", "/ledger/assets/transfers/{transfer_id:uuid}/cards.xlsx"): frozenset({ENTITY_FINANCE}),
    ("GET", "/ledger/assets/campaigns/{campaign_id:uuid}"): frozenset({ENTITY_FINANCE}),
    ("GET", "/ledger/assets/campaigns/{campaign_id:uuid}/report.xlsx"): frozenset({ENTITY_FINANCE}),
    ("POST", "/ledger/assets/campaigns/{campaign_id:uuid}/counts"): frozenset({ENTITY_FINANCE}),
    ("POST", "/ledger/assets/campaigns/{campaign_id:uuid}/counts/import"): frozenset(
        {ENTITY_FINANCE}
    ),
}

PERIOD = "2025-Q3"
STATEMENT = {  # balanced: 800 of assets = 100 of liabilities + 700 of equity
    "cash": "200",
    "fixed_assets": "600",
    "total_assets": "800",
    "payables": "100",
    "total_liabilities": "100",
    "paid_in_capital": "500",
    "retained_earnings": "200",
    "total_equity": "700",
    "revenue": "300",
    "operating_cost": "200",
    "net_profit": "50",
}


def guarded_routes(app: Litestar) -> dict[tuple[str, str], HTTPRoute]:
    """Every (method, path) a signed-in user may call: not CORS preflight, not public."""
    found: dict[tuple[str, str], HTTPRoute] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(PUBLIC_PATH_PREFIXES):
            continue
        for handler in route.route_handlers:
            if handler.opt.get("public"):
                continue
            for method in handler.http_methods - {"OPTIONS"}:
                found[(method, route.path)] = route
    return found


def _url(route: HTTPRoute) -> str:
    """The route's path with each parameter filled by a value of its type (nothing that exists)."""

    def value(match: re.Match[str]) -> str:
        kind = route.path_parameters[match.group(1)].type
        return str(uuid4()) if kind is UUID else "1" if kind is int else PERIOD

    return re.sub(r"\{(\w+):\w+\}", value, route.path)


def test_every_route_has_a_line_in_the_table() -> None:
    routes = set(guarded_routes(create_app()))
    missing = sorted(routes - EXPECTED.keys())
    stale = sorted(EXPECTED.keys() - routes)
    assert not missing, f"routes without a line in EXPECTED (say who may call them): {missing}"
    assert not stale, f"lines in EXPECTED for routes that no longer exist: {stale}"


async def test_every_route_lets_in_exactly_the_roles_the_table_names(
    client: AsyncTestClient, login_as: Login
) -> None:
    signed_in = {role: await login_as(role) for role in ROLES}
    # Page forms need the CSRF token (the API ignores it): the sign-in page hands one out.
    token = re.search(r'name="_csrf_token" value="([^"]+)"', (await client.get("/login")).text)
    assert token is not None
    csrf = {"x-csrftoken": token.group(1)}
    failures = []
    for (method, path), route in sorted(guarded_routes(client.app).items()):
        if (method, path) not in EXPECTED:
            continue  # reported by test_every_route_has_a_line_in_the_table
        url = _url(route)
        for role in ROLES:
            # No body and made-up ids: an allowed role gets 400/404/422 and nothing changes.
            response = await client.request(method, url, headers={**signed_in[role], **csrf})
            status = response.status_code
            if role in EXPECTED[(method, path)]:
                scope_refusal = status == 403 and role in SCOPE_FORBIDS.get((method, path), ())
                if status in (401, 403) and not scope_refusal:
                    failures.append(f"{method} {path}: {role} allowed but got {status}")
            elif status != 403:
                failures.append(f"{method} {path}: {role} denied but got {status}")
    assert not failures, f"{len(failures)} wrong answers:\n" + "\n".join(failures)


async def _fund_manager_of(
    client: AsyncTestClient, admin: dict[str, str], entity_id: str
) -> tuple[str, dict[str, str]]:
    """A fund manager scoped to `entity_id`, created through the API; its id and auth headers."""
    password = "a long password for fm"
    created = await client.post(
        "/api/v1/users/",
        headers=admin,
        json={
            "username": "fm1",
            "display_name": "基金管理人",
            "password": password,
            "role": FUND_MANAGER,
            "entity_id": entity_id,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["grants"] == []
    login = await client.post("/api/v1/auth/login", json={"username": "fm1", "password": password})
    assert login.status_code == 201, login.text
    return created.json()["id"], {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_a_fund_manager_reads_statements_only_when_granted(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    admin = await login_as(ADMIN)
    code = "91350100000000001"
    fund = await client.post(
        "/api/v1/ledger/entities/",
        headers=admin,
        json={"credit_code": code + check_character(code), "name": "产业引导基金", "kind": "fund"},
    )
    assert fund.status_code == 201, fund.text
    fund_id = fund.json()["id"]
    submitted = await client.post(
        "/api/v1/ledger/statements/",
        headers=admin,
        json={"entity_id": fund_id, "period": PERIOD, "items": STATEMENT},
    )
    assert submitted.status_code == 201, submitted.text
    user_id, fm = await _fund_manager_of(client, admin, fund_id)
    statement = f"/api/v1/ledger/statements/{fund_id}/{PERIOD}"

    # The entity is theirs to read; its statements are not.
    assert (await client.get(f"/api/v1/ledger/entities/{fund_id}", headers=fm)).status_code == 200
    denied = await client.get(statement, headers=fm)
    assert denied.status_code == 403
    assert "ledger:statements" in problem(denied)["detail"]

    granted = await client.patch(
        f"/api/v1/users/{user_id}", headers=admin, json={"grants": ["ledger:statements"]}
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["grants"] == ["ledger:statements"]
    assert "ledger:statements" in granted.json()["permissions"]
    # The same token: permissions are read per request, so a grant (or its removal) counts at once.
    read = await client.get(statement, headers=fm)
    assert read.status_code == 200, read.text
    assert (read.json()["entity_id"], read.json()["version"]) == (fund_id, 1)

    revoked = await client.patch(f"/api/v1/users/{user_id}", headers=admin, json={"grants": []})
    assert revoked.status_code == 200, revoked.text
    assert (await client.get(statement, headers=fm)).status_code == 403
    actions = await db.fetch(
        "SELECT action FROM audit_log WHERE object_type = 'user' AND object_id = $1 ORDER BY id",
        user_id,
    )
    assert [a["action"] for a in actions] == ["user.create", "user.update", "user.update"]
