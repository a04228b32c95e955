"""The demo load: what it writes is checked through the raw connection, not the loader's own numbers."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import polars as pl
import pytest

from stateasset.audit.service import verify_chain
from stateasset.auth.roles import Role
from stateasset.auth.schemas import Actor
from stateasset.demo import load_demo
from stateasset.ledger import consolidation as ledger_consolidation
from stateasset.ledger.catalogue import TOTALS
from stateasset.ledger.compute import consolidation as consolidation_calc
from stateasset.ledger.credit_code import credit_code_problem

PERIODS = ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
REPORTING_KINDS = ("group", "platform", "subsidiary")
TABLES = (
    "entity",
    "stake",
    "statement",
    "statement_line",
    "intercompany_line",
    "period_state",
    "app_user",
    "audit_log",
)
READER = Actor(id=UUID(int=1), username="test-reader", role=Role.group_finance)


async def _table_counts(db: asyncpg.Connection) -> dict[str, int]:
    return {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


async def _statements(db: asyncpg.Connection) -> dict[tuple[UUID, str], dict[str, Decimal]]:
    rows = await db.fetch(
        "SELECT s.entity, s.period, l.item, l.amount FROM statement s "
        "JOIN statement_line l ON l.statement = s.id"
    )
    out: dict[tuple[UUID, str], dict[str, Decimal]] = defaultdict(dict)
    for r in rows:
        out[(r["entity"], r["period"])][r["item"]] = r["amount"]
    return out


async def test_demo_loads_a_consistent_group_once(
    db: asyncpg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    """One load (it takes seconds), checked from every side, then loaded again for nothing."""
    await load_demo()
    out = capsys.readouterr().out
    assert "demo: 41 entities" in out
    assert "ef_chengjian" in out and "demo-password-2026" in out
    await _check_register(db)
    await _check_statements(db)
    await _check_intercompany(db)
    await _check_periods_audit_and_consolidation(db)

    before = await _table_counts(db)
    await load_demo()
    assert "already exists" in capsys.readouterr().out
    assert await _table_counts(db) == before


async def _check_register(db: asyncpg.Connection) -> None:
    entities = await db.fetch("SELECT id, name, kind, credit_code, platform_id FROM entity")
    assert Counter(e["kind"] for e in entities) == {
        "group": 1,
        "platform": 5,
        "subsidiary": 21,
        "agency": 2,
        "institution": 2,
        # 10 outside shareholders; the funds' 4 market GPs, 6 market LPs and 56 companies
        "outside": 10 + 4 + 6 + 56,
        "fund": 9,  # the mother fund and its 8 sub-funds
    }
    codes = [e["credit_code"] for e in entities]
    assert len(set(codes)) == len(codes)
    assert all(credit_code_problem(c) is None for c in codes)
    by_kind_prefix = {(e["kind"], e["credit_code"][:8]) for e in entities}
    assert ("agency", "11350181") in by_kind_prefix
    assert ("institution", "12350181") in by_kind_prefix
    assert all(
        e["credit_code"].startswith("91350181") for e in entities if e["kind"] in REPORTING_KINDS
    )
    platforms = {e["id"] for e in entities if e["kind"] == "platform"}
    assert all(e["platform_id"] in platforms for e in entities if e["kind"] == "subsidiary")

    # Nobody holds more than 100% of anything, and the special holdings are there.
    names = {e["id"]: e["name"] for e in entities}
    stakes = await db.fetch("SELECT holder, held, economic_share, voting_share FROM stake")
    assert len(stakes) == 38
    held: dict[UUID, list[Any]] = defaultdict(list)
    for s in stakes:
        held[s["held"]].append(s)
    assert all(sum(s["economic_share"] for s in v) <= 1 for v in held.values())
    assert all(sum(s["voting_share"] for s in v) <= 1 for v in held.values())
    shares = {(names[s["holder"]], names[s["held"]]): s for s in stakes}
    ev = shares[("福清市交通投资集团有限公司", "福清市新能源充电设施运营有限公司")]
    assert (ev["economic_share"], ev["voting_share"]) == (Decimal("0.45"), Decimal("0.55"))
    park = [k for k in shares if k[1] == "福清市智慧停车运营有限公司"]
    assert len(park) == 3

    users = await db.fetch("SELECT username, role, entity_id FROM app_user ORDER BY username")
    assert {u["username"]: u["role"] for u in users} == {
        "admin": "admin",
        "auditor": "auditor",
        "board": "board",
        "ef_chengjian": "entity_finance",
        "fm": "fund_manager",
        "gf": "group_finance",
    }
    ef = next(u for u in users if u["username"] == "ef_chengjian")
    assert names[ef["entity_id"]] == "福清市城市建设投资集团有限公司"


async def _check_statements(db: asyncpg.Connection) -> None:
    reporters = {
        r["id"]: r["kind"]
        for r in await db.fetch("SELECT id, kind FROM entity WHERE kind = ANY($1)", REPORTING_KINDS)
    }
    assert len(reporters) == 27
    versions = await db.fetch("SELECT entity, period, version FROM statement")
    assert len(versions) == 27 * 7
    assert {v["version"] for v in versions} == {1}
    statements = await _statements(db)
    assert set(statements) == {(e, p) for e in reporters for p in PERIODS}
    for (entity, period), items in statements.items():
        for total, parts in TOTALS.items():
            assert items[total] == sum(items[p] for p in parts), (entity, period, total)
        assert items["total_assets"] == items["total_liabilities"] + items["total_equity"]
        assert all(a == a.quantize(Decimal("0.01")) for a in items.values())
        debt_ratio = items["total_liabilities"] / items["total_assets"]
        assert Decimal("0.40") <= debt_ratio <= Decimal("0.75"), (entity, period, debt_ratio)
        for item in ("state_capital", "employees_avg", "labor_cost", "depreciation", "rd_expense"):
            assert item in items
        assert items["employees_avg"] > 0 and items["labor_cost"] > 0
        low, high = (
            (Decimal("1e9"), Decimal("5e10"))
            if reporters[entity] == "platform"
            else (Decimal("1e7"), Decimal("5e9"))
            if reporters[entity] == "subsidiary"
            else (Decimal("1e9"), Decimal("1e11"))
        )
        assert low <= items["total_assets"] <= high, (entity, period, items["total_assets"])
    # Year-to-date flows grow through each year.
    for entity in reporters:
        for year in ("2025", "2026"):
            quarters = [statements[(entity, p)] for p in PERIODS if p.startswith(year)]
            for item in ("revenue", "operating_cost", "labor_cost", "depreciation"):
                values = [q[item] for q in quarters]
                assert values == sorted(values), (entity, year, item)


async def _check_intercompany(db: asyncpg.Connection) -> None:
    names = {r["id"]: r["name"] for r in await db.fetch("SELECT id, name FROM entity")}
    statements = await _statements(db)
    stakes = {
        (r["holder"], r["held"]): r["economic_share"]
        for r in await db.fetch("SELECT holder, held, economic_share FROM stake")
    }
    for period in PERIODS:
        rows = await db.fetch(
            "SELECT entity::text AS entity_id, partner::text AS partner_id, kind, amount "
            "FROM intercompany_line WHERE period = $1",
            period,
        )
        assert {r["kind"] for r in rows} == {
            "receivable",
            "payable",
            "revenue",
            "cost",
            "inventory_held",
            "investment",
        }
        frame = pl.DataFrame(
            [dict(r) for r in rows],
            schema={
                "entity_id": pl.String,
                "partner_id": pl.String,
                "kind": pl.String,
                "amount": pl.Decimal(38, 2),
            },
        )
        found = consolidation_calc.intercompany_mismatches(frame.lazy(), Decimal("0.01")).collect()
        if period != "2026-Q3":
            assert found.height == 0, (period, found)
        else:
            [row] = found.iter_rows(named=True)
            assert row["kind"] == "receivable_payable"
            assert row["difference"] == Decimal("12000.00")
            assert names[UUID(row["entity_id"])] == "福清市城市建设开发有限公司"
            assert names[UUID(row["partner_id"])] == "福清市交通建设工程有限公司"
        # Investments carry share × the held company's paid-in capital; parents' LTEI covers them.
        invested: dict[UUID, Decimal] = defaultdict(Decimal)
        for r in rows:
            if r["kind"] != "investment":
                continue
            holder, held = UUID(r["entity_id"]), UUID(r["partner_id"])
            paid_in = statements[(held, period)]["paid_in_capital"]
            assert r["amount"] == (stakes[(holder, held)] * paid_in).quantize(Decimal("0.01"))
            invested[holder] += r["amount"]
        for holder, amount in invested.items():
            assert statements[(holder, period)]["long_term_equity_investment"] >= amount
    investments = await db.fetchval(
        "SELECT count(*) FROM intercompany_line WHERE period = '2026-Q2' AND kind = 'investment'"
    )
    assert investments == 25  # group → 5 platforms; platforms → 19 controlled, the joint one twice


async def _check_periods_audit_and_consolidation(db: asyncpg.Connection) -> None:
    states = await db.fetch(
        "SELECT e.kind, p.period, p.state FROM period_state p JOIN entity e ON e.id = p.entity"
    )
    by_period: dict[str, Counter[str]] = defaultdict(Counter)
    for s in states:
        assert s["kind"] in REPORTING_KINDS
        by_period[s["period"]][s["state"]] += 1
    for period in PERIODS[:-1]:
        assert by_period[period] == {"locked": 27}
    current = by_period["2026-Q3"]
    assert (current["submitted"], current["validated"]) == (18, 3)
    assert set(current) <= {"open", "submitted", "validated"}
    # Still open (a row saying so, or none yet): 城建投 and its companies, mid-close.
    still_open = await db.fetch(
        "SELECT e.short_name, e.platform_id, e.kind FROM entity e WHERE e.kind = ANY($1) "
        "AND NOT EXISTS (SELECT 1 FROM period_state p WHERE p.entity = e.id "
        "AND p.period = '2026-Q3' AND p.state <> 'open')",
        REPORTING_KINDS,
    )
    cj = await db.fetchval("SELECT id FROM entity WHERE short_name = '城建投'")
    assert len(still_open) == 6
    assert all(r["platform_id"] == cj or r["short_name"] == "城建投" for r in still_open)

    report = await verify_chain()
    assert report.ok, report
    actors = await db.fetch("SELECT actor, count(*) AS n FROM audit_log GROUP BY actor")
    assert [(a["actor"]) for a in actors] == ["demo-loader"]
    assert report.rows_checked == actors[0]["n"]

    consolidated = await ledger_consolidation.consolidation(
        actor=READER, node="group", period="2026-Q2", mode="consolidated"
    )
    items = {i.item: i.consolidated for i in consolidated.items}
    assert consolidated.missing_statements == []
    assert len(consolidated.members) == 25  # all but the associate and the 10% holding
    assert items["elimination_difference"] == Decimal("0.00")
    assert items["total_assets"] == items["total_liabilities"] + items["total_equity"]
    assert items["non_controlling_interest"] > 0
    assert all(items[i] >= 0 for i in ("receivables", "payables", "paid_in_capital", "revenue"))
    # Every internal holding has its investment line, every sale its inventory_held line: the
    # buyers' stock carries the sellers' margin out as unrealized profit.
    assert consolidated.missing_investment_lines == []
    assert consolidated.notes == []
    assert items["unrealized_profit"] > 0
    assert items["reserve_shortfall"] == 0  # holdings are carried at share × paid-in capital
    # The group's paid-in capital is its own (CAS 33), not the members' sum.
    group_paid_in = await db.fetchval(
        "SELECT l.amount FROM statement_line l JOIN statement s ON s.id = l.statement "
        "JOIN entity e ON e.id = s.entity WHERE e.kind = 'group' AND s.period = '2026-Q2' "
        "AND l.item = 'paid_in_capital'"
    )
    assert items["paid_in_capital"] == group_paid_in


async def test_a_failed_load_leaves_nothing_behind(
    db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stateasset import demo

    async def fail(*args: Any, **kwargs: Any) -> None:
        assert await db.fetchval("SELECT count(*) FROM entity") == 0  # not committed yet
        raise RuntimeError("stakes failed")

    monkeypatch.setattr(demo, "_create_stakes", fail)
    with pytest.raises(RuntimeError, match="stakes failed"):
        await load_demo()
    assert set((await _table_counts(db)).values()) == {0}
