"""The quarter close's pages: 快报 (a statement's entry form and versions) and 期间看板 (period board).

Both read and write only through the services the API's `StatementController` and
`PeriodController` call (`closing.statements`, `closing.periods`), under the same permissions:
reading needs `ledger:statements`, posting `ledger:write`, and each period action then the
permission the service asks for (validate and lock: `ledger:approve`; reopen: `ledger:reopen`).
The period and the entity sit in the path, so the table component's own links (`?sort=…`) keep
them. A form's bad input comes back as the API's problem details (field, reason) beside the field;
the services write all or nothing, so a refused form leaves nothing stored.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal, TypeVar
from uuid import UUID

import polars as pl
from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from stateasset.auth.guards import allowed, requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.errors import DomainError, FieldProblem, Invalid, NotFound, invalid
from stateasset.core.http import xlsx_download
from stateasset.core.periods import parse_period, period_of, quarter_period
from stateasset.ledger import service
from stateasset.ledger.catalogue import ITEMS, Item
from stateasset.ledger.closing import periods, statements
from stateasset.ledger.controllers import PeriodTransitionRequest
from stateasset.ledger.importer import parse_amount
from stateasset.ledger.schemas import (
    EntityKind,
    Finding,
    PeriodAction,
    StatementRead,
    StatementSubmit,
)
from stateasset.web import format as fmt
from stateasset.web.forms import decode, problems_by_field
from stateasset.web.shell import PageController, is_htmx, page
from stateasset.web.table import Column, Table

Reader = Request[Actor, Any, Any]

STATE_LABELS = {"open": "编制中", "submitted": "已提交", "validated": "已审核", "locked": "已锁定"}
ACTION_LABELS = {
    PeriodAction.submit: "提交",
    PeriodAction.validate: "审核",
    PeriodAction.lock: "锁定",
    PeriodAction.reopen: "重开",
}
ACTION_DONE = {
    PeriodAction.submit: "已提交",
    PeriodAction.validate: "已审核",
    PeriodAction.lock: "已锁定",
    PeriodAction.reopen: "已重开",
}
SECTION_LABELS = {
    "balance_sheet": "资产负债表",
    "income": "利润表",
    "cash_flow": "现金流量表",
    "other": "其他指标",
}
SOURCE_LABELS = {"api": "接口", "web": "页面录入", "import": "导入"}
SEVERITY_LABELS = {"error": "错误", "warning": "提示"}
# Kinds that never file a 快报: outside holders, agencies (机关) and public institutions.
NON_REPORTING = {EntityKind.outside, EntityKind.agency, EntityKind.institution}
# Staff read times in Beijing time (China keeps no daylight saving).
BEIJING = timezone(timedelta(hours=8))
T = TypeVar("T")


def beijing_time(value: datetime | None) -> str:
    """A stored (UTC) instant as staff read it: `2026-11-27 23:20` in Beijing time."""
    return "" if value is None else value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


async def _in_scope(actor: Actor, call: Awaitable[T]) -> T:
    """`await call`, with a scoped user's "not found" (outside their scope) shown as 403."""
    try:
        return await call
    except NotFound as exc:
        if allowed(actor, Permission.ledger_all):
            raise
        raise PermissionDeniedException("outside the user's scope") from exc


def _next_quarter(code: str) -> str:
    period = parse_period(code)
    quarter = (period.end.month - 1) // 3 + 1
    year, quarter = (period.year + 1, 1) if quarter == 4 else (period.year, quarter + 1)
    return quarter_period(year, quarter).code


async def period_choices(actor: Actor, *, writing: bool = False) -> list[str]:
    """The periods to pick from, newest first: those filed in scope, and the next quarter to
    start when the actor may write."""
    filed = await statements.filed_periods(actor=actor)
    if writing and filed:
        filed.append(_next_quarter(filed[-1]))
    return list(reversed(filed))


async def _reporting_entities(actor: Actor) -> list[tuple[UUID, str]]:
    """(id, name) of every entity in scope that may file a 快报, by name."""
    listed = await service.list_entities(actor=actor, limit=1_000_000)
    return [(e.id, e.name) for e in listed.items if e.kind not in NON_REPORTING]


# ------------------------------------------------------------------------------------------
# 快报: a statement's entry form, its 审核公式 findings and its versions


@dataclass
class ItemRow:
    """One line of the entry form: the item, what the box shows, its findings and problem."""

    item: Item
    value: str
    amount: Decimal | None
    findings: list[Finding]
    problem: str | None


VERSIONS = Table(
    "versions",
    [
        Column("version_label", "版本", "link", link="{href}"),
        Column("source_label", "来源", choices=True),
        Column("created_by", "录入人", choices=True),
        Column("created_at", "录入时间（北京时间）"),
    ],
    page_size=20,
)
_VERSIONS_SCHEMA = {
    "version": pl.Int64,
    "version_label": pl.String,
    "href": pl.String,
    "source_label": pl.String,
    "created_by": pl.String,
    "created_at": pl.String,
}


def _plain(amount: Decimal | None) -> str:
    """An amount as the form's box holds it: in 元 with separators, as it reads back on posting."""
    return "" if amount is None else fmt.yuan(amount)


def _sections(
    amounts: dict[str, Decimal],
    findings: list[Finding],
    problems: dict[str, str],
    typed: dict[str, str] | None,
) -> list[tuple[str, list[ItemRow]]]:
    """The catalogue's items grouped by statement section, each with its value and findings."""
    by_item: dict[str, list[Finding]] = {}
    for finding in findings:
        by_item.setdefault(finding.item, []).append(finding)
    sections: dict[str, list[ItemRow]] = {key: [] for key in SECTION_LABELS}
    for item in ITEMS:
        amount = amounts.get(item.code)
        value = typed.get(item.code, "") if typed is not None else _plain(amount)
        sections[item.section].append(
            ItemRow(
                item=item,
                value=value,
                amount=amount,
                findings=by_item.get(item.code, []),
                problem=problems.get(f"body.items.{item.code}"),
            )
        )
    return [(SECTION_LABELS[key], rows) for key, rows in sections.items()]


async def _versions_frame(actor: Actor, entity_id: UUID, period: str) -> pl.DataFrame:
    versions = await statements.list_versions(actor=actor, entity_id=entity_id, period=period)
    return pl.DataFrame(
        [
            {
                "version": v.version,
                "version_label": f"第 {v.version} 版",
                "href": f"/ledger/reports/{entity_id}/{period}/{v.version}",
                "source_label": SOURCE_LABELS.get(v.source, v.source),
                "created_by": v.created_by,
                "created_at": beijing_time(v.created_at),
            }
            for v in versions
        ],
        schema=_VERSIONS_SCHEMA,
    )


class StatementPages(PageController):
    """快报: pick an entity and period, enter or correct its statement, read its versions."""

    path = "/ledger/reports"
    guards = [requires(Permission.ledger_statements)]

    @get("/")
    async def pick(
        self,
        request: Reader,
        entity: FromQuery[UUID | None] = None,
        period: FromQuery[str | None] = None,
    ) -> Response[Any] | Template:
        """The picker: on to the chosen (or the first) entity and the latest period."""
        actor = request.user
        choices = await period_choices(actor)
        entities = await _reporting_entities(actor)
        if entity is None and entities:
            # one's own entity, else the group, else the first by name
            ids = [e for e, _ in entities]
            group = await service.group_id()
            entity = next((e for e in (actor.entity_id, group) if e in ids), ids[0])
        period = period or (choices[0] if choices else None)
        if entity is None or period is None:
            return page(
                "ledger/reports.html",
                request,
                entity_id=None,
                entities=entities,
                periods=choices,
                period=None,
                versions=None,
                sections=[],
                read=None,
            )
        period_of(period, "query.period")
        return Redirect(f"/ledger/reports/{entity}/{period}", status_code=303)

    @get("/{entity_id:uuid}/{period:str}")
    async def statement(
        self,
        request: Reader,
        entity_id: FromPath[UUID],
        period: FromPath[str],
        saved: FromQuery[int | None] = None,
        added: FromQuery[int] = 1,
    ) -> Template:
        """One entity's statement for a period: the entry form over the latest version."""
        return await self._render(request, entity_id, period, saved=saved, added=bool(added))

    @get("/{entity_id:uuid}/{period:str}/{version:int}")
    async def statement_version(
        self,
        request: Reader,
        entity_id: FromPath[UUID],
        period: FromPath[str],
        version: FromPath[int],
    ) -> Template:
        """A stored version of the statement, read only, with its findings."""
        return await self._render(request, entity_id, period, version=version)

    @get("/{entity_id:uuid}/{period:str}/versions.xlsx")
    async def versions_export(
        self, request: Reader, entity_id: FromPath[UUID], period: FromPath[str]
    ) -> Response[bytes]:
        """The version history as filtered and sorted, as XLSX."""
        frame = await _in_scope(request.user, _versions_frame(request.user, entity_id, period))
        content = VERSIONS.xlsx(frame, request.query_params, "快报版本")
        return xlsx_download(content, f"versions-{period}.xlsx")

    @post("/{entity_id:uuid}/{period:str}", guards=[requires(Permission.ledger_write)])
    async def file(
        self, request: Reader, entity_id: FromPath[UUID], period: FromPath[str]
    ) -> Response[Any] | Template:
        """File the form as the statement's next version, through the API's own service.

        Amounts are read as the import reads a cell (`parse_amount`: separators allowed, at most
        two places); a blank box is an item not reported. Any bad box, or a 审核公式 error,
        refuses the whole statement: the form comes back as typed, each reason beside its item.
        """
        actor = request.user
        form: FormMultiDict = await request.form()
        typed = {item.code: (form.get(f"items.{item.code}") or "").strip() for item in ITEMS}
        try:
            parsed = period_of(period, "path.period")
            problems, items = [], {}
            for code, text in typed.items():
                amount, reason = parse_amount(text or None)
                if reason:
                    problems.append(FieldProblem(field=f"body.items.{code}", reason=reason))
                elif amount is not None:
                    items[code] = amount
            if problems:
                raise Invalid(f"{len(problems)} item(s) are invalid", errors=problems)
            read, was_added = await _in_scope(
                actor,
                statements.file_statement(
                    actor=actor,
                    data=StatementSubmit(entity_id=entity_id, period=parsed.code, items=items),
                    source="web",
                ),
            )
        except DomainError as exc:
            if exc.status == 404:
                raise
            return await self._render(
                request, entity_id, period, refused=exc, typed=typed, status_code=exc.status
            )
        return Redirect(
            f"/ledger/reports/{entity_id}/{period}?saved={read.version}&added={int(was_added)}",
            status_code=303,
        )

    async def _render(
        self,
        request: Reader,
        entity_id: UUID,
        period: str,
        *,
        version: int | None = None,
        saved: int | None = None,
        added: bool = True,
        refused: DomainError | None = None,
        typed: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        actor = request.user
        period_of(period, "path.period")
        entity = await _in_scope(actor, service.get_entity(actor=actor, entity_id=entity_id))
        frame = await _versions_frame(actor, entity_id, period)
        table = VERSIONS.view(frame, request.query_params)
        export_url = f"/ledger/reports/{entity_id}/{period}/versions.xlsx" + table.url(
            page=None
        ).rstrip("?")
        if is_htmx(request) and refused is None:
            return page("_table.html", request, table=table, export_url=export_url)
        read: StatementRead | None = None
        if frame.height:
            read = await statements.get_statement(
                actor=actor, entity_id=entity_id, period=period, version=version
            )
        elif version is not None:
            raise NotFound(f"no statement for entity {entity_id} and period {period}")
        state = read.state if read else await periods.state_of(entity_id, period)
        amounts = {line.item: line.amount for line in read.lines} if read else {}
        findings = read.findings if read and refused is None else []
        can_edit = (
            allowed(actor, Permission.ledger_write)
            and version is None
            and state in periods.WRITABLE_STATES
        )
        writing = allowed(actor, Permission.ledger_write)
        choices = await period_choices(actor, writing=writing)
        if period not in choices:
            choices.insert(0, period)
        return page(
            "ledger/reports.html",
            request,
            status_code=status_code,
            entity=entity,
            entity_id=entity_id,
            entities=await _reporting_entities(actor),
            periods=choices,
            period=period,
            read=read,
            version=version,
            state=state,
            state_label=STATE_LABELS.get(state, state),
            sections=_sections(
                amounts, findings, problems_by_field(refused) if refused else {}, typed
            ),
            can_edit=can_edit,
            writer=writing,
            refused=refused,
            # problems not beside an item (the period, the entity) show above the form
            loose=[e for e in refused.errors if not e.field.startswith("body.items.")]
            if refused
            else [],
            saved=saved,
            added=added,
            severity_labels=SEVERITY_LABELS,
            source_labels=SOURCE_LABELS,
            table=table,
            export_url=export_url,
            beijing_time=beijing_time,
        )


# ------------------------------------------------------------------------------------------
# 期间看板: each entity's state for a period, and the actions on the selected rows


_BOARD_COLUMNS = [
    Column("entity_name", "主体", "link", link="/ledger/reports/{entity_ids}/{period}"),
    Column("platform", "平台", choices=True),
    Column("state_label", "状态", choices=True),
    Column("updated_by", "最后操作人"),
    Column("updated_at", "最后操作时间（北京时间）"),
]
# Those who may act on periods get a checkbox per row; readers (the board) get none.
BOARD = Table(
    "periods",
    [Column("entity_ids", "选择", "check"), *_BOARD_COLUMNS],
    search=("entity_name",),
    page_size=100,
)
BOARD_READ = Table("periods", _BOARD_COLUMNS, search=("entity_name",), page_size=100)


def _board_table(actor: Actor) -> Table:
    return BOARD if allowed(actor, Permission.ledger_write) else BOARD_READ


_BOARD_SCHEMA = {
    "entity_ids": pl.String,
    "entity_name": pl.String,
    "period": pl.String,
    "platform": pl.String,
    "state": pl.String,
    "state_label": pl.String,
    "updated_by": pl.String,
    "updated_at": pl.String,
}


async def platforms_of(actor: Actor) -> dict[UUID, str]:
    """Each visible entity's platform (五大投) as staff call it (城建投); the group's own is 集团本部."""
    listed = (await service.list_entities(actor=actor, limit=1_000_000)).items
    short = {e.id: e.short_name or e.name for e in listed if e.kind == EntityKind.platform}
    names = await service.entity_names()
    out = {}
    for e in listed:
        if e.kind == EntityKind.platform:
            out[e.id] = short[e.id]
        elif e.kind == EntityKind.group:
            out[e.id] = "集团本部"
        elif e.platform_id is not None:
            out[e.id] = short.get(e.platform_id) or names.get(e.platform_id, "")
    return out


async def board_frame(actor: Actor, period: str) -> pl.DataFrame:
    """The period board (`periods.period_board`, as the API gives it) with platforms and labels."""
    rows = await periods.period_board(actor=actor, period=period)
    platforms = await platforms_of(actor)
    return pl.DataFrame(
        [
            {
                "entity_ids": str(r.entity_id),
                "entity_name": r.entity_name,
                "period": period,
                "platform": platforms.get(r.entity_id),
                "state": r.state,
                "state_label": STATE_LABELS.get(r.state, r.state),
                "updated_by": r.updated_by,
                "updated_at": beijing_time(r.updated_at),
            }
            for r in rows
        ],
        schema=_BOARD_SCHEMA,
    )


@dataclass
class RowResult:
    """One selected entity's outcome of a period action."""

    name: str
    outcome: Literal["moved", "refused", "held"]  # held: could move, but the batch did not
    note: str
    detail: str = ""  # the service's own reason, as the API gives it


# The period service's refusals (English, for the API) as staff read them.
_REFUSALS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (
        re.compile(r".* is (\w+), not (\w+)"),
        lambda m: f"当前{STATE_LABELS.get(m[1], m[1])}，须先{STATE_LABELS.get(m[2], m[2])}",
    ),
    (
        re.compile(r".* has intercompany pairs that do not match.*"),
        lambda m: "内部往来对账不符，见内部往来页",
    ),
    (re.compile(r".* has no statement for .*"), lambda m: "尚未填报快报"),
    (re.compile(r".* statement has (\d+) error\(s\).*"), lambda m: f"快报有 {m[1]} 条审核错误"),
)


def _in_chinese(reason: str) -> str:
    """A refusal of the period service in staff's words; the reason itself when not known."""
    for pattern, say in _REFUSALS:
        if found := pattern.fullmatch(reason):
            return say(found)
    return reason


def _results(
    action: PeriodAction,
    selected: list[UUID],
    names: dict[UUID, str],
    changed: list[UUID] | None,
    refused: DomainError | None,
) -> tuple[list[RowResult], list[UUID]]:
    """Per selected row: moved, or refused and why; and the rows that could move on their own.

    The service moves all or nothing: when some rows are refused, the others did not move either,
    and the page offers to act on just those.
    """

    def named(text: str) -> str:
        for entity_id, name in names.items():
            text = text.replace(str(entity_id), name)
        return text

    if refused is None:
        moved = set(changed or [])
        rows = [
            RowResult(names.get(e, str(e)), "moved", ACTION_DONE[action])
            for e in selected
            if e in moved
        ]
        rows += [
            RowResult(names.get(e, str(e)), "moved", f"{ACTION_DONE[action]}（随下级级联重开）")
            for e in sorted(moved - set(selected), key=lambda e: names.get(e, str(e)))
        ]
        return rows, []
    reasons: dict[int, str] = {}
    for problem in refused.errors:
        found = re.fullmatch(r"body\.entity_ids\[(\d+)\]", problem.field)
        if found:
            reasons[int(found.group(1))] = named(problem.reason)
    rows, held, movable = [], [], []
    for index, entity_id in enumerate(selected):
        name = names.get(entity_id, str(entity_id))
        if index in reasons:
            rows.append(RowResult(name, "refused", _in_chinese(reasons[index]), reasons[index]))
        else:
            movable.append(entity_id)
            held.append(RowResult(name, "held", "可执行，但整批未执行"))
    return rows + held, movable  # the refusals first: they are what needs attention


class PeriodPages(PageController):
    """期间看板: the states of a period, bulk submit / validate / lock, reopen with a reason."""

    path = "/ledger/periods"
    guards = [requires(Permission.ledger_statements)]

    @get("/")
    async def latest(
        self, request: Reader, period: FromQuery[str | None] = None
    ) -> Response[Any] | Template:
        """On to the chosen period's board, or the latest period with statements."""
        choices = await period_choices(request.user)
        period = period or (choices[0] if choices else None)
        if period is None:
            return page("ledger/periods.html", request, period=None, periods=[], table=None)
        period_of(period, "query.period")
        return Redirect(f"/ledger/periods/{period}", status_code=303)

    @get("/{period:str}")
    async def board(self, request: Reader, period: FromPath[str]) -> Template:
        """The board of one period: each entity's state, filterable, with the actions."""
        return await self._render(request, period)

    @get("/{period:str}/export.xlsx")
    async def export(self, request: Reader, period: FromPath[str]) -> Response[bytes]:
        """The board as filtered and sorted, every row, as XLSX."""
        period_of(period, "path.period")
        frame = await board_frame(request.user, period)
        content = _board_table(request.user).xlsx(frame, request.query_params, "期间看板")
        return xlsx_download(content, f"periods-{period}.xlsx")

    @post("/{period:str}", guards=[requires(Permission.ledger_write)])
    async def act(self, request: Reader, period: FromPath[str]) -> Template:
        """Submit, validate, lock or reopen the selected entities, through the API's service."""
        actor = request.user
        form: FormMultiDict = await request.form()
        selected_text = form.getall("entity_ids", [])
        reason = (form.get("reason") or "").strip()
        try:
            transition = decode(
                {
                    "action": form.get("action") or "",
                    "entity_ids": selected_text,
                    "reason": reason or None,
                },
                PeriodTransitionRequest,
            )
        except Invalid as exc:
            return await self._render(
                request, period, refused=exc, reason=reason or None, status_code=400
            )
        selected = transition.entity_ids or []
        action = transition.action
        names = {
            UUID(r["entity_ids"]): r["entity_name"]
            for r in (await board_frame(actor, period)).iter_rows(named=True)
        }
        changed, refused = None, None
        try:
            if not selected:
                raise invalid("body.entity_ids", "请先勾选要操作的主体 select at least one entity")
            moved = await _in_scope(
                actor,
                periods.transition_periods(
                    actor=actor,
                    period=period,
                    action=action,
                    entity_ids=selected,
                    reason=transition.reason,
                ),
            )
            changed = [row.entity_id for row in moved]
            names.update({row.entity_id: row.entity_name for row in moved})
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            refused = exc
        results, movable = _results(action, selected, names, changed, refused)
        return await self._render(
            request,
            period,
            action=action,
            results=results,
            movable=movable,
            refused=refused,
            reason=transition.reason,
            status_code=refused.status if refused else 200,
        )

    async def _render(
        self,
        request: Reader,
        period: str,
        *,
        action: PeriodAction | None = None,
        results: list[RowResult] | None = None,
        movable: list[UUID] | None = None,
        refused: DomainError | None = None,
        reason: str | None = None,
        status_code: int = 200,
    ) -> Template:
        actor = request.user
        period_of(period, "path.period")
        frame = await board_frame(actor, period)
        table = _board_table(actor).view(frame, request.query_params)
        export_url = f"/ledger/periods/{period}/export.xlsx" + table.url(page=None).rstrip("?")
        if is_htmx(request) and results is None and refused is None:
            return page("_table.html", request, table=table, export_url=export_url)
        counts = {
            label: frame.filter(pl.col("state") == state).height
            for state, label in STATE_LABELS.items()
        }
        actions = [
            (a, ACTION_LABELS[a])
            for a in (PeriodAction.submit, PeriodAction.validate, PeriodAction.lock)
            if allowed(actor, periods.NEEDS[a])
        ]
        choices = await period_choices(actor)
        if period not in choices:
            choices.insert(0, period)
        return page(
            "ledger/periods.html",
            request,
            status_code=status_code,
            period=period,
            periods=choices,
            table=table,
            export_url=export_url,
            counts=counts,
            actions=actions,
            can_reopen=allowed(actor, Permission.ledger_reopen),
            action=action,
            action_label=ACTION_LABELS.get(action) if action else None,
            results=results,
            movable=movable or [],
            refused=refused,
            problems=problems_by_field(refused) if refused else {},
            reason=reason,
        )


CLOSE_PAGES = [StatementPages, PeriodPages]
