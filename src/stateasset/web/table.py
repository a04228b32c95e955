"""The table every list page uses: declared columns over a Polars frame, sorted, filtered, paged.

How to use it (copy this)::

    COLUMNS = [Column("name", "名称", link="/ledger/entities/{id}"), Column("total", "总额", "money"),
               Column("kind_label", "类型", choices=True)]
    table = Table("entities", COLUMNS, search=("name", "short_name"))
    view = table.view(frame, request.query_params)          # filtered, sorted, this page
    return page("x.html", request, table=view)              # {% include "_table.html" %}
    # export: table.xlsx(frame, request.query_params, "主体")  → bytes of every matching row

State lives in the URL query (`q`, `sort`, `desc`, `page`, `size`, `f_<key>` per select column), so a
link or a refresh shows the same rows. Header clicks, the filter form and the pager fetch the same
URL with htmx, and the page handler answers an htmx request with only the table (`_table.html`),
which htmx swaps in place and pushes to the address bar; without JavaScript the links still work.
Kinds: text, money (Decimal, in 元, negatives red), ratio (percent), date, link (text with `link`),
check (a checkbox per row whose value is the cell, named by the column's key and belonging to the
page's form `<table id>-selected`, for actions on the selected rows; left out of the export).

A listing its service pages in SQL (the audit log) uses the same component on one page of rows:
`page, size = table.paging(query)`, ask the service for that slice, then
`table.paged(frame, total, query)`; its `fields` (text, date or select inputs, kept as `f_<key>`
in the URL like the select filters) go to the service as its filters, and the headers do not
sort, as the order is the service's. A page whose service filters the frame before the table
sees it (the asset list) uses `fields` the same way with `view`: `table.field_values(query)`
reads them, and the table leaves them to the service.
The export writes the same filtered and sorted rows, every page, through xlsxwriter with strings
written as strings (a cell starting with `=` stays text).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

import polars as pl
import xlsxwriter

from stateasset.web import format as fmt

Kind = Literal["text", "money", "ratio", "date", "link", "check"]
PAGE_SIZES = (20, 50, 100, 200)


@dataclass(frozen=True)
class Column:
    """One column: the frame's `key`, its Chinese `label`, how to show it.

    `link` is a format string over the row (`/ledger/entities/{id}`); `choices=True` adds a select
    filter with the column's distinct values. `template` names a Jinja include that draws the
    cell from `row` and `text` (a status badge, a progress bar); the export writes the value
    as its kind says.
    """

    key: str
    label: str
    kind: Kind = "text"
    link: str | None = None
    choices: bool = False
    template: str | None = None


@dataclass(frozen=True)
class Field:
    """A filter input in the table's form, `f_<key>` in the URL, that the page hands its service."""

    key: str
    label: str
    type: Literal["text", "date", "select"] = "text"
    options: Sequence[tuple[str, str]] = ()  # a select's (value, label) pairs


@dataclass
class TableView:
    """What `_table.html` renders: this page's rows and the state to rebuild every link."""

    table: Table
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    size: int
    q: str
    sort: str | None
    desc: bool
    filters: dict[str, str]
    options: dict[str, list[str]] = field(default_factory=dict)
    sortable: bool = True

    @property
    def columns(self) -> Sequence[Column]:
        return self.table.columns

    def url(self, **changes: Any) -> str:
        """This table's query string with `changes` applied (None drops a key)."""
        state: dict[str, Any] = {
            "q": self.q,
            "sort": self.sort,
            "desc": "1" if self.desc else None,
            "page": self.page if self.page > 1 else None,
            "size": self.size if self.size != self.table.page_size else None,
        }
        state.update({f"f_{k}": v for k, v in self.filters.items()})
        state.update(changes)
        return "?" + urlencode({k: v for k, v in state.items() if v not in (None, "")})

    def sort_url(self, key: str) -> str:
        return self.url(
            sort=key, desc="1" if self.sort == key and not self.desc else None, page=None
        )

    def page_numbers(self) -> list[int | None]:
        """Page numbers to offer: first, last and two around this one; None is a gap."""
        wanted = {1, self.pages, *range(self.page - 2, self.page + 3)}
        shown = sorted(p for p in wanted if 1 <= p <= self.pages)
        out: list[int | None] = []
        for p in shown:
            if out and out[-1] is not None and p - out[-1] > 1:
                out.append(None)
            out.append(p)
        return out

    def cell(self, row: Mapping[str, Any], column: Column) -> str:
        """The cell's text, formatted by kind."""
        return display(row.get(column.key), column.kind)

    def href(self, row: Mapping[str, Any], column: Column) -> str | None:
        return column.link.format(**row) if column.link else None


def display(value: Any, kind: Kind) -> str:
    """A value as the page and the export's text cells show it."""
    if value is None:
        return ""
    if kind == "money":
        return fmt.yuan(value)
    if kind == "ratio":
        return fmt.percent(value)
    if kind == "date":
        return fmt.iso_date(value)
    return str(value)


@dataclass(frozen=True)
class Table:
    """A table's declaration: its id (also the HTML id), columns and which columns `q` searches."""

    id: str
    columns: Sequence[Column]
    search: Sequence[str] = ()
    page_size: int = 50
    default_sort: str | None = None
    fields: Sequence[Field] = ()

    def _state(self, query: Mapping[str, str]) -> tuple[str, str | None, bool, dict[str, str]]:
        keys = {c.key for c in self.columns}
        q = (query.get("q") or "").strip()[:200]
        sort = query.get("sort")
        sort = sort if sort in keys else self.default_sort
        desc = query.get("desc") == "1"
        filters = {
            c.key: value
            for c in self.columns
            if c.choices and (value := query.get(f"f_{c.key}") or "")
        }
        for f in self.fields:
            if value := (query.get(f"f_{f.key}") or "").strip()[:200]:
                filters[f.key] = value
        return q, sort, desc, filters

    def field_values(self, query: Mapping[str, str]) -> dict[str, str]:
        """The `fields`' values in the query: what the page hands its service as filters."""
        _, _, _, filters = self._state(query)
        return {f.key: filters[f.key] for f in self.fields if f.key in filters}

    def rows(self, frame: pl.DataFrame, query: Mapping[str, str]) -> pl.DataFrame:
        """Every row matching the query, in its order: what the page shows and the export writes."""
        q, sort, desc, filters = self._state(query)
        if q:
            needle = q.lower()
            frame = frame.filter(
                pl.any_horizontal(
                    pl.col(k).cast(pl.String).str.to_lowercase().str.contains(needle, literal=True)
                    for k in self.search
                ).fill_null(False)
            )
        for key, value in filters.items():
            if key in {f.key for f in self.fields}:
                continue  # the service's filter, applied before the frame was made
            frame = frame.filter(pl.col(key).cast(pl.String) == value)
        if sort:
            # A stable sort on top of the frame's own order keeps ties where the service put them.
            frame = frame.sort(sort, descending=desc, nulls_last=True, maintain_order=True)
        return frame

    def view(self, frame: pl.DataFrame, query: Mapping[str, str]) -> TableView:
        """This page of the matching rows, with the select filters' options from the whole frame."""
        q, sort, desc, filters = self._state(query)
        matching = self.rows(frame, query)
        size = self._size(query)
        pages = max(1, math.ceil(matching.height / size))
        page = min(max(1, _int(query.get("page"), 1)), pages)
        options = {
            c.key: sorted(str(v) for v in frame.get_column(c.key).drop_nulls().unique().to_list())
            for c in self.columns
            if c.choices
        }
        return TableView(
            table=self,
            rows=matching.slice((page - 1) * size, size).to_dicts(),
            total=matching.height,
            page=page,
            pages=pages,
            size=size,
            q=q,
            sort=sort,
            desc=desc,
            filters=filters,
            options=options,
        )

    def _size(self, query: Mapping[str, str]) -> int:
        size = _int(query.get("size"), self.page_size)
        return size if size in PAGE_SIZES or size == self.page_size else self.page_size

    def paging(self, query: Mapping[str, str]) -> tuple[int, int]:
        """The page number and size the query asks for, for a service that pages in SQL."""
        return max(1, _int(query.get("page"), 1)), self._size(query)

    def paged(self, rows: pl.DataFrame, total: int, query: Mapping[str, str]) -> TableView:
        """A view of one page of rows its service already filtered, ordered and sliced."""
        q, _, _, filters = self._state(query)
        page, size = self.paging(query)
        return TableView(
            table=self,
            rows=rows.to_dicts(),
            total=total,
            page=page,
            pages=max(1, math.ceil(total / size)),
            size=size,
            q=q,
            sort=None,
            desc=False,
            filters=filters,
            sortable=False,
        )

    def xlsx(self, frame: pl.DataFrame, query: Mapping[str, str], title: str) -> bytes:
        """Every matching row (all pages) as a workbook: a header row, then the rows as shown."""
        rows = self.rows(frame, query)
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
        sheet = book.add_worksheet(title[:31])
        bold = book.add_format({"bold": True})
        money = book.add_format({"num_format": "#,##0.00"})
        ratio = book.add_format({"num_format": "0.00%"})
        columns = [c for c in self.columns if c.kind != "check"]
        for c, column in enumerate(columns):
            sheet.write_string(0, c, column.label, bold)
            sheet.set_column(c, c, 14 if column.kind != "text" else 24)
        for r, row in enumerate(rows.iter_rows(named=True), start=1):
            for c, column in enumerate(columns):
                value = row.get(column.key)
                if value is None:
                    continue
                if column.kind == "money" and isinstance(value, Decimal):
                    # a number Excel can sum; the 2-decimal Decimal is exact in a double's 15 digits
                    sheet.write_number(r, c, value, money)  # type: ignore[arg-type]
                elif column.kind == "ratio" and isinstance(value, float | Decimal):
                    sheet.write_number(r, c, value, ratio)  # type: ignore[arg-type]
                elif column.kind == "date" and isinstance(value, date):
                    sheet.write_string(r, c, value.isoformat())
                else:
                    sheet.write_string(r, c, display(value, column.kind))
        book.close()
        return buffer.getvalue()


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default
