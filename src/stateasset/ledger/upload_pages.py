"""The ledger's 导入 (statement upload) and 内部往来 (intercompany) pages.

Both call the services the API calls: an upload goes through `uploads.import_statements` (parsed
in a worker thread, a few at a time, within the upload limits), lines through
`intercompany.put_intercompany`, the report through `intercompany.mismatches`.

An upload's outcome is kept in this process for an hour under a random token and shown at
`/ledger/import/reports/<token>`, so its tables sort, filter, page and export like any other
(their state lives in the URL) and a refresh does not upload again. With several server
processes, sessions must stick to one (the token is unknown to the others: a 404 asks to upload
again).

Intercompany pages carry the period and the entity in the path, not the query, so the tables'
own query (sort, filter, page) never drops them.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import msgspec
import polars as pl
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from stateasset.auth.guards import allowed, requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.errors import DomainError, FieldProblem, Invalid, NotFound
from stateasset.core.http import xlsx_download
from stateasset.core.idempotency import run_once
from stateasset.core.periods import parse_period
from stateasset.ledger import service
from stateasset.ledger.catalogue import ITEM_BY_CODE
from stateasset.ledger.close_pages import period_choices
from stateasset.ledger.closing import intercompany, uploads
from stateasset.ledger.report_pages import default_period
from stateasset.ledger.schemas import (
    ImportReport,
    IntercompanyKind,
    IntercompanyLineRead,
    IntercompanySubmit,
)
from stateasset.web.format import period_label
from stateasset.web.shell import PageController, is_htmx, page
from stateasset.web.table import Column, Table, TableView

Reader = Request[Actor, Any, Any]

RULE_LABELS = {
    "balance": "资产负债平衡",
    "sum_of_parts": "合计等于各项之和",
    "non_negative": "不能为负数",
    "unknown_item": "未知项目",
    "ytd_cumulative": "本年累计数",
    "missing_total": "合计未填报",
}
KIND_LABELS = {
    IntercompanyKind.receivable: "应收账款",
    IntercompanyKind.payable: "应付账款",
    IntercompanyKind.revenue: "内部营业收入",
    IntercompanyKind.cost: "内部采购（已计入营业成本）",
    IntercompanyKind.inventory_held: "内部采购（期末存货）",
    IntercompanyKind.investment: "长期股权投资",
    IntercompanyKind.equity: "权益（旧接口）",
}
PAIR_LABELS = {"receivable_payable": "应收/应付", "revenue_cost": "内部收入/成本"}


async def _periods(actor: Actor, *, writing: bool = False) -> tuple[list[str], str]:
    """The period choices (as the other ledger pages offer them) and the one to preselect: the
    latest filed in scope, or the quarter being closed when nothing is filed yet."""
    choices = await period_choices(actor, writing=writing)
    filed = choices[1:] if writing and len(choices) > 1 else choices
    return choices, filed[0] if filed else default_period(date.today())


def _item_label(code: str | None) -> str:
    item = ITEM_BY_CODE.get(code or "")
    return f"{item.label}（{code}）" if item else (code or "")


def _htmx_table(request: Reader) -> str | None:
    """The id of the table an htmx request swaps (its target is `tbl-<id>`)."""
    target = request.headers.get("hx-target") or ""
    return target.removeprefix("tbl-") if is_htmx(request) and target.startswith("tbl-") else None


# --- 导入 ---------------------------------------------------------------------------------------

CELL_ERRORS = Table(
    "import-errors",
    [
        Column("sheet", "工作表", choices=True),
        Column("row", "行"),
        Column("column", "列"),
        Column("item", "项目"),
        Column("reason", "原因"),
    ],
    search=("sheet", "column", "item", "reason"),
)
RULE_ERRORS = Table(
    "import-rules",
    [
        Column("entity", "主体", choices=True),
        Column("period", "期间"),
        Column("item", "项目"),
        Column("rule", "审核公式", choices=True),
        Column("message", "说明"),
    ],
    search=("entity", "item", "message"),
)
STORED = Table(
    "import-stored",
    [
        Column("entity", "主体", "link", link="/ledger/entities/{entity_id}"),
        Column("period", "期间"),
        Column("version", "版本"),
    ],
    search=("entity",),
)
WARNINGS = Table(
    "import-warnings",
    [
        Column("w_entity", "主体", choices=True),
        Column("w_period", "期间"),
        Column("w_item", "项目"),
        Column("w_rule", "审核公式", choices=True),
        Column("w_message", "说明"),
    ],
    search=("w_entity", "w_item", "w_message"),
)
IMPORT_TABLES = {
    t.id: (t, title)
    for t, title in (
        (CELL_ERRORS, "导入错误"),
        (RULE_ERRORS, "审核公式错误"),
        (STORED, "已保存"),
        (WARNINGS, "提示"),
    )
}
_CELL_SCHEMA = {
    "sheet": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "item": pl.String,
    "reason": pl.String,
}
_RULE_SCHEMA = {k: pl.String for k in ("entity", "period", "item", "rule", "message")}
_STORED_SCHEMA = {"entity_id": pl.String, "entity": pl.String, "period": pl.String}
_WARNING_SCHEMA = {k: pl.String for k in ("w_entity", "w_period", "w_item", "w_rule", "w_message")}

REPORT_SECONDS = 3600
REPORTS_KEPT = 64


@dataclass
class UploadOutcome:
    """What one upload did, as the report page shows it: stored, or refused with the reasons."""

    owner: str
    filename: str
    stored: bool
    detail: str
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    problems: list[FieldProblem] = field(default_factory=list)
    made: float = field(default_factory=time.monotonic)


_outcomes: OrderedDict[str, UploadOutcome] = OrderedDict()


def _keep(outcome: UploadOutcome) -> str:
    """Keep `outcome` for an hour (at most the latest few) and return its token."""
    now = time.monotonic()
    for token in [t for t, o in _outcomes.items() if now - o.made > REPORT_SECONDS]:
        del _outcomes[token]
    while len(_outcomes) >= REPORTS_KEPT:
        _outcomes.popitem(last=False)
    token = secrets.token_urlsafe(16)
    _outcomes[token] = outcome
    return token


def _outcome(actor: Actor, token: str) -> UploadOutcome:
    outcome = _outcomes.get(token)
    if outcome is None or outcome.owner != actor.username:
        raise NotFound("this upload's report has expired or is not yours; upload the file again")
    return outcome


async def _stored_outcome(actor: Actor, filename: str, report: ImportReport) -> UploadOutcome:
    names = await service.entity_names()
    stored = pl.DataFrame(
        [
            {
                "entity_id": str(s.entity_id),
                "entity": names.get(s.entity_id, str(s.entity_id)),
                "period": period_label(s.period),
                "version": s.version,
            }
            for s in report.stored
        ],
        schema={**_STORED_SCHEMA, "version": pl.Int64},
    )
    warnings = pl.DataFrame(
        [
            {
                "w_entity": names.get(w.entity_id, str(w.entity_id)) if w.entity_id else "",
                "w_period": period_label(w.period),
                "w_item": _item_label(w.item),
                "w_rule": RULE_LABELS.get(w.rule, w.rule),
                "w_message": w.message,
            }
            for w in report.warnings
        ],
        schema=_WARNING_SCHEMA,
    )
    detail = f"已保存 {report.statements} 张报表（{report.rows} 个金额）"
    if report.warnings:
        detail += f"，{len(report.warnings)} 条提示（不影响保存）"
    return UploadOutcome(
        owner=actor.username,
        filename=filename,
        stored=True,
        detail=detail + "。",
        frames={STORED.id: stored, WARNINGS.id: warnings},
    )


async def _refused_outcome(actor: Actor, filename: str, exc: DomainError) -> UploadOutcome:
    frames: dict[str, pl.DataFrame] = {}
    if cells := exc.extra.get("import_errors"):
        frames[CELL_ERRORS.id] = pl.DataFrame(
            [
                {
                    "sheet": c["sheet"],
                    "row": c["row"] or None,
                    "column": c["column"],
                    "item": _item_label(c.get("item")),
                    "reason": c["reason"],
                }
                for c in cells
            ],
            schema=_CELL_SCHEMA,
        )
        detail = f"文件中有 {len(cells)} 处错误，未保存任何数据。请改正后重新上传。"
    elif rules := exc.extra.get("rule_errors"):
        names = {str(k): v for k, v in (await service.entity_names()).items()}
        frames[RULE_ERRORS.id] = pl.DataFrame(
            [
                {
                    "entity": names.get(r.get("entity_id") or "", r.get("entity_id") or ""),
                    "period": period_label(r.get("period")),
                    "item": _item_label(r["item"]),
                    "rule": RULE_LABELS.get(r["rule"], r["rule"]),
                    "message": r["message"],
                }
                for r in rules
            ],
            schema=_RULE_SCHEMA,
        )
        detail = f"{len(rules)} 条审核公式未通过，未保存任何数据。请改正后重新上传。"
    else:
        detail = f"未保存任何数据：{exc.detail}"
    return UploadOutcome(
        owner=actor.username,
        filename=filename,
        stored=False,
        detail=detail,
        frames=frames,
        problems=[] if frames else exc.errors,
    )


async def _import_form(
    request: Reader, period: str | None, *, status_code: int = 200, **context: Any
) -> Template:
    """The import page: the template and upload forms, and an upload's outcome if given."""
    defaults: dict[str, Any] = {
        "outcome": None,
        "views": [],
        "problems": {},
        "idempotency_key": secrets.token_urlsafe(16),
    }
    choices, latest = await _periods(request.user, writing=True)
    period = period or latest
    return page(
        "ledger/import.html",
        request,
        status_code=status_code,
        period=period,
        periods=choices if period in choices else [period, *choices],
        **{**defaults, **context},
    )


class ImportPages(PageController):
    """导入: the template, the upload, and the upload's report."""

    path = "/ledger/import"

    @get("/", guards=[requires(Permission.ledger_write)])
    async def form(self, request: Reader, period: FromQuery[str | None] = None) -> Template:
        """The template download and the upload form."""
        return await _import_form(request, period)

    @get("/template.xlsx", guards=[requires(Permission.ledger_statements)])
    async def template(self, request: Reader, period: FromQuery[str]) -> Response[bytes]:
        """The API's XLSX template for the period: one sheet per entity in the user's scope."""
        content = await uploads.statement_template(actor=request.user, period=period)
        return xlsx_download(content, f"statement-template-{parse_period(period).code}.xlsx")

    @post("/", guards=[requires(Permission.ledger_write)], status_code=303)
    async def upload(self, request: Reader) -> Response[Any]:
        """Check the file as the API does; store all of it or nothing, then show the report."""
        form = await request.form()
        period = str(form.get("period") or "")[:20] or None
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            problem = {"file": "请选择要上传的文件 (.xlsx 或 .csv)"}
            return await _import_form(request, period, status_code=400, problems=problem)
        content = await upload.read()
        filename = upload.filename
        # The form's own key, as the API's Idempotency-Key: a double click or a resent form
        # stores the file once and shows the first answer again.
        key = str(form.get("idempotency_key") or "")[:200] or None
        try:
            answer = await run_once(
                key=key,
                actor=request.user.username,
                route="statements.import",
                payload={"filename": filename, "content": content},
                work=lambda: uploads.import_statements(
                    actor=request.user, data=content, filename=filename
                ),
            )
            report = (
                answer.content
                if isinstance(answer.content, ImportReport)
                else msgspec.json.decode(answer.content, type=ImportReport)
            )
        except DomainError as exc:
            if exc.status == 413:  # past the limits: said beside the file field
                reason = exc.errors[0].reason if exc.errors else exc.detail
                problems = {"file": f"文件过大，未导入任何数据 file too large: {reason}"}
                return await _import_form(request, period, status_code=413, problems=problems)
            outcome = await _refused_outcome(request.user, filename, exc)
        else:
            outcome = await _stored_outcome(request.user, filename, report)
        return Redirect(f"/ledger/import/reports/{_keep(outcome)}", status_code=303)

    @get("/reports/{token:str}", guards=[requires(Permission.ledger_write)])
    async def report(self, request: Reader, token: FromPath[str]) -> Template:
        """An upload's outcome: the per-cell errors (nothing stored), or what was stored."""
        outcome = _outcome(request.user, token)
        views: list[tuple[str, TableView, str]] = []
        for table_id, frame in outcome.frames.items():
            table, title = IMPORT_TABLES[table_id]
            view = table.view(frame, request.query_params)
            export = f"/ledger/import/reports/{token}/export/{table_id}" + view.url(page=None)
            if _htmx_table(request) == table_id:
                return page("_table.html", request, table=view, export_url=export.rstrip("?"))
            views.append((title, view, export.rstrip("?")))
        return await _import_form(request, None, outcome=outcome, views=views, token=token)

    @get("/reports/{token:str}/export/{table_id:str}", guards=[requires(Permission.ledger_write)])
    async def report_xlsx(
        self, request: Reader, token: FromPath[str], table_id: FromPath[str]
    ) -> Response[bytes]:
        """One table of an upload's report as XLSX, filtered and sorted as shown."""
        outcome = _outcome(request.user, token)
        if table_id not in outcome.frames:
            raise NotFound(f"no table {table_id} in this report")
        table, title = IMPORT_TABLES[table_id]
        content = table.xlsx(outcome.frames[table_id], request.query_params, title)
        return xlsx_download(content, f"{table_id}.xlsx")


# --- 内部往来 -----------------------------------------------------------------------------------

PAIRS = Table(
    "ic-pairs",
    [
        Column("kind_label", "类型", choices=True),
        Column("entity_name", "本方", "link", link="/ledger/intercompany/{period}/{entity_id}"),
        Column("partner_name", "对方", "link", link="/ledger/intercompany/{period}/{partner_id}"),
        Column("entity_amount", "本方金额", "money"),
        Column("partner_amount", "对方金额", "money"),
        Column("difference", "差额", "money"),
    ],
    search=("entity_name", "partner_name"),
)
MISSING = Table(
    "ic-missing",
    [
        Column("holder_name", "投资方", "link", link="/ledger/intercompany/{period}/{holder_id}"),
        Column("held_name", "被投资方"),
        Column("economic_share", "持股比例", "ratio"),
    ],
)
LINES = Table(
    "ic-lines",
    [
        Column("side", "填报方", choices=True),
        Column("reporter", "报告主体"),
        Column("counterpart", "往来对方"),
        Column("line_kind", "类型", choices=True),
        Column("amount", "金额", "money"),
    ],
    search=("reporter", "counterpart"),
)
_PAIR_SCHEMA = {
    "period": pl.String,
    "kind_label": pl.String,
    "entity_id": pl.String,
    "entity_name": pl.String,
    "partner_id": pl.String,
    "partner_name": pl.String,
    "entity_amount": pl.Decimal(20, 2),
    "partner_amount": pl.Decimal(20, 2),
    "difference": pl.Decimal(20, 2),
}
_MISSING_SCHEMA = {
    "period": pl.String,
    "holder_id": pl.String,
    "holder_name": pl.String,
    "held_name": pl.String,
    "economic_share": pl.Float64,
}
_LINE_SCHEMA = {
    "side": pl.String,
    "reporter": pl.String,
    "counterpart": pl.String,
    "line_kind": pl.String,
    "amount": pl.Decimal(20, 2),
}


async def _mismatch_frames(
    actor: Actor, period: str, names: dict[UUID, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The period's disagreeing pairs, and the stakes with no investment line, in scope."""
    rows = await intercompany.mismatches(actor=actor, period=period)
    pairs = [
        {
            "period": period,
            "kind_label": PAIR_LABELS.get(m.kind, m.kind),
            "entity_id": str(m.entity_id),
            "entity_name": names.get(m.entity_id, str(m.entity_id)),
            "partner_id": str(m.partner_id),
            "partner_name": names.get(m.partner_id, str(m.partner_id)),
            "entity_amount": m.entity_amount,
            "partner_amount": m.partner_amount,
            "difference": m.difference,
        }
        for m in rows
        if m.kind != "missing_investment_line"
    ]
    missing = [
        {
            "period": period,
            "holder_id": str(m.entity_id),
            "holder_name": names.get(m.entity_id, str(m.entity_id)),
            "held_name": names.get(m.partner_id, str(m.partner_id)),
            "economic_share": m.economic_share,
        }
        for m in rows
        if m.kind == "missing_investment_line"
    ]
    return pl.DataFrame(pairs, schema=_PAIR_SCHEMA), pl.DataFrame(missing, schema=_MISSING_SCHEMA)


def _lines_frame(
    entity_id: UUID, lines: list[IntercompanyLineRead], names: dict[UUID, str]
) -> pl.DataFrame:
    rows = [
        {
            "side": "本方填报" if line.entity_id == entity_id else "对方填报",
            "reporter": names.get(line.entity_id, str(line.entity_id)),
            "counterpart": names.get(line.partner_id, str(line.partner_id)),
            "line_kind": KIND_LABELS.get(line.kind, str(line.kind)),
            "amount": line.amount,
        }
        for line in lines
    ]
    return pl.DataFrame(rows, schema=_LINE_SCHEMA)


@dataclass
class LineRow:
    """One row of the edit form: its key in the form, what was typed, the problems beside it."""

    key: str
    partner_id: str = ""
    kind: str = ""
    amount: str = ""
    problems: dict[str, str] = field(default_factory=dict)


def _form_rows(entity_id: UUID, lines: list[IntercompanyLineRead]) -> list[LineRow]:
    own = [line for line in lines if line.entity_id == entity_id]
    return [
        LineRow(f"r{i}", str(line.partner_id), str(line.kind), f"{line.amount:f}")
        for i, line in enumerate(own)
    ] + [LineRow(f"r{len(own)}")]


def _submitted(
    form: Any, entity_id: UUID, period: str
) -> tuple[list[LineRow], list[LineRow], dict[str, Any]]:
    """The form's rows, the rows sent to the service (blank and removed ones left out), the body."""
    removed = set(form.getall("remove", []))
    rows = [
        LineRow(
            str(key)[:40],
            str(form.get(f"partner_id_{key}") or "").strip(),
            str(form.get(f"kind_{key}") or "").strip(),
            str(form.get(f"amount_{key}") or "").strip(),
        )
        for key in form.getall("row", [])[:2000]
    ]
    sent = [r for r in rows if r.key not in removed and (r.partner_id or r.amount)]
    body = {
        "entity_id": str(entity_id),
        "period": period,
        "lines": [
            # Staff type thousands separators; the amount is read as text, never as a float.
            {"partner_id": r.partner_id, "kind": r.kind, "amount": r.amount.replace(",", "")}
            for r in sent
        ],
    }
    kept = [r for r in rows if r.key not in removed]
    return kept, sent, body


def _decode(body: dict[str, Any]) -> IntercompanySubmit:
    """The body as the API's schema reads it; a bad field is the API's 400 problem for it."""
    try:
        return msgspec.convert(body, IntercompanySubmit, strict=False)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `")
        path = where.rstrip("`").removeprefix("$")
        field_name = f"body{path}" if path else "body"
        raise Invalid(
            f"{field_name}: {message}", errors=[FieldProblem(field=field_name, reason=message)]
        ) from None


def _place(problems: list[FieldProblem], sent: list[LineRow]) -> list[FieldProblem]:
    """Put each `body.lines[i].<field>` problem beside its row; return the others."""
    unplaced = []
    for problem in problems:
        head, _, rest = problem.field.removeprefix("body.lines[").partition("]")
        if problem.field.startswith("body.lines[") and head.isdigit() and int(head) < len(sent):
            sent[int(head)].problems[rest.strip(".") or "row"] = problem.reason
        else:
            unplaced.append(problem)
    return unplaced


class IntercompanyPages(PageController):
    """内部往来: the mismatch report for a period and an entity's lines, with their edit form."""

    path = "/ledger/intercompany"

    @get("/", guards=[requires(Permission.ledger_statements)])
    async def index(
        self,
        request: Reader,
        period: FromQuery[str | None] = None,
        entity: FromQuery[str | None] = None,
    ) -> Redirect:
        """To the chosen period (the quarter being closed by default) and entity.

        `entity` is an id, or a name, short name or credit code naming one entity in scope.
        """
        _, latest = await _periods(request.user)
        try:
            code = parse_period(period).code if period else latest
        except ValueError:
            code = latest
        target = f"/ledger/intercompany/{code}"
        if entity := (entity or "").strip()[:200]:
            try:
                target += f"/{UUID(entity)}"
            except ValueError:
                found = await service.list_entities(actor=request.user, search=entity, limit=2)
                if len(found.items) == 1:
                    target += f"/{found.items[0].id}"
        return Redirect(target, status_code=303)

    @get("/{period:str}", guards=[requires(Permission.ledger_statements)])
    async def report(self, request: Reader, period: FromPath[str]) -> Template:
        """The period's mismatch report."""
        return await self._page(request, period, None)

    @get("/{period:str}/{entity_id:uuid}", guards=[requires(Permission.ledger_statements)])
    async def entity_lines(
        self, request: Reader, period: FromPath[str], entity_id: FromPath[UUID]
    ) -> Template:
        """The report, and one entity's lines on both sides with the form for its own."""
        return await self._page(request, period, entity_id)

    @get("/{period:str}/export/{table_id:str}", guards=[requires(Permission.ledger_statements)])
    async def export(
        self,
        request: Reader,
        period: FromPath[str],
        table_id: FromPath[str],
        entity: FromQuery[UUID | None] = None,
    ) -> Response[bytes]:
        """A table of the page as XLSX: pairs, missing investment lines, or an entity's lines."""
        period = _period(period)
        names = await service.entity_names()
        pairs, missing = await _mismatch_frames(request.user, period, names)
        frames = {
            PAIRS.id: (PAIRS, pairs, "内部往来差异"),
            MISSING.id: (MISSING, missing, "缺少投资"),
        }
        if entity is not None:
            lines = await _entity_lines(request.user, period, entity)
            frames[LINES.id] = (LINES, _lines_frame(entity, lines, names), "往来明细")
        if table_id not in frames:
            raise NotFound(f"no table {table_id} on this page")
        table, frame, title = frames[table_id]
        content = table.xlsx(frame, request.query_params, title)
        return xlsx_download(content, f"intercompany-{period}-{table_id}.xlsx")

    @get("/{period:str}/{entity_id:uuid}/blank-line", guards=[requires(Permission.ledger_write)])
    async def blank_line(
        self, request: Reader, period: FromPath[str], entity_id: FromPath[UUID]
    ) -> Template:
        """One empty row for the edit form (its 添加一行 button asks for it)."""
        return page(
            "ledger/_intercompany_row.html",
            request,
            row=LineRow(f"n{secrets.token_hex(4)}"),
            partners=await _partners(entity_id),
            kinds=KIND_LABELS,
        )

    @post(
        "/{period:str}/{entity_id:uuid}",
        guards=[requires(Permission.ledger_write)],
        status_code=303,
    )
    async def save(
        self, request: Reader, period: FromPath[str], entity_id: FromPath[UUID]
    ) -> Response[Any]:
        """Replace the entity's lines through the API's service; problems shown beside the rows."""
        period = _period(period)
        form = await request.form()
        rows, sent, body = _submitted(form, entity_id, period)
        try:
            data = _decode(body)
            stored = await intercompany.put_intercompany(actor=request.user, data=data)
        except NotFound as exc:
            raise _scoped(request.user, exc) from exc
        except DomainError as exc:
            unplaced = _place(exc.errors, sent)
            return await self._page(
                request,
                period,
                entity_id,
                rows=[*rows, LineRow(f"n{secrets.token_hex(4)}")],
                problem=exc,
                unplaced=unplaced,
                status_code=exc.status,
            )
        return Redirect(
            f"/ledger/intercompany/{period}/{entity_id}?saved={len(stored)}", status_code=303
        )

    async def _page(
        self,
        request: Reader,
        period: str,
        entity_id: UUID | None,
        *,
        rows: list[LineRow] | None = None,
        problem: DomainError | None = None,
        unplaced: list[FieldProblem] | None = None,
        status_code: int = 200,
    ) -> Template:
        period = _period(period)
        actor = request.user
        names = await service.entity_names()
        pairs, missing = await _mismatch_frames(actor, period, names)
        tables = [(PAIRS, pairs), (MISSING, missing)]
        context: dict[str, Any] = {}
        if entity_id is not None:
            lines = await _entity_lines(actor, period, entity_id)
            tables.append((LINES, _lines_frame(entity_id, lines, names)))
            context.update(
                entity_id=entity_id,
                entity_name=names[entity_id],
                can_edit=allowed(actor, Permission.ledger_write),
                rows=rows if rows is not None else _form_rows(entity_id, lines),
                partners=await _partners(entity_id),
            )
        base = f"/ledger/intercompany/{period}/export"
        views = {}
        for table, frame in tables:
            view = table.view(frame, request.query_params)
            query = view.url(page=None)
            if entity_id is not None:
                query += ("&" if len(query) > 1 else "") + f"entity={entity_id}"
            export = f"{base}/{table.id}{query}".rstrip("?")
            if _htmx_table(request) == table.id:
                return page("_table.html", request, table=view, export_url=export)
            views[table.id] = (view, export)
        entities = await service.list_entities(actor=actor, limit=1_000_000)
        choices, _ = await _periods(actor)
        return page(
            "ledger/intercompany.html",
            request,
            status_code=status_code,
            period=period,
            periods=choices if period in choices else [period, *choices],
            views=views,
            entities=[(e.id, e.name) for e in entities.items],
            kinds=KIND_LABELS,
            saved=request.query_params.get("saved"),
            problem=problem,
            unplaced=unplaced or [],
            **context,
        )


def _period(code: str) -> str:
    """The period in the path, checked as the API checks its query (422 naming the field)."""
    try:
        return parse_period(code).code
    except ValueError as exc:
        raise Invalid(
            f"period: {exc}", errors=[FieldProblem(field="path.period", reason=str(exc))]
        ) from None


def _scoped(actor: Actor, exc: NotFound) -> Exception:
    """Outside a scoped user's scope is 403 on a page, as on the entity page."""
    if allowed(actor, Permission.ledger_all):
        return exc
    return PermissionDeniedException("outside the user's scope")


async def _entity_lines(actor: Actor, period: str, entity_id: UUID) -> list[IntercompanyLineRead]:
    """The entity's lines on both sides; 404 for no such entity, 403 outside a scoped user's."""
    try:
        await service.get_entity(actor=actor, entity_id=entity_id)
        return await intercompany.list_intercompany(actor=actor, period=period, entity_id=entity_id)
    except NotFound as exc:
        raise _scoped(actor, exc) from exc


async def _partners(entity_id: UUID) -> list[tuple[str, str]]:
    """Every other entity, by name: a partner may be outside the user's scope (交通投 for 城建投)."""
    names = await service.entity_names()
    return sorted(((str(k), v) for k, v in names.items() if k != entity_id), key=lambda p: p[1])


UPLOAD_PAGES = [ImportPages, IntercompanyPages]
