"""Look-through (穿透): the mother fund's exposure to each portfolio company, over every path.

Joined with the group's own stake in the company from the ledger (its effective interest), so
the board sees the county's whole exposure to a company in one place.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

import polars as pl

from stateasset.auth.schemas import Actor
from stateasset.core.errors import NotFound
from stateasset.funds import compute, frames
from stateasset.funds.schemas import (
    INDUSTRY_LABELS,
    STAGE_LABELS,
    ExposureRow,
    ExposureSummary,
    Industry,
    LookThrough,
    Stage,
)
from stateasset.funds.service import ensure_fund_visible
from stateasset.ledger import service as ledger_service


async def look_through_frame(*, actor: Actor, fund_id: UUID, as_of: date) -> pl.DataFrame:
    """One row per company `fund_id` reaches: `company_id, company_name, industry, local, stage,
    exposure, paths, group_direct_interest` (the group's effective interest, null if none)."""
    await ensure_fund_visible(actor, fund_id)
    shares = compute.fund_shares(await frames.edges_frame(), str(fund_id))
    exposure = compute.look_through(shares, await frames.investments_frame(as_of))
    names = await ledger_service.entity_names()
    try:
        owned = (
            await ledger_service.ownership_frame(await ledger_service.group_id(), as_of)
        ).lazy()
        group = owned.select(
            company_id=pl.col("entity_id").cast(pl.String),
            group_direct_interest=pl.col("effective_interest").cast(pl.Float64),
        )
    except NotFound:
        group = pl.LazyFrame(
            schema={"company_id": pl.String(), "group_direct_interest": pl.Float64()}
        )
    label = pl.DataFrame(
        {"company_id": [str(k) for k in names], "company_name": list(names.values())}
    ).lazy()
    return (
        exposure.join(label, on="company_id", how="left")
        .join(group, on="company_id", how="left")
        .select(
            "company_id",
            "company_name",
            "industry",
            "local",
            "stage",
            "exposure",
            "paths",
            "group_direct_interest",
        )
        .sort("exposure", "company_id", descending=[True, False])
        .collect()
    )


def summaries(frame: pl.DataFrame) -> list[ExposureSummary]:
    """Exposure summed by industry, by locality and by stage."""
    out = []
    for by, labels in (
        ("industry", {k.value: v for k, v in INDUSTRY_LABELS.items()}),
        ("local", {"true": "本地", "false": "外地"}),
        ("stage", {k.value: v for k, v in STAGE_LABELS.items()}),
    ):
        grouped = (
            frame.group_by(pl.col(by).cast(pl.String).str.to_lowercase().alias("k"))
            .agg(pl.col("exposure").sum(), pl.len().alias("n"))
            .sort("exposure", "k", descending=[True, False])
        )
        out.extend(
            ExposureSummary(
                by=by,
                key=r["k"],
                label=labels.get(r["k"], r["k"]),
                exposure=r["exposure"],
                companies=r["n"],
            )
            for r in grouped.iter_rows(named=True)
        )
    return out


async def look_through(*, actor: Actor, fund_id: UUID, as_of: date) -> LookThrough:
    """The look-through of `fund_id` (normally the mother fund) with its summaries."""
    frame = await look_through_frame(actor=actor, fund_id=fund_id, as_of=as_of)
    rows = [
        ExposureRow(
            company_id=UUID(r["company_id"]),
            company_name=r["company_name"] or "",
            industry=Industry(r["industry"]),
            industry_label=INDUSTRY_LABELS[Industry(r["industry"])],
            local=r["local"],
            stage=Stage(r["stage"]),
            exposure=r["exposure"],
            paths=r["paths"],
            group_direct_interest=r["group_direct_interest"],
        )
        for r in frame.iter_rows(named=True)
    ]
    return LookThrough(fund_id=fund_id, as_of=as_of, rows=rows, summaries=summaries(frame))
