"""Asset register routes under /api/v1/ledger/assets: thin — parse, authorise, call the service."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import JSONBody, MultipartBody, PathParameter, QueryParameter

from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today
from stateasset.core.http import XLSX_MEDIA_TYPE, xlsx_download
from stateasset.core.idempotency import run_once
from stateasset.core.schemas import Page
from stateasset.ledger.assets import depreciation, effective, inventory, service, transfers, uploads
from stateasset.ledger.assets.schemas import (
    CampaignCreate,
    CampaignRead,
    CampaignReport,
    CardCreate,
    CardImportReport,
    CardLineage,
    CardRead,
    CardUpdate,
    Category,
    CountCreate,
    DepreciationReport,
    EffectiveRow,
    EventCreate,
    EventRead,
    HolderFlow,
    Status,
    TransferCreate,
    TransferRead,
    TransferReject,
)
from stateasset.ledger.controllers import (
    IdempotencyKey,
    Limit,
    Offset,
    PathPeriod,
    QueryPeriod,
    StatementUpload,
)

Reader = Request[Actor, Any, Any]
TRANSFER_STATUS = r"^(requested|approved|posted|rejected)$"
CardId = Annotated[UUID, PathParameter(description="The asset card's id")]
TransferId = Annotated[UUID, PathParameter(description="The transfer's id")]
CampaignId = Annotated[UUID, PathParameter(description="The inventory campaign's id")]
EntityId = Annotated[UUID, PathParameter(description="The holder entity's id")]

HolderFilter = Annotated[
    UUID | None, QueryParameter(description="This holder and every entity it controls")
]
PlatformFilter = Annotated[
    UUID | None, QueryParameter(description="Cards of this platform's members (五大投)")
]
CategoryFilter = Annotated[Category | None, QueryParameter(description="资产类别")]
OperatingFilter = Annotated[
    bool | None, QueryParameter(description="经营性 (true) or 非经营性 (false)")
]
StatusFilter = Annotated[Status | None, QueryParameter(description="Only this status")]
IdleFilter = Annotated[bool | None, QueryParameter(description="Only idle (闲置) cards")]


class CardController(Controller):
    path = "/api/v1/ledger/assets/cards"
    tags = ["assets"]

    @get("/", operation_id="list_asset_cards", guards=[requires(Permission.ledger_read)])
    async def list_cards(
        self,
        request: Reader,
        holder_id: HolderFilter = None,
        platform_id: PlatformFilter = None,
        category: CategoryFilter = None,
        operating: OperatingFilter = None,
        status: StatusFilter = None,
        idle: IdleFilter = None,
        q: Annotated[
            str | None,
            QueryParameter(
                description="Part of the code or name", max_length=200, pattern=r"^[^\x00]*$"
            ),
        ] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[CardRead]:
        """Asset cards in your scope with their balances, filtered and paged, by holder and code."""
        filters = service.CardFilter(
            holder_id=holder_id,
            platform_id=platform_id,
            category=category,
            operating=operating,
            status=status,
            idle=idle,
            search=q,
        )
        return await service.list_cards(
            actor=request.user, filters=filters, limit=limit, offset=offset
        )

    @get(
        "/export",
        operation_id="export_asset_cards",
        guards=[requires(Permission.ledger_read)],
        media_type=XLSX_MEDIA_TYPE,
    )
    async def export(
        self,
        request: Reader,
        holder_id: HolderFilter = None,
        platform_id: PlatformFilter = None,
        category: CategoryFilter = None,
        operating: OperatingFilter = None,
        status: StatusFilter = None,
        idle: IdleFilter = None,
    ) -> Response[bytes]:
        """Every card matching the filters as an XLSX workbook (资产台账), text kept as text."""
        frame = await service.cards_table(
            actor=request.user,
            filters=service.CardFilter(
                holder_id=holder_id,
                platform_id=platform_id,
                category=category,
                operating=operating,
                status=status,
                idle=idle,
            ),
        )
        return xlsx_download(service.export_xlsx(frame), "asset-cards.xlsx")

    @get(
        "/template",
        operation_id="asset_card_template",
        guards=[requires(Permission.ledger_read)],
        media_type=XLSX_MEDIA_TYPE,
    )
    async def template(self) -> Response[bytes]:
        """The XLSX template for a bulk import of cards, with Chinese headers and instructions."""
        return xlsx_download(uploads.card_template(), "asset-card-template.xlsx")

    @post("/import", operation_id="import_asset_cards", guards=[requires(Permission.ledger_write)])
    async def import_file(
        self,
        request: Reader,
        data: MultipartBody[StatementUpload],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CardImportReport]:
        """Upload cards (XLSX or CSV): every problem is listed and nothing is stored unless all pass."""
        content = await data.file.read()
        filename = data.file.filename or "cards.xlsx"
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route="assets.cards.import",
            payload={"filename": filename, "content": content},
            work=lambda: uploads.import_cards(actor=request.user, data=content, filename=filename),
            required=True,
        )

    @post("/", operation_id="create_asset_card", guards=[requires(Permission.ledger_write)])
    async def create(
        self, request: Reader, data: JSONBody[CardCreate], idempotency_key: IdempotencyKey = None
    ) -> Response[CardRead]:
        """Register a card and post its acquisition; needs an Idempotency-Key."""
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route="assets.cards.create",
            payload=data,
            work=lambda: service.create_card(actor=request.user, data=data),
            required=True,
        )

    @get(
        "/{card_id:uuid}", operation_id="get_asset_card", guards=[requires(Permission.ledger_read)]
    )
    async def get_card(self, request: Reader, card_id: CardId) -> CardRead:
        """One card with its balances."""
        return await service.get_card(actor=request.user, card_id=card_id)

    @patch(
        "/{card_id:uuid}",
        operation_id="update_asset_card",
        guards=[requires(Permission.ledger_write)],
    )
    async def update(
        self, request: Reader, card_id: CardId, data: JSONBody[CardUpdate]
    ) -> CardRead:
        """Change a card's name, location, operating flag or use; values change only by events."""
        return await service.update_card(actor=request.user, card_id=card_id, data=data)

    @get(
        "/{card_id:uuid}/lineage",
        operation_id="asset_card_lineage",
        guards=[requires(Permission.ledger_read)],
    )
    async def lineage(self, request: Reader, card_id: CardId) -> CardLineage:
        """The card's lineage (资产脉络): every event in order with who posted it, and every holder."""
        return await service.lineage(actor=request.user, card_id=card_id)

    @post(
        "/{card_id:uuid}/events",
        operation_id="post_asset_event",
        guards=[requires(Permission.ledger_write)],
    )
    async def post_event(
        self,
        request: Reader,
        card_id: CardId,
        data: JSONBody[EventCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[EventRead]:
        """Post a revaluation, income, disposal or reversal; needs an Idempotency-Key."""
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route=f"assets.cards.{card_id}.events",
            payload=data,
            work=lambda: service.post_event(actor=request.user, card_id=card_id, data=data),
            required=True,
        )


@get(
    "/api/v1/ledger/assets/holders/{entity_id:uuid}/flows",
    operation_id="asset_holder_flows",
    tags=["assets"],
    guards=[requires(Permission.ledger_read)],
)
async def holder_flows(
    request: Reader, entity_id: EntityId, period: QueryPeriod
) -> list[HolderFlow]:
    """What came into and went out of a holder in a period, by source (资产脉络 per holder)."""
    return await service.holder_flows(actor=request.user, holder_id=entity_id, period=period)


class TransferController(Controller):
    path = "/api/v1/ledger/assets/transfers"
    tags = ["assets"]

    @get("/", operation_id="list_asset_transfers", guards=[requires(Permission.ledger_read)])
    async def list_transfers(
        self,
        request: Reader,
        status: Annotated[
            str | None, QueryParameter(pattern=TRANSFER_STATUS, description="Only this status")
        ] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[TransferRead]:
        """Transfers (划拨) touching your scope, newest first."""
        return await transfers.list_transfers(
            actor=request.user, status=status, limit=limit, offset=offset
        )

    @get(
        "/pending",
        operation_id="pending_asset_transfers",
        guards=[requires(Permission.ledger_read)],
    )
    async def pending(self, request: Reader) -> list[TransferRead]:
        """Transfers awaiting your approval: requested by someone else, both holders yours."""
        return await transfers.pending_transfers(actor=request.user)

    @post("/", operation_id="request_asset_transfer", guards=[requires(Permission.ledger_write)])
    async def request_transfer(
        self,
        request: Reader,
        data: JSONBody[TransferCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[TransferRead]:
        """Request a transfer of several cards of one holder; nothing moves until approved."""
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route="assets.transfers.request",
            payload=data,
            work=lambda: transfers.request_transfer(actor=request.user, data=data),
            required=True,
        )

    @get(
        "/{transfer_id:uuid}",
        operation_id="get_asset_transfer",
        guards=[requires(Permission.ledger_read)],
    )
    async def get_transfer(self, request: Reader, transfer_id: TransferId) -> TransferRead:
        """One transfer with its cards."""
        return await transfers.get_transfer(actor=request.user, transfer_id=transfer_id)

    @post(
        "/{transfer_id:uuid}/approve",
        operation_id="approve_asset_transfer",
        guards=[requires(Permission.ledger_approve)],
    )
    async def approve(
        self,
        request: Reader,
        transfer_id: TransferId,
        post: Annotated[
            bool, QueryParameter(description="Post it at once (default) or only approve it")
        ] = True,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[TransferRead]:
        """Approve (and by default post) a transfer: not its requester; rights over both holders."""
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route=f"assets.transfers.{transfer_id}.approve",
            payload={"post": post},
            work=lambda: transfers.approve_transfer(
                actor=request.user, transfer_id=transfer_id, post=post
            ),
            status_code=200,
            required=True,
        )

    @post(
        "/{transfer_id:uuid}/post",
        operation_id="post_asset_transfer",
        guards=[requires(Permission.ledger_approve)],
    )
    async def post_it(
        self, request: Reader, transfer_id: TransferId, idempotency_key: IdempotencyKey = None
    ) -> Response[TransferRead]:
        """Post an approved transfer: every card moves or none does."""
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route=f"assets.transfers.{transfer_id}.post",
            payload={},
            work=lambda: transfers.post_transfer(actor=request.user, transfer_id=transfer_id),
            status_code=200,
            required=True,
        )

    @post(
        "/{transfer_id:uuid}/reject",
        operation_id="reject_asset_transfer",
        guards=[requires(Permission.ledger_approve)],
        status_code=200,
    )
    async def reject(
        self, request: Reader, transfer_id: TransferId, data: JSONBody[TransferReject]
    ) -> TransferRead:
        """Reject a requested transfer with a reason."""
        return await transfers.reject_transfer(
            actor=request.user, transfer_id=transfer_id, reason=data.reason
        )


@post(
    "/api/v1/ledger/assets/depreciation/{period:str}",
    operation_id="run_asset_depreciation",
    tags=["assets"],
    guards=[requires(Permission.jobs_run)],
)
async def run_depreciation(
    request: Reader, period: PathPeriod, idempotency_key: IdempotencyKey = None
) -> Response[DepreciationReport]:
    """Post the period's depreciation, month by month; a (card, month) is posted once."""
    return await run_once(
        key=idempotency_key,
        actor=request.user.username,
        route=f"assets.depreciation.{period}",
        payload={},
        work=lambda: depreciation.run_depreciation(actor=request.user, period=period),
        required=True,
    )


class CampaignController(Controller):
    path = "/api/v1/ledger/assets/campaigns"
    tags = ["assets"]

    @get("/", operation_id="list_asset_campaigns", guards=[requires(Permission.ledger_read)])
    async def list_campaigns(self, request: Reader) -> list[CampaignRead]:
        """Inventory campaigns (盘点) over your scope, newest first."""
        return await inventory.list_campaigns(actor=request.user)

    @post("/", operation_id="create_asset_campaign", guards=[requires(Permission.ledger_write)])
    async def create(self, request: Reader, data: JSONBody[CampaignCreate]) -> CampaignRead:
        """Open a campaign for some entities (and categories) as of a date."""
        return await inventory.create_campaign(actor=request.user, data=data)

    @get(
        "/{campaign_id:uuid}",
        operation_id="get_asset_campaign",
        guards=[requires(Permission.ledger_read)],
    )
    async def get_campaign(self, request: Reader, campaign_id: CampaignId) -> CampaignRead:
        """One campaign."""
        return await inventory.get_campaign(actor=request.user, campaign_id=campaign_id)

    @post(
        "/{campaign_id:uuid}/counts",
        operation_id="record_asset_counts",
        guards=[requires(Permission.ledger_write)],
        status_code=200,
    )
    async def counts(
        self, request: Reader, campaign_id: CampaignId, data: JSONBody[list[CountCreate]]
    ) -> CampaignRead:
        """Record counted items by card code (a code counted again replaces its count)."""
        return await inventory.record_counts(
            actor=request.user, campaign_id=campaign_id, counts=data
        )

    @post(
        "/{campaign_id:uuid}/counts/import",
        operation_id="import_asset_counts",
        guards=[requires(Permission.ledger_write)],
        status_code=200,
    )
    async def import_counts(
        self, request: Reader, campaign_id: CampaignId, data: MultipartBody[StatementUpload]
    ) -> CampaignRead:
        """Upload counts (XLSX or CSV): every problem is listed and none is recorded unless all pass."""
        content = await data.file.read()
        return await uploads.import_counts(
            actor=request.user,
            campaign_id=campaign_id,
            data=content,
            filename=data.file.filename or "counts.xlsx",
        )

    @get(
        "/{campaign_id:uuid}/report",
        operation_id="asset_campaign_report",
        guards=[requires(Permission.ledger_read)],
    )
    async def report(self, request: Reader, campaign_id: CampaignId) -> CampaignReport:
        """Matched, 盘盈 and 盘亏 with values, as of the campaign's date."""
        return await inventory.campaign_report(actor=request.user, campaign_id=campaign_id)

    @post(
        "/{campaign_id:uuid}/close",
        operation_id="close_asset_campaign",
        guards=[requires(Permission.ledger_approve)],
    )
    async def close(
        self, request: Reader, campaign_id: CampaignId, idempotency_key: IdempotencyKey = None
    ) -> Response[CampaignReport]:
        """Post the 盘盈 and 盘亏 adjustments and lock the campaign."""
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route=f"assets.campaigns.{campaign_id}.close",
            payload={},
            work=lambda: inventory.close_campaign(actor=request.user, campaign_id=campaign_id),
            status_code=200,
            required=True,
        )


@get(
    "/api/v1/ledger/assets/effective",
    operation_id="effective_assets",
    tags=["assets"],
    guards=[requires(Permission.ledger_read)],
)
async def effective_assets(
    request: Reader,
    as_of: Annotated[date | None, QueryParameter(description="Default today")] = None,
    node: Annotated[
        str | None,
        QueryParameter(
            description="Only this node: `group`, `platform:<id>`, `segment:<code>`, `entity:<id>`",
            max_length=60,
        ),
    ] = None,
) -> list[EffectiveRow]:
    """The effective asset ratio (有效资产比重) and operating share per entity and node, as of a date."""
    return await effective.effective_assets(actor=request.user, as_of=as_of or today(), node=node)


ASSET_CONTROLLERS = [
    CardController,
    holder_flows,
    TransferController,
    run_depreciation,
    CampaignController,
    effective_assets,
]
