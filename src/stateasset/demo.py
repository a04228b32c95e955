"""Demo data: a realistic county group (福清-style 国有资产营运投资集团), loaded once into an empty database.

Everything is written through the ledger and auth services as a system actor, so each write is
validated (审核公式, credit-code checksums, stake totals, period states) and audited exactly as in
production; the whole load runs in one transaction, so it lands completely or not at all.

The numbers are generated from a fixed seed: the same code always loads the same group, to the
cent. What it holds:

- the group, five platforms (五大投) and 21 companies under them: mostly controlling stakes, one
  company controlled at 45% economic / 55% voting, one held jointly by 城建投 (40%) and 交通投
  (20%), one equity-method associate (30%) and one financial investment (10%); outside holders
  own the rest; two agencies (机关) and two public institutions (事业单位) outside consolidation;
- 财务快报 for the 27 reporting entities for 2025-Q1 … 2026-Q3 (balances exact, flows
  year-to-date), with intercompany lines every period: receivable/payable, revenue/cost and
  investment lines from each holder (the buyer's side of a sale split into cost and
  inventory_held), all matching except one receivable/payable pair in 2026-Q3 between
  a 城建投 company and a 交通投 company that differs by ¥12,000.00 (SCENARIOS.md §1);
- 2025 and 2026-Q1/Q2 locked; 2026-Q3 a mix of open, submitted and validated;
- one user per role, password `demo-password-2026`.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from stateasset import db
from stateasset.auth import service as auth_service
from stateasset.auth.roles import Role
from stateasset.auth.schemas import Actor, UserCreate
from stateasset.core.errors import NotFound
from stateasset.db import engine
from stateasset.funds.demo import load_funds
from stateasset.kpi.demo import load_kpi
from stateasset.ledger import service as ledger_service
from stateasset.ledger.assets.demo import load_assets
from stateasset.ledger.catalogue import TOTALS
from stateasset.ledger.closing import intercompany as ledger_intercompany
from stateasset.ledger.closing import periods as ledger_periods
from stateasset.ledger.closing import statements as ledger_statements
from stateasset.ledger.credit_code import ALPHABET, check_character
from stateasset.ledger.schemas import (
    EntityCreate,
    EntityKind,
    IntercompanyLineIn,
    IntercompanySubmit,
    PeriodAction,
    Segment,
    StakeCreate,
    StatementSubmit,
)

DEMO_PASSWORD = "demo-password-2026"
SEED = 350181  # 福清's administrative division code: any fixed number would do
LOADER = Actor(
    id=UUID("00000000-0000-4000-8000-000000350181"), username="demo-loader", role=Role.admin
)

PERIODS: tuple[str, ...] = (
    "2025-Q1",
    "2025-Q2",
    "2025-Q3",
    "2025-Q4",
    "2026-Q1",
    "2026-Q2",
    "2026-Q3",
)
LOCKED_PERIODS = PERIODS[:-1]
CURRENT_PERIOD = PERIODS[-1]
MISMATCH = Decimal("12000.00")
"""What 交通投's side of one pair is short by in the current period (SCENARIOS.md §1)."""

CENT = Decimal("0.01")
WAN = 10_000 * 100  # one 万元 in cents: paid-in capital is registered in round 万元


# ------------------------------------------------------------------------------------------
# The plan: who exists, who holds whom, who trades with whom


@dataclass(frozen=True)
class Mix:
    """How an entity's balance sheet and flows are shaped, by line of business."""

    assets: tuple[float, ...]  # weights of the parts of total_assets, in TOTALS order
    liabilities: tuple[float, ...]  # weights of the parts of total_liabilities, in TOTALS order
    turnover: float  # annual revenue / total assets
    cost_ratio: float  # operating cost / revenue
    roa: float  # annual total profit / total assets (negative: a loss-making public service)
    cash_margin: float  # operating cash flow / revenue
    rd_ratio: float  # R&D / revenue
    wage: float  # yuan per employee per year
    depreciation_rate: float  # annual, of fixed assets
    tax_ratio: float  # 生产税净额 / revenue
    seasons: tuple[float, float, float, float]  # each quarter's share of annual revenue


# assets: cash, receivables, inventory, LTEI, investment property, fixed, CIP, intangible, other
# liabilities: short-term borrowings, payables, long-term borrowings, bonds, other
MIXES: dict[str, Mix] = {
    "group": Mix(
        assets=(0.08, 0.22, 0.0, 0.45, 0.02, 0.01, 0.0, 0.01, 0.21),
        liabilities=(0.06, 0.04, 0.33, 0.47, 0.10),
        turnover=0.012,
        cost_ratio=0.55,
        roa=0.009,
        cash_margin=0.35,
        rd_ratio=0.0005,
        wage=165_000,
        depreciation_rate=0.04,
        tax_ratio=0.06,
        seasons=(0.24, 0.25, 0.25, 0.26),
    ),
    "construction": Mix(
        assets=(0.06, 0.14, 0.40, 0.02, 0.03, 0.03, 0.24, 0.05, 0.03),
        liabilities=(0.08, 0.14, 0.45, 0.18, 0.15),
        turnover=0.07,
        cost_ratio=0.86,
        roa=0.006,
        cash_margin=-0.04,
        rd_ratio=0.002,
        wage=118_000,
        depreciation_rate=0.03,
        tax_ratio=0.05,
        seasons=(0.17, 0.23, 0.25, 0.35),
    ),
    "transport": Mix(
        assets=(0.07, 0.08, 0.02, 0.02, 0.04, 0.48, 0.17, 0.08, 0.04),
        liabilities=(0.10, 0.12, 0.50, 0.13, 0.15),
        turnover=0.14,
        cost_ratio=0.83,
        roa=0.008,
        cash_margin=0.18,
        rd_ratio=0.004,
        wage=105_000,
        depreciation_rate=0.05,
        tax_ratio=0.04,
        seasons=(0.23, 0.25, 0.26, 0.26),
    ),
    "bus": Mix(
        assets=(0.05, 0.06, 0.02, 0.0, 0.02, 0.62, 0.10, 0.10, 0.03),
        liabilities=(0.12, 0.18, 0.40, 0.0, 0.30),
        turnover=0.22,
        cost_ratio=1.08,
        roa=-0.012,
        cash_margin=0.04,
        rd_ratio=0.002,
        wage=96_000,
        depreciation_rate=0.09,
        tax_ratio=0.01,
        seasons=(0.25, 0.25, 0.25, 0.25),
    ),
    "logistics": Mix(
        assets=(0.08, 0.16, 0.06, 0.01, 0.05, 0.42, 0.12, 0.08, 0.02),
        liabilities=(0.15, 0.18, 0.42, 0.08, 0.17),
        turnover=0.30,
        cost_ratio=0.88,
        roa=0.018,
        cash_margin=0.10,
        rd_ratio=0.003,
        wage=112_000,
        depreciation_rate=0.05,
        tax_ratio=0.03,
        seasons=(0.22, 0.25, 0.26, 0.27),
    ),
    "water": Mix(
        assets=(0.05, 0.07, 0.01, 0.01, 0.01, 0.55, 0.20, 0.07, 0.03),
        liabilities=(0.07, 0.11, 0.55, 0.12, 0.15),
        turnover=0.12,
        cost_ratio=0.72,
        roa=0.015,
        cash_margin=0.30,
        rd_ratio=0.01,
        wage=108_000,
        depreciation_rate=0.045,
        tax_ratio=0.05,
        seasons=(0.23, 0.25, 0.27, 0.25),
    ),
    "services": Mix(
        assets=(0.18, 0.30, 0.03, 0.0, 0.0, 0.30, 0.02, 0.02, 0.15),
        liabilities=(0.15, 0.45, 0.10, 0.0, 0.30),
        turnover=1.10,
        cost_ratio=0.88,
        roa=0.03,
        cash_margin=0.06,
        rd_ratio=0.003,
        wage=76_000,
        depreciation_rate=0.08,
        tax_ratio=0.03,
        seasons=(0.24, 0.25, 0.25, 0.26),
    ),
    "tourism": Mix(
        assets=(0.06, 0.05, 0.03, 0.02, 0.22, 0.35, 0.15, 0.10, 0.02),
        liabilities=(0.10, 0.15, 0.48, 0.10, 0.17),
        turnover=0.10,
        cost_ratio=0.74,
        roa=0.01,
        cash_margin=0.20,
        rd_ratio=0.003,
        wage=92_000,
        depreciation_rate=0.04,
        tax_ratio=0.05,
        seasons=(0.30, 0.21, 0.27, 0.22),
    ),
    "finance": Mix(
        assets=(0.22, 0.12, 0.0, 0.30, 0.03, 0.02, 0.0, 0.01, 0.30),
        liabilities=(0.12, 0.10, 0.25, 0.20, 0.33),
        turnover=0.06,
        cost_ratio=0.45,
        roa=0.02,
        cash_margin=0.20,
        rd_ratio=0.002,
        wage=185_000,
        depreciation_rate=0.03,
        tax_ratio=0.06,
        seasons=(0.22, 0.24, 0.25, 0.29),
    ),
    "trade": Mix(
        assets=(0.10, 0.15, 0.50, 0.0, 0.02, 0.15, 0.03, 0.03, 0.02),
        liabilities=(0.40, 0.25, 0.15, 0.0, 0.20),
        turnover=1.30,
        cost_ratio=0.93,
        roa=0.012,
        cash_margin=0.03,
        rd_ratio=0.001,
        wage=89_000,
        depreciation_rate=0.05,
        tax_ratio=0.02,
        seasons=(0.30, 0.20, 0.22, 0.28),
    ),
    "park": Mix(
        assets=(0.05, 0.10, 0.20, 0.03, 0.25, 0.15, 0.15, 0.05, 0.02),
        liabilities=(0.10, 0.12, 0.50, 0.10, 0.18),
        turnover=0.08,
        cost_ratio=0.78,
        roa=0.012,
        cash_margin=0.15,
        rd_ratio=0.004,
        wage=115_000,
        depreciation_rate=0.04,
        tax_ratio=0.05,
        seasons=(0.22, 0.25, 0.25, 0.28),
    ),
}


@dataclass(frozen=True)
class Company:
    """A reporting entity of the demo group: its register entry and its size."""

    key: str
    name: str
    short_name: str
    kind: EntityKind
    segment: Segment | None
    industry: str
    mix: str
    total_assets: float  # yuan at 2025-Q1
    employees: int
    platform: str | None = None


def _platform(
    key: str,
    name: str,
    short: str,
    segment: Segment,
    industry: str,
    mix: str,
    total_assets: float,
    employees: int,
) -> Company:
    kind = EntityKind.platform
    return Company(key, name, short, kind, segment, industry, mix, total_assets, employees)


def _sub(
    key: str,
    name: str,
    short: str,
    platform: str,
    industry: str,
    mix: str,
    total_assets: float,
    employees: int,
) -> Company:
    segment = next(p.segment for p in PLATFORMS if p.key == platform)
    kind = EntityKind.subsidiary
    return Company(
        key, name, short, kind, segment, industry, mix, total_assets, employees, platform
    )


GROUP = Company(
    "group", "福清市国有资产营运投资集团有限公司", "福清国投集团", EntityKind.group, None,
    "国有资产运营", "group", 3.6e10, 68,
)  # fmt: skip

U, T, W, C, F = (
    Segment.urban_construction,
    Segment.transport_logistics,
    Segment.water_environment,
    Segment.culture_tourism,
    Segment.industry_finance,
)
PLATFORMS: tuple[Company, ...] = (
    _platform("cj", "福清市城市建设投资集团有限公司", "城建投", U, "城市基础设施建设", "construction", 3.6e10, 186),
    _platform("jt", "福清市交通投资集团有限公司", "交通投", T, "交通基础设施投资", "transport", 1.8e10, 124),
    _platform("sw", "福清市水务投资集团有限公司", "水投", W, "水务环保", "water", 9.5e9, 92),
    _platform("wl", "福清市文化旅游投资集团有限公司", "文旅投", C, "文化旅游", "tourism", 4.6e9, 71),
    _platform("cy", "福清市产业投资集团有限公司", "产业投", F, "产业投资与金融服务", "finance", 1.25e10, 63),
)  # fmt: skip

SUBSIDIARIES: tuple[Company, ...] = (
    _sub("cj_dev", "福清市城市建设开发有限公司", "城建开发", "cj", "土地整理与代建", "construction", 3.8e9, 262),
    _sub("cj_house", "福清市安居保障房建设有限公司", "安居公司", "cj", "安置房保障房建设", "construction", 3.1e9, 85),
    _sub("cj_prop", "福清市城投物业管理有限公司", "城投物业", "cj", "物业服务", "services", 6.8e7, 418),
    _sub("cj_east", "福清市东部新城开发建设有限公司", "东部新城", "cj", "新城开发", "construction", 2.7e9, 96),
    _sub("cj_park", "福清市智慧停车运营有限公司", "智慧停车", "cj", "停车场建设运营", "transport", 3.4e8, 112),
    _sub("jt_bus", "福清市公共交通有限公司", "福清公交", "jt", "城乡公交", "bus", 6.2e8, 864),
    _sub("jt_port", "福清市港口物流发展有限公司", "港口物流", "jt", "港口物流", "logistics", 1.6e9, 233),
    _sub("jt_build", "福清市交通建设工程有限公司", "交建公司", "jt", "道路工程", "construction", 9.5e8, 309),
    _sub("jt_ev", "福清市新能源充电设施运营有限公司", "充电公司", "jt", "充电桩运营", "transport", 1.3e8, 46),
    _sub("sw_tap", "福清市自来水有限公司", "自来水公司", "sw", "自来水供应", "water", 2.3e9, 541),
    _sub("sw_sewage", "福清市污水处理有限公司", "污水公司", "sw", "污水处理", "water", 1.45e9, 178),
    _sub("sw_clean", "福清市环卫保洁有限公司", "环卫公司", "sw", "城市环卫保洁", "services", 1.6e8, 1247),
    _sub("sw_waste", "福清市建筑垃圾消纳处置有限公司", "消纳公司", "sw", "建筑垃圾消纳", "water", 2.6e8, 74),
    _sub("wl_dev", "福清市文化旅游发展有限公司", "文旅发展", "wl", "旅游开发运营", "tourism", 1.15e9, 152),
    _sub("wl_szs", "福清市石竹山旅游开发有限公司", "石竹山公司", "wl", "景区运营", "tourism", 6.4e8, 207),
    _sub("wl_hb", "福清市黄檗文化旅游开发有限公司", "黄檗文旅", "wl", "文化旅游", "tourism", 2.9e8, 58),
    _sub("wl_dbd", "福清市东壁岛旅游开发有限公司", "东壁岛公司", "wl", "海岛旅游", "tourism", 3.2e8, 41),
    _sub("cy_fund", "福清市融侨产业投资基金管理有限公司", "融侨基金", "cy", "私募基金管理", "finance", 5.5e7, 27),
    _sub("cy_guar", "福清市融资担保有限公司", "融资担保", "cy", "融资担保", "finance", 1.2e9, 44),
    _sub("cy_grain", "福清市粮食储备购销有限公司", "粮食购销", "cy", "粮食储备购销", "trade", 8.4e8, 131),
    _sub("cy_food", "福清市元洪食品产业园发展有限公司", "元洪食品园", "cy", "食品产业园", "park", 2.4e9, 66),
)  # fmt: skip

REPORTERS: tuple[Company, ...] = (GROUP, *PLATFORMS, *SUBSIDIARIES)

# (key, name, kind): not consolidated, no statements
PUBLIC_BODIES: tuple[tuple[str, str, EntityKind], ...] = (
    ("gov_finance", "福清市财政局", EntityKind.agency),
    ("gov_housing", "福清市住房和城乡建设局", EntityKind.agency),
    ("inst_sasac", "福清市国有资产服务中心", EntityKind.institution),
    ("inst_affairs", "福清市机关事务服务中心", EntityKind.institution),
)

# (key, name, administrative division of registration)
OUTSIDE_HOLDERS: tuple[tuple[str, str, str], ...] = (
    ("out_rq", "福州融侨物业服务有限公司", "350100"),
    ("out_zj", "中建海峡建设发展有限公司", "350000"),
    ("out_fjjt", "福建省交通运输集团有限责任公司", "350000"),
    ("out_port", "福州港务集团有限公司", "350100"),
    ("out_sgcc", "国网福建电动汽车服务有限公司", "350100"),
    ("out_bj", "北控水务（中国）投资有限公司", "110000"),
    ("out_lj", "福建龙净环保股份有限公司", "350800"),
    ("out_fjly", "福建省旅游发展集团有限公司", "350000"),
    ("out_zdb", "福建省融资再担保有限责任公司", "350000"),
    ("out_yh", "福建元洪投资开发集团有限公司", "350181"),
)


@dataclass(frozen=True)
class Holding:
    holder: str
    held: str
    economic: str
    voting: str | None
    valid_from: date
    note: str = ""


HOLDINGS: tuple[Holding, ...] = (
    *(Holding("group", p.key, "1", None, date(2019, 6, 28), "组建划入") for p in PLATFORMS),
    Holding("cj", "cj_dev", "1", None, date(2016, 3, 18)),
    Holding("cj", "cj_house", "1", None, date(2017, 9, 5)),
    Holding("cj", "cj_prop", "0.70", None, date(2018, 4, 12)),
    Holding("out_rq", "cj_prop", "0.30", None, date(2018, 4, 12)),
    Holding("cj", "cj_east", "0.51", None, date(2020, 11, 2), "合资开发东部新城"),
    Holding("out_zj", "cj_east", "0.49", None, date(2020, 11, 2)),
    # jointly held: neither platform controls it alone; the group does through both (60%)
    Holding("cj", "cj_park", "0.40", None, date(2022, 5, 20), "城建投、交通投共同出资"),
    Holding("jt", "cj_park", "0.20", None, date(2022, 5, 20), "城建投、交通投共同出资"),
    Holding("out_fjjt", "cj_park", "0.40", None, date(2022, 5, 20)),
    Holding("jt", "jt_bus", "1", None, date(2015, 1, 6)),
    Holding("jt", "jt_port", "0.60", None, date(2019, 8, 16)),
    Holding("out_port", "jt_port", "0.40", None, date(2019, 8, 16)),
    Holding("jt", "jt_build", "1", None, date(2018, 2, 27)),
    # controlled below 50%: 45% of the capital, 55% of the votes (表决权委托协议)
    Holding("jt", "jt_ev", "0.45", "0.55", date(2021, 7, 1), "表决权委托：国网方委托10%表决权"),
    Holding("out_sgcc", "jt_ev", "0.55", "0.45", date(2021, 7, 1)),
    Holding("sw", "sw_tap", "1", None, date(2019, 6, 28)),
    Holding("sw", "sw_sewage", "0.80", None, date(2019, 12, 9)),
    Holding("out_bj", "sw_sewage", "0.20", None, date(2019, 12, 9)),
    Holding("sw", "sw_clean", "1", None, date(2020, 3, 30)),
    Holding("sw", "sw_waste", "0.65", None, date(2021, 10, 11)),
    Holding("out_lj", "sw_waste", "0.35", None, date(2021, 10, 11)),
    Holding("wl", "wl_dev", "1", None, date(2019, 6, 28)),
    Holding("wl", "wl_szs", "0.75", None, date(2017, 5, 22)),
    Holding("out_fjly", "wl_szs", "0.25", None, date(2017, 5, 22)),
    Holding("wl", "wl_hb", "1", None, date(2023, 2, 14)),
    # equity method (联营企业): 30%, no control
    Holding("wl", "wl_dbd", "0.30", None, date(2021, 4, 8), "联营企业，权益法核算"),
    Holding("out_fjly", "wl_dbd", "0.70", None, date(2021, 4, 8)),
    Holding("cy", "cy_fund", "1", None, date(2020, 8, 18)),
    Holding("cy", "cy_guar", "0.90", None, date(2016, 11, 25)),
    Holding("out_zdb", "cy_guar", "0.10", None, date(2016, 11, 25)),
    Holding("cy", "cy_grain", "1", None, date(2019, 6, 28)),
    # financial investment (参股): 10%, not consolidated
    Holding("cy", "cy_food", "0.10", None, date(2022, 9, 9), "参股，不合并"),
    Holding("out_yh", "cy_food", "0.90", None, date(2022, 9, 9)),
)

NOT_CONTROLLED = {"wl_dbd", "cy_food"}  # the associate and the financial investment
CONTROLLED_BY_GROUP = {c.key for c in (GROUP, *PLATFORMS, *SUBSIDIARIES)} - NOT_CONTROLLED

# Receivable/payable pairs (creditor reports the receivable) and revenue/cost pairs (seller
# reports the revenue), each a fixed share of the smaller of the two sides' own items.
RECEIVABLE_PAIRS: tuple[tuple[str, str, float], ...] = (
    ("group", "cj", 0.30),  # 统借统还: the group's bond money on-lent to the platforms
    ("group", "jt", 0.20),
    ("cj_dev", "cj", 0.18),  # 代建工程款
    ("cj_dev", "jt_build", 0.22),  # the cross-platform pair that is off in 2026-Q3
    ("jt_build", "jt", 0.25),
    ("sw_clean", "cj", 0.05),  # 保洁服务费
    ("sw_tap", "cj_house", 0.08),  # 管网接驳费
    ("jt_bus", "wl_dev", 0.12),  # 旅游专线
    ("cy_guar", "jt_port", 0.04),  # 担保费
    ("cj_prop", "cj_east", 0.10),  # 物业服务费
)
MISMATCHED_PAIR = ("cj_dev", "jt_build")
# kind reported by the first side → (its item, the other side's item, the other side's kind)
PAIR_ITEMS = {
    "receivable": ("receivables", "payables", "payable"),
    "revenue": ("revenue", "operating_cost", "cost"),
}
REVENUE_PAIRS: tuple[tuple[str, str, float], ...] = (
    ("cj_dev", "cj", 0.20),
    ("cj_dev", "jt_build", 0.15),
    ("jt_build", "jt", 0.30),
    ("sw_clean", "cj", 0.06),
    ("sw_tap", "cj_house", 0.05),
    ("jt_bus", "wl_dev", 0.08),
    ("cy_guar", "jt_port", 0.03),
    ("cj_prop", "cj_east", 0.12),
)

# 2026-Q3, the quarter being closed: 城建投's companies are still at work (SCENARIOS.md §1),
# three 水投 companies are already validated, everyone else has submitted.
CURRENT_OPEN = {"cj", *(s.key for s in SUBSIDIARIES if s.platform == "cj")}
CURRENT_VALIDATED = {"sw_tap", "sw_sewage", "sw_clean"}

USERS: tuple[tuple[str, str, Role, str | None], ...] = (
    ("admin", "系统管理员", Role.admin, None),
    ("gf", "集团财务部", Role.group_finance, None),
    ("ef_chengjian", "城建投财务部", Role.entity_finance, "cj"),
    # The fund management company: its ledger scope; the demo funds assign it the mother fund
    # and its sub-funds.
    ("fm", "融侨基金管理人", Role.fund_manager, "cy_fund"),
    ("board", "集团董事会", Role.board, None),
    ("auditor", "集团审计部", Role.auditor, None),
)


# ------------------------------------------------------------------------------------------
# Credit codes


_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUE = {ch: int(ch, 36) for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def _organization_code(body8: str) -> str:
    """The 9-character 组织机构代码 (GB 11714): 8 characters and their mod-11 check character."""
    check = 11 - sum(_ORG_VALUE[c] * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True)) % 11
    return body8 + {10: "X", 11: "0"}.get(check, str(check))


def _credit_code(rng: random.Random, prefix: str, used: set[str]) -> str:
    """A valid, unused credit code: 登记管理部门码+机构类别码 and 行政区划码 (`prefix`, 8
    characters), an organization code, and the GB 32100 check character."""
    while True:
        if prefix.startswith("9") and rng.random() < 0.5:
            # companies registered since 2015 carry an "MA…" code
            tail = "".join(rng.choice(ALPHABET) for _ in range(5))
            body = "MA" + rng.choice("23") + tail
        else:
            body = rng.choice("157") + "".join(rng.choice("0123456789") for _ in range(7))
        first17 = prefix + _organization_code(body)
        code = first17 + check_character(first17)
        if code not in used:
            used.add(code)
            return code


# ------------------------------------------------------------------------------------------
# Statements


def _yuan(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2).quantize(CENT)


def _cents(value: float) -> int:
    return round(value * 100)


def _split(
    rng: random.Random, total: float, items: tuple[str, ...], weights: tuple[float, ...]
) -> dict[str, int]:
    """Cents per part: `total` spread by jittered weights (parts with weight 0 stay 0)."""
    jittered = {k: w * rng.uniform(0.93, 1.07) for k, w in zip(items, weights, strict=True)}
    scale = total / sum(jittered.values())
    return {k: _cents(w * scale) for k, w in jittered.items()}


@dataclass
class Series:
    """One entity's 财务快报 for every demo period (amounts in cents) and its paid-in capital."""

    paid_in_cents: int
    items: dict[str, dict[str, int]]  # period → item → cents


def _series(
    rng: random.Random, company: Company, ltei_floor_cents: int, state_share: Decimal
) -> Series:
    """Balance sheets that add up exactly, flows reported year to date, for PERIODS."""
    mix = MIXES[company.mix]
    growth = rng.uniform(0.006, 0.022)
    debt_ratio = rng.uniform(0.48, 0.68)
    drift = rng.uniform(-0.004, 0.004)
    employees = company.employees
    total_assets = company.total_assets * rng.uniform(0.95, 1.05)
    items: dict[str, dict[str, int]] = {}
    paid_in = retained = 0
    ytd: dict[str, int] = {}
    for index, period in enumerate(PERIODS):
        quarter = int(period[-1])
        if quarter == 1:
            ytd = {}
        total_assets *= 1 + growth + rng.uniform(-0.006, 0.006)
        assets = _split(rng, total_assets, TOTALS["total_assets"], mix.assets)
        # A parent's LTEI carries at least its holdings (investment lines = share × paid-in).
        floor = int(ltei_floor_cents * rng.uniform(1.04, 1.08))
        assets["long_term_equity_investment"] = max(assets["long_term_equity_investment"], floor)
        assets_total = sum(assets.values())
        debt_ratio = min(0.72, max(0.44, debt_ratio + drift + rng.uniform(-0.008, 0.008)))
        liabilities = _split(
            rng, assets_total / 100 * debt_ratio, TOTALS["total_liabilities"], mix.liabilities
        )
        liabilities_total = sum(liabilities.values())
        equity_total = assets_total - liabilities_total

        # Flows of this quarter alone, then added into the year-to-date figures.
        revenue = _cents(total_assets * mix.turnover * mix.seasons[quarter - 1])
        revenue = int(revenue * rng.uniform(0.95, 1.05))
        profit = _cents(total_assets * mix.roa / 4 * rng.uniform(0.8, 1.2))
        quarter_flows = {
            "revenue": revenue,
            "operating_cost": int(revenue * mix.cost_ratio * rng.uniform(0.97, 1.03)),
            "rd_expense": int(revenue * mix.rd_ratio * rng.uniform(0.8, 1.2)),
            "total_profit": profit,
            "net_profit": int(profit * 0.75) if profit > 0 else profit,
            "operating_cash_flow": int(revenue * (mix.cash_margin + rng.uniform(-0.05, 0.05))),
            "investing_cash_flow": -_cents(total_assets * rng.uniform(0.004, 0.016)),
            "financing_cash_flow": _cents(total_assets * rng.uniform(-0.004, 0.014)),
            "labor_cost": _cents(employees * mix.wage / 4 * rng.uniform(0.95, 1.1)),
            "depreciation": int(assets["fixed_assets"] * mix.depreciation_rate / 4),
            "taxes_net": int(revenue * mix.tax_ratio * rng.uniform(0.9, 1.1)),
        }
        for item, cents in quarter_flows.items():
            ytd[item] = ytd.get(item, 0) + cents

        if index == 0:
            # Registered capital in round 万元; retained earnings a modest share of equity.
            paid_in = int(equity_total * rng.uniform(0.22, 0.34)) // WAN * WAN
            retained = int(equity_total * rng.uniform(0.03, 0.09))
        retained += quarter_flows["net_profit"]
        capital_reserve = equity_total - paid_in - retained
        employees = max(5, employees + rng.randint(-3, 4))
        items[period] = {
            **assets,
            "total_assets": assets_total,
            **liabilities,
            "total_liabilities": liabilities_total,
            "paid_in_capital": paid_in,
            "capital_reserve": capital_reserve,
            "retained_earnings": retained,
            "total_equity": equity_total,
            "state_capital": int(
                (Decimal(equity_total) * state_share).to_integral_value(ROUND_HALF_UP)
            ),
            **ytd,
            "employees_avg": employees * 100,
        }
    return Series(paid_in_cents=paid_in, items=items)


def _investment(share: Decimal, paid_in_cents: int) -> Decimal:
    """The carrying amount of a holding: share × the held company's paid-in capital, to the cent."""
    return (share * _yuan(paid_in_cents)).quantize(CENT, rounding=ROUND_HALF_UP)


def _build_series(rng: random.Random) -> dict[str, Series]:
    """Every reporter's statements, children first so parents' LTEI covers their holdings."""
    by_holder: dict[str, list[Holding]] = {}
    for h in HOLDINGS:
        by_holder.setdefault(h.holder, []).append(h)
    # The state's share of each company's equity: the group's effective interest along the chain.
    # (Parents come before children in PLATFORMS + SUBSIDIARIES, so one pass suffices.)
    state: dict[str, Decimal] = defaultdict(Decimal, group=Decimal(1))
    for h in HOLDINGS:
        if h.holder in CONTROLLED_BY_GROUP:
            state[h.held] += state[h.holder] * Decimal(h.economic)
    series: dict[str, Series] = {}
    for company in (*SUBSIDIARIES, *PLATFORMS, GROUP):
        floor = sum(
            int(_investment(Decimal(h.economic), series[h.held].paid_in_cents) * 100)
            for h in by_holder.get(company.key, [])
        )
        series[company.key] = _series(rng, company, floor, state[company.key])
    return series


def _statement_items(cents: dict[str, int]) -> dict[str, Decimal]:
    return {item: _yuan(amount) for item, amount in cents.items()}


def _intercompany(
    rng: random.Random, series: dict[str, Series]
) -> dict[str, dict[str, list[tuple[str, str, Decimal]]]]:
    """period → reporter → its lines (partner key, kind, amount)."""
    fractions = {
        (kind, a, b): base * rng.uniform(0.8, 1.2)
        for kind, pairs in (("receivable", RECEIVABLE_PAIRS), ("revenue", REVENUE_PAIRS))
        for a, b, base in pairs
    }
    out: dict[str, dict[str, list[tuple[str, str, Decimal]]]] = {}
    for period in PERIODS:
        lines: dict[str, list[tuple[str, str, Decimal]]] = defaultdict(list)
        # Holdings inside the consolidated group: the holder's carrying amount (CAS 33 takes
        # the held side's equity from its statement and the stakes, so it reports nothing).
        for h in HOLDINGS:
            if h.holder in CONTROLLED_BY_GROUP and h.held in CONTROLLED_BY_GROUP:
                amount = _investment(Decimal(h.economic), series[h.held].paid_in_cents)
                lines[h.holder].append((h.held, "investment", amount))
        # Trade: a share of the smaller of the two sides' own items (whole yuan), so neither
        # side reports more against the other than its statement holds.
        for (kind, a, b), fraction in fractions.items():
            own, other, back_kind = PAIR_ITEMS[kind]
            a_items, b_items = series[a].items[period], series[b].items[period]
            amount = _yuan(int(min(a_items[own], b_items[other]) * fraction) // 100 * 100)
            back = amount
            if kind == "receivable" and (a, b) == MISMATCHED_PAIR and period == CURRENT_PERIOD:
                back = amount - MISMATCH
            lines[a].append((b, kind, amount))
            if kind == "revenue":
                # The buyer still holds a tenth of what it bought (whole hundreds of yuan) at
                # the quarter's end; the seller's profit in it is eliminated as unrealized.
                held = _yuan(int(back * 100) // 10 // 10_000 * 10_000)
                lines[b].append((a, back_kind, back - held))
                lines[b].append((a, "inventory_held", held))
            else:
                lines[b].append((a, back_kind, back))
        out[period] = dict(lines)
    return out


# ------------------------------------------------------------------------------------------
# Loading


async def _has_group() -> bool:
    try:
        await ledger_service.group_id()
    except NotFound:
        return False
    return True


async def load_demo() -> None:
    """Load the demo group into an empty database; do nothing when a group is already there."""
    if await _has_group():
        print("demo: a group entity already exists; demo data not loaded (nothing changed)")
        return
    started = time.perf_counter()
    rng = random.Random(SEED)
    series = _build_series(rng)
    intercompany = _intercompany(rng, series)
    counts: dict[str, int] = {}
    async with engine().transaction():
        ids = await _create_entities(rng, counts)
        await _create_stakes(ids, counts)
        print(f"demo: {counts['entities']} entities, {counts['stakes']} stakes", flush=True)
        for period in PERIODS:
            await _load_period(period, ids, series, intercompany[period], counts)
        users = await _create_users(ids, counts)
        async with db.connection() as conn:
            assets = await load_assets(
                conn, ids, [(c.key, c.mix, c.total_assets) for c in REPORTERS], SEED
            )
            codes = {r["credit_code"] for r in await conn.fetch("SELECT credit_code FROM entity")}
            funds = await load_funds(
                conn, ids, SEED, lambda prefix: _credit_code(rng, prefix, codes)
            )
        kpi = await load_kpi(LOADER, ids)
    elapsed = time.perf_counter() - started
    print(
        f"demo: {counts['entities']} entities, {counts['stakes']} stakes, "
        f"{counts['statements']} statements, {counts['intercompany_lines']} intercompany lines, "
        f"{counts['transitions']} period transitions, {counts['users']} users "
        f"in {elapsed:.1f}s"
    )
    print(
        f"demo: {CURRENT_PERIOD}: {len(CURRENT_OPEN)} open, "
        f"{len(REPORTERS) - len(CURRENT_OPEN) - len(CURRENT_VALIDATED)} submitted, "
        f"{len(CURRENT_VALIDATED)} validated; one receivable/payable pair differs by "
        f"¥{MISMATCH:,} ({_name(MISMATCHED_PAIR[0])} / {_name(MISMATCHED_PAIR[1])})"
    )
    print(
        f"demo: asset register: {assets['cards']} cards, {assets['events']} events, "
        f"{assets['transfers']} transfers (one awaiting approval), an open 盘点 of 水投 with "
        f"{assets['counts']} counts (1 盘盈, 2 盘亏)"
    )
    print(
        f"demo: funds: the mother fund and {funds['funds'] - 1} sub-funds, "
        f"{funds['investments']} investments in {funds['companies']} new companies, "
        f"{funds['flows']} calls and distributions, {funds['navs']} NAV statements"
    )
    print(
        f"demo: KPI: {kpi['contracts']} tenure contracts 2025–2027 of the second-level companies, "
        "peer standard values and GDP growth"
    )
    _print_users(users)


def _name(key: str) -> str:
    return next(c.name for c in REPORTERS if c.key == key)


async def _create_entities(rng: random.Random, counts: dict[str, int]) -> dict[str, UUID]:
    used: set[str] = set()
    ids: dict[str, UUID] = {}

    async def create(key: str, data: EntityCreate) -> None:
        ids[key] = (await ledger_service.create_entity(actor=LOADER, data=data)).id

    for company in (GROUP, *PLATFORMS, *SUBSIDIARIES):
        await create(
            company.key,
            EntityCreate(
                credit_code=_credit_code(rng, "91350181", used),
                name=company.name,
                short_name=company.short_name,
                kind=company.kind,
                platform_id=ids[company.platform] if company.platform else None,
                segment=company.segment,
                industry=company.industry,
                second_level=company.kind == EntityKind.platform,
            ),
        )
    for key, name, kind in PUBLIC_BODIES:
        prefix = "11350181" if kind == EntityKind.agency else "12350181"
        await create(
            key, EntityCreate(credit_code=_credit_code(rng, prefix, used), name=name, kind=kind)
        )
    for key, name, region in OUTSIDE_HOLDERS:
        await create(
            key,
            EntityCreate(
                credit_code=_credit_code(rng, f"91{region}", used),
                name=name,
                kind=EntityKind.outside,
            ),
        )
    counts["entities"] = len(ids)
    return ids


async def _create_stakes(ids: dict[str, UUID], counts: dict[str, int]) -> None:
    for h in HOLDINGS:
        await ledger_service.create_stake(
            actor=LOADER,
            data=StakeCreate(
                holder_id=ids[h.holder],
                held_id=ids[h.held],
                economic_share=Decimal(h.economic),
                voting_share=Decimal(h.voting) if h.voting is not None else None,
                valid_from=h.valid_from,
                note=h.note,
            ),
        )
    counts["stakes"] = len(HOLDINGS)


async def _load_period(
    period: str,
    ids: dict[str, UUID],
    series: dict[str, Series],
    lines: dict[str, list[tuple[str, str, Decimal]]],
    counts: dict[str, int],
) -> None:
    warnings = 0
    for company in REPORTERS:
        read = await ledger_statements.submit_statement(
            actor=LOADER,
            data=StatementSubmit(
                entity_id=ids[company.key],
                period=period,
                items=_statement_items(series[company.key].items[period]),
            ),
        )
        warnings += len(read.findings)
        counts["statements"] = counts.get("statements", 0) + 1
    for key, own in lines.items():
        await ledger_intercompany.put_intercompany(
            actor=LOADER,
            data=IntercompanySubmit(
                entity_id=ids[key],
                period=period,
                lines=[
                    IntercompanyLineIn(partner_id=ids[partner], kind=kind, amount=amount)
                    for partner, kind, amount in own
                ],
            ),
        )
        counts["intercompany_lines"] = counts.get("intercompany_lines", 0) + len(own)
    everyone = [c.key for c in REPORTERS]
    if period in LOCKED_PERIODS:
        steps = [
            (PeriodAction.submit, everyone),
            (PeriodAction.validate, everyone),
            (PeriodAction.lock, everyone),
        ]
    else:
        submitted = [k for k in everyone if k not in CURRENT_OPEN]
        steps = [
            (PeriodAction.submit, submitted),
            (PeriodAction.validate, [k for k in submitted if k in CURRENT_VALIDATED]),
        ]
    for action, keys in steps:
        changed = await ledger_periods.transition_periods(
            actor=LOADER,
            period=period,
            action=action,
            entity_ids=[ids[k] for k in keys],
            reason=None,
        )
        counts["transitions"] = counts.get("transitions", 0) + len(changed)
    state = "locked" if period in LOCKED_PERIODS else "open/submitted/validated"
    print(
        f"demo: {period}: {len(REPORTERS)} statements ({warnings} warnings), "
        f"{sum(len(v) for v in lines.values())} intercompany lines, {state}",
        flush=True,
    )


async def _create_users(ids: dict[str, UUID], counts: dict[str, int]) -> list[tuple[str, str, str]]:
    """One user per role; a name already taken is left as it is (and said so)."""
    taken = {u.username for u in await auth_service.list_users()}
    rows = []
    for username, display_name, role, scope in USERS:
        scope_name = _name(scope) if scope else "全部 all"
        if role == Role.fund_manager:
            scope_name = f"{scope_name}; every entity, no statements unless granted; funds: the mother fund and its sub-funds"
        if username in taken:
            rows.append((username, role.value, f"{scope_name} (exists, not changed)"))
            continue
        await auth_service.create_user(
            actor=LOADER.username,
            data=UserCreate(
                username=username,
                display_name=display_name,
                password=DEMO_PASSWORD,
                role=role,
                entity_id=ids[scope] if scope else None,
            ),
        )
        rows.append((username, role.value, scope_name))
        counts["users"] = counts.get("users", 0) + 1
    counts.setdefault("users", 0)
    return rows


def _print_users(rows: list[tuple[str, str, str]]) -> None:
    print(f"demo: users (password {DEMO_PASSWORD}):")
    print(f"  {'username':<14} {'role':<15} scope")
    for username, role, scope in rows:
        print(f"  {username:<14} {role:<15} {scope}")
