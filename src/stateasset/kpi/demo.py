"""The demo's KPI contracts: a 2025–2027 tenure for each of the five second-level companies,
peer standard values for the operating cash ratio and GDP growth, made through the services.

Each 2025 net-profit target is set from the company's filed 2025-Q4 profit, as a group sets
targets from a forecast, so that the 2025 ranking shows every grade: 城建投 A; 交通投 reaches
the A band but the A cap (one A) puts it at B; 水投 B; 文旅投 C; 产业投 D and flagged for
appointment review (profit below 70% of target, and a deduction for a safety incident).

The demo has no statements before 2025, so each indicator carries its 2022–2024 actuals in the
contract's `history` (the own-history benchmark): profit rising toward the target and always
below it, so no target is "soft" and the bonus caps, hence the grades, are as without history.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from stateasset.auth.schemas import Actor
from stateasset.kpi import service
from stateasset.kpi.schemas import (
    ContractCreate,
    ContractState,
    MacroPointCreate,
    PeerStandardCreate,
)

INDUSTRY = "国有资本投资运营"
GDP = "gdp_growth"
# key: (profit deviation from target in 2025, entered revenue growth %, deduction points)
PLAN: dict[str, tuple[float, float, float]] = {
    "cj": (0.195, 9.6, 0.0),
    "jt": (0.105, 7.5, 0.0),
    "sw": (-0.105, 1.0, 0.0),
    "wl": (-0.195, 1.0, 0.0),
    "cy": (-0.40, 0.5, 10.0),
}
MANAGERS = {
    "cj": ["林建国", "陈立新"],
    "jt": ["王海涛", "郑晓明"],
    "sw": ["黄志强", "吴丽华"],
    "wl": ["刘文博", "张敏"],
    "cy": ["杨晨", "周静"],
}


def _target(actual: float, deviation: float) -> float:
    """The target that `actual` beats (or misses) by `deviation` of |target|."""
    if actual == 0:
        return 1.0
    return round(actual / (1 + deviation) if actual > 0 else actual / (1 - deviation), 2)


async def load_kpi(actor: Actor, ids: dict[str, UUID]) -> dict[str, int]:
    """Benchmarks, then one signed and active contract per second-level company."""
    for year, growth in ((2024, 5.0), (2025, 5.0), (2026, 5.0)):
        await service.add_macro_point(
            actor=actor,
            data=MacroPointCreate(
                series=GDP, year=year, value=growth, source="国民经济和社会发展统计公报"
            ),
        )
    await service.add_peer_standard(
        actor=actor,
        data=PeerStandardCreate(
            industry=INDUSTRY,
            indicator="ocr",
            year=2025,
            tiers=[20.0, 12.0, 6.0, 2.0, -5.0],
            source="企业绩效评价标准值2025（国有资本投资运营）",
        ),
    )
    values, _ = await service._source_values([ids[k] for k in PLAN], range(2025, 2026))
    for key, (deviation, growth, deduction) in PLAN.items():
        profit = values.get((str(ids[key]), 2025, "net_profit"), (None, None))[0] or 0.0
        ocr = values.get((str(ids[key]), 2025, "operating_cash_ratio"), (None, None))[0]
        target = _target(profit, deviation)
        made = await service.create_contract(
            actor=actor,
            data=_contract(
                company_id=ids[key],
                name="2025—2027年任期经营业绩责任书",
                industry=INDUSTRY,
                tenure_start=2025,
                tenure_years=3,
                managers=MANAGERS[key],
                indicators=[
                    _indicator(
                        "profit",
                        "净利润",
                        90,
                        "target_step",
                        "net_profit",
                        main=True,
                        history=_history(target, (-0.15, -0.10, -0.05), absolute=True),
                    ),
                    _indicator(
                        "ocr",
                        "营业现金比率",
                        5,
                        "efficacy",
                        "operating_cash_ratio",
                        use_peer_standard=True,
                        history=_history(ocr, (-1.5, 0.8, -0.6)),
                    ),
                    _indicator(
                        "growth",
                        "营业收入增长率",
                        5,
                        "macro",
                        "entered",
                        macro_series=GDP,
                        offsets=[4.0, 2.0, 0.0, -2.0, -4.0],
                        entered=[{"year": 2025, "value": growth, "evidence": "经审计的年度报告"}],
                        history=_history(growth, (-1.2, 0.8, -0.4)),
                    ),
                ],
                targets=[
                    {
                        "indicator": "profit",
                        "year": 2025 + n,
                        "value": round(target * (1 + 0.05 * n), 2),
                        "basis": "预算",
                    }
                    for n in range(3)
                ],
                adjustments=[
                    {
                        "year": 2025,
                        "kind": "deduction",
                        "points": deduction,
                        "reason": "安全生产责任事故",
                    }
                ]
                if deduction
                else [],
                a_cap=1,
            ),
        )
        for state in (ContractState.signed, ContractState.active):
            await service.transition(actor=actor, contract_id=made.id, to=state)
    return {"contracts": len(PLAN)}


def _history(
    value: float | None, steps: tuple[float, float, float], *, absolute: bool = False
) -> dict[str, float]:
    """2022–2024 actuals around `value`: `value + step` (or `value + step × |value|`)."""
    if value is None:
        return {}
    return {
        str(year): round(value + step * (abs(value) if absolute else 1), 2)
        for year, step in zip((2022, 2023, 2024), steps, strict=True)
    }


def _indicator(
    code: str, name: str, weight: float, method: str, source: str, **extra: object
) -> dict[str, object]:
    params = {
        k: extra.pop(k) for k in ("use_peer_standard", "macro_series", "offsets") if k in extra
    }
    return {
        "code": code,
        "name": name,
        "weight": weight,
        "method": method,
        "source": source,
        "parameters": params,
        **extra,
    }


def _contract(**fields: Any) -> ContractCreate:
    return msgspec.convert(fields, ContractCreate)
