"""Ledger routes: thin — parse, authorise, call the service, shape the answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import (
    HeaderParameter,
    JSONBody,
    MultipartBody,
    PathParameter,
    QueryParameter,
)

from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.http import XLSX_MEDIA_TYPE, xlsx_download
from stateasset.core.idempotency import Answer, run_once
from stateasset.core.schemas import MAX_PAGE, Page
from stateasset.ledger import consolidation, service
from stateasset.ledger.catalogue import ITEMS, TOTALS
from stateasset.ledger.closing import intercompany, periods, statements, uploads
from stateasset.ledger.schemas import (
    PERIOD_PATTERN,
    CatalogueItem,
    ConsolidationMode,
    ConsolidationRead,
    ControlOverrideCreate,
    ControlOverrideRead,
    EliminationDetail,
    EntityCreate,
    EntityKind,
    EntityRead,
    EntityStatus,
    EntityUpdate,
    Hierarchy,
    ImportReport,
    IntercompanyLineRead,
    IntercompanySubmit,
    Mismatch,
    OwnershipView,
    PeriodAction,
    PeriodStateRead,
    Segment,
    StakeCreate,
    StakeEnd,
    StakeRead,
    StatementRead,
    StatementSubmit,
    TreeNode,
)

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        description="A client-chosen key; a retry with the same key and body is answered, not re-run",
    ),
]
Limit = Annotated[
    int, QueryParameter(ge=1, le=MAX_PAGE, description=f"Rows per page, at most {MAX_PAGE}")
]
Offset = Annotated[int, QueryParameter(ge=0, description="Rows to skip before the page starts")]
Reader = Request[Actor, Any, Any]

EXAMPLE_ID = "0b0e7a52-4c4a-4d7e-9f3e-6a1d2c3b4a59"
PERIOD = "The reporting period (报告期): a month `2025-09`, a quarter `2025-Q3` or a year `2025`"
PERIOD_EXAMPLES = [Example(summary="a quarter", value="2025-Q3")]
QueryPeriod = Annotated[
    str, QueryParameter(pattern=PERIOD_PATTERN, description=PERIOD, examples=PERIOD_EXAMPLES)
]
PathPeriod = Annotated[
    str, PathParameter(pattern=PERIOD_PATTERN, description=PERIOD, examples=PERIOD_EXAMPLES)
]
EntityId = Annotated[UUID, PathParameter(description="The entity's id")]
AsOf = Annotated[
    date | None,
    QueryParameter(
        description="The date the stakes are read at (valid on that day); default today"
    ),
]
EntityOfLines = Annotated[
    UUID | None,
    QueryParameter(
        description="Only pairs with this entity on either side; default every entity in your scope"
    ),
]

_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
NODE_PATTERN = (
    f"^(group|entity:{_UUID}|platform:{_UUID}|segment:({'|'.join(s.value for s in Segment)}))$"
)
Node = Annotated[
    str,
    QueryParameter(
        pattern=NODE_PATTERN,
        description="What to consolidate: `group` (the whole group, 集团), `entity:<id>` (an entity "
        "and everything it controls), `platform:<id>` (a platform company of the 五大投 and its "
        "members) or `segment:<code>` (a business segment, 业务板块: "
        + ", ".join(s.value for s in Segment)
        + ")",
        examples=[
            Example(summary="the whole group", value="group"),
            Example(summary="an entity and what it controls", value=f"entity:{EXAMPLE_ID}"),
            Example(summary="a platform company (五大投)", value=f"platform:{EXAMPLE_ID}"),
            Example(summary="a business segment (业务板块)", value="segment:urban_construction"),
        ],
    ),
]
Eliminations = Annotated[
    EliminationDetail,
    QueryParameter(
        description="`summary` (default: the eliminations summed by kind) or `all` (every "
        "elimination by pair, which at county-group scale runs to tens of thousands of rows)"
    ),
]
Mode = Annotated[
    ConsolidationMode,
    QueryParameter(
        description="`consolidated` (合并: controlled members, eliminations, minority interest) or "
        "`aggregated` (汇总: the plain sum of the members' items)"
    ),
]


@dataclass
class StatementUpload:
    """The multipart form of an upload: one file field named `file` (.xlsx or .csv)."""

    file: UploadFile


@get(
    "/api/v1/ledger/items",
    operation_id="statement_items",
    tags=["ledger"],
    guards=[requires(Permission.ledger_read)],
    sync_to_thread=False,
)
def statement_items() -> list[CatalogueItem]:
    """The statement item catalogue (财务快报项目) with Chinese labels and which totals sum what."""
    return [
        CatalogueItem(
            code=i.code,
            label=i.label,
            section=i.section,
            non_negative=i.non_negative,
            flow=i.flow,
            parts=list(TOTALS.get(i.code, ())),
        )
        for i in ITEMS
    ]


class EntityController(Controller):
    path = "/api/v1/ledger/entities"
    tags = ["ledger"]

    @get("/", operation_id="list_entities", guards=[requires(Permission.ledger_read)])
    async def list_entities(
        self,
        request: Reader,
        kind: Annotated[EntityKind | None, QueryParameter(description="Only this kind")] = None,
        platform_id: Annotated[
            UUID | None, QueryParameter(description="Only the members of this platform (五大投)")
        ] = None,
        segment: Annotated[
            Segment | None, QueryParameter(description="Only this business segment (业务板块)")
        ] = None,
        status: Annotated[
            EntityStatus | None, QueryParameter(description="Only this status")
        ] = None,
        second_level: Annotated[
            bool | None,
            QueryParameter(
                description="Only second-level companies (二级公司), or only the others"
            ),
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                description="Part of the name or short name, or a whole credit code",
                max_length=200,
                pattern=r"^[^\x00]*$",  # PostgreSQL text cannot hold NUL
            ),
        ] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[EntityRead]:
        """Entities in your scope, filtered and paged, by name."""
        return await service.list_entities(
            actor=request.user,
            kind=kind,
            platform_id=platform_id,
            segment=segment,
            status=status,
            second_level=second_level,
            search=q,
            limit=limit,
            offset=offset,
        )

    @post("/", operation_id="create_entity", guards=[requires(Permission.ledger_approve)])
    async def create_entity(self, request: Reader, data: JSONBody[EntityCreate]) -> EntityRead:
        """Register an entity (主体) by its unified social credit code."""
        return await service.create_entity(actor=request.user, data=data)

    @get("/tree", operation_id="entity_tree", guards=[requires(Permission.ledger_read)])
    async def tree(
        self,
        request: Reader,
        hierarchy: Annotated[
            Hierarchy,
            QueryParameter(
                description="`legal` (by control, from the stakes), `platform` (五大投) or "
                "`segment` (业务板块)"
            ),
        ] = Hierarchy.legal,
        as_of: AsOf = None,
    ) -> list[TreeNode]:
        """The legal, platform (五大投) or segment (业务板块) hierarchy."""
        return await service.entity_tree(
            actor=request.user, hierarchy=hierarchy, as_of=as_of or date.today()
        )

    @get("/{entity_id:uuid}", operation_id="get_entity", guards=[requires(Permission.ledger_read)])
    async def get_entity(self, request: Reader, entity_id: EntityId) -> EntityRead:
        """One entity."""
        return await service.get_entity(actor=request.user, entity_id=entity_id)

    @patch(
        "/{entity_id:uuid}",
        operation_id="update_entity",
        guards=[requires(Permission.ledger_approve)],
    )
    async def update_entity(
        self, request: Reader, entity_id: EntityId, data: JSONBody[EntityUpdate]
    ) -> EntityRead:
        """Change an entity's names, platform, segment or status."""
        return await service.update_entity(actor=request.user, entity_id=entity_id, data=data)

    @get(
        "/{entity_id:uuid}/ownership",
        operation_id="entity_ownership",
        guards=[requires(Permission.ledger_read)],
    )
    async def ownership(
        self, request: Reader, entity_id: EntityId, as_of: AsOf = None
    ) -> OwnershipView:
        """Effective interest (穿透持股比例), control and method of everything this entity reaches."""
        return await service.ownership_view(
            actor=request.user, root_id=entity_id, as_of=as_of or date.today()
        )

    @get(
        "/{entity_id:uuid}/stakes",
        operation_id="entity_stakes",
        guards=[requires(Permission.ledger_read)],
    )
    async def stakes(
        self,
        request: Reader,
        entity_id: EntityId,
        as_of: Annotated[
            date | None,
            QueryParameter(description="Only the stakes valid on this date; default all history"),
        ] = None,
    ) -> list[StakeRead]:
        """Stakes held by or in this entity (all history, or those valid at `as_of`)."""
        return await service.list_stakes(actor=request.user, entity_id=entity_id, as_of=as_of)


class StakeController(Controller):
    path = "/api/v1/ledger"
    tags = ["ledger"]
    guards = [requires(Permission.ledger_approve)]

    @post("/stakes", operation_id="create_stake")
    async def create_stake(self, request: Reader, data: JSONBody[StakeCreate]) -> StakeRead:
        """Record a dated stake; totals held in an entity may not pass 100%."""
        return await service.create_stake(actor=request.user, data=data)

    @post("/stakes/{stake_id:uuid}/end", operation_id="end_stake", status_code=200)
    async def end_stake(
        self,
        request: Reader,
        stake_id: Annotated[UUID, PathParameter(description="The stake's id")],
        data: JSONBody[StakeEnd],
    ) -> StakeRead:
        """End a stake at a date; history stays."""
        return await service.end_stake(
            actor=request.user, stake_id=stake_id, valid_to=data.valid_to
        )

    @post("/control-overrides", operation_id="create_control_override")
    async def create_override(
        self, request: Reader, data: JSONBody[ControlOverrideCreate]
    ) -> ControlOverrideRead:
        """Record that an entity is (or is not) controlled whatever the votes say, with a reason."""
        return await service.create_control_override(actor=request.user, data=data)


class StatementController(Controller):
    path = "/api/v1/ledger/statements"
    tags = ["ledger"]

    @post(
        "/",
        operation_id="submit_statement",
        guards=[requires(Permission.ledger_write)],
        responses={
            200: ResponseSpec(
                StatementRead,
                description="Identical to the latest version: that version, nothing added",
            )
        },
    )
    async def submit(
        self,
        request: Reader,
        data: JSONBody[StatementSubmit],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[StatementRead]:
        """Store the next version of an entity's 财务快报; errors block, warnings are returned.

        201 with the new version; 200 with the latest version when it is identical (nothing added).
        """

        async def work() -> Answer:
            read, added = await statements.file_statement(actor=request.user, data=data)
            return Answer(read, 201 if added else 200)

        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route="statements.submit",
            payload=data,
            work=work,
        )

    @post("/import", operation_id="import_statements", guards=[requires(Permission.ledger_write)])
    async def import_file(
        self,
        request: Reader,
        data: MultipartBody[StatementUpload],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ImportReport]:
        """Upload XLSX_MEDIA_TYPE or CSV statements: every error is listed and nothing is stored unless all pass."""
        content = await data.file.read()
        filename = data.file.filename or "upload.xlsx"
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route="statements.import",
            payload={"filename": filename, "content": content},
            work=lambda: uploads.import_statements(
                actor=request.user, data=content, filename=filename
            ),
        )

    @get(
        "/template",
        operation_id="statement_template",
        guards=[requires(Permission.ledger_statements)],
        media_type=XLSX_MEDIA_TYPE,
    )
    async def template(self, request: Reader, period: QueryPeriod) -> Response[bytes]:
        """The XLSX_MEDIA_TYPE template for a period: one sheet per entity in your scope, Chinese labels."""
        content = await uploads.statement_template(actor=request.user, period=period)
        return xlsx_download(content, f"statement-template-{period}.xlsx")

    @get(
        "/{entity_id:uuid}/{period:str}",
        operation_id="get_statement",
        guards=[requires(Permission.ledger_statements)],
    )
    async def get_statement(
        self,
        request: Reader,
        entity_id: EntityId,
        period: PathPeriod,
        version: Annotated[
            int | None, QueryParameter(ge=1, description="A stored version; default the latest")
        ] = None,
    ) -> StatementRead:
        """A statement version (the latest by default) with its validation findings."""
        return await statements.get_statement(
            actor=request.user, entity_id=entity_id, period=period, version=version
        )


class IntercompanyController(Controller):
    path = "/api/v1/ledger/intercompany"
    tags = ["ledger"]

    @post("/", operation_id="put_intercompany", guards=[requires(Permission.ledger_write)])
    async def put(
        self,
        request: Reader,
        data: JSONBody[IntercompanySubmit],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[list[IntercompanyLineRead]]:
        """Replace an entity's intercompany lines (内部往来) for a period."""
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route="intercompany.put",
            payload=data,
            work=lambda: intercompany.put_intercompany(actor=request.user, data=data),
        )

    @get("/", operation_id="list_intercompany", guards=[requires(Permission.ledger_statements)])
    async def list_lines(
        self, request: Reader, period: QueryPeriod, entity_id: EntityOfLines = None
    ) -> list[IntercompanyLineRead]:
        """Intercompany lines of a period, for one entity (either side) or all in scope."""
        return await intercompany.list_intercompany(
            actor=request.user, period=period, entity_id=entity_id
        )

    @get(
        "/mismatches",
        operation_id="intercompany_mismatches",
        guards=[requires(Permission.ledger_statements)],
    )
    async def mismatches(
        self, request: Reader, period: QueryPeriod, entity_id: EntityOfLines = None
    ) -> list[Mismatch]:
        """Pairs whose two sides disagree beyond the tolerance; they block locking."""
        return await intercompany.mismatches(actor=request.user, period=period, entity_id=entity_id)


class PeriodTransitionRequest(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True
):
    action: PeriodAction
    entity_ids: list[UUID] | None = None  # None: every entity in your scope
    reason: Annotated[str, msgspec.Meta(min_length=4, max_length=1000)] | None = None


class PeriodController(Controller):
    path = "/api/v1/ledger/periods"
    tags = ["ledger"]

    @get(
        "/{period:str}",
        operation_id="period_board",
        guards=[requires(Permission.ledger_statements)],
    )
    async def board(self, request: Reader, period: PathPeriod) -> list[PeriodStateRead]:
        """The period board: each entity's state (open, submitted, validated, locked)."""
        return await periods.period_board(actor=request.user, period=period)

    @post(
        "/{period:str}/transitions",
        operation_id="transition_periods",
        status_code=200,
        guards=[requires(Permission.ledger_write)],
    )
    async def transition(
        self, request: Reader, period: PathPeriod, data: JSONBody[PeriodTransitionRequest]
    ) -> list[PeriodStateRead]:
        """Submit, validate, lock or (admin, with a reason) reopen: all entities or none."""
        return await periods.transition_periods(
            actor=request.user,
            period=period,
            action=data.action,
            entity_ids=data.entity_ids,
            reason=data.reason,
        )


class ConsolidationController(Controller):
    path = "/api/v1/ledger/consolidation"
    tags = ["ledger"]
    guards = [requires(Permission.ledger_statements)]

    @get("/", operation_id="consolidation")
    async def consolidation(
        self,
        request: Reader,
        period: QueryPeriod,
        node: Node = "group",
        mode: Mode = ConsolidationMode.consolidated,
        eliminations: Eliminations = EliminationDetail.summary,
    ) -> Response[ConsolidationRead]:
        """The consolidated (合并) or aggregated (汇总) statement of a node for a period.

        A node is the whole group, an entity with what it controls, a platform company (五大投)
        with its members, or a business segment (业务板块). The report lists its members, the
        statement versions it used, the eliminations (summed by kind, or every one with
        `eliminations=all`), the minority interest per member, stakes between members with no
        investment line, and whether it was read back stored (every reporting member locked)
        or computed.
        """
        body = await consolidation.consolidation_body(
            actor=request.user, node=node, period=period, mode=mode, detail=eliminations
        )
        return Response(body, media_type=MediaType.JSON)  # type: ignore[arg-type]

    @get("/xlsx", operation_id="consolidation_xlsx", media_type=XLSX_MEDIA_TYPE)
    async def consolidation_xlsx(
        self,
        request: Reader,
        period: QueryPeriod,
        node: Node = "group",
        mode: Mode = ConsolidationMode.consolidated,
    ) -> Response[bytes]:
        """The same report as an Excel workbook with Chinese labels, every elimination listed."""
        report = await consolidation.consolidation(
            actor=request.user,
            node=node,
            period=period,
            mode=mode,
            detail=EliminationDetail.all,
        )
        content = consolidation.consolidation_workbook(report, await service.entity_names())
        return xlsx_download(content, f"consolidation-{period}.xlsx")


LEDGER_CONTROLLERS = [
    statement_items,
    EntityController,
    StakeController,
    StatementController,
    IntercompanyController,
    PeriodController,
    ConsolidationController,
]
