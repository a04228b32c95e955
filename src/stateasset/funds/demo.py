"""The demo mother fund: 8 sub-funds, their LPs, five years of quarterly capital activity and NAVs,
about 60 portfolio companies across the 3+N industries, and an index series for KS-PME.

Written straight into the tables with COPY in the demo's transaction, as the asset register's
demo is: the rows are what the services would have written (calls within commitments, NAVs that
roll forward quarter to quarter, one call left unpaid past its due date). Two sub-funds are
made to be flagged: 合作子基金·食品 is over its government cap (the mother fund and 交通投
together hold 45% against a 40% cap) and 合作子基金·数字经济 is behind on 返投.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg

from stateasset.core.money import CENT
from stateasset.core.periods import quarter_period

LOADER = "demo-loader"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
LAST_QUARTER = (2026, 3)
INDEX_SERIES = "沪深300全收益"
MOTHER = ("fund_mother", "福清市产业引导基金合伙企业（有限合伙）", "引导母基金")
MARKET_GPS = (  # key, name, registration code
    ("gp_hx", "福建海西创业投资管理有限公司", "P1006011"),
    ("gp_mj", "闽江资本管理有限公司", "P1023456"),
    ("gp_dc", "福州达成股权投资管理有限公司", "P1061234"),
    ("gp_xy", "厦门兴业新能源投资管理有限公司", "P1070021"),
)
MARKET_LPS = (
    ("lp_rq", "融侨集团股份有限公司"),
    ("lp_fy", "福耀投资有限公司"),
    ("lp_hx", "海峡产业投资有限公司"),
    ("lp_jm", "金闽保险资产管理有限公司"),
    ("lp_ss", "上市公司员工持股平台（有限合伙）"),
    ("lp_yh", "元洪实业投资有限公司"),
)


@dataclass
class SubFund:
    key: str
    name: str
    short: str
    category: str
    gps: tuple[tuple[str, str], ...]  # (gp key, role)
    size: int  # yuan
    vintage: int
    industries: tuple[str, ...]
    mother: float  # the mother fund's share of the commitments
    government: tuple[tuple[str, float], ...] = ()  # other government LPs (platform key, share)
    cap: str = "0.40"
    multiple: str = "1.5"
    local_rate: float = 0.7  # how often an investment is local
    companies: int = 7
    deploy: float = 0.8  # how much of the paid-in gets invested
    notes: list[str] = field(default_factory=list)


SUB_FUNDS = (
    SubFund("fund_da", "福清市电子信息产业直投基金合伙企业（有限合伙）", "直投·电子信息", "direct",
            (("cy_fund", "manager"),), 500_000_000, 2021, ("electronics", "equipment"), 0.4,
            (("cy", 0.2),), cap="0.70", multiple="1.2", companies=9),
    SubFund("fund_db", "福清市新材料产业投资基金合伙企业（有限合伙）", "直投·化工新材料", "direct",
            (("cy_fund", "executive_partner"), ("gp_hx", "manager")), 400_000_000, 2021,
            ("chemicals",), 0.3, (("cy", 0.1),), cap="0.50", multiple="1.2", companies=8),
    SubFund("fund_dc", "福清市新能源产业直投基金合伙企业（有限合伙）", "直投·新能源", "direct",
            (("cy_fund", "manager"),), 300_000_000, 2022, ("new_energy",), 0.4, (("jt", 0.2),),
            cap="0.70", multiple="1.2", companies=8),
    SubFund("fund_cn", "闽江新能源股权投资合伙企业（有限合伙）", "合作·新能源", "cooperative",
            (("gp_xy", "executive_partner"),), 300_000_000, 2022, ("new_energy", "equipment"),
            0.3, companies=7),
    SubFund("fund_cd", "海西数字经济创业投资合伙企业（有限合伙）", "合作·数字经济", "cooperative",
            (("gp_mj", "executive_partner"),), 300_000_000, 2022, ("digital", "electronics"),
            0.3, multiple="2.0", local_rate=0.1, companies=7),
    SubFund("fund_cf", "福清食品产业股权投资合伙企业（有限合伙）", "合作·食品", "cooperative",
            (("gp_dc", "executive_partner"),), 200_000_000, 2022, ("food",), 0.3,
            (("jt", 0.15),), companies=7),
    SubFund("fund_ce", "闽江高端装备创业投资合伙企业（有限合伙）", "合作·高端装备", "cooperative",
            (("gp_hx", "executive_partner"),), 250_000_000, 2023, ("equipment", "electronics"),
            0.3, companies=7),
    SubFund("fund_pi", "福清市PRE-IPO专项基金合伙企业（有限合伙）", "专项·PRE-IPO", "special",
            (("gp_mj", "manager"),), 300_000_000, 2023, ("electronics", "new_energy", "chemicals"),
            0.3, multiple="0.5", companies=5, deploy=0.35),
)  # fmt: skip

COMPANY_NAMES = {
    "electronics": ("芯", "光电", "微电子", "传感", "显示"),
    "chemicals": ("新材料", "高分子", "氟化工", "特种涂层", "膜材料"),
    "food": ("食品", "水产", "冷链", "调味", "烘焙"),
    "digital": ("云数据", "智能软件", "数字科技", "物联", "算力"),
    "equipment": ("精密机械", "智能装备", "机器人", "数控", "液压"),
    "new_energy": ("储能", "光伏", "氢能", "锂电", "风电"),
}
PLACES_LOCAL = ("福清", "融侨", "元洪", "江阴", "龙田")
PLACES_ELSE = ("福州", "厦门", "泉州", "深圳", "苏州", "合肥", "杭州")
STAGES = ("seed", "venture", "growth", "growth", "pre_ipo")


def _yuan(value: float) -> Decimal:
    return Decimal(round(value * 100)).scaleb(-2).quantize(CENT)


def _quarters(start_year: int) -> list[tuple[int, int]]:
    out, year, q = [], start_year, 1
    while (year, q) <= LAST_QUARTER:
        out.append((year, q))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return out


class _Writer:
    """Rows for each table, written with COPY at the end."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple]] = {}

    def add(self, table: str, *row: object) -> None:
        self.rows.setdefault(table, []).append(row)


COLUMNS = {
    "entity": (
        "id", "credit_code", "name", "short_name", "kind", "platform_id", "segment", "industry",
        "second_level", "state_share", "status", "created_at", "updated_at",
    ),
    "fund_gp": ("id", "kind", "registration_code", "created_at", "created_by"),
    "fund": (
        "id", "parent", "category", "size", "vintage", "first_close", "term_years",
        "investment_period_end", "fee_basis", "fee_rate", "hurdle", "carry", "government_cap",
        "reinvestment_multiple", "reinvestment_multipliers", "industries", "created_at",
        "created_by", "updated_at",
    ),
    "fund_gp_role": ("fund", "gp", "role"),
    "fund_commitment": (
        "id", "fund", "lp", "amount", "government", "committed_on", "created_at", "created_by",
    ),
    "fund_flow": (
        "id", "fund", "commitment", "kind", "purpose", "flow_date", "due_on", "paid_on", "amount",
        "recallable", "outside_commitment", "note", "created_at", "created_by",
    ),
    "fund_nav": (
        "id", "fund", "period", "as_of", "nav_begin", "contributions", "distributions", "gains",
        "fees", "nav", "created_at", "created_by",
    ),
    "fund_investment": (
        "id", "fund", "company", "industry", "local", "reinvestment_kind", "stage", "invested_on",
        "amount", "share", "exited_on", "exit_proceeds", "created_at", "created_by",
    ),
    "fund_valuation": ("id", "investment", "as_of", "value", "created_at", "created_by"),
    "fund_index_point": ("id", "series", "day", "value", "created_at", "created_by"),
}  # fmt: skip


async def load_funds(
    conn: asyncpg.Connection,
    ids: dict[str, UUID],
    seed: int,
    new_code: Callable[[str], str],
) -> dict[str, int]:
    """Write the demo funds with COPY on `conn` (the demo's transaction); counts of what.

    `ids` are the ledger demo's entities by key (the GP 融侨基金 and the platforms); `new_code`
    gives an unused credit code for a prefix. Assigns the demo `fm` user the mother fund and
    every sub-fund.
    """
    rng = random.Random(seed + 7)
    w = _Writer()
    ids = dict(ids)

    def entity(key: str, name: str, short: str | None, kind: str, prefix: str, state: str) -> None:
        ids[key] = uuid4()
        w.add(
            "entity", ids[key], new_code(prefix), name, short, kind, None, None, None, False,
            Decimal(state), "active", NOW, NOW,
        )  # fmt: skip

    entity(MOTHER[0], MOTHER[1], MOTHER[2], "fund", "91350181", "1")
    for s in SUB_FUNDS:
        entity(s.key, s.name, s.short, "fund", "91350181", "0")
    for key, name, _ in MARKET_GPS:
        entity(key, name, None, "outside", "91350100", "0")
    for key, name in MARKET_LPS:
        entity(key, name, None, "outside", "91350100", "0")

    w.add("fund_gp", ids["cy_fund"], "government", "P1071234", NOW, LOADER)
    for key, _, code in MARKET_GPS:
        w.add("fund_gp", ids[key], "market", code, NOW, LOADER)

    def fund(
        key: str, parent: str | None, category: str, size: int, vintage: int, **t: object
    ) -> None:
        first_close = date(vintage, 1, 15)
        # A special fund invests for three years, the others for five.
        period_end = date(vintage + (3 if category == "special" else 4), 12, 31)
        w.add(
            "fund", ids[key], ids[parent] if parent else None, category, _yuan(size), vintage,
            first_close, t.get("term", 8), period_end, "paid_in", Decimal("0.02"),
            Decimal("0.08"), Decimal("0.20"), t.get("cap"), t.get("multiple"),
            json.dumps(t.get("multipliers", {})), list(t.get("industries", ())), NOW, LOADER, NOW,
        )  # fmt: skip

    fund(MOTHER[0], None, "mother", 2_000_000_000, 2021, term=10,
         industries=("electronics", "chemicals", "food", "digital", "equipment", "new_energy"))  # fmt: skip
    w.add("fund_gp_role", ids[MOTHER[0]], ids["cy_fund"], "manager")
    for s in SUB_FUNDS:
        fund(
            s.key, MOTHER[0], s.category, s.size, s.vintage, cap=Decimal(s.cap),
            multiple=Decimal(s.multiple), multipliers={"local": "1", "relocated": "1.5"},
            industries=s.industries,
        )  # fmt: skip
        for gp, role in s.gps:
            w.add("fund_gp_role", ids[s.key], ids[gp], role)

    counts = {"companies": 0, "flows": 0, "navs": 0, "investments": 0}
    # The mother fund's own LPs: 产业投 and the group; it calls them as it pays into sub-funds.
    mother_lps = (("cy", 0.6), ("group", 0.4))
    mother_commitments = {}
    for lp, share in mother_lps:
        cid = uuid4()
        mother_commitments[lp] = (cid, share)
        w.add(
            "fund_commitment", cid, ids[MOTHER[0]], ids[lp], _yuan(2_000_000_000 * share), True,
            date(2021, 1, 15), NOW, LOADER,
        )  # fmt: skip
    mother_calls: dict[date, Decimal] = {}
    mother_back: dict[date, Decimal] = {}
    mother_nav: dict[tuple[int, int], Decimal] = {}

    used_names: set[str] = set()
    local_fund_companies = [ids["cy_food"], ids["jt_ev"]]  # group companies a fund also holds
    for n, s in enumerate(SUB_FUNDS):
        # Commitments: the mother fund, other government LPs, market LPs for the rest.
        lps: list[tuple[UUID, float, bool]] = [(ids[MOTHER[0]], s.mother, True)]
        lps += [(ids[k], share, True) for k, share in s.government]
        rest = 1 - sum(share for _, share, _ in lps)
        market = rng.sample(MARKET_LPS, 2)
        lps += [(ids[market[0][0]], round(rest * 0.6, 4), False)]
        lps += [(ids[market[1][0]], round(rest - round(rest * 0.6, 4), 4), False)]
        commitments = []
        for lp, share, government in lps:
            cid = uuid4()
            amount = _yuan(s.size * share)
            commitments.append((cid, lp, amount))
            w.add(
                "fund_commitment", cid, ids[s.key], lp, amount, government,
                date(s.vintage, 1, 15), NOW, LOADER,
            )  # fmt: skip
        quarters = _quarters(s.vintage)
        # Calls: 15% of commitments in each of the first quarters up to ~80%; then 0.
        called_share, nav, paid_total = 0.0, Decimal(0), Decimal(0)
        invested_budget = Decimal(0)
        for i, (year, q) in enumerate(quarters):
            period = quarter_period(year, q)
            contributions = distributions = Decimal(0)
            call_share = 0.12 if i % 2 == 0 and called_share < 0.78 else 0.0
            if call_share:
                call_date = period.start + timedelta(days=20)
                called_share += call_share
                for j, (cid, lp, amount) in enumerate(commitments):
                    value = _yuan(float(amount) * call_share)
                    # The last call of 合作·新能源 is left unpaid by one LP, past its due date.
                    unpaid = (
                        s.key == "fund_cn" and called_share >= 0.78 and j == len(commitments) - 1
                    )
                    paid_on = None if unpaid else call_date + timedelta(days=10)
                    w.add(
                        "fund_flow", uuid4(), ids[s.key], cid, "call", "investment", call_date,
                        call_date + timedelta(days=15), paid_on, value, False, False, "", NOW,
                        LOADER,
                    )  # fmt: skip
                    counts["flows"] += 1
                    if paid_on is not None:
                        contributions += value
                    if lp == ids[MOTHER[0]]:
                        mother_calls[call_date] = mother_calls.get(call_date, Decimal(0)) + value
                invested_budget += contributions * Decimal(str(s.deploy))
            # Distributions from the third year, a share of the NAV each half year.
            if i >= 10 and i % 2 == 1 and nav > 0:
                out = float(nav) * rng.uniform(0.04, 0.09)
                day = period.end - timedelta(days=10)
                total = sum(float(a) for _, _, a in commitments)
                for cid, lp, amount in commitments:
                    value = _yuan(out * float(amount) / total)
                    distributions += value
                    w.add(
                        "fund_flow", uuid4(), ids[s.key], cid, "distribution",
                        "return_of_capital" if i < 14 else "income", day, None, None, value,
                        False, False, "", NOW, LOADER,
                    )  # fmt: skip
                    counts["flows"] += 1
                    if lp == ids[MOTHER[0]]:
                        mother_back[day] = mother_back.get(day, Decimal(0)) + value
            paid_total += contributions
            fees = _yuan(float(paid_total) * 0.02 / 4)
            drift = 0.012 if s.key != "fund_pi" else 0.02
            gains = _yuan(float(nav) * rng.uniform(-0.04, 0.05) + float(nav) * drift)
            begin = nav
            nav = begin + contributions - distributions + gains - fees
            w.add(
                "fund_nav", uuid4(), ids[s.key], period.code, period.end, begin, contributions,
                distributions, gains, fees, nav, NOW, LOADER,
            )  # fmt: skip
            counts["navs"] += 1
            share = Decimal(str(s.mother))
            mother_nav[(year, q)] = mother_nav.get((year, q), Decimal(0)) + _yuan(
                float(nav * share)
            )
        # Portfolio: companies across the fund's industries, spread over its investment years.
        budget = float(invested_budget)
        weights = [rng.uniform(0.5, 1.5) for _ in range(s.companies)]
        for c in range(s.companies):
            industry = s.industries[c % len(s.industries)]
            local = rng.random() < s.local_rate
            if n == 0 and c < 2:
                company, local = local_fund_companies[c], True
                industry = ("food", "new_energy")[c]
            else:
                while True:
                    place = rng.choice(PLACES_LOCAL if local else PLACES_ELSE)
                    name = f"{place}{rng.choice(COMPANY_NAMES[industry])}科技有限公司"
                    if name not in used_names:
                        used_names.add(name)
                        break
                key = f"co_{s.key}_{c}"
                entity(key, name, None, "outside", "91350181" if local else "91350100", "0")
                company = ids[key]
                counts["companies"] += 1
            amount = _yuan(budget * weights[c] / sum(weights))
            invested_on = date(s.vintage, 3, 1) + timedelta(days=int(c * 1200 / s.companies))
            invested_on = min(invested_on, date(2026, 9, 1))
            kind = "local" if local else ("relocated" if rng.random() < 0.15 else "none")
            investment = uuid4()
            stage = "pre_ipo" if s.category == "special" else rng.choice(STAGES)
            exited = c == 0 and s.vintage == 2021
            w.add(
                "fund_investment", investment, ids[s.key], company, industry, local, kind, stage,
                invested_on, amount, Decimal(str(round(rng.uniform(0.03, 0.2), 4))),
                date(2025, 11, 20) if exited else None,
                _yuan(float(amount) * 1.8) if exited else None, NOW, LOADER,
            )  # fmt: skip
            counts["investments"] += 1
            value = float(amount)
            for year in range(invested_on.year + 1, 2027):
                value *= rng.uniform(0.85, 1.35)
                w.add("fund_valuation", uuid4(), investment, date(year - 1, 12, 31), _yuan(value),
                      NOW, LOADER)  # fmt: skip

    # The mother fund: its LPs are called for what it paid in, and get what it got back.
    nav = Decimal(0)
    calls_by_q: dict[tuple[int, int], Decimal] = {}
    back_by_q: dict[tuple[int, int], Decimal] = {}
    for day, amount in sorted(mother_calls.items()):
        for cid, share in mother_commitments.values():
            value = _yuan(float(amount) * share)
            w.add(
                "fund_flow", uuid4(), ids[MOTHER[0]], cid, "call", "investment",
                day - timedelta(days=5), day, day - timedelta(days=1), value, False, False, "",
                NOW, LOADER,
            )  # fmt: skip
            counts["flows"] += 1
            key = (day.year, (day.month + 2) // 3)
            calls_by_q[key] = calls_by_q.get(key, Decimal(0)) + value
    for day, amount in sorted(mother_back.items()):
        for cid, share in mother_commitments.values():
            value = _yuan(float(amount) * share)
            w.add(
                "fund_flow", uuid4(), ids[MOTHER[0]], cid, "distribution", "income",
                day + timedelta(days=5), None, None, value, False, False, "", NOW, LOADER,
            )  # fmt: skip
            counts["flows"] += 1
            key = ((day + timedelta(days=5)).year, ((day + timedelta(days=5)).month + 2) // 3)
            back_by_q[key] = back_by_q.get(key, Decimal(0)) + value
    for year, q in _quarters(2021):
        period = quarter_period(year, q)
        contributions = calls_by_q.get((year, q), Decimal(0))
        distributions = back_by_q.get((year, q), Decimal(0))
        target = mother_nav.get((year, q), Decimal(0))
        gains = target - nav - contributions + distributions
        w.add(
            "fund_nav", uuid4(), ids[MOTHER[0]], period.code, period.end, nav, contributions,
            distributions, gains, Decimal("0.00"), target, NOW, LOADER,
        )  # fmt: skip
        counts["navs"] += 1
        nav = target

    # An index series for KS-PME: quarter ends from 2020 on, a random walk with drift.
    level = 4000.0
    day = date(2020, 12, 31)
    while day <= date(2026, 11, 27):
        w.add("fund_index_point", uuid4(), INDEX_SERIES, day, Decimal(f"{level:.6f}"), NOW, LOADER)
        level *= 1 + rng.uniform(-0.06, 0.075)
        day = (day + timedelta(days=1) + timedelta(days=92)).replace(day=1) - timedelta(days=1)

    for table in COLUMNS:  # in order: entities before what names them
        if w.rows.get(table):
            await conn.copy_records_to_table(table, records=w.rows[table], columns=COLUMNS[table])
    fund_ids = [ids[MOTHER[0]], *(ids[s.key] for s in SUB_FUNDS)]
    await conn.execute("UPDATE app_user SET fund_ids = $1 WHERE username = 'fm'", fund_ids)
    counts["funds"] = len(fund_ids)
    counts["entities"] = len(w.rows["entity"])
    return counts
