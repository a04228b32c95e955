"""The asset register's pages: 资产台账 (cards and their lineage), 划拨, 资产盘点 and 有效资产.

Each page reads and writes only through the services the asset API calls (`assets.service`,
`transfers`, `inventory`, `uploads`, `effective`), under the same permissions as the API's routes
(reading `ledger:read`, writing `ledger:write`, approving a transfer and closing a campaign
`ledger:approve`) and the same scope: a scoped user (城建投's finance staff) lists only their
subtree's cards, and a card, transfer or campaign outside it is 403 on a page. Writes that move
value (a transfer request, its approval, closing a campaign) go through `run_once` with a key
made for each rendering of the form, as the API's Idempotency-Key: a double click or a resent
form acts once. Bad input comes back as the API's problem details beside the field; the services
write all or nothing, so a refused form leaves nothing behind.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from uuid import UUID

import msgspec
import polars as pl
from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from stateasset.auth.guards import allowed, requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today
from stateasset.core.errors import DomainError, FieldProblem, Forbidden, Invalid, NotFound
from stateasset.core.http import xlsx_download
from stateasset.core.idempotency import run_once
from stateasset.core.money import MONEY
from stateasset.core.periods import quarter_period
from stateasset.ledger import service as ledger_service
from stateasset.ledger.assets import effective, inventory, service, transfers, uploads
from stateasset.ledger.assets.schemas import (
    CATEGORY_LABELS,
    STATUS_LABELS,
    TRANSFER_STATUS_LABELS,
    CampaignCreate,
    CampaignReport,
    CardRead,
    Category,
    CountCreate,
    EventKind,
    Status,
    TransferCreate,
    TransferRead,
    TransferReject,
)
from stateasset.ledger.close_pages import _in_scope as in_scope
from stateasset.ledger.close_pages import beijing_time
from stateasset.ledger.schemas import EntityKind
from stateasset.web.forms import decode, problems_by_field
from stateasset.web.shell import PageController, is_htmx, page
from stateasset.web.table import Column, Field, Table

Reader = Request[Actor, Any, Any]
CAMPAIGN_STATUS_LABELS = {"open": "进行中", "closed": "已结束"}
LEVEL_LABELS = {"group": "集团", "platform": "平台", "segment": "板块", "entity": "主体"}


def _key() -> str:
    """A fresh idempotency key for one rendering of a form that moves value."""
    return secrets.token_urlsafe(16)


def _uuid(text: Any) -> UUID | None:
    try:
        return UUID(str(text).strip())
    except ValueError:
        return None


def _answer(response: Response[Any], schema: type[Any]) -> Any:
    """`run_once`'s answer as `schema`: the work's own result, or the replayed stored JSON."""
    content = response.content
    return content if isinstance(content, schema) else msgspec.json.decode(content, type=schema)


async def _names() -> dict[UUID, str]:
    return await ledger_service.entity_names()


async def _visible_entities(actor: Actor) -> list[tuple[str, str]]:
    """(id, name) of every entity the actor sees that may hold assets, by name: the holder
    choices. Outside shareholders (中建海峡 …) hold stakes in the group, not its assets."""
    listed = await ledger_service.list_entities(actor=actor, limit=1_000_000)
    return [(str(e.id), e.name) for e in listed.items if e.kind != EntityKind.outside]


# ------------------------------------------------------------------------------------------
# 资产台账: the card list and a card's page

# 存放地点 is searched and exported, not shown: the balances fit 1366 pixels.
_CARD_COLUMNS = [
    Column("code", "资产编码", "link", link="/ledger/assets/cards/{id}"),
    Column("name", "资产名称"),
    Column("category_label", "类别"),
    Column("holder_name", "持有单位"),
    Column("source_label", "来源", choices=True),
    Column("operating_label", "性质"),
    Column("status_label", "状态"),
    Column("original_value", "原值", "money"),
    Column("accumulated_depreciation", "累计折旧", "money"),
    Column("book_value", "账面价值", "money"),
]
CARDS = Table("asset-cards", _CARD_COLUMNS, search=("code", "name", "location"), default_sort=None)
OPERATING_OPTIONS = (("1", "经营性"), ("0", "非经营性"))
IDLE_OPTIONS = (("1", "仅闲置"), ("0", "非闲置"))


async def _cards_table(actor: Actor) -> Table:
    """The list's table with the service's filters as selects: holder (its subtree), platform,
    category, operating, status, idle."""
    holders = await _visible_entities(actor)
    platforms = await ledger_service.list_entities(
        actor=actor, kind=EntityKind.platform, limit=1_000_000
    )
    fields = [
        Field("holder", "持有单位（含下属）", "select", tuple(holders)),
        Field(
            "platform",
            "平台",
            "select",
            tuple((str(p.id), p.short_name or p.name) for p in platforms.items),
        ),
        Field("category", "类别", "select", tuple((c.value, CATEGORY_LABELS[c]) for c in Category)),
        Field("operating", "性质", "select", OPERATING_OPTIONS),
        Field("status", "状态", "select", tuple((s.value, STATUS_LABELS[s]) for s in Status)),
        Field("idle", "闲置", "select", IDLE_OPTIONS),
    ]
    return replace(CARDS, fields=tuple(fields))


def _card_filter(values: dict[str, str]) -> service.CardFilter:
    """The list's select values as the API's query parameters would give them."""

    def member(enum: type[Any], text: str | None) -> Any:
        try:
            return enum(text) if text else None
        except ValueError:
            return None

    flag = {"1": True, "0": False}
    return service.CardFilter(
        holder_id=_uuid(values["holder"]) if values.get("holder") else None,
        platform_id=_uuid(values["platform"]) if values.get("platform") else None,
        category=member(Category, values.get("category")),
        operating=flag.get(values.get("operating", "")),
        status=member(Status, values.get("status")),
        idle=flag.get(values.get("idle", "")),
    )


async def cards_frame(actor: Actor, values: dict[str, str]) -> pl.DataFrame:
    """The service's card table (its export's columns) with the operating flag as a label."""
    frame = await service.cards_table(actor=actor, filters=_card_filter(values))
    return frame.with_columns(
        pl.when(pl.col("operating"))
        .then(pl.lit("经营性"))
        .otherwise(pl.lit("非经营性"))
        .alias("operating_label")
    )


def _totals(frame: pl.DataFrame) -> dict[str, Decimal]:
    """原值, 累计折旧 and 账面价值 summed over the matching rows (every page), exact."""
    keys = ("original_value", "accumulated_depreciation", "book_value")
    if frame.is_empty():
        return {k: Decimal("0.00") for k in keys}
    sums = frame.select(pl.col(k).sum() for k in keys).row(0, named=True)
    return {k: Decimal(sums[k] or 0) for k in keys}


def _timeline(lineage: Any, moves: dict[UUID, TransferRead]) -> list[dict[str, Any]]:
    """The card's events in order, each with who did it and, for a transfer, from where."""
    out = []
    for event in lineage.events:
        move = moves.get(event.transfer_id) if event.transfer_id else None
        out.append(
            {
                "event": event,
                "transfer": move,
                "into_group": bool(
                    move and move.into_group and event.kind == EventKind.transfer_in
                ),
                "posted_at": beijing_time(event.created_at),
            }
        )
    return out


class AssetPages(PageController):
    """资产台账: the card list with filters and export, and each card with its lineage."""

    path = "/ledger/assets"
    guards = [requires(Permission.ledger_read)]

    @get("/")
    async def cards(self, request: Reader) -> Template:
        """The cards in scope, filtered by holder subtree, platform, category, use and status."""
        actor = request.user
        table = await _cards_table(actor)
        frame = await cards_frame(actor, table.field_values(request.query_params))
        view = table.view(frame, request.query_params)
        export_url = "/ledger/assets/export.xlsx" + view.url(page=None).rstrip("?")
        totals = _totals(table.rows(frame, request.query_params))
        if is_htmx(request):  # the table, and the totals swapped out of band
            return page(
                "ledger/assets/_cards_table.html",
                request,
                table=view,
                export_url=export_url,
                totals=totals,
            )
        return page(
            "ledger/assets/cards.html", request, table=view, export_url=export_url, totals=totals
        )

    @get("/export.xlsx")
    async def export(self, request: Reader) -> Response[bytes]:
        """The matching cards, every page, as the API's export writes them (资产台账)."""
        actor = request.user
        table = await _cards_table(actor)
        frame = await cards_frame(actor, table.field_values(request.query_params))
        content = service.export_xlsx(table.rows(frame, request.query_params))
        return xlsx_download(content, "资产台账.xlsx")

    @get("/cards/{card_id:uuid}")
    async def card(self, request: Reader, card_id: FromPath[UUID]) -> Template:
        """A card: its balances (derived from its events) and its lineage as a timeline."""
        actor = request.user
        lineage = await in_scope(actor, service.lineage(actor=actor, card_id=card_id))
        moves: dict[UUID, TransferRead] = {}
        for transfer_id in {e.transfer_id for e in lineage.events if e.transfer_id}:
            try:
                moves[transfer_id] = await transfers.get_transfer(
                    actor=actor, transfer_id=transfer_id
                )
            except NotFound:
                continue  # between two holders the user does not see: the event says enough
        return page(
            "ledger/assets/card.html",
            request,
            card=lineage.card,
            holders=lineage.holders,
            timeline=_timeline(lineage, moves),
        )


# ------------------------------------------------------------------------------------------
# 划拨: the list, the request form, a transfer with approve / reject

TRANSFERS = Table(
    "asset-transfers",
    [
        Column("label", "申请时间", "link", link="/ledger/assets/transfers/{id}"),
        Column("transfer_date", "划拨日期", "date"),
        Column("from_name", "划出单位"),
        Column("to_name", "划入单位"),
        Column("kind_label", "类型", choices=True),
        Column("cards", "卡片数"),
        Column("book_value", "账面价值", "money"),
        Column("status_label", "状态"),
        Column("requested_by", "申请人", choices=True),
        Column("decided_by", "审批人"),
    ],
    search=("from_name", "to_name", "label"),
    fields=(
        Field("status", "状态", "select", tuple((k, v) for k, v in TRANSFER_STATUS_LABELS.items())),
    ),
)
_TRANSFER_SCHEMA = {
    "id": pl.String,
    "label": pl.String,
    "transfer_date": pl.Date,
    "from_name": pl.String,
    "to_name": pl.String,
    "kind_label": pl.String,
    "cards": pl.Int64,
    "book_value": MONEY,
    "status_label": pl.String,
    "requested_by": pl.String,
    "decided_by": pl.String,
}


TRANSFER_CARDS = Table(
    "transfer-cards",
    [
        Column("code", "资产编码", "link", link="/ledger/assets/cards/{id}"),
        Column("name", "资产名称"),
        Column("category_label", "类别", choices=True),
        Column("holder_name", "当前持有单位"),
        Column("original_value", "原值", "money"),
        Column("accumulated_depreciation", "累计折旧", "money"),
        Column("book_value", "账面价值", "money"),
    ],
    search=("code", "name"),
)
_TRANSFER_CARD_SCHEMA = {
    "id": pl.String,
    "code": pl.String,
    "name": pl.String,
    "category_label": pl.String,
    "holder_name": pl.String,
    "original_value": MONEY,
    "accumulated_depreciation": MONEY,
    "book_value": MONEY,
}


async def transfer_cards(actor: Actor, transfer: TransferRead) -> tuple[pl.DataFrame, int]:
    """The transfer's cards the actor sees (with their balances now), and how many are hidden."""
    cards: list[CardRead] = []
    for card_id in transfer.card_ids:
        try:
            cards.append(await service.get_card(actor=actor, card_id=card_id))
        except NotFound:
            continue  # moved out of a scoped user's sight
    frame = pl.DataFrame(
        [
            {
                "id": str(c.id),
                "code": c.code,
                "name": c.name,
                "category_label": c.category_label,
                "holder_name": c.holder_name,
                "original_value": c.original_value,
                "accumulated_depreciation": c.accumulated_depreciation,
                "book_value": c.book_value,
            }
            for c in cards
        ],
        schema=_TRANSFER_CARD_SCHEMA,
    )
    return frame, len(transfer.card_ids) - len(cards)


def _kind_label(t: TransferRead) -> str:
    return "划入集团" if t.into_group else "集团内划拨"


def _transfer_label(t: TransferRead) -> str:
    """A transfer's link in the list: when it was requested (Beijing time); the holders have
    their own columns."""
    return beijing_time(t.requested_at)


async def transfers_frame(actor: Actor, status: str | None) -> pl.DataFrame:
    """Every transfer touching the actor's scope (the API's list), newest first."""
    status = status if status in TRANSFER_STATUS_LABELS else None
    listed = await transfers.list_transfers(actor=actor, status=status, limit=1_000_000)
    return pl.DataFrame(
        [
            {
                "id": str(t.id),
                "label": _transfer_label(t),
                "transfer_date": t.transfer_date,
                "from_name": t.from_holder_name,
                "to_name": t.to_holder_name,
                "kind_label": _kind_label(t),
                "cards": len(t.card_ids),
                "book_value": t.book_value,
                "status_label": t.status_label,
                "requested_by": t.requested_by,
                "decided_by": t.decided_by,
            }
            for t in listed.items
        ],
        schema=_TRANSFER_SCHEMA,
    )


def may_decide(actor: Actor, transfer: TransferRead, visible: set[UUID] | None) -> bool:
    """Whether to offer 批准 / 驳回: the service's own rule (not the requester, approval rights
    over both holders) on a transfer still awaiting approval."""
    return (
        transfer.status == "requested"
        and allowed(actor, Permission.ledger_approve)
        and transfer.requested_by != actor.username
        and (visible is None or {transfer.from_holder_id, transfer.to_holder_id} <= visible)
    )


_CODES = re.compile(r"[\s,，、;；]+")


def _codes(text: str) -> list[str]:
    """Card codes as staff paste them: one per line, or separated by commas; each once."""
    seen: dict[str, None] = {}
    for code in _CODES.split(text):
        if code:
            seen.setdefault(code[:60], None)
    return list(seen)


def _card_problems(exc: DomainError, codes: list[str]) -> DomainError:
    """The service's `body.card_ids[i]` problems beside the codes box, naming each code."""
    errors = []
    for problem in exc.errors:
        found = re.fullmatch(r"body\.card_ids\[(\d+)\]", problem.field)
        if found and int(found.group(1)) < len(codes):
            errors.append(
                FieldProblem(
                    field="body.card_ids", reason=f"{codes[int(found.group(1))]}：{problem.reason}"
                )
            )
        else:
            errors.append(problem)
    exc.errors = errors
    return exc


class TransferPages(PageController):
    """划拨: transfers in scope, awaiting approval, the request form, and approve / reject."""

    path = "/ledger/assets/transfers"
    guards = [requires(Permission.ledger_read)]

    @get("/")
    async def index(self, request: Reader) -> Template:
        """Transfers touching the actor's scope, filtered by state; those awaiting their approval."""
        actor = request.user
        status = TRANSFERS.field_values(request.query_params).get("status")
        frame = await transfers_frame(actor, status)
        view = TRANSFERS.view(frame, request.query_params)
        export_url = "/ledger/assets/transfers/export.xlsx" + view.url(page=None).rstrip("?")
        if is_htmx(request):
            return page("_table.html", request, table=view, export_url=export_url)
        return page(
            "ledger/assets/transfers.html",
            request,
            table=view,
            export_url=export_url,
            pending=await transfers.pending_transfers(actor=actor),
            can_request=allowed(actor, Permission.ledger_write),
            key=_key,
        )

    @get("/export.xlsx")
    async def export(self, request: Reader) -> Response[bytes]:
        """The transfers as filtered and sorted, every row, as XLSX."""
        status = TRANSFERS.field_values(request.query_params).get("status")
        frame = await transfers_frame(request.user, status)
        return xlsx_download(TRANSFERS.xlsx(frame, request.query_params, "划拨"), "划拨.xlsx")

    @get("/new", guards=[requires(Permission.ledger_write)])
    async def new(self, request: Reader, from_holder: FromQuery[str | None] = None) -> Template:
        """The request form: from one holder to another, several cards by code, a date, a reason."""
        return await self._form(
            request, {"from_holder_id": from_holder or "", "transfer_date": today().isoformat()}
        )

    @post("/", guards=[requires(Permission.ledger_write)], status_code=303)
    async def request_it(self, request: Reader) -> Response[Any]:
        """Raise the transfer through the API's service; nothing moves until someone approves."""
        actor = request.user
        form: FormMultiDict = await request.form()
        typed = {
            k: str(form.get(k) or "").strip()[:20_000]
            for k in ("from_holder_id", "to_holder_id", "codes", "transfer_date", "note")
        }
        codes = _codes(typed["codes"])
        try:
            problems: list[FieldProblem] = []
            found: dict[str, UUID] = {}
            from_holder = _uuid(typed["from_holder_id"])
            if from_holder is None:
                problems.append(FieldProblem(field="body.from_holder_id", reason="请选择划出单位"))
            if not codes:
                problems.append(
                    FieldProblem(field="body.card_ids", reason="请填写至少一个资产编码")
                )
            elif from_holder is not None:
                await ledger_service.ensure_visible(actor, [from_holder])
                found = await service.card_ids_by_code(from_holder, codes)
                if missing := [c for c in codes if c not in found]:
                    problems.append(
                        FieldProblem(
                            field="body.card_ids",
                            reason="划出单位名下没有这些资产编码：" + "、".join(missing),
                        )
                    )
            if problems:
                raise Invalid(f"{len(problems)} problem(s) in the form", errors=problems)
            data = decode(
                {
                    "card_ids": [str(found[c]) for c in codes],
                    "to_holder_id": typed["to_holder_id"],
                    "transfer_date": typed["transfer_date"],
                    "note": typed["note"],
                },
                TransferCreate,
            )
            answer = await run_once(
                key=str(form.get("idempotency_key") or "")[:200] or None,
                actor=actor.username,
                route="assets.transfers.request",
                payload=data,
                work=lambda: transfers.request_transfer(actor=actor, data=data),
                required=True,
            )
        except DomainError as exc:
            return await self._form(
                request, typed, refused=_card_problems(exc, codes), status_code=exc.status
            )
        made = _answer(answer, TransferRead)
        return Redirect(f"/ledger/assets/transfers/{made.id}?done=requested", status_code=303)

    @get("/{transfer_id:uuid}")
    async def transfer(
        self, request: Reader, transfer_id: FromPath[UUID], done: FromQuery[str | None] = None
    ) -> Template:
        """One transfer: its cards, who asked and who decided; 批准 / 驳回 for those who may."""
        return await self._detail(request, transfer_id, done=done)

    @get("/{transfer_id:uuid}/cards.xlsx")
    async def cards_xlsx(self, request: Reader, transfer_id: FromPath[UUID]) -> Response[bytes]:
        """The transfer's cards as filtered and sorted, as XLSX."""
        actor = request.user
        transfer = await in_scope(
            actor, transfers.get_transfer(actor=actor, transfer_id=transfer_id)
        )
        frame, _ = await transfer_cards(actor, transfer)
        content = TRANSFER_CARDS.xlsx(frame, request.query_params, "划拨卡片")
        return xlsx_download(content, "划拨卡片.xlsx")

    @post("/{transfer_id:uuid}/approve", guards=[requires(Permission.ledger_approve)])
    async def approve(self, request: Reader, transfer_id: FromPath[UUID]) -> Response[Any]:
        """Approve and post, as the API's approve does; the requester is refused (403)."""
        actor = request.user
        form: FormMultiDict = await request.form()
        try:
            await in_scope(
                actor,
                run_once(
                    key=str(form.get("idempotency_key") or "")[:200] or None,
                    actor=actor.username,
                    route=f"assets.transfers.{transfer_id}.approve",
                    payload={"post": True},
                    work=lambda: transfers.approve_transfer(
                        actor=actor, transfer_id=transfer_id, post=True
                    ),
                    status_code=200,
                    required=True,
                ),
            )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await self._detail(request, transfer_id, refused=exc, status_code=exc.status)
        return Redirect(f"/ledger/assets/transfers/{transfer_id}?done=posted", status_code=303)

    @post("/{transfer_id:uuid}/reject", guards=[requires(Permission.ledger_approve)])
    async def reject(self, request: Reader, transfer_id: FromPath[UUID]) -> Response[Any]:
        """Reject with a reason (required); the cards stay where they are."""
        actor = request.user
        form: FormMultiDict = await request.form()
        reason = str(form.get("reason") or "").strip()
        try:
            data = decode({"reason": reason}, TransferReject)
            await in_scope(
                actor,
                transfers.reject_transfer(actor=actor, transfer_id=transfer_id, reason=data.reason),
            )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await self._detail(
                request, transfer_id, refused=exc, reason=reason, status_code=exc.status
            )
        return Redirect(f"/ledger/assets/transfers/{transfer_id}?done=rejected", status_code=303)

    async def _form(
        self,
        request: Reader,
        typed: dict[str, str],
        *,
        refused: DomainError | None = None,
        status_code: int = 200,
    ) -> Template:
        actor = request.user
        visible = await _visible_entities(actor)
        return page(
            "ledger/assets/transfer_new.html",
            request,
            status_code=status_code,
            form=typed,
            holders=visible,
            refused=refused,
            problems=problems_by_field(refused) if refused else {},
            idempotency_key=_key(),
        )

    async def _detail(
        self,
        request: Reader,
        transfer_id: UUID,
        *,
        done: str | None = None,
        refused: DomainError | None = None,
        reason: str = "",
        status_code: int = 200,
    ) -> Template:
        actor = request.user
        transfer = await in_scope(
            actor, transfers.get_transfer(actor=actor, transfer_id=transfer_id)
        )
        frame, hidden = await transfer_cards(actor, transfer)
        view = TRANSFER_CARDS.view(frame, request.query_params)
        export_url = f"/ledger/assets/transfers/{transfer_id}/cards.xlsx" + view.url(
            page=None
        ).rstrip("?")
        if is_htmx(request) and refused is None:
            return page("_table.html", request, table=view, export_url=export_url)
        visible = await ledger_service.visible_entity_ids(actor)
        return page(
            "ledger/assets/transfer.html",
            request,
            status_code=status_code,
            receiver_ratio=await _receiver_ratio(actor, transfer, visible),
            transfer=transfer,
            kind_label=_kind_label(transfer),
            table=view,
            export_url=export_url,
            hidden_cards=hidden,
            may_decide=may_decide(actor, transfer, visible),
            own_request=transfer.requested_by == actor.username,
            approver=allowed(actor, Permission.ledger_approve),
            done=done,
            refused=refused,
            forbidden=isinstance(refused, Forbidden),
            problems=problems_by_field(refused) if refused else {},
            reason=reason,
            idempotency_key=_key(),
            beijing_time=beijing_time,
        )


async def _receiver_ratio(
    actor: Actor, transfer: TransferRead, visible: set[UUID] | None
) -> tuple[Decimal | None, Decimal | None] | None:
    """A posted transfer's receiver's effective asset ratio the day before and on its date:
    what the transfer changed (SCENARIOS §3); None unless posted and the receiver is seen."""
    if transfer.status != "posted" or (
        visible is not None and transfer.to_holder_id not in visible
    ):
        return None
    node = f"entity:{transfer.to_holder_id}"
    ratios = []
    for day in (transfer.transfer_date - timedelta(days=1), transfer.transfer_date):
        rows = await effective.effective_assets(actor=actor, as_of=day, node=node)
        ratios.append(rows[0].effective_ratio if rows else None)
    return ratios[0], ratios[1]


# ------------------------------------------------------------------------------------------
# 资产盘点: campaigns, counts, the report and closing

CAMPAIGNS = Table(
    "asset-campaigns",
    [
        Column("name", "盘点", "link", link="/ledger/assets/campaigns/{id}"),
        Column("as_of", "盘点日", "date"),
        Column("scope", "范围"),
        Column("categories", "类别"),
        Column("status_label", "状态", choices=True),
        Column("counts", "已录入"),
        Column("created_by", "发起人"),
        Column("closed_by", "结束人"),
    ],
    search=("name", "scope"),
)
_CAMPAIGN_SCHEMA = {
    "id": pl.String,
    "name": pl.String,
    "as_of": pl.Date,
    "scope": pl.String,
    "categories": pl.String,
    "status_label": pl.String,
    "counts": pl.Int64,
    "created_by": pl.String,
    "closed_by": pl.String,
}
LINES = Table(
    "campaign-lines",
    [
        Column("outcome_label", "结果", choices=True),
        Column("holder_name", "持有单位", choices=True),
        Column("code", "资产编码"),
        Column("name", "资产名称"),
        Column("book_location", "账面地点"),
        Column("counted_location", "盘点地点"),
        Column("value", "价值", "money"),
    ],
    search=("code", "name", "book_location", "counted_location"),
)
_LINE_SCHEMA = {
    "outcome_label": pl.String,
    "holder_name": pl.String,
    "code": pl.String,
    "name": pl.String,
    "book_location": pl.String,
    "counted_location": pl.String,
    "value": MONEY,
}


def _categories_text(categories: list[str]) -> str:
    if not categories:
        return "全部类别"
    labels = {c.value: label for c, label in CATEGORY_LABELS.items()}
    return "、".join(labels.get(c, c) for c in categories)


async def campaigns_frame(actor: Actor) -> pl.DataFrame:
    names = await _names()
    rows = await inventory.list_campaigns(actor=actor)
    return pl.DataFrame(
        [
            {
                "id": str(c.id),
                "name": c.name,
                "as_of": c.as_of,
                "scope": "、".join(names.get(e, str(e)) for e in c.entity_ids),
                "categories": _categories_text(c.categories),
                "status_label": CAMPAIGN_STATUS_LABELS.get(c.status, c.status),
                "counts": c.counts,
                "created_by": c.created_by,
                "closed_by": c.closed_by,
            }
            for c in rows
        ],
        schema=_CAMPAIGN_SCHEMA,
    )


def lines_frame(report: CampaignReport, names: dict[UUID, str]) -> pl.DataFrame:
    """The report's lines: 盘亏 and 盘盈 first (what needs attention), then the matched."""
    order = {"shortage": 0, "surplus": 1, "matched": 2}
    lines = sorted(report.lines, key=lambda x: order.get(x.outcome, 3))
    return pl.DataFrame(
        [
            {
                "outcome_label": x.outcome_label,
                "holder_name": names.get(x.holder_id, str(x.holder_id)),
                "code": x.code,
                "name": x.name,
                "book_location": x.book_location,
                "counted_location": x.counted_location,
                "value": x.value,
            }
            for x in lines
        ],
        schema=_LINE_SCHEMA,
    )


def _counts_problems(exc: DomainError) -> dict[str, str]:
    """The service's `body[0].<field>` (one count) as the form's `body.<field>`."""
    problems = problems_by_field(exc)
    return {re.sub(r"^body\[0\]", "body", k): v for k, v in problems.items()}


class CampaignPages(PageController):
    """资产盘点: campaigns, a campaign's counts and report, and closing it."""

    path = "/ledger/assets/campaigns"
    guards = [requires(Permission.ledger_read)]

    @get("/")
    async def index(self, request: Reader) -> Template:
        """Campaigns over the actor's scope, newest first, and the form to open one."""
        return await self._index(request)

    @post("/", guards=[requires(Permission.ledger_write)], status_code=303)
    async def create(self, request: Reader) -> Response[Any]:
        """Open a campaign for some entities (and categories) as of a date."""
        actor = request.user
        form: FormMultiDict = await request.form()
        typed = {
            "name": str(form.get("name") or "").strip(),
            "as_of": str(form.get("as_of") or "").strip(),
            "entity_ids": [str(v) for v in form.getall("entity_ids", [])][:5000],
            "categories": [str(v) for v in form.getall("categories", [])][:20],
        }
        try:
            data = decode(typed, CampaignCreate)
            made = await in_scope(actor, inventory.create_campaign(actor=actor, data=data))
        except DomainError as exc:
            return await self._index(request, typed=typed, refused=exc, status_code=exc.status)
        return Redirect(f"/ledger/assets/campaigns/{made.id}", status_code=303)

    @get("/{campaign_id:uuid}")
    async def campaign(
        self,
        request: Reader,
        campaign_id: FromPath[UUID],
        counted: FromQuery[int | None] = None,
        closed: FromQuery[int | None] = None,
    ) -> Template:
        """The campaign: counts entry, matched / 盘盈 / 盘亏 with values, and the way to close."""
        return await self._campaign(request, campaign_id, counted=counted, closed=bool(closed))

    @get("/{campaign_id:uuid}/report.xlsx")
    async def report_xlsx(self, request: Reader, campaign_id: FromPath[UUID]) -> Response[bytes]:
        """The report's lines as filtered and sorted, every row, as XLSX."""
        actor = request.user
        report = await in_scope(
            actor, inventory.campaign_report(actor=actor, campaign_id=campaign_id)
        )
        frame = lines_frame(report, await _names())
        content = LINES.xlsx(frame, request.query_params, "盘点报告")
        return xlsx_download(content, f"盘点报告-{report.campaign.name}.xlsx")

    @post("/{campaign_id:uuid}/counts", guards=[requires(Permission.ledger_write)])
    async def count(self, request: Reader, campaign_id: FromPath[UUID]) -> Response[Any]:
        """Record one counted item (a code counted again replaces its count)."""
        actor = request.user
        form: FormMultiDict = await request.form()
        typed = {
            k: str(form.get(k) or "").strip()[:500]
            for k in ("holder_id", "code", "location", "name", "category", "value")
        }
        body: dict[str, Any] = {k: v for k, v in typed.items() if v}
        if "value" in body:
            body["value"] = body["value"].replace(",", "")
        try:
            data = decode(body, CountCreate)
            read = await in_scope(
                actor,
                inventory.record_counts(actor=actor, campaign_id=campaign_id, counts=[data]),
            )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await self._campaign(
                request, campaign_id, typed=typed, refused=exc, status_code=exc.status
            )
        return Redirect(f"/ledger/assets/campaigns/{read.id}?counted=1#count-form", status_code=303)

    @post("/{campaign_id:uuid}/counts/import", guards=[requires(Permission.ledger_write)])
    async def import_counts(self, request: Reader, campaign_id: FromPath[UUID]) -> Response[Any]:
        """Record counts from an XLSX or CSV: every problem listed, none recorded unless all pass."""
        actor = request.user
        form: FormMultiDict = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            refused = Invalid(
                "请选择要上传的文件 (.xlsx 或 .csv)",
                errors=[FieldProblem(field="file", reason="请选择要上传的文件 (.xlsx 或 .csv)")],
            )
            return await self._campaign(
                request, campaign_id, upload_refused=refused, status_code=400
            )
        content = await upload.read()
        before = await in_scope(actor, inventory.get_campaign(actor=actor, campaign_id=campaign_id))
        try:
            read = await uploads.import_counts(
                actor=actor, campaign_id=campaign_id, data=content, filename=upload.filename
            )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await self._campaign(
                request, campaign_id, upload_refused=exc, status_code=exc.status
            )
        added = read.counts - before.counts
        return Redirect(
            f"/ledger/assets/campaigns/{read.id}?counted={max(added, 0)}", status_code=303
        )

    @get("/{campaign_id:uuid}/close", guards=[requires(Permission.ledger_approve)])
    async def confirm_close(self, request: Reader, campaign_id: FromPath[UUID]) -> Template:
        """The confirm step: what closing will post, with the button that posts it."""
        return await self._confirm(request, campaign_id)

    @post("/{campaign_id:uuid}/close", guards=[requires(Permission.ledger_approve)])
    async def close(self, request: Reader, campaign_id: FromPath[UUID]) -> Response[Any]:
        """Post the 盘盈 and 盘亏 adjustments and lock the campaign, once per form."""
        actor = request.user
        form: FormMultiDict = await request.form()
        try:
            await in_scope(
                actor,
                run_once(
                    key=str(form.get("idempotency_key") or "")[:200] or None,
                    actor=actor.username,
                    route=f"assets.campaigns.{campaign_id}.close",
                    payload={},
                    work=lambda: inventory.close_campaign(actor=actor, campaign_id=campaign_id),
                    status_code=200,
                    required=True,
                ),
            )
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await self._confirm(request, campaign_id, refused=exc, status_code=exc.status)
        return Redirect(f"/ledger/assets/campaigns/{campaign_id}?closed=1", status_code=303)

    async def _index(
        self,
        request: Reader,
        *,
        typed: dict[str, Any] | None = None,
        refused: DomainError | None = None,
        status_code: int = 200,
    ) -> Template:
        actor = request.user
        frame = await campaigns_frame(actor)
        view = CAMPAIGNS.view(frame, request.query_params)
        if is_htmx(request) and refused is None:
            return page("_table.html", request, table=view)
        return page(
            "ledger/assets/campaigns.html",
            request,
            status_code=status_code,
            table=view,
            can_create=allowed(actor, Permission.ledger_write),
            holders=await _visible_entities(actor),
            categories=[(c.value, CATEGORY_LABELS[c]) for c in Category],
            form=typed or {"as_of": today().isoformat(), "entity_ids": [], "categories": []},
            refused=refused,
            problems=problems_by_field(refused) if refused else {},
        )

    async def _campaign(
        self,
        request: Reader,
        campaign_id: UUID,
        *,
        counted: int | None = None,
        closed: bool = False,
        typed: dict[str, str] | None = None,
        refused: DomainError | None = None,
        upload_refused: DomainError | None = None,
        status_code: int = 200,
    ) -> Template:
        actor = request.user
        report = await in_scope(
            actor, inventory.campaign_report(actor=actor, campaign_id=campaign_id)
        )
        names = await _names()
        view = LINES.view(lines_frame(report, names), request.query_params)
        export_url = f"/ledger/assets/campaigns/{campaign_id}/report.xlsx" + view.url(
            page=None
        ).rstrip("?")
        if is_htmx(request) and refused is None and upload_refused is None:
            return page("_table.html", request, table=view, export_url=export_url)
        campaign = report.campaign
        is_open = campaign.status == "open"
        return page(
            "ledger/assets/campaign.html",
            request,
            status_code=status_code,
            report=report,
            campaign=campaign,
            status_label=CAMPAIGN_STATUS_LABELS.get(campaign.status, campaign.status),
            scope=[(e, names.get(e, str(e))) for e in campaign.entity_ids],
            categories_text=_categories_text(campaign.categories),
            table=view,
            export_url=export_url,
            can_count=is_open and allowed(actor, Permission.ledger_write),
            can_close=is_open and allowed(actor, Permission.ledger_approve),
            category_choices=[(c.value, CATEGORY_LABELS[c]) for c in Category],
            form=typed or {},
            refused=refused,
            problems=_counts_problems(refused) if refused else {},
            upload_refused=upload_refused,
            import_errors=(upload_refused.extra.get("import_errors") or [])
            if upload_refused
            else [],
            counted=counted,
            closed=closed,
            beijing_time=beijing_time,
        )

    async def _confirm(
        self,
        request: Reader,
        campaign_id: UUID,
        *,
        refused: DomainError | None = None,
        status_code: int = 200,
    ) -> Template:
        actor = request.user
        report = await in_scope(
            actor, inventory.campaign_report(actor=actor, campaign_id=campaign_id)
        )
        names = await _names()
        adjustments = [
            (x, names.get(x.holder_id, str(x.holder_id)))
            for x in report.lines
            if x.outcome in ("surplus", "shortage")
        ]
        return page(
            "ledger/assets/campaign_close.html",
            request,
            status_code=status_code,
            report=report,
            campaign=report.campaign,
            adjustments=adjustments,
            refused=refused,
            idempotency_key=_key(),
        )


# ------------------------------------------------------------------------------------------
# 有效资产: ratio and operating share by platform over time, and every node as of a date

NODES = Table(
    "effective",
    [
        Column("level", "层级", choices=True),
        Column("name", "名称"),
        Column("total_book", "资产账面价值", "money"),
        Column("operating_book", "经营性资产", "money"),
        Column("effective_book", "有效资产", "money"),
        Column("cash", "货币资金", "money"),
        Column("effective_ratio", "有效资产比重", "ratio"),
        Column("operating_share", "经营性资产占比", "ratio"),
    ],
    search=("name",),
    # The date sits in the table's own query (`f_as_of`), so its sort and filter links keep it.
    fields=(Field("as_of", "截至日期", "date"),),
)
_LEVEL_ORDER = {"group": 0, "platform": 1, "segment": 2, "entity": 3}


async def nodes_frame(actor: Actor, as_of: date) -> pl.DataFrame:
    """The effective service's frame as of `as_of`: the group, platforms, segments, entities."""
    frame = await effective.effective_frame(actor=actor, as_of=as_of)
    level = pl.col("node").str.split(":").list.first()
    return (
        frame.with_columns(
            level.replace_strict(LEVEL_LABELS, default="").alias("level"),
            level.replace_strict(_LEVEL_ORDER, default=9).alias("_order"),
        )
        .sort("_order", "name")
        .drop("_order")
    )


def chart_dates(as_of: date) -> list[date]:
    """Each quarter end from the register's first year up to `as_of`, and `as_of` itself."""
    out = []
    for year in range(2025, as_of.year + 1):
        for quarter in (1, 2, 3, 4):
            end = quarter_period(year, quarter).end
            if end <= as_of:
                out.append(end)
    if not out or out[-1] != as_of:
        out.append(as_of)
    return out


def _pct(value: Any) -> str | None:
    """A ratio as a percent with two places, as text for the chart (never a float on the way)."""
    if value is None:
        return None
    return str((Decimal(value) * 100).quantize(Decimal("0.01"), ROUND_HALF_UP))


async def chart_data(actor: Actor, as_of: date) -> dict[str, Any]:
    """Per platform, the ratio and the share at each date, for the two line charts."""
    dates = chart_dates(as_of)
    series = await effective.effective_series(actor=actor, dates=dates)
    platforms = series.select("node", "name").unique().sort("name")
    out: dict[str, Any] = {"dates": [d.isoformat() for d in dates], "ratio": [], "share": []}
    for node, name in platforms.iter_rows():
        rows = {r["as_of"]: r for r in series.filter(pl.col("node") == node).iter_rows(named=True)}
        for key, column in (("ratio", "effective_ratio"), ("share", "operating_share")):
            out[key].append(
                {"name": name, "data": [_pct(rows.get(d, {}).get(column)) for d in dates]}
            )
    return out


class EffectivePages(PageController):
    """有效资产: the effective asset ratio and operating share by platform over time, and a table."""

    path = "/ledger/assets/effective"
    guards = [requires(Permission.ledger_read)]

    @get("/")
    async def index(self, request: Reader) -> Template | Response[Any]:
        """The charts up to the date (today by default) and every node's figures on that date."""
        actor = request.user
        as_of = _as_of(request.query_params)
        if is_htmx(request) and _shown_as_of(request) != as_of:
            # A new date changes the charts and figures above the table too: load the page.
            query = {k: v for k, v in request.query_params.items() if k != "page"}
            target = "/ledger/assets/effective?" + urlencode(query)
            return Response(content="", headers={"HX-Redirect": target})
        frame = await nodes_frame(actor, as_of)
        view = NODES.view(frame, request.query_params)
        view.filters["as_of"] = as_of.isoformat()
        export_url = "/ledger/assets/effective/export.xlsx" + view.url(page=None)
        if is_htmx(request):
            return page("_table.html", request, table=view, export_url=export_url)
        return page(
            "ledger/assets/effective.html",
            request,
            as_of=as_of,
            table=view,
            export_url=export_url,
            chart=await chart_data(actor, as_of),
            top=frame.filter(pl.col("level").is_in(["集团", "平台"])).to_dicts(),
        )

    @get("/export.xlsx")
    async def export(self, request: Reader) -> Response[bytes]:
        """The nodes as filtered and sorted, every row, as XLSX."""
        as_of = _as_of(request.query_params)
        frame = await nodes_frame(request.user, as_of)
        content = NODES.xlsx(frame, request.query_params, "有效资产")
        return xlsx_download(content, f"有效资产-{as_of.isoformat()}.xlsx")


def _shown_as_of(request: Reader) -> date:
    """The date of the page htmx asks from (its address: `HX-Current-URL`)."""
    query = parse_qs(urlsplit(request.headers.get("hx-current-url", "")).query)
    return _as_of({k: v[-1] for k, v in query.items()})


def _as_of(query: Any) -> date:
    """The table's date (`f_as_of`), checked as the API checks its `as_of`; today when blank."""
    text = NODES.field_values(query).get("as_of")
    if not text:
        return today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(
            f"as_of: {text!r} is not a date",
            errors=[FieldProblem(field="query.as_of", reason="a date as 2026-09-30 is required")],
        ) from None


ASSET_PAGES = [AssetPages, TransferPages, CampaignPages, EffectivePages]
