"""Bulk imports of the asset register (cards; inventory counts) and the Chinese template.

The statement importer's readers are reused (`ledger.importer`: bounded XLSX/CSV grids, cell
text, exact amounts) and its limits and worker threads (`closing.uploads`): a file is parsed off
the event loop, every problem is listed with its row and column, and nothing is stored unless the
whole file passes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
import msgspec
import xlsxwriter
from anyio import CapacityLimiter
from openpyxl.utils import get_column_letter

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.schemas import Actor
from stateasset.core.errors import DomainError, FieldProblem, Invalid
from stateasset.db import engine
from stateasset.ledger import importer
from stateasset.ledger.assets import inventory
from stateasset.ledger.assets import service as cards
from stateasset.ledger.assets.schemas import (
    CATEGORY_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    CampaignRead,
    CardCreate,
    CardImportProblem,
    CardImportReport,
    Category,
    CountCreate,
    Source,
    Status,
)
from stateasset.ledger.closing import uploads as statement_uploads
from stateasset.ledger.service import visible_entity_ids
from stateasset.ledger.tables import Entity

CARD_HEADERS = (
    ("holder", "持有单位统一社会信用代码", True),
    ("code", "资产编码", True),
    ("name", "资产名称", True),
    ("category", "资产类别", True),
    ("source", "来源", True),
    ("acquired_on", "取得日期", True),
    ("original_value", "原值", True),
    ("operating", "经营性", False),
    ("location", "存放地点", False),
    ("useful_life_months", "使用年限(月)", False),
    ("salvage", "残值", False),
    ("status", "状态", False),
)
COUNT_HEADERS = (
    ("holder", "持有单位统一社会信用代码", True),
    ("code", "资产编码", True),
    ("location", "存放地点", False),
    ("name", "资产名称", False),
    ("category", "资产类别", False),
    ("value", "评估价值", False),
)
_BY_LABEL = {
    **{v: k.value for k, v in CATEGORY_LABELS.items()},
    **{v: k.value for k, v in SOURCE_LABELS.items()},
    **{v: k.value for k, v in STATUS_LABELS.items()},
}
_YES = {"是": True, "否": False, "true": True, "false": False, "1": True, "0": False}

Table = tuple[list[tuple[int, dict[str, Any]]], list[CardImportProblem]]


def read_table(data: bytes, filename: str, headers: Sequence[tuple[str, str, bool]]) -> Table:
    """The rows of the first sheet (or CSV) under a header row naming `headers` by label.

    Rows come as (Excel row number, {key: cell}); blank rows are skipped. CPU-bound: call from a
    worker thread. UploadTooLarge past the configured limits.
    """
    limits = statement_uploads.upload_limits()
    if len(data) > limits.bytes:
        raise importer.UploadTooLarge("bytes", len(data), limits.bytes, filename)
    suffix = filename.rsplit(".", 1)[-1].casefold() if "." in filename else ""
    try:
        if suffix == "csv":
            grid = importer._csv_grid(data, limits)
        elif suffix in ("xlsx", "xlsm") or data[:2] == b"PK":
            grid = next(
                (g for g, _ in importer._xlsx_grids(data, limits) if g.name != "说明"), None
            )
        else:
            return [], [CardImportProblem(row=0, column="", reason="use .xlsx or .csv")]
    except (zipfile.BadZipFile, csv.Error, LookupError, OSError, ValueError, TypeError) as exc:
        return [], [CardImportProblem(row=0, column="", reason=f"not a readable file: {exc}")]
    if grid is None:
        return [], [CardImportProblem(row=0, column="", reason="no sheet to read")]
    wanted = {label: key for key, label, _ in headers}
    number, columns = 0, {}
    for at, row in enumerate(grid.rows[:10], start=1):
        # The template marks required columns with *; a header is read with or without it.
        texts = [(importer._text(v) or "").rstrip("*") for v in row]
        if any(t in wanted for t in texts):
            number, columns = at, {i: wanted[t] for i, t in enumerate(texts) if t in wanted}
            break
    if not columns:
        return [], [CardImportProblem(row=1, column="", reason="no header row (资产编码 …)")]
    missing = [
        label for key, label, required in headers if required and key not in columns.values()
    ]
    if missing:
        return [], [
            CardImportProblem(row=number, column=label, reason="required column is missing")
            for label in missing
        ]
    rows = []
    for index, values in enumerate(grid.rows[number:], start=number + 1):
        record = {key: (values[i] if i < len(values) else None) for i, key in columns.items()}
        if all(importer._text(v) is None for v in record.values()):
            continue
        rows.append((index, record))
    letters = {key: get_column_letter(i + 1) for i, key in columns.items()}
    return [(n, {**r, "_letters": letters}) for n, r in rows], []


async def _read(data: bytes, filename: str, headers: Sequence[tuple[str, str, bool]]) -> Table:
    loop = asyncio.get_running_loop()
    parsers = statement_uploads._parsers.get(loop)
    if parsers is None:
        parsers = statement_uploads._parsers[loop] = CapacityLimiter(1)
    try:
        return await anyio.to_thread.run_sync(read_table, data, filename, headers, limiter=parsers)
    except importer.UploadTooLarge as exc:
        raise statement_uploads._too_large(filename, exc) from None


class _Row:
    """One row's cells, converted with its problems collected under the column's letter."""

    def __init__(self, number: int, record: dict[str, Any], problems: list[CardImportProblem]):
        self.number, self.record, self.problems = number, record, problems
        self.letters: dict[str, str] = record["_letters"]

    def problem(self, key: str, reason: str) -> None:
        self.problems.append(
            CardImportProblem(row=self.number, column=self.letters.get(key, key), reason=reason)
        )

    def text(self, key: str, required: bool = False) -> str | None:
        value = importer._text(self.record.get(key))
        if value is None and required:
            self.problem(key, "必填 required")
        return value

    def choice(self, key: str, enum: type, required: bool = False) -> Any:
        text = self.text(key, required)
        if text is None:
            return None
        try:
            return enum(_BY_LABEL.get(text, text))
        except ValueError:
            self.problem(key, f"unknown value {text!r}")
            return None

    def amount(self, key: str, required: bool = False) -> Any:
        value, reason = importer.parse_amount(self.record.get(key))
        if reason:
            self.problem(key, reason)
        elif value is None and required:
            self.problem(key, "必填 required")
        return value

    def day(self, key: str) -> date | None:
        value = self.record.get(key)
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = importer._text(value)
        try:
            return date.fromisoformat(text or "")
        except ValueError:
            self.problem(key, "a date as 2025-06-30 is required")
            return None


def _problems(filename: str, problems: list[CardImportProblem]) -> Invalid:
    return Invalid(
        f"{len(problems)} problem(s) in {filename}; nothing was imported",
        errors=[FieldProblem(field=f"file!{p.column}{p.row}", reason=p.reason) for p in problems],
        extra={"import_errors": [msgspec.to_builtins(p) for p in problems]},
    )


async def _known(actor: Actor) -> dict[str, UUID]:
    visible = await visible_entity_ids(actor)
    return {
        r["credit_code"]: r["id"]
        for r in await Entity.select(Entity.id, Entity.credit_code)
        if visible is None or r["id"] in visible
    }


async def import_cards(*, actor: Actor, data: bytes, filename: str) -> CardImportReport:
    """Create every card of the file with its acquisition, or none (problems by row and column)."""
    rows, problems = await _read(data, filename, CARD_HEADERS)
    known = await _known(actor)
    parsed: list[tuple[int, CardCreate]] = []
    for number, record in rows:
        row = _Row(number, record, problems)
        before = len(problems)
        holder = row.text("holder", True)
        if holder is not None and holder not in known:
            row.problem("holder", f"unknown entity {holder} (or outside your scope)")
        values = {
            "code": row.text("code", True),
            "name": row.text("name", True),
            "category": row.choice("category", Category, True),
            "source": row.choice("source", Source, True),
            "acquired_on": row.day("acquired_on"),
            "original_value": row.amount("original_value", True),
            "location": row.text("location") or "",
            "salvage": row.amount("salvage") or 0,
            "status": row.choice("status", Status) or Status.in_use,
        }
        operating = row.text("operating")
        if operating is not None and operating.casefold() not in _YES:
            row.problem("operating", "是 or 否")
        life = row.text("useful_life_months")
        if life is not None and not life.isdigit():
            row.problem("useful_life_months", "a whole number of months")
        if len(problems) > before:
            continue
        try:
            card = msgspec.convert(
                {
                    **values,
                    "holder_id": str(known[holder or ""]),
                    "operating": _YES.get((operating or "是").casefold(), True),
                    "useful_life_months": int(life or 0),
                },
                CardCreate,
                strict=False,
            )
        except msgspec.ValidationError as exc:
            row.problem("code", str(exc))
            continue
        parsed.append((number, card))
    if not rows and not problems:
        problems.append(CardImportProblem(row=0, column="", reason="no cards in the file"))
    if problems:
        raise _problems(filename, problems)
    async with engine().transaction(), db.connection() as conn:
        for number, card in parsed:
            try:
                await cards.insert_card(conn, actor=actor, data=card, field=f"file!{number}")
            except DomainError as exc:
                problems.append(CardImportProblem(row=number, column="", reason=exc.detail))
                raise _problems(filename, problems) from exc
        await audit.record(
            actor=actor.username,
            action="asset_card.import",
            object_type="asset_card",
            object_id=filename,
            after={"cards": len(parsed)},
        )
    return CardImportReport(imported=True, cards=len(parsed), errors=[])


async def import_counts(
    *, actor: Actor, campaign_id: UUID, data: bytes, filename: str
) -> CampaignRead:
    """Record a campaign's counts from a file, or none of them."""
    rows, problems = await _read(data, filename, COUNT_HEADERS)
    known = await _known(actor)
    counts: list[CountCreate] = []
    for number, record in rows:
        row = _Row(number, record, problems)
        before = len(problems)
        holder = row.text("holder", True)
        if holder is not None and holder not in known:
            row.problem("holder", f"unknown entity {holder} (or outside your scope)")
        code = row.text("code", True)
        category = row.choice("category", Category)
        value = row.amount("value")
        if len(problems) > before:
            continue
        counts.append(
            CountCreate(
                holder_id=known[holder or ""],
                code=code or "",
                location=row.text("location"),
                name=row.text("name"),
                category=category,
                value=value,
            )
        )
    if problems:
        raise _problems(filename, problems)
    return await inventory.record_counts(
        actor=actor, campaign_id=campaign_id, counts=counts, field="file"
    )


def card_template() -> bytes:
    """The card import template: one sheet of Chinese headers and a sheet of instructions."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("资产卡片")
    bold = book.add_format({"bold": True})
    text = book.add_format({"num_format": "@"})
    for c, (_, label, required) in enumerate(CARD_HEADERS):
        sheet.write_string(0, c, label + ("*" if required else ""), bold)
        sheet.set_column(c, c, 18, text)
    notes = book.add_worksheet("说明")
    lines = [
        "资产卡片导入说明",
        "带*的列必填；一个文件全部通过校验才会导入，否则一条也不导入。",
        "资产类别: " + "、".join(CATEGORY_LABELS.values()),
        "来源: " + "、".join(SOURCE_LABELS.values()),
        "状态: " + "、".join(STATUS_LABELS.values()) + "（默认在用）",
        "经营性: 是 / 否（默认是）；取得日期: 2025-06-30；金额单位: 元，最多两位小数。",
        "资产编码在同一持有单位内不得重复。",
    ]
    for r, line in enumerate(lines):
        notes.write_string(r, 0, line, bold if r == 0 else None)
    book.close()
    return buffer.getvalue()
