"""审计日志: the audit log for auditors and admins, its entries, and the chain's verification.

The listing is paged in SQL by `audit.service.list_entries` (the API's listing): the page asks it
for one page and hands that page to the table component (`Table.paging` / `Table.paged`), whose
inputs carry the filters as the API names them (actor, action, object type, object id, a date
range). The chain is verified by the API's `verify_chain` on each full page load and shown at
the top with when it was checked. Times show in Beijing time (UTC+8), as staff read them; the
date range means whole Beijing days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import msgspec
import polars as pl
from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from stateasset.audit import service
from stateasset.audit.schemas import AuditRecord
from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.http import xlsx_download
from stateasset.core.schemas import MAX_PAGE
from stateasset.web.shell import PageController, is_htmx, page
from stateasset.web.table import Column, Field, Table

Reader = Request[Actor, Any, Any]
BEIJING = timezone(timedelta(hours=8), "北京时间")
EXPORT_LIMIT = 10_000
"""The most rows an export writes: a filter narrows a longer log first."""

AUDIT_TABLE = Table(
    "audit",
    [
        Column("id", "编号", "link", link="/audit/{id}"),
        Column("at", "时间（北京时间）"),
        Column("actor", "操作人"),
        Column("action", "动作"),
        Column("object_type", "对象类型"),
        Column("object_id", "对象编号"),
        Column("reason", "原因"),
        Column("seq", "链位置"),
    ],
    fields=(
        Field("actor", "操作人"),
        Field("action", "动作"),
        Field("object_type", "对象类型"),
        Field("object_id", "对象编号"),
        Field("since", "起始日期", "date"),
        Field("until", "截止日期", "date"),
    ),
)
_SCHEMA = {
    "id": pl.Int64,
    "at": pl.String,
    "actor": pl.String,
    "action": pl.String,
    "object_type": pl.String,
    "object_id": pl.String,
    "reason": pl.String,
    "seq": pl.Int64,
}


def beijing(at: datetime | None) -> str:
    """`2026-11-27 09:30:05` in Beijing time."""
    return "" if at is None else at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def filters_of(query: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The service's filters from the table's inputs, and a problem per input it cannot read."""
    filters: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for key in ("actor", "action", "object_type", "object_id"):
        if value := (query.get(f"f_{key}") or "").strip()[:200]:
            filters[key] = value
    for key, shift in (("since", 0), ("until", 1)):
        text = (query.get(f"f_{key}") or "").strip()
        if not text:
            continue
        try:
            day = date.fromisoformat(text)
        except ValueError:
            problems[key] = f"{text!r} 不是日期，请按 2026-09-30 的格式填写"
            continue
        # until is inclusive of its whole day: the service's bound is exclusive.
        filters[key] = datetime.combine(day + timedelta(days=shift), time(), BEIJING).astimezone(
            UTC
        )
    if "since" in filters and "until" in filters and filters["since"] >= filters["until"]:
        problems["until"] = "截止日期不能早于起始日期"
    return filters, problems


def entries_frame(records: list[AuditRecord]) -> pl.DataFrame:
    """The listing's rows as the table shows them."""
    rows = [
        {
            "id": r.id,
            "at": beijing(r.at),
            "actor": r.actor,
            "action": r.action,
            "object_type": r.object_type,
            "object_id": r.object_id,
            "reason": r.reason,
            "seq": r.seq,
        }
        for r in records
    ]
    return pl.DataFrame(rows, schema=_SCHEMA)


def _text(value: Any) -> str:
    """A JSON value as one line of text (strings bare): what a before/after cell shows."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def _flat(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted fields (`items.cash`), so each amount gets its own row."""
    out: dict[str, Any] = {}
    for key, inner in value.items():
        if isinstance(inner, dict) and inner:
            out.update(_flat(inner, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = inner
    return out


def side_by_side(before: Any, after: Any) -> list[dict[str, Any]] | None:
    """Field by field, before against after, when both are objects (or absent); else None."""
    if not all(isinstance(v, dict) or v is None for v in (before, after)):
        return None
    old, new = _flat(before or {}), _flat(after or {})
    keys = list(old) + [k for k in new if k not in old]
    return [
        {
            "field": key,
            "before": _text(old.get(key)),
            "after": _text(new.get(key)),
            "changed": old.get(key) != new.get(key),
        }
        for key in keys
    ]


class AuditPages(PageController):
    path = "/audit"
    guards = [requires(Permission.audit_read)]

    @get("/")
    async def log(self, request: Reader) -> Template:
        """审计日志: the chain's check on top, then the filtered listing, one page at a time."""
        query = request.query_params
        filters, problems = filters_of(query)
        page_no, size = AUDIT_TABLE.paging(query)
        if problems:
            # Nothing is listed under a filter that could not be read, rather than a wrong list.
            records, total = [], 0
        else:
            listing = await service.list_entries(**filters, limit=size, offset=(page_no - 1) * size)
            records, total = listing.items, listing.total
        table = AUDIT_TABLE.paged(entries_frame(records), total, query)
        export_url = "/audit/export.xlsx" + table.url(page=None).rstrip("?")
        status = 422 if problems else 200
        if is_htmx(request):
            return page(
                "_table.html",
                request,
                status_code=status,
                table=table,
                export_url=export_url,
                problems=problems,
            )
        report = await service.verify_chain()
        return page(
            "audit/log.html",
            request,
            status_code=status,
            table=table,
            export_url=export_url,
            problems=problems,
            chain=report,
            checked_at=beijing(utc_now()),
        )

    @get("/export.xlsx")
    async def export(self, request: Reader) -> Response[bytes]:
        """The filtered listing, newest first, up to EXPORT_LIMIT rows, as XLSX."""
        filters, problems = filters_of(request.query_params)
        records: list[AuditRecord] = []
        while not problems and len(records) < EXPORT_LIMIT:
            listing = await service.list_entries(**filters, limit=MAX_PAGE, offset=len(records))
            records.extend(listing.items)
            if len(listing.items) < MAX_PAGE:
                break
        content = AUDIT_TABLE.xlsx(entries_frame(records[:EXPORT_LIMIT]), {}, "审计日志")
        return xlsx_download(content, "audit.xlsx")

    @get("/{entry_id:int}")
    async def entry(self, request: Reader, entry_id: FromPath[int]) -> Template:
        """One entry: who, when, why, and its before and after side by side."""
        record = await service.get_entry(entry_id)
        return page(
            "audit/entry.html",
            request,
            record=record,
            at=beijing(record.at),
            fields=side_by_side(record.before, record.after),
            before=_pretty(record.before),
            after=_pretty(record.after),
        )


def _pretty(value: Any) -> str:
    return "" if value is None else msgspec.json.format(msgspec.json.encode(value)).decode()


AUDIT_PAGES = [AuditPages]
