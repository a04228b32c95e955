"""Fund routes under /api/v1/funds: thin — parse, authorise, call the service."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, MultipartBody, PathParameter, QueryParameter

from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today
from stateasset.core.idempotency import run_once
from stateasset.funds import capital, checks, lookthrough, performance, portfolio, service
from stateasset.funds.metric_controllers import StoredMetricsController
from stateasset.funds.schemas import (
    CallCreate,
    CallSettle,
    CapitalImportReport,
    CheckRow,
    CommitmentCreate,
    CommitmentRead,
    DistributionCreate,
    ExitCreate,
    FlowRead,
    FundCreate,
    FundNode,
    FundRead,
    GpCreate,
    GpRead,
    IndexUpload,
    InvestmentCreate,
    InvestmentRead,
    JCurvePoint,
    LookThrough,
    Metrics,
    MotherMetrics,
    NavCreate,
    NavRead,
    PositionRead,
    ValuationCreate,
)
from stateasset.ledger.controllers import IdempotencyKey, StatementUpload

Reader = Request[Actor, Any, Any]
FundId = Annotated[UUID, PathParameter(description="The fund's id (its entity's id)")]
FlowId = Annotated[UUID, PathParameter(description="The call's id")]
InvestmentId = Annotated[UUID, PathParameter(description="The investment's id")]
AsOf = Annotated[
    date | None,
    QueryParameter(description="The date measured at (flows on it count); default today"),
]
READ = [requires(Permission.funds_read)]
WRITE = [requires(Permission.funds_write)]


class GpController(Controller):
    path = "/api/v1/funds/gps"
    tags = ["funds"]

    @get("/", operation_id="list_fund_gps", guards=READ)
    async def list_gps(self) -> list[GpRead]:
        """Every GP (普通合伙人/管理人) with its kind and registration code."""
        return await service.list_gps()

    @post("/", operation_id="create_fund_gp", guards=WRITE)
    async def create(self, request: Reader, data: JSONBody[GpCreate]) -> GpRead:
        """Make a registered entity a GP; its code is P and 7 digits (私募基金管理人登记编号)."""
        return await service.create_gp(actor=request.user, data=data)


class FundController(Controller):
    path = "/api/v1/funds"
    tags = ["funds"]

    @get("/", operation_id="list_funds", guards=READ)
    async def list_funds(self, request: Reader) -> list[FundRead]:
        """The funds in your scope with their GPs and terms, the mother fund first."""
        return await service.list_funds(actor=request.user)

    @post("/", operation_id="create_fund", guards=WRITE)
    async def create(self, request: Reader, data: JSONBody[FundCreate]) -> FundRead:
        """Register a fund of the tree; a cooperative fund with a government GP is refused (422)."""
        return await service.create_fund(actor=request.user, data=data)

    @get("/tree", operation_id="fund_tree", guards=READ)
    async def tree(self, request: Reader) -> list[FundNode]:
        """The fund tree (母基金 → 子基金) within your scope."""
        return await service.fund_tree(actor=request.user)

    @get("/metrics", operation_id="fund_metrics", guards=READ)
    async def metrics(
        self,
        request: Reader,
        as_of: AsOf = None,
        index: Annotated[
            str | None,
            QueryParameter(description="An uploaded index series for KS-PME", max_length=50),
        ] = None,
    ) -> list[Metrics]:
        """Paid-in, unfunded, PICC, DPI, RVPI, TVPI, IRR (and KS-PME) of every fund in scope."""
        return await performance.fund_metrics(
            actor=request.user, as_of=as_of or today(), index=index
        )

    @get("/checks", operation_id="fund_checks", guards=READ)
    async def checks(self, request: Reader, as_of: AsOf = None) -> list[CheckRow]:
        """Flagged sub-funds: over the government cap, behind on 返投, a call overdue, slow deployment."""
        return await checks.checks(actor=request.user, as_of=as_of or today())

    @post("/index-series", operation_id="upload_fund_index", guards=WRITE, status_code=200)
    async def upload_index(self, request: Reader, data: JSONBody[IndexUpload]) -> dict[str, int]:
        """Upload an index series for KS-PME (a day already stored takes the new value)."""
        return {"points": await performance.upload_index(actor=request.user, data=data)}

    @get("/{fund_id:uuid}", operation_id="get_fund", guards=READ)
    async def get_fund(self, request: Reader, fund_id: FundId) -> FundRead:
        """A fund with its GPs (and their roles) and terms."""
        return await service.get_fund(actor=request.user, fund_id=fund_id)

    @get("/{fund_id:uuid}/commitments", operation_id="list_fund_commitments", guards=READ)
    async def list_commitments(self, request: Reader, fund_id: FundId) -> list[CommitmentRead]:
        """The fund's LP commitments (认缴)."""
        return await capital.list_commitments(actor=request.user, fund_id=fund_id)

    @post("/{fund_id:uuid}/commitments", operation_id="create_fund_commitment", guards=WRITE)
    async def create_commitment(
        self, request: Reader, fund_id: FundId, data: JSONBody[CommitmentCreate]
    ) -> CommitmentRead:
        """An LP's commitment to the fund."""
        return await capital.create_commitment(actor=request.user, fund_id=fund_id, data=data)

    @get("/{fund_id:uuid}/positions", operation_id="fund_capital_account", guards=READ)
    async def positions(
        self, request: Reader, fund_id: FundId, as_of: AsOf = None
    ) -> list[PositionRead]:
        """The capital account (出资台账) by LP: commitment, called, paid-in, unfunded, distributed."""
        return await capital.positions(actor=request.user, fund_id=fund_id, as_of=as_of)

    @get("/{fund_id:uuid}/flows", operation_id="list_fund_flows", guards=READ)
    async def flows(self, request: Reader, fund_id: FundId) -> list[FlowRead]:
        """Every call and distribution of the fund, by date."""
        return await capital.list_flows(actor=request.user, fund_id=fund_id)

    @post("/{fund_id:uuid}/calls", operation_id="create_fund_call", guards=WRITE)
    async def create_call(
        self,
        request: Reader,
        fund_id: FundId,
        data: JSONBody[CallCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[FlowRead]:
        """A capital call on one LP; needs an Idempotency-Key; above its unfunded amount is 422."""
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route=f"funds.{fund_id}.calls",
            payload=data,
            work=lambda: capital.create_call(actor=request.user, fund_id=fund_id, data=data),
            required=True,
        )

    @post(
        "/{fund_id:uuid}/calls/{flow_id:uuid}/settle",
        operation_id="settle_fund_call",
        guards=WRITE,
        status_code=200,
    )
    async def settle_call(
        self, request: Reader, fund_id: FundId, flow_id: FlowId, data: JSONBody[CallSettle]
    ) -> FlowRead:
        """Record the date a call was paid (once): it counts as paid-in from then."""
        return await capital.settle_call(
            actor=request.user, fund_id=fund_id, flow_id=flow_id, paid_on=data.paid_on
        )

    @post("/{fund_id:uuid}/distributions", operation_id="create_fund_distribution", guards=WRITE)
    async def create_distribution(
        self,
        request: Reader,
        fund_id: FundId,
        data: JSONBody[DistributionCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[FlowRead]:
        """A distribution to one LP; needs an Idempotency-Key."""
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route=f"funds.{fund_id}.distributions",
            payload=data,
            work=lambda: capital.create_distribution(
                actor=request.user, fund_id=fund_id, data=data
            ),
            required=True,
        )

    @post("/{fund_id:uuid}/capital/import", operation_id="import_fund_capital", guards=WRITE)
    async def import_capital(
        self,
        request: Reader,
        fund_id: FundId,
        data: MultipartBody[StatementUpload],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CapitalImportReport]:
        """Upload a capital account (XLSX or CSV): every problem by row and column, all or nothing."""
        content = await data.file.read()
        filename = data.file.filename or "capital.xlsx"
        return await run_once(
            key=idempotency_key,
            actor=request.user.username,
            route=f"funds.{fund_id}.capital.import",
            payload={"filename": filename, "content": content},
            work=lambda: capital.import_capital(
                actor=request.user, fund_id=fund_id, data=content, filename=filename
            ),
            required=True,
        )

    @get("/{fund_id:uuid}/navs", operation_id="list_fund_navs", guards=READ)
    async def list_navs(self, request: Reader, fund_id: FundId) -> list[NavRead]:
        """The fund's quarterly NAV statements (估值) with their roll-forward."""
        return await capital.list_navs(actor=request.user, fund_id=fund_id)

    @post("/{fund_id:uuid}/navs", operation_id="create_fund_nav", guards=WRITE)
    async def create_nav(
        self, request: Reader, fund_id: FundId, data: JSONBody[NavCreate]
    ) -> NavRead:
        """A quarter's NAV; 422 with the difference when it does not roll forward."""
        return await capital.create_nav(actor=request.user, fund_id=fund_id, data=data)

    @get("/{fund_id:uuid}/investments", operation_id="list_fund_investments", guards=READ)
    async def list_investments(
        self, request: Reader, fund_id: FundId, as_of: AsOf = None
    ) -> list[InvestmentRead]:
        """The fund's portfolio with each position's latest valuation and exit."""
        return await portfolio.list_investments(actor=request.user, fund_id=fund_id, as_of=as_of)

    @post("/{fund_id:uuid}/investments", operation_id="create_fund_investment", guards=WRITE)
    async def create_investment(
        self, request: Reader, fund_id: FundId, data: JSONBody[InvestmentCreate]
    ) -> InvestmentRead:
        """Record an investment in a registered company."""
        return await portfolio.create_investment(actor=request.user, fund_id=fund_id, data=data)

    @post(
        "/{fund_id:uuid}/investments/{investment_id:uuid}/valuations",
        operation_id="value_fund_investment",
        guards=WRITE,
    )
    async def add_valuation(
        self,
        request: Reader,
        fund_id: FundId,
        investment_id: InvestmentId,
        data: JSONBody[ValuationCreate],
    ) -> InvestmentRead:
        """A dated valuation of a position."""
        return await portfolio.add_valuation(
            actor=request.user, fund_id=fund_id, investment_id=investment_id, data=data
        )

    @post(
        "/{fund_id:uuid}/investments/{investment_id:uuid}/exit",
        operation_id="exit_fund_investment",
        guards=WRITE,
        status_code=200,
    )
    async def record_exit(
        self,
        request: Reader,
        fund_id: FundId,
        investment_id: InvestmentId,
        data: JSONBody[ExitCreate],
    ) -> InvestmentRead:
        """The position's exit (退出) with its proceeds."""
        return await portfolio.record_exit(
            actor=request.user, fund_id=fund_id, investment_id=investment_id, data=data
        )

    @get("/{fund_id:uuid}/metrics/positions", operation_id="fund_position_metrics", guards=READ)
    async def position_metrics(
        self, request: Reader, fund_id: FundId, as_of: AsOf = None
    ) -> list[Metrics]:
        """Each LP position's metrics in the fund as of a date."""
        return await performance.position_metrics(
            actor=request.user, fund_id=fund_id, as_of=as_of or today()
        )

    @get("/{fund_id:uuid}/mother", operation_id="mother_fund_metrics", guards=READ)
    async def mother(self, request: Reader, fund_id: FundId, as_of: AsOf = None) -> MotherMetrics:
        """The mother fund across its sub-funds: metrics, leverage (放大倍数), 返投 per sub-fund."""
        return await performance.mother_metrics(
            actor=request.user, fund_id=fund_id, as_of=as_of or today()
        )

    @get("/{fund_id:uuid}/j-curve", operation_id="fund_j_curve", guards=READ)
    async def j_curve(self, request: Reader, fund_id: FundId) -> list[JCurvePoint]:
        """Cumulative net cash flow to the fund's LPs by quarter, with the NAV where stated."""
        return await performance.j_curve(actor=request.user, fund_id=fund_id)

    @get("/{fund_id:uuid}/look-through", operation_id="fund_look_through", guards=READ)
    async def look_through(
        self, request: Reader, fund_id: FundId, as_of: AsOf = None
    ) -> LookThrough:
        """Look-through (穿透): exposure to each company over every path, by industry, locality, stage."""
        return await lookthrough.look_through(
            actor=request.user, fund_id=fund_id, as_of=as_of or today()
        )


FUND_CONTROLLERS = [GpController, FundController, StoredMetricsController]
