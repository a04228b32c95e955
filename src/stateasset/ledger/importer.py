"""Read uploaded 财务快报 statements (XLSX or CSV) and build the templates staff fill in.

The whole file is checked and every problem is reported with the sheet, row and column Excel
shows, so a subsidiary fixes its file in one round instead of one error per upload. Nothing
here writes anywhere: the service stores `ParsedUpload.rows` only when `errors` is empty.

Reading uses openpyxl in read-only mode: it yields rows by their Excel row number (gaps filled)
and gives numbers as the float parsed from the cell's XML text, so `Decimal(repr(value))`
recovers the decimal typed in Excel (1234.56 stays 1234.56).

An upload is untrusted and small on the wire but not in memory: an XLSX is a zip of XML, and a
60 KiB file can declare a cell at column XFD on 12,000 rows, which a gap-filling reader turns
into 196 million cells. So before openpyxl sees a workbook, every XML member is read once with a
streaming expat parser that keeps no tree: it refuses DTDs (entity expansion, external entities),
malformed XML, and anything past `UploadLimits`, counting rows and cells as the reader would
fill them in. That pass also finds formula cells without a saved result, which openpyxl's
`data_only` reading would silently turn into blanks. A CSV is counted as it is read.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_DOWN, Decimal, InvalidOperation, localcontext
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

import openpyxl
import polars as pl
import xlsxwriter
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from stateasset.core.money import CENT, MONEY_LIMIT
from stateasset.core.periods import parse_period
from stateasset.ledger.catalogue import ITEM_BY_CODE, ITEMS, TOTALS
from stateasset.ledger.credit_code import credit_code_problem

INSTRUCTIONS_SHEET = "说明"
CSV_SHEET = "csv"
AMOUNT = pl.Decimal(38, 2)
ROW_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "credit_code": pl.String(),
    "period": pl.String(),
    "item": pl.String(),
    "amount": AMOUNT,
}

# Header names accepted in either layout; English aliases for files made by other systems.
CREDIT_CODE_HEADER = "统一社会信用代码"
PERIOD_HEADER = "期间"
ITEM_HEADER = "项目编码"
LABEL_HEADER = "项目名称"
AMOUNT_HEADER = "金额"
_HEADERS: dict[str, str] = {
    CREDIT_CODE_HEADER: "credit_code",
    "credit_code": "credit_code",
    PERIOD_HEADER: "period",
    "period": "period",
    ITEM_HEADER: "item",
    "item": "item",
    LABEL_HEADER: "label",
    "label": "label",
    AMOUNT_HEADER: "amount",
    "amount": "amount",
}
_CANONICAL_HEADER = {
    "credit_code": CREDIT_CODE_HEADER,
    "period": PERIOD_HEADER,
    "item": ITEM_HEADER,
    "label": LABEL_HEADER,
    "amount": AMOUNT_HEADER,
}
_LONG_REQUIRED = ("credit_code", "period", "item", "amount")
_HEADER_SEARCH_ROWS = 10  # a long table may have a title row or two above its header

# Per-sheet layout (one entity-period per sheet): fixed cells.
_SHEET_HEADER_ROW = 4
_SHEET_FIRST_ITEM_ROW = 5

# Amounts are stored as NUMERIC(20, 2) (STYLE.md): 18 digits before the point. Refusing more
# here keeps an upload from passing the checks and then failing at the database.
_AMOUNT_PRECISION = 40
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
_SCIENTIFIC = re.compile(r"[+-]?[0-9.]+[eE][+-]?[0-9]+")
_UNIT_SUFFIX = re.compile(r"[(（][^)）]*[)）]$")  # 金额（元） → 金额


@dataclass(frozen=True, slots=True)
class UploadError:
    """One problem in an upload, located as Excel shows it: sheet, row, column letter, header.

    `row`/`column`/`header` are None for problems with a whole file or sheet; `item` is the item
    code written on the problem's row, when it has one, so staff find the line by its name too.
    """

    sheet: str
    row: int | None
    column: str | None
    header: str | None
    reason: str
    item: str | None = None

    def __str__(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f"!{self.column or ''}{self.row}"
        if self.header:
            where += f" ({self.header})"
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class ParsedUpload:
    """The statement rows read from an upload and every error found.

    `rows` holds the rows that were valid on their own (useful for a preview); store nothing
    unless `errors` is empty.
    """

    rows: pl.DataFrame
    errors: list[UploadError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the upload can be stored."""
        return not self.errors


# --- cell values -----------------------------------------------------------------------------


def _text(value: object) -> str | None:
    """Return a cell as trimmed text (None when blank); integral numbers lose their '.0'."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    # \u3000 is the full-width space Chinese input methods type.
    text = str(value).strip().strip("\u3000\u00a0").strip()
    return text or None


def _header_key(value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    text = _UNIT_SUFFIX.sub("", text.replace(" ", "").replace("\u3000", ""))
    return _HEADERS.get(text.casefold(), _HEADERS.get(text))


def parse_amount(value: object) -> tuple[Decimal | None, str | None]:
    """Return (amount, None), (None, reason) for a bad cell, or (None, None) for a blank one.

    Floats come from Excel's binary numbers: repr() gives the shortest decimal that reads
    back to the same float, i.e. what was typed; anything needing a third decimal place is
    refused rather than rounded.
    """
    if value is None:
        return None, None
    if isinstance(value, bool):
        return None, f"金额不是数字 amount is not a number: {value}"
    if isinstance(value, datetime | date | time):
        return None, f"金额不是数字 amount is a date, not a number: {value}"
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None, f"金额不是数字 amount is not a number: {value!r}"
        amount = Decimal(repr(value))
    else:
        text = _text(value)
        if text is None:
            return None, None
        if _SCIENTIFIC.fullmatch(text):
            return None, (
                f"金额为科学计数法 amount in scientific notation {text!r}: digits may be lost; "
                "format the column as a number with 2 decimals"
            )
        if not _PLAIN_NUMBER.fullmatch(text):
            return None, f"金额不是数字 amount is not a number: {text!r}"
        try:
            amount = Decimal(text.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern already guarantees a number
            return None, f"金额不是数字 amount is not a number: {text!r}"
    if abs(amount) >= MONEY_LIMIT:
        return None, f"金额超出范围 amount out of range: {amount}"
    # quantize must not round through the default 28-digit context: 38 digits fit here.
    with localcontext(prec=_AMOUNT_PRECISION):
        if amount != amount.quantize(CENT, rounding=ROUND_DOWN):
            return None, f"金额超过两位小数 amount has more than 2 decimal places: {amount}"
        return amount.quantize(CENT) + 0, None  # + 0 turns -0.00 into 0.00


def _period_text(value: object) -> tuple[str | None, str | None]:
    """Return (period code, None) or (None, reason) for a period cell.

    Excel turns a typed '2025-09' into the date 2025-09-01; a first-of-month date is taken
    as that month, any other date is refused.
    """
    if isinstance(value, datetime | date):
        if value.day == 1 and (not isinstance(value, datetime) or value.time() == time()):
            return f"{value.year:04d}-{value.month:02d}", None
        return None, (
            f"期间不是报告期 period is a date ({value:%Y-%m-%d}), expected text like "
            "'2025-09', '2025-Q3' or '2025'"
        )
    text = _text(value)
    if text is None:
        return None, "期间为空 period is missing"
    try:
        return parse_period(text).code, None
    except ValueError as exc:
        return None, f"期间错误 {exc}"


# --- limits and the pre-read scan ----------------------------------------------------------------

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """How much one upload may hold; each has a setting `STATEASSET_UPLOAD_MAX_<NAME>`.

    `rows` count every row up to a sheet's last (blank rows between included) over all sheets;
    `cells` count each row up to its last cell, as the reader fills gaps in; `columns` is the
    last column any row may use; `uncompressed_bytes` and `compression_ratio` apply to the zip
    members of an XLSX as the zip declares them (the zip reader never inflates past that).
    """

    bytes: int = 16 * MIB
    rows: int = 200_000
    columns: int = 100
    cells: int = 2_000_000
    sheets: int = 2_000
    uncompressed_bytes: int = 128 * MIB
    compression_ratio: int = 100


# A member this small cannot hurt whatever its ratio: tiny XML compresses very well.
_RATIO_FLOOR = MIB
_SCAN_CHUNK = 64 * 1024
_FORMULA_SHOWN = 60  # characters of a formula quoted in an error


class UploadTooLarge(Exception):
    """An upload past one of `UploadLimits`: `limit` names it, `value` is what the file has."""

    def __init__(self, limit: str, value: int, maximum: int, where: str) -> None:
        self.limit, self.value, self.maximum, self.where = limit, value, maximum, where
        super().__init__(
            f"{where}: {limit} reaches {value:,}, over the limit of {maximum:,} "
            f"(STATEASSET_UPLOAD_MAX_{limit.upper()})"
        )


@dataclass(frozen=True, slots=True)
class _Unsaved:
    """A formula cell with no saved result, by its 1-based row and column."""

    row: int
    column: int
    formula: str


_CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]+)")


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


class _XmlScan:
    """One streaming pass over an XML member: refuse DTDs, count a worksheet's rows and cells.

    The counts carry over members (`rows`, `cells`), so the limits are for the whole workbook.
    """

    def __init__(self, limits: UploadLimits, rows: int, cells: int) -> None:
        self.limits = limits
        self.rows, self.cells = rows, cells
        self.member = ""
        self.sheets = 0  # <sheet> entries in workbook.xml
        self.unsaved: list[_Unsaved] = []
        self._row = self._row_base = 0
        self._col = self._row_cells = self._row_width = 0
        self._cell: tuple[int, int] | None = None
        self._formula: list[str] | None = None
        self._type = "n"
        self._has_value = False
        self._in_value = False
        # This runs for every cell of the upload: memoise what repeats.
        self._tags: dict[str, str] = {}
        self._columns: dict[str, int] = {}

    def _tag(self, name: str) -> str:
        tag = self._tags.get(name)
        if tag is None:  # namespace processing gives "uri local"
            tag = self._tags[name] = name.rpartition(" ")[2]
        return tag

    def _over(self, limit: str, value: int, where: str | None = None) -> None:
        maximum = getattr(self.limits, limit)
        if value > maximum:
            raise UploadTooLarge(limit, value, maximum, where or self.member)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = self._tag(name)
        if tag == "row":
            ref = attrs.get("r")
            try:
                row = int(ref) if ref is not None else self._row + 1
            except ValueError:
                raise ValueError(f"row number {ref!r} is not a whole number") from None
            if row <= self._row:
                raise ValueError(f"row {row} comes after row {self._row}")
            self._over("rows", self._row_base + row)
            self._row, self._col, self._row_cells, self._row_width = row, 0, 0, 0
        elif tag == "c":
            ref = attrs.get("r")
            if ref is not None:
                letters = ref.rstrip("0123456789")
                col = self._columns.get(letters)
                if col is None:
                    match = _CELL_REF.fullmatch(ref)
                    if match is None:
                        raise ValueError(f"cell reference {ref!r} is not like A1")
                    col = self._columns[letters] = _column_number(letters)
                self._col = col
            else:
                self._col += 1
            self._row_cells += 1
            if self._col > self.limits.columns or self._row_cells > self.limits.columns:
                where = f"{self.member}!{get_column_letter(self._col)}{self._row}"
                self._over("columns", max(self._col, self._row_cells), where)
            if self._col > self._row_width:
                self._row_width = self._col
            self._cell = (self._row, self._col)
            self._type = attrs.get("t", "n")
            self._formula, self._has_value = None, self._type == "inlineStr"
        elif tag == "f" and self._cell is not None:
            self._formula = []
        elif tag == "v" and self._cell is not None:
            # An empty <v/> is what tools that do not calculate write, but for a text
            # result (t="str") it is a saved "".
            self._in_value = True
            self._has_value = self._has_value or self._type == "str"
        elif tag == "sheet":
            self.sheets += 1
            self._over("sheets", self.sheets)

    def end(self, name: str) -> None:
        tag = self._tag(name)
        if tag == "row":
            self.cells += self._row_width
            self._over("cells", self.cells)
        elif tag == "c" and self._cell is not None:
            if self._formula is not None and not self._has_value:
                text = "".join(self._formula)
                self.unsaved.append(_Unsaved(*self._cell, text[:_FORMULA_SHOWN]))
            self._cell, self._formula = None, None
        elif tag == "v":
            self._in_value = False
        elif tag == "sheetData":
            self.rows = self._row_base + self._row

    def text(self, data: str) -> None:
        if self._in_value:
            self._has_value = self._has_value or bool(data.strip())
            return
        formula = self._formula
        if formula is not None and len(formula) < _FORMULA_SHOWN:
            formula.append(data)

    def scan(self, member: str, stream: io.BufferedIOBase) -> None:
        """Read one member; ValueError on a DTD or malformed XML, UploadTooLarge past a limit."""
        self.member = member
        self._row_base, self._row = self.rows, 0
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.text
        parser.buffer_text = True

        def refuse_dtd(*_: object) -> None:
            # No part of an XLSX has a DTD; one is how entity bombs and XXE get in.
            raise ValueError("DTDs and entity declarations are not allowed")

        parser.StartDoctypeDeclHandler = refuse_dtd
        parser.EntityDeclHandler = refuse_dtd
        try:
            while chunk := stream.read(_SCAN_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise ValueError(f"malformed XML ({expat.errors.messages[exc.code]})") from None
        except LookupError as exc:  # an encoding Python does not know, named by the file
            raise ValueError(f"malformed XML ({exc})") from None


@dataclass(slots=True)
class _WorkbookScan:
    """What the pre-read pass learnt: formula cells without a saved value, by member path."""

    unsaved: dict[str, list[_Unsaved]]


def _scan_xlsx(archive: zipfile.ZipFile, limits: UploadLimits) -> _WorkbookScan:
    """Check an XLSX's zip and every XML member against `limits` before any real reading.

    ValueError for a damaged or hostile file (named by member), UploadTooLarge past a limit.
    """
    members = [i for i in archive.infolist() if not i.is_dir()]
    # Two members per sheet (the sheet and its relationships) and a few for the workbook.
    if len(members) > 2 * limits.sheets + 100:
        raise UploadTooLarge("sheets", len(members), 2 * limits.sheets + 100, "zip member count")
    total = 0
    for info in members:
        total += info.file_size
        if total > limits.uncompressed_bytes:
            raise UploadTooLarge(
                "uncompressed_bytes", total, limits.uncompressed_bytes, info.filename
            )
        if info.file_size > _RATIO_FLOOR:
            ratio = info.file_size // max(info.compress_size, 1)
            if ratio > limits.compression_ratio:
                raise UploadTooLarge(
                    "compression_ratio", ratio, limits.compression_ratio, info.filename
                )
    scan = _XmlScan(limits, rows=0, cells=0)
    unsaved: dict[str, list[_Unsaved]] = {}
    for info in members:
        if not info.filename.endswith((".xml", ".rels")):
            continue
        with archive.open(info) as stream:
            try:
                scan.scan(info.filename, stream)
            except ValueError as exc:
                raise ValueError(f"{info.filename}: {exc}") from None
        if scan.unsaved:
            unsaved[info.filename] = scan.unsaved
            scan.unsaved = []
    return _WorkbookScan(unsaved)


# --- reading files into grids ----------------------------------------------------------------

Row = Sequence[object]


@dataclass(slots=True)
class _Grid:
    """A sheet as rows of cell values; row i (1-based) is Excel's row i."""

    name: str
    rows: list[Row]

    def cell(self, row: int, col: int) -> object:
        if row > len(self.rows):
            return None
        values = self.rows[row - 1]
        return values[col - 1] if col <= len(values) else None

    def is_blank(self) -> bool:
        return all(_text(v) is None for r in self.rows for v in r)


def _xlsx_grids(data: bytes, limits: UploadLimits) -> Iterator[tuple[_Grid, list[_Unsaved]]]:
    """Yield each visible sheet and its formula cells without a saved value, one at a time.

    ValueError for a damaged or hostile file, UploadTooLarge past a limit (both before the
    first sheet is read).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        scan = _scan_xlsx(archive, limits)
    workbook = openpyxl.load_workbook(
        io.BytesIO(data), read_only=True, data_only=True, rich_text=False
    )
    try:
        for sheet in workbook.worksheets:
            # Hidden sheets (drop-down lists, old data) are what the user does not see: skip.
            if sheet.sheet_state != "visible":
                continue
            # The <dimension> tag is written by the producing program and can be wrong;
            # trusting it would silently drop rows past it.
            sheet.reset_dimensions()
            unsaved = scan.unsaved.get(getattr(sheet, "_worksheet_path", ""), [])
            yield _Grid(sheet.title, list(sheet.iter_rows(values_only=True))), unsaved
    finally:
        workbook.close()


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` with their endings, one at a time (StringIO would copy it 4 times)."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        stop = end if stop < 0 else stop + 1
        yield text[start:stop]
        start = stop


def _csv_grid(data: bytes, limits: UploadLimits) -> _Grid:
    """Decode a CSV as UTF-8 (with or without BOM) or GB18030, which Excel uses in China.

    Rows are counted as they are read, so a file of newlines stops at the limit.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ValueError("cannot decode CSV")
    rows: list[Row] = []
    cells = 0
    for number, values in enumerate(csv.reader(_lines(text)), start=1):
        if number > limits.rows:
            raise UploadTooLarge("rows", number, limits.rows, CSV_SHEET)
        if len(values) > limits.columns:
            where = f"{CSV_SHEET}!{get_column_letter(limits.columns + 1)}{number}"
            raise UploadTooLarge("columns", len(values), limits.columns, where)
        cells += len(values)
        if cells > limits.cells:
            raise UploadTooLarge("cells", cells, limits.cells, CSV_SHEET)
        rows.append([v if v != "" else None for v in values])
    return _Grid(CSV_SHEET, rows)


# --- parsing -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Parser:
    known_entities: Mapping[str, str]
    errors: list[UploadError] = field(default_factory=list)
    rows: list[tuple[str, str, str, str, Decimal]] = field(default_factory=list)
    seen: dict[tuple[str, str, str], str] = field(default_factory=dict)
    code_cache: dict[tuple[type, str], tuple[str | None, str | None]] = field(default_factory=dict)
    period_cache: dict[tuple[type, str], tuple[str | None, str | None]] = field(
        default_factory=dict
    )
    unsaved: set[tuple[str, int | None, int | None]] = field(default_factory=set)

    def error(
        self,
        sheet: str,
        row: int | None,
        col: int | None,
        header: str | None,
        why: str,
        item: object = None,
    ) -> None:
        if (sheet, row, col) in self.unsaved:
            return  # the cell is already reported as a formula without a value
        letter = None if col is None else get_column_letter(col)
        self.errors.append(UploadError(sheet, row, letter, header, why, _text(item)))

    def unsaved_formulas(self, sheet: str, cells: list[_Unsaved]) -> None:
        """Report formula cells with no saved result: read as blanks, they would vanish."""
        for cell in cells:
            shown = f"={cell.formula}" if cell.formula else "(shared formula)"
            self.error(
                sheet,
                cell.row,
                cell.column,
                None,
                f"公式没有计算结果 formula {shown} has no saved value (the file was written by "
                "a program that does not calculate): open and save it in Excel or WPS, or "
                "type the number",
            )
            self.unsaved.add((sheet, cell.row, cell.column))

    def credit_code(self, value: object) -> tuple[str | None, str | None]:
        """Return (entity_id, code) or (None, reason); memoised, long tables repeat codes."""
        key = (type(value), repr(value))  # by type too: True == 1 but reads differently
        if key not in self.code_cache:
            self.code_cache[key] = self._credit_code(value)
        return self.code_cache[key]

    def _credit_code(self, value: object) -> tuple[str | None, str | None]:
        if isinstance(value, float):
            return None, (
                "统一社会信用代码被存为数字 credit code stored as a number, digits are lost; "
                "format the column as text and type the code again"
            )
        text = _text(value)
        if text is None:
            return None, "统一社会信用代码为空 credit code is missing"
        code = text.upper()
        if problem := credit_code_problem(code):
            return None, f"统一社会信用代码无效 invalid credit code {text!r}: {problem}"
        entity_id = self.known_entities.get(code)
        if entity_id is None:
            # Outside the uploader's scope reads the same as unregistered: existence not revealed.
            return None, (
                f"统一社会信用代码未登记或不在您的填报范围内 unknown credit code {code} "
                "(not an entity you may report for)"
            )
        return entity_id, code

    def period(self, value: object) -> tuple[str | None, str | None]:
        key = (type(value), repr(value))
        if key not in self.period_cache:
            self.period_cache[key] = _period_text(value)
        return self.period_cache[key]

    def add_row(
        self,
        where: tuple[str, int, int, str],
        entity: tuple[str, str] | None,
        period: str | None,
        item: str | None,
        amount: Decimal | None,
    ) -> None:
        """Keep a fully valid row, reporting a repeated (entity, period, item) as an error."""
        if entity is None or period is None or item is None or amount is None:
            return
        sheet, row, item_col, item_header = where
        key = (entity[0], period, item)
        if key in self.seen:
            self.error(
                sheet,
                row,
                item_col,
                item_header,
                f"重复项目 duplicate: {item} for {entity[1]} {period} already given at "
                f"{self.seen[key]}",
                item,
            )
            return
        self.seen[key] = f"{sheet}!{get_column_letter(item_col)}{row}"
        self.rows.append((entity[0], entity[1], period, item, amount))

    def item(self, value: object) -> tuple[str | None, str | None]:
        text = _text(value)
        if text is None:
            return None, "项目编码为空 item code is missing"
        if text not in ITEM_BY_CODE:
            return None, f"未知项目编码 unknown item code {text!r}"
        return text, None

    def sheet(self, grid: _Grid) -> None:
        if _header_key(grid.cell(1, 1)) == "credit_code" and _header_key(grid.cell(2, 1)) == (
            "period"
        ):
            self.per_sheet(grid)
            return
        for row_no in range(1, min(_HEADER_SEARCH_ROWS, len(grid.rows)) + 1):
            keys = [_header_key(v) for v in grid.rows[row_no - 1]]
            if sum(k in _LONG_REQUIRED for k in keys) >= 2:
                self.long_table(grid, row_no, keys)
                return
        if not grid.is_blank():
            self.error(
                grid.name,
                None,
                None,
                None,
                "无法识别的表格格式 layout not recognised: expected a header row with "
                f"{CREDIT_CODE_HEADER} | {PERIOD_HEADER} | {ITEM_HEADER} | {AMOUNT_HEADER}, or "
                f"A1 '{CREDIT_CODE_HEADER}' and A2 '{PERIOD_HEADER}' (one sheet per entity)",
            )

    def per_sheet(self, grid: _Grid) -> None:
        """Layout (2): A1/B1 credit code, A2/B2 period, row 4 header, items from row 5."""
        name = grid.name
        entity_id, code_or_reason = self.credit_code(grid.cell(1, 2))
        entity = None
        if entity_id is None:
            self.error(name, 1, 2, CREDIT_CODE_HEADER, code_or_reason or "")
        else:
            entity = (entity_id, code_or_reason or "")
        period, reason = self.period(grid.cell(2, 2))
        if reason:
            self.error(name, 2, 2, PERIOD_HEADER, reason)
        header = [_header_key(grid.cell(_SHEET_HEADER_ROW, c)) for c in (1, 2, 3)]
        if header[0] != "item" or header[2] != "amount":
            self.error(
                name,
                _SHEET_HEADER_ROW,
                1,
                None,
                f"第4行应为表头 row 4 must be the header {ITEM_HEADER} | {LABEL_HEADER} | "
                f"{AMOUNT_HEADER}",
            )
            return
        for row_no in range(_SHEET_FIRST_ITEM_ROW, len(grid.rows) + 1):
            item_value, amount_value = grid.cell(row_no, 1), grid.cell(row_no, 3)
            amount, amount_reason = parse_amount(amount_value)
            if _text(item_value) is None and amount is None and amount_reason is None:
                continue  # blank line (a label alone in B is not data)
            item, item_reason = self.item(item_value)
            if item_reason:
                self.error(name, row_no, 1, ITEM_HEADER, item_reason, item_value)
            if amount_reason:
                self.error(name, row_no, 3, AMOUNT_HEADER, amount_reason, item_value)
            elif amount is None:
                continue  # an empty amount means "not reported" in this layout
            self.add_row((name, row_no, 1, ITEM_HEADER), entity, period, item, amount)

    def long_table(self, grid: _Grid, header_row: int, keys: list[str | None]) -> None:
        """Layout (1): one header row, then one amount per row."""
        name = grid.name
        columns: dict[str, int] = {}
        for col, key in enumerate(keys, start=1):
            if key is None:
                continue
            if key in columns:
                self.error(
                    name, header_row, col, _CANONICAL_HEADER[key], "重复的列 duplicate column"
                )
                continue
            columns[key] = col
        missing = [_CANONICAL_HEADER[k] for k in _LONG_REQUIRED if k not in columns]
        if missing:
            self.error(
                name,
                header_row,
                None,
                None,
                f"缺少列 missing columns: {', '.join(missing)}",
            )
            return
        c_code, c_period = columns["credit_code"], columns["period"]
        c_item, c_amount = columns["item"], columns["amount"]
        used = sorted(columns.values())
        for row_no in range(header_row + 1, len(grid.rows) + 1):
            values = grid.rows[row_no - 1]
            if all(_text(values[c - 1]) is None for c in used if c <= len(values)):
                continue
            item_value = grid.cell(row_no, c_item)
            entity_id, code_or_reason = self.credit_code(grid.cell(row_no, c_code))
            entity = None
            if entity_id is None:
                self.error(
                    name, row_no, c_code, CREDIT_CODE_HEADER, code_or_reason or "", item_value
                )
            else:
                entity = (entity_id, code_or_reason or "")
            period, reason = self.period(grid.cell(row_no, c_period))
            if reason:
                self.error(name, row_no, c_period, PERIOD_HEADER, reason, item_value)
            item, reason = self.item(item_value)
            if reason:
                self.error(name, row_no, c_item, ITEM_HEADER, reason, item_value)
            amount, reason = parse_amount(grid.cell(row_no, c_amount))
            if amount is None and reason is None:
                reason = "金额为空 amount is missing"
            if reason:
                self.error(name, row_no, c_amount, AMOUNT_HEADER, reason, item_value)
            self.add_row((name, row_no, c_item, ITEM_HEADER), entity, period, item, amount)


def parse_statement_upload(
    data: bytes,
    filename: str,
    known_entities: Mapping[str, str],
    limits: UploadLimits | None = None,
) -> ParsedUpload:
    """Return the statement rows of an uploaded XLSX/CSV and every error found in it.

    `known_entities` maps credit code → entity_id. Sheets named '说明' and hidden sheets are
    skipped; each other sheet is read as a long table or as one entity-period sheet, whichever
    its cells show. Errors are ordered as found: sheet by sheet, row by row.
    UploadTooLarge when the file is past `limits` (the defaults when None): nothing is parsed.
    CPU-bound for seconds on a large file: call it from a worker thread, not an event loop.
    """
    limits = limits or UploadLimits()
    if len(data) > limits.bytes:
        raise UploadTooLarge("bytes", len(data), limits.bytes, filename)
    parser = _Parser(known_entities)
    suffix = filename.rsplit(".", 1)[-1].casefold() if "." in filename else ""
    file_error: str | None = None
    is_xlsx = suffix in ("xlsx", "xlsm") or (suffix != "csv" and data[:2] == b"PK")
    if suffix == "csv":
        try:
            grid = _csv_grid(data, limits)
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            file_error = f"无法读取的CSV文件 not a readable .csv file: {exc}"
        else:
            parser.sheet(grid)
    elif is_xlsx:
        # Sheet by sheet: only one sheet's cells are held at a time.
        sheets = _xlsx_grids(data, limits)
        while True:
            try:
                read = next(sheets, None)
            # openpyxl reports a malformed workbook with any of these; only reading is inside.
            # ParseError is a SyntaxError, not a ValueError; LookupError covers a missing
            # member (KeyError) and a shared string index past the list (IndexError).
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
            if grid.name.strip() != INSTRUCTIONS_SHEET:
                parser.unsaved_formulas(grid.name, unsaved)
                parser.sheet(grid)
    elif suffix == "xls":
        file_error = "不支持旧版 .xls 格式 old .xls format is not supported: save as .xlsx"
    else:
        file_error = f"不支持的文件类型 unsupported file type {filename!r}: use .xlsx or .csv"
    if file_error is None and not parser.rows and not parser.errors:
        file_error = "文件中没有报表数据 no statement data found in the file"
    if file_error is not None:
        parser.errors.append(UploadError(filename, None, None, None, file_error))
    rows = pl.DataFrame(parser.rows, schema=ROW_SCHEMA, orient="row")
    return ParsedUpload(rows=rows, errors=parser.errors)


# --- templates ---------------------------------------------------------------------------------

_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")  # Excel's, and control characters
_SHEET_NAME_MAX = 31  # in UTF-16 code units, as Excel (and xlsxwriter) count: an emoji is 2
_RESERVED_SHEET_NAMES = {INSTRUCTIONS_SHEET.casefold(), "history"}  # Excel reserves 'History'


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _joins_previous(char: str) -> bool:
    """True for a character that belongs to the one before it (a mark, a joiner, a modifier)."""
    return unicodedata.category(char) in ("Mn", "Me", "Cf") or "\U0001f3fb" <= char <= "\U0001f3ff"


def _cut(text: str, units: int) -> str:
    """`text` cut to at most `units` UTF-16 units, never inside a character or a combined one."""
    kept, used = 0, 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > units:
            break
        kept, used = kept + 1, used + width
    if kept == len(text):
        return text
    while kept and _joins_previous(text[kept]):
        kept -= 1  # the next character joins the last kept one: drop both
    cut = text[:kept]
    while cut and _joins_previous(cut[-1]):
        cut = cut[:-1]  # nor end on a joiner waiting for what was cut
    return cut


def _clean_sheet_name(text: str, units: int = _SHEET_NAME_MAX) -> str:
    # Excel refuses names that start or end with an apostrophe, also after the cut.
    cleaned = _SHEET_NAME_BAD.sub("_", text).strip().strip("'").strip()
    return _cut(cleaned, units).strip().strip("'").strip()


def _sheet_names(entities: Sequence[tuple[str, str]]) -> list[str]:
    """Return one Excel-safe, unique (case-insensitively) sheet name per entity.

    The entity name, cleaned and cut to 31 UTF-16 units, is what staff recognise; when it is
    empty or taken, the credit code (18 characters, unique) is used instead, with '~2', '~3',
    … should even that be taken (by an entity named like another's code).
    """
    taken: set[str] = set(_RESERVED_SHEET_NAMES)
    names: list[str] = []
    for code, name in entities:
        candidate = _clean_sheet_name(name)
        if not candidate or candidate.casefold() in taken:
            candidate = code
        n = 2
        base = candidate
        while candidate.casefold() in taken:
            suffix = f"~{n}"
            candidate = _clean_sheet_name(base, _SHEET_NAME_MAX - len(suffix)) + suffix
            n += 1
        taken.add(candidate.casefold())
        names.append(candidate)
    return names


def _instructions(period: str) -> list[str]:
    totals = "；".join(
        f"{ITEM_BY_CODE[t].label} = " + " + ".join(ITEM_BY_CODE[p].label for p in parts)
        for t, parts in TOTALS.items()
    )
    return [
        f"财务快报填报模板（报告期 {period}）",
        "",
        "1. 每个单位一个工作表。请勿修改第1—4行（统一社会信用代码、期间、表头）及A列项目编码。",
        "2. 只在C列“金额”中填写数字，单位：元，最多两位小数；不填的项目留空（不要填0以外的文字）。",
        "3. 资产负债表项目填期末数；利润表、现金流量表及职工薪酬、折旧、生产税净额填本年累计数；"
        "平均从业人数填本年平均人数。",
        "4. 审核公式：资产总计 = 负债合计 + 所有者权益合计（允许误差0.01元）；" + totals + "。",
        "5. 资产、负债、营业收入、营业成本、研发经费投入、职工薪酬、折旧、平均从业人数不能为负数。",
        "6. 本工作表（说明）在导入时忽略；隐藏的工作表也会被忽略。",
        "7. 也可以上传一张明细表：表头为 统一社会信用代码 | 期间 | 项目编码 | 项目名称 | 金额，"
        "每行一个金额。",
        "8. 导入时会检查整个文件并列出全部错误（工作表、行、列）；有任何错误时不会保存任何数据。",
    ]


def statement_template(period: str, entities: Sequence[tuple[str, str]]) -> bytes:
    """Return an XLSX template: a '说明' sheet, then one layout-(2) sheet per entity.

    `entities` are (credit code, entity name) pairs. Each sheet lists every catalogue item
    with its Chinese label and an empty amount, ready for `parse_statement_upload`.
    ValueError on a bad period or credit code: a template that cannot be read back helps no one.
    """
    code = parse_period(period).code
    seen: set[str] = set()
    for credit_code, _ in entities:
        if problem := credit_code_problem(credit_code):
            raise ValueError(f"{credit_code!r}: {problem}")
        if credit_code in seen:
            raise ValueError(f"credit code {credit_code} given twice")
        seen.add(credit_code)

    buffer = io.BytesIO()
    # Text is never a formula here: entity names come from users.
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    header = workbook.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
    text = workbook.add_format({"num_format": "@"})
    label_fmt = workbook.add_format({"border": 1})
    code_fmt = workbook.add_format({"border": 1, "num_format": "@"})
    amount_fmt = workbook.add_format({"border": 1, "num_format": "#,##0.00", "locked": False})

    notes = workbook.add_worksheet(INSTRUCTIONS_SHEET)
    notes.set_column(0, 0, 110)
    for row, line in enumerate(_instructions(code)):
        notes.write_string(row, 0, line, title if row == 0 else None)
    start = len(_instructions(code)) + 1
    notes.write_row(start, 0, ["项目编码", "项目名称"], bold)
    notes.set_column(1, 1, 28)
    for offset, item in enumerate(ITEMS, start=1):
        notes.write_string(start + offset, 0, item.code)
        notes.write_string(start + offset, 1, item.label)

    last_item_row = _SHEET_FIRST_ITEM_ROW - 1 + len(ITEMS)  # 1-based Excel row
    for (credit_code, name), sheet_name in zip(entities, _sheet_names(entities), strict=True):
        ws = workbook.add_worksheet(sheet_name)
        ws.set_column(0, 0, 30)
        ws.set_column(1, 1, 24)
        ws.set_column(2, 2, 20)
        ws.write_string(0, 0, CREDIT_CODE_HEADER, bold)
        ws.write_string(0, 1, credit_code, text)
        ws.write_string(1, 0, PERIOD_HEADER, bold)
        ws.write_string(1, 1, code, text)
        ws.write_string(2, 0, "单位名称", bold)
        ws.write_string(2, 1, name)
        ws.write_row(_SHEET_HEADER_ROW - 1, 0, [ITEM_HEADER, LABEL_HEADER, AMOUNT_HEADER], header)
        for offset, item in enumerate(ITEMS):
            row = _SHEET_FIRST_ITEM_ROW - 1 + offset
            ws.write_string(row, 0, item.code, code_fmt)
            ws.write_string(row, 1, item.label, label_fmt)
            ws.write_blank(row, 2, None, amount_fmt)
        # Stop text in the amount column at the keyboard rather than at import.
        ws.data_validation(
            _SHEET_FIRST_ITEM_ROW - 1,
            2,
            last_item_row - 1,
            2,
            {
                "validate": "decimal",
                "criteria": "between",
                "minimum": -1e15,
                "maximum": 1e15,
                "error_title": "金额",
                "error_message": "请输入数字（元，最多两位小数）",
            },
        )
        ws.freeze_panes(_SHEET_HEADER_ROW, 0)
    workbook.close()
    return buffer.getvalue()
