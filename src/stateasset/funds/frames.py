"""The fund tables read into Polars by COPY (as `ledger.frames` reads the ledger's).

The schemas are `compute`'s, declared once there; amounts travel as NUMERIC text and are cast
exactly. A frame's `key` is chosen by `Key`: per fund, per LP position (`fund|lp`), or per LP
across every fund it is in (the mother fund's positions in its sub-funds).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from uuid import UUID

import polars as pl

from stateasset.funds.compute import (
    COMMITMENTS_SCHEMA,
    EDGES_SCHEMA,
    FLOWS_SCHEMA,
    INDEX_SCHEMA,
    INVESTMENTS_SCHEMA,
    NAVS_SCHEMA,
)
from stateasset.ledger.frames import _copy_frame


class Key(StrEnum):
    fund = "c.fund::text"
    position = "c.fund::text || '|' || c.lp::text"
    lp = "c.lp::text"


def _where(fund_ids: Sequence[UUID] | None, lp_id: UUID | None) -> tuple[str, list[object]]:
    clauses, args = [], []
    if fund_ids is not None:
        args.append(list(fund_ids))
        clauses.append(f"c.fund = ANY(${len(args)}::uuid[])")
    if lp_id is not None:
        args.append(lp_id)
        clauses.append(f"c.lp = ${len(args)}")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


async def flows_frame(
    key: Key, *, fund_ids: Sequence[UUID] | None = None, lp_id: UUID | None = None
) -> pl.LazyFrame:
    """Paid flows (FLOWS_SCHEMA): calls dated when paid (unpaid calls left out), distributions."""
    where, args = _where(fund_ids, lp_id)
    where = (where + " AND " if where else " WHERE ") + (
        "(f.kind = 'distribution' OR f.paid_on IS NOT NULL)"
    )
    source = "fund_flow f JOIN fund_commitment c ON c.id = f.commitment"
    if key == Key.fund and lp_id is None:
        # The flow names its fund: no join, which halves the time a million rows take.
        source, where = "fund_flow f", where.replace("c.fund", "f.fund")
    frame = await _copy_frame(
        f"SELECT {key.value.replace('c.fund', 'f.fund')} AS key, f.kind, "
        "CASE WHEN f.kind = 'call' THEN f.paid_on ELSE f.flow_date END AS flow_date, f.amount, "
        "f.outside_commitment::text AS outside_commitment, f.recallable::text AS recallable "
        f"FROM {source}{where}",
        *args,
        schema=FLOWS_SCHEMA,
    )
    return frame.lazy()


async def commitments_frame(
    key: Key,
    *,
    fund_ids: Sequence[UUID] | None = None,
    lp_id: UUID | None = None,
    as_of: date | None = None,
) -> pl.LazyFrame:
    """Commitments made by `as_of`, summed by key (COMMITMENTS_SCHEMA)."""
    where, args = _where(fund_ids, lp_id)
    args.append(as_of or date.max)
    where = (where + " AND " if where else " WHERE ") + f"c.committed_on <= ${len(args)}"
    frame = await _copy_frame(
        f"SELECT {key.value} AS key, sum(c.amount) AS commitment FROM fund_commitment c"
        f"{where} GROUP BY 1",
        *args,
        schema=COMMITMENTS_SCHEMA,
    )
    return frame.lazy()


async def navs_frame(fund_ids: Sequence[UUID] | None = None) -> pl.LazyFrame:
    """NAV statements per fund (NAVS_SCHEMA, key = fund id)."""
    if fund_ids is None:
        frame = await _copy_frame(
            "SELECT fund::text AS key, as_of, nav FROM fund_nav", schema=NAVS_SCHEMA
        )
    else:
        frame = await _copy_frame(
            "SELECT fund::text AS key, as_of, nav FROM fund_nav WHERE fund = ANY($1::uuid[])",
            list(fund_ids),
            schema=NAVS_SCHEMA,
        )
    return frame.lazy()


async def investments_frame(as_of: date) -> pl.LazyFrame:
    """Every investment made by `as_of` with its latest valuation then, else cost (INVESTMENTS_SCHEMA)."""
    frame = await _copy_frame(
        "SELECT i.fund::text AS fund_id, i.id::text AS investment_id, "
        "i.company::text AS company_id, i.industry, i.local::text AS local, i.reinvestment_kind, "
        "i.stage, i.invested_on, i.amount, coalesce(v.value, i.amount) AS value, "
        "(i.exited_on IS NOT NULL AND i.exited_on <= $1)::text AS exited "
        "FROM fund_investment i LEFT JOIN LATERAL (SELECT value FROM fund_valuation v "
        "WHERE v.investment = i.id AND v.as_of <= $1 ORDER BY v.as_of DESC LIMIT 1) v ON true "
        "WHERE i.invested_on <= $1",
        as_of,
        schema=INVESTMENTS_SCHEMA,
    )
    return frame.lazy()


async def edges_frame() -> pl.LazyFrame:
    """Each fund's share of each of its sub-funds: its commitment / their total (EDGES_SCHEMA)."""
    frame = await _copy_frame(
        "SELECT s.parent::text AS parent_id, s.id::text AS fund_id, "
        "(sum(c.amount) FILTER (WHERE c.lp = s.parent) / sum(c.amount))::float8 AS share "
        "FROM fund s JOIN fund_commitment c ON c.fund = s.id WHERE s.parent IS NOT NULL "
        "GROUP BY s.parent, s.id",
        schema=EDGES_SCHEMA,
    )
    return frame.lazy().with_columns(pl.col("share").fill_null(0.0))


async def index_frame(series: str) -> pl.LazyFrame:
    """An uploaded index series (INDEX_SCHEMA)."""
    frame = await _copy_frame(
        "SELECT day, value::float8 AS value FROM fund_index_point WHERE series = $1 ORDER BY day",
        series,
        schema=INDEX_SCHEMA,
    )
    return frame.lazy()
