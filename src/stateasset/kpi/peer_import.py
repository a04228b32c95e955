"""Peer standard values (企业绩效评价标准值) from a workbook: the template, the parse, the upsert.

The statement importer's bounded readers, limits and worker threads are reused
(`ledger.importer`, `ledger.closing.uploads`): a file is parsed off the event loop, every problem
is listed with its sheet, row and column as Excel shows them (`file.行业标准值!C7`, the field path
of the statement import), and nothing is stored unless the whole file passes. A file stores, in
one transaction, the five tiers of each (industry, indicator, year) row — replacing the tiers
stored for that key — audited with what it replaced.

Checks: the indicator is in the catalogue (by code, or by its Chinese name when one indicator has
it); year 2000–2100; each tier a plain decimal (at most 6 places, no scientific notation); the
tiers run from 优秀 to 较差 in the indicator's direction (falling for higher-is-better, rising for
lower-is-better), strictly; one row per (industry, indicator, year) in the file.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import ParseError

import anyio.to_thread
import msgspec
import polars as pl
import xlsxwriter
from anyio import CapacityLimiter
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import FieldProblem, Invalid
from stateasset.db import engine
from stateasset.kpi import catalogue
from stateasset.kpi.compute import TIER_COLUMNS, TIER_LABELS
from stateasset.ledger import importer
from stateasset.ledger.closing import uploads as statement_uploads
from stateasset.ledger.schemas import ImportProblem
from stateasset.settings import get_settings

SHEET = "行业标准值"
HEADERS: tuple[tuple[str, str], ...] = (
    ("industry", "行业"),
    ("indicator", "指标"),
    ("year", "年度"),
    *zip(TIER_COLUMNS, TIER_LABELS, strict=True),
)
_LABEL_KEY = {label: key for key, label in HEADERS}
_HEADER_SEARCH_ROWS = 10
_TIER_LIMIT = Decimal(10) ** 14  # NUMERIC(20, 6): 14 digits before the point
_TIER_PLACES = 6
TIER = pl.Decimal(20, 6)
STANDARD_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "industry": pl.String(),
    "indicator": pl.String(),
    "year": pl.Int64(),
    **{c: TIER for c in TIER_COLUMNS},
}
"""The rows of an upload that passed, by their Excel row."""


class StoredStandard(msgspec.Struct, frozen=True, kw_only=True):
    industry: str
    indicator: str
    year: int
    tiers: list[Decimal]  # 优秀, 良好, 平均, 较低, 较差
    replaced: bool  # the key had tiers before this upload


class PeerImportReport(msgspec.Struct, frozen=True, kw_only=True):
    imported: bool
    rows: int
    created: int
    replaced: int
    standards: list[StoredStandard]


@dataclass(frozen=True, slots=True)
class Known:
    """A catalogue indicator as the import looks it up: its code and direction."""

    code: str
    direction: str


@dataclass(slots=True)
class ParsedStandards:
    """The rows that passed (`STANDARD_SCHEMA`) and every problem; store only without errors."""

    rows: pl.DataFrame
    errors: list[importer.UploadError] = field(default_factory=list)


def lookup(indicators: Sequence[catalogue.CatalogueIndicator]) -> dict[str, Known]:
    """Code → indicator, and Chinese name → indicator when exactly one has that name."""
    found: dict[str, Known] = {i.code: Known(i.code, i.direction.value) for i in indicators}
    names: dict[str, list[catalogue.CatalogueIndicator]] = {}
    for i in indicators:
        names.setdefault(i.name, []).append(i)
    for name, same in names.items():
        if len(same) == 1 and name not in found:
            found[name] = Known(same[0].code, same[0].direction.value)
    return found


def _tier(value: object) -> tuple[Decimal | None, str | None]:
    """(value, None), (None, reason) for a bad cell, (None, None) for a blank one."""
    if value is None:
        return None, None
    if isinstance(value, bool | datetime | date | time):
        return None, f"不是数字 not a number: {value}"
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None, f"不是数字 not a number: {value!r}"
        number = Decimal(repr(value))  # what was typed (see ledger.importer)
    else:
        text = importer._text(value)
        if text is None:
            return None, None
        if importer._SCIENTIFIC.fullmatch(text):
            return None, f"科学计数法 scientific notation {text!r}: type the number in full"
        if not importer._PLAIN_NUMBER.fullmatch(text):
            return None, f"不是数字 not a number: {text!r}"
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern guarantees a number
            return None, f"不是数字 not a number: {text!r}"
    if abs(number) >= _TIER_LIMIT:
        return None, f"超出范围 out of range: {number}"
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_TIER_PLACES:
        return None, f"超过六位小数 more than 6 decimal places: {number}"
    return number + 0, None


def _year(value: object) -> tuple[int | None, str | None]:
    text = importer._text(value)
    if text is None:
        return None, "必填 required"
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        return None, f"年度应为2000—2100的整数 a year 2000–2100: {text!r}"
    return int(text), None


@dataclass(slots=True)
class _Parser:
    known: Mapping[str, Known]
    errors: list[importer.UploadError] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    seen: dict[tuple[str, str, int], tuple[str, int]] = field(default_factory=dict)
    unsaved: set[tuple[str, int, int]] = field(default_factory=set)
    labels: dict[int, str] = field(default_factory=dict)  # the sheet's header, by column

    def error(self, sheet: str, row: int | None, col: int | None, why: str, item: object = None):
        if row is not None and col is not None and (sheet, row, col) in self.unsaved:
            return  # already reported as a formula without a saved value
        letter = None if col is None else get_column_letter(col)
        header = None if col is None else self.labels.get(col)
        self.errors.append(
            importer.UploadError(sheet, row, letter, header, why, importer._text(item))
        )

    def formulas(self, sheet: str, cells: list[Any]) -> None:
        for cell in cells:
            shown = f"={cell.formula}" if cell.formula else "(shared formula)"
            self.error(
                sheet,
                cell.row,
                cell.column,
                f"公式没有计算结果 formula {shown} has no saved value: save it in Excel or WPS, "
                "or type the number",
            )
            self.unsaved.add((sheet, cell.row, cell.column))

    def sheet(self, grid: Any) -> None:
        header_row, columns, self.labels = 0, {}, {}
        for at in range(1, min(_HEADER_SEARCH_ROWS, len(grid.rows)) + 1):
            texts = [(importer._text(v) or "").rstrip("*") for v in grid.rows[at - 1]]
            if any(t in _LABEL_KEY for t in texts):
                header_row = at
                columns = {_LABEL_KEY[t]: i + 1 for i, t in enumerate(texts) if t in _LABEL_KEY}
                self.labels = {i + 1: t for i, t in enumerate(texts) if t in _LABEL_KEY}
                break
        if not columns:
            self.error(
                grid.name, 1, None, "没有表头 no header row: 行业 | 指标 | 年度 | 优秀 … 较差"
            )
            return
        missing = [label for key, label in HEADERS if key not in columns]
        if missing:
            self.error(grid.name, header_row, None, "缺少列 missing columns: " + "、".join(missing))
            return
        for number in range(header_row + 1, len(grid.rows) + 1):
            self.row(grid, number, columns)

    def row(self, grid: Any, number: int, columns: Mapping[str, int]) -> None:
        cells = {key: grid.cell(number, col) for key, col in columns.items()}
        if all(importer._text(v) is None for v in cells.values()):
            return
        sheet, before = grid.name, len(self.errors)
        raw_indicator = cells["indicator"]
        industry = importer._text(cells["industry"])
        if industry is None:
            self.error(sheet, number, columns["industry"], "必填 required", raw_indicator)
        elif len(industry) > 40:
            self.error(sheet, number, columns["industry"], "行业名称过长 at most 40 characters")
        name = importer._text(raw_indicator)
        known = self.known.get(name or "")
        if name is None:
            self.error(sheet, number, columns["indicator"], "必填 required")
        elif known is None:
            self.error(
                sheet,
                number,
                columns["indicator"],
                f"未知指标 unknown indicator {name!r}: not in the catalogue (指标库)",
                raw_indicator,
            )
        year, why = _year(cells["year"])
        if why:
            self.error(sheet, number, columns["year"], why, raw_indicator)
        tiers: list[Decimal | None] = []
        for key in TIER_COLUMNS:
            value, why = _tier(cells[key])
            if value is None and why is None:
                why = "必填 required"
            if why:
                self.error(sheet, number, columns[key], why, raw_indicator)
            tiers.append(value)
        if known is not None and all(t is not None for t in tiers):
            falling = known.direction == "higher"
            for n in range(1, len(TIER_COLUMNS)):
                a, b = tiers[n - 1], tiers[n]
                assert a is not None and b is not None
                if (b >= a) if falling else (b <= a):
                    order = "低于" if falling else "高于"
                    self.error(
                        sheet,
                        number,
                        columns[TIER_COLUMNS[n]],
                        f"档次顺序错误 {TIER_LABELS[n]} 应{order}{TIER_LABELS[n - 1]} "
                        f"({'higher' if falling else 'lower'} is better): {b} vs {a}",
                        raw_indicator,
                    )
        if industry is not None and known is not None and year is not None:
            key = (industry, known.code, year)
            if key in self.seen:
                first_sheet, first_row = self.seen[key]
                self.error(
                    sheet,
                    number,
                    columns["indicator"],
                    f"重复 the same 行业/指标/年度 as {first_sheet} row {first_row}",
                    raw_indicator,
                )
            else:
                self.seen[key] = (sheet, number)
        if len(self.errors) == before and known is not None:
            self.rows.append((number, industry, known.code, year, *tiers))


def parse_peer_upload(
    data: bytes,
    filename: str,
    known: Mapping[str, Known],
    limits: importer.UploadLimits | None = None,
) -> ParsedStandards:
    """The standard rows of an XLSX/CSV upload and every problem in it.

    Sheets named '说明' and hidden sheets are skipped. UploadTooLarge past `limits`.
    CPU-bound: call it from a worker thread, not an event loop.
    """
    limits = limits or importer.UploadLimits()
    if len(data) > limits.bytes:
        raise importer.UploadTooLarge("bytes", len(data), limits.bytes, filename)
    parser = _Parser(known)
    suffix = filename.rsplit(".", 1)[-1].casefold() if "." in filename else ""
    file_error: str | None = None
    if suffix == "csv":
        try:
            parser.sheet(importer._csv_grid(data, limits))
        except csv.Error as exc:
            file_error = f"无法读取的CSV文件 not a readable .csv file: {exc}"
    elif suffix in ("xlsx", "xlsm") or data[:2] == b"PK":
        sheets = importer._xlsx_grids(data, limits)
        while True:
            try:
                read = next(sheets, None)
            except (
                zipfile.BadZipFile,
                InvalidFileException,
                LookupError,
                OSError,
                ValueError,
                TypeError,
                ParseError,
            ) as exc:
                file_error = f"无法读取的Excel文件 not a readable .xlsx file: {exc}"
                break
            if read is None:
                break
            grid, unsaved = read
            if grid.name.strip() != importer.INSTRUCTIONS_SHEET and not grid.is_blank():
                parser.formulas(grid.name, unsaved)
                parser.sheet(grid)
    else:
        file_error = f"不支持的文件类型 unsupported file type {filename!r}: use .xlsx or .csv"
    if file_error is None and not parser.rows and not parser.errors:
        file_error = "文件中没有标准值 no standard values in the file"
    if file_error is not None:
        parser.errors.append(importer.UploadError(filename, None, None, None, file_error))
    rows = pl.DataFrame(parser.rows, schema=STANDARD_SCHEMA, orient="row")
    return ParsedStandards(rows=rows, errors=parser.errors)


async def _parse(data: bytes, filename: str, known: Mapping[str, Known]) -> ParsedStandards:
    """Parse in a worker thread, sharing the statement uploads' limiter and limits (413)."""
    limits = statement_uploads.upload_limits()
    if len(data) > limits.bytes:  # refused before waiting for a parser
        raise statement_uploads._too_large(
            filename, importer.UploadTooLarge("bytes", len(data), limits.bytes, filename)
        )
    loop = asyncio.get_running_loop()
    if (parsers := statement_uploads._parsers.get(loop)) is None:
        parsers = statement_uploads._parsers[loop] = CapacityLimiter(
            max(1, get_settings().upload_parsers)
        )
    try:
        return await anyio.to_thread.run_sync(
            parse_peer_upload, data, filename, known, limits, limiter=parsers
        )
    except importer.UploadTooLarge as exc:
        raise statement_uploads._too_large(filename, exc) from None


def _refused(filename: str, errors: list[importer.UploadError]) -> Invalid:
    """Every problem, as the statement import words them (field `file.<sheet>!<cell>`)."""
    problems = [
        ImportProblem(
            sheet=e.sheet,
            row=e.row or 0,
            column=f"{e.column or ''}{f' ({e.header})' if e.header else ''}",
            reason=e.reason,
            item=e.item,
        )
        for e in errors
    ]
    return Invalid(
        f"{len(problems)} problem(s) in {filename}; nothing was imported",
        errors=[
            FieldProblem(field=f"file.{p.sheet}!{p.column.split(' ')[0]}{p.row}", reason=p.reason)
            for p in problems
        ],
        extra={"import_errors": [msgspec.structs.asdict(p) for p in problems]},
    )


_UPSERT = (
    "INSERT INTO kpi_peer_standard (id, industry, indicator, year, tier_1, tier_2, tier_3, "
    "tier_4, tier_5, source, created_at, created_by) "
    "VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (industry, indicator, year) DO UPDATE SET tier_1 = EXCLUDED.tier_1, "
    "tier_2 = EXCLUDED.tier_2, tier_3 = EXCLUDED.tier_3, tier_4 = EXCLUDED.tier_4, "
    "tier_5 = EXCLUDED.tier_5, source = EXCLUDED.source, created_at = EXCLUDED.created_at, "
    "created_by = EXCLUDED.created_by"
)


def _standard(row: Mapping[str, Any], replaced: bool) -> StoredStandard:
    return StoredStandard(
        industry=row["industry"],
        indicator=row["indicator"],
        year=row["year"],
        tiers=[row[c] for c in TIER_COLUMNS],
        replaced=replaced,
    )


async def import_standards(*, actor: Actor, data: bytes, filename: str) -> PeerImportReport:
    """Check the whole file; upsert the tiers of every row in one transaction, or nothing."""
    parsed = await _parse(data, filename, lookup(await catalogue.indicators()))
    if parsed.errors:
        raise _refused(filename, parsed.errors)
    rows = parsed.rows.drop("row")
    keys = rows.select("industry", "indicator", "year")
    source = f"导入 {filename}"[:1000]
    now = utc_now()
    async with engine().transaction(), db.connection() as conn:
        # Rows of the same keys, locked: a concurrent import of them waits, then replaces these.
        before = await conn.fetch(
            "SELECT s.industry, s.indicator, s.year, s.tier_1, s.tier_2, s.tier_3, s.tier_4, "
            "s.tier_5, s.source FROM kpi_peer_standard s JOIN unnest($1::text[], $2::text[], "
            "$3::int[]) AS k(industry, indicator, year) USING (industry, indicator, year) "
            "ORDER BY s.industry, s.indicator, s.year FOR UPDATE OF s",
            keys["industry"].to_list(),
            keys["indicator"].to_list(),
            keys["year"].to_list(),
        )
        await conn.executemany(
            _UPSERT,
            [(*r, source, now, actor.username) for r in rows.iter_rows()],
        )
        had = {(r["industry"], r["indicator"], r["year"]) for r in before}
        stored = [
            _standard(r, (r["industry"], r["indicator"], r["year"]) in had)
            for r in rows.sort("industry", "indicator", "year").iter_rows(named=True)
        ]
        await audit.record(
            actor=actor.username,
            action="kpi_peer_standard.import",
            object_type="kpi_peer_standard",
            object_id=filename[:200],
            before=[dict(r) for r in before],
            after={"source": source, "standards": stored},
        )
    return PeerImportReport(
        imported=True,
        rows=rows.height,
        created=len(stored) - len(had),
        replaced=len(had),
        standards=stored,
    )


def _instructions(year: int, industry: str) -> list[str]:
    return [
        f"企业绩效评价标准值导入模板（{industry}，{year}年度）",
        "",
        f"1. 在“{SHEET}”工作表每行填一个指标的五档标准值：优秀、良好、平均、较低、较差。",
        "2. 越高越好的指标：优秀 > 良好 > 平均 > 较低 > 较差；越低越好的指标（如资产负债率）反之。",
        "3. 百分比指标按百分数填写（如 9.5 表示 9.5%），最多六位小数；不要使用科学计数法。",
        "4. 指标填指标编码或指标库中的中文名称；同一文件中 行业+指标+年度 只能出现一次。",
        "5. 导入时检查整个文件并列出全部错误（工作表、行、列）；有任何错误时不保存任何数据。",
        "6. 已有的 行业+指标+年度 标准值将被本文件的五档数值替换（原值记入审计日志）。",
        "",
    ]


def template_workbook(
    year: int,
    industry: str,
    indicators: Sequence[catalogue.CatalogueIndicator],
    stored: Mapping[str, Sequence[Decimal]],
) -> bytes:
    """The template: the ratios and custom indicators (and any with stored tiers) of one
    industry and year, stored tiers filled in; a '说明' sheet lists the catalogue. Text is text."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format({"bold": True})
    header = book.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
    text = book.add_format({"num_format": "@", "border": 1})
    number = book.add_format({"border": 1, "locked": False, "num_format": "0.######"})
    whole = book.add_format({"border": 1})
    sheet = book.add_worksheet(SHEET)
    for c, (_, label) in enumerate(HEADERS):
        sheet.write_string(0, c, label, header)
    sheet.set_column(0, 1, 26)
    sheet.set_column(2, 7, 12)
    rows = [i for i in indicators if i.kind in (catalogue.Kind.ratio, catalogue.Kind.custom)]
    rows += [i for i in indicators if i.code in stored and i not in rows]
    for r, indicator in enumerate(rows, start=1):
        sheet.write_string(r, 0, industry, text)
        sheet.write_string(r, 1, indicator.code, text)
        sheet.write_number(r, 2, year, whole)
        for c, value in enumerate(stored.get(indicator.code, ()), start=3):
            sheet.write_number(r, c, float(value), number)
        for c in range(3 + len(stored.get(indicator.code, ())), 8):
            sheet.write_blank(r, c, None, number)
    sheet.freeze_panes(1, 0)
    notes = book.add_worksheet(importer.INSTRUCTIONS_SHEET)
    notes.set_column(0, 0, 30)
    notes.set_column(1, 1, 36)
    notes.set_column(2, 4, 12)
    lines = _instructions(year, industry)
    for r, line in enumerate(lines):
        notes.write_string(r, 0, line, bold if r == 0 else None)
    start = len(lines)
    notes.write_row(start, 0, ["指标编码", "指标名称", "类别", "单位", "方向"], bold)
    for r, i in enumerate(indicators, start=start + 1):
        notes.write_string(r, 0, i.code)
        notes.write_string(r, 1, i.name)
        notes.write_string(r, 2, catalogue.KIND_LABELS[i.kind])
        notes.write_string(r, 3, i.unit)
        notes.write_string(r, 4, catalogue.DIRECTION_LABELS[i.direction.value])
    book.close()
    return buffer.getvalue()


async def template(*, year: int, industry: str) -> bytes:
    """The import template for an industry and year, with the tiers stored for them."""
    indicators = await catalogue.indicators()
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT indicator, tier_1, tier_2, tier_3, tier_4, tier_5 FROM kpi_peer_standard "
            "WHERE industry = $1 AND year = $2",
            industry,
            year,
        )
    stored = {r["indicator"]: [r[c] for c in TIER_COLUMNS] for r in rows}
    return await anyio.to_thread.run_sync(template_workbook, year, industry, indicators, stored)
