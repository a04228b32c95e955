"""The one list of pages: the menu (in order) and what `make screenshots` photographs.

A new page adds a `MenuEntry` here if it belongs in the menu (shown only to roles holding its
permission, the same permission its route's guard checks) and a `Shot` for each view worth a
screenshot. Nothing else needs to know the page exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from stateasset.auth.guards import allowed
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor


@dataclass(frozen=True)
class MenuEntry:
    label: str
    path: str
    permission: Permission
    icon: str = "•"


@dataclass(frozen=True)
class Shot:
    """A page to photograph: `docs/screenshots/<name>.png`, signed in as `username`.

    `follow` names a link to click on `path` first, for pages whose address holds an id.
    """

    name: str
    path: str
    username: str = "gf"
    follow: str | None = None


MENU: list[MenuEntry] = [
    MenuEntry("集团概览", "/", Permission.ledger_read, "⌂"),
    MenuEntry("主体与股权", "/ledger/entities", Permission.ledger_read, "▦"),
    MenuEntry("快报", "/ledger/reports", Permission.ledger_statements, "✎"),
    MenuEntry("期间看板", "/ledger/periods", Permission.ledger_statements, "▤"),
    MenuEntry("导入", "/ledger/import", Permission.ledger_write, "⇪"),
    MenuEntry("内部往来", "/ledger/intercompany", Permission.ledger_statements, "⇄"),
    MenuEntry("合并报表", "/ledger/consolidation", Permission.ledger_statements, "∑"),
    MenuEntry("资产台账", "/ledger/assets", Permission.ledger_read, "▥"),
    MenuEntry("划拨", "/ledger/assets/transfers", Permission.ledger_read, "⇆"),
    MenuEntry("资产盘点", "/ledger/assets/campaigns", Permission.ledger_read, "✓"),
    MenuEntry("有效资产", "/ledger/assets/effective", Permission.ledger_read, "◔"),
    MenuEntry("基金", "/funds", Permission.funds_read, "◈"),
    MenuEntry("母基金看板", "/funds/mother", Permission.funds_read, "◎"),
    MenuEntry("考核评分", "/kpi", Permission.kpi_read, "★"),
    MenuEntry("考核标准值", "/kpi/standards", Permission.kpi_read, "☷"),
    MenuEntry("业绩合同", "/kpi/contracts", Permission.kpi_write, "✍"),
    MenuEntry("审计日志", "/audit", Permission.audit_read, "☰"),
    MenuEntry("作业", "/jobs", Permission.jobs_run, "⚙"),
]

SHOTS: list[Shot] = [
    Shot("login", "/login", username=""),
    Shot("overview", "/"),
    Shot("overview-scoped", "/", username="ef_chengjian"),
    # 城建投's finance staff land on their own Q3 statement, still open for entry.
    Shot("reports", "/ledger/reports", username="ef_chengjian"),
    Shot("reports-board", "/ledger/reports", username="board"),
    Shot("periods", "/ledger/periods"),
    Shot("entities", "/ledger/entities"),
    Shot("entities-tree-legal", "/ledger/entities?view=tree&hierarchy=legal"),
    Shot("entities-tree-platform", "/ledger/entities?view=tree&hierarchy=platform"),
    # Searched: the demo's funds, GPs and portfolio companies push it off the first page.
    Shot("entity", "/ledger/entities?q=城市建设投资", follow="福清市城市建设投资集团有限公司"),
    Shot("entities-scoped", "/ledger/entities", username="ef_chengjian"),
    Shot("import", "/ledger/import", username="ef_chengjian"),
    Shot("intercompany", "/ledger/intercompany?period=2026-Q3"),
    Shot("intercompany-entity", "/ledger/intercompany?period=2026-Q3&entity=交建公司"),
    Shot("consolidation-group", "/ledger/consolidation/2026-Q3/group"),
    # 城建投's finance staff open their platform's report by default.
    Shot("consolidation-platform", "/ledger/consolidation?period=2026-Q3", username="ef_chengjian"),
    Shot("audit", "/audit", username="auditor"),
    Shot("assets", "/ledger/assets"),
    Shot("assets-scoped", "/ledger/assets", username="ef_chengjian"),
    # A building a housing bureau transferred to 城建投: its lineage shows it coming into the group.
    Shot(
        "asset-card",
        "/ledger/assets?q=GOVHOUSING-FW-0001",
        username="ef_chengjian",
        follow="GOVHOUSING-FW-0001",
    ),
    Shot("asset-transfers", "/ledger/assets/transfers"),
    # The demo's transfer awaiting approval, requested by admin: gf may approve it.
    Shot("asset-transfer", "/ledger/assets/transfers", follow="福清市财政局"),
    Shot("asset-transfer-new", "/ledger/assets/transfers/new"),
    Shot("asset-campaigns", "/ledger/assets/campaigns"),
    Shot("asset-campaign", "/ledger/assets/campaigns", follow="水投2026年资产盘点"),
    Shot("asset-effective", "/ledger/assets/effective"),
    Shot("funds", "/funds"),
    # A cooperative sub-fund (market GP), as its fund manager sees it.
    Shot("fund", "/funds", username="fm", follow="合作·新能源"),
    Shot("funds-mother", "/funds/mother", username="board"),
    # The 2025 ranking as the board reads it, then 产业投's scorecard (the one under review).
    Shot("kpi", "/kpi?year=2025", username="board"),
    Shot("kpi-scorecard", "/kpi?year=2025", username="board", follow="福清市产业投资集团有限公司"),
    # Group finance's contract list, and 城建投's active contract in the editor.
    Shot("kpi-contracts", "/kpi/contracts"),
    Shot("kpi-contract", "/kpi/contracts?q=城市建设", follow="福清市城市建设投资集团有限公司"),
    Shot("kpi-contract-new", "/kpi/contracts/new"),
    # Group finance sees the demo's standard values, the catalogue and the upload form.
    Shot("kpi-standards", "/kpi/standards"),
    # The jobs with their schedules, each with its 立即运行 button, and the runs so far.
    Shot("jobs", "/jobs"),
    # A ratios run's record: the demo's period locks queued one per locked period.
    Shot("job-run", "/jobs", follow="指标计算"),
]


def menu_for(actor: Actor) -> list[MenuEntry]:
    """The entries `actor` may open."""
    return [entry for entry in MENU if allowed(actor, entry.permission)]
