"""KPI routes under /api/v1/kpi: thin — parse, authorise, call the service."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter

from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.http import xlsx_download
from stateasset.kpi import service
from stateasset.kpi.ratio_controllers import RatioController
from stateasset.kpi.schemas import (
    ContractCreate,
    ContractRead,
    MacroPointCreate,
    MacroPointRead,
    PeerStandardCreate,
    PeerStandardRead,
    RankingRow,
    Scorecard,
    TenureScorecard,
    Transition,
)
from stateasset.kpi.score_controllers import StoredScoreController

Reader = Request[Actor, Any, Any]
ContractId = Annotated[UUID, PathParameter(description="The contract version's id")]
ScoreYear = Annotated[int, QueryParameter(ge=2000, le=2100, description="The year scored")]
READ = [requires(Permission.kpi_read)]
WRITE = [requires(Permission.kpi_write)]


class ContractController(Controller):
    path = "/api/v1/kpi/contracts"
    tags = ["kpi"]

    @get("/", operation_id="list_kpi_contracts", guards=READ)
    async def list_contracts(self, request: Reader) -> list[ContractRead]:
        """Every contract version in your scope (经营业绩责任书), old versions included."""
        return await service.list_contracts(actor=request.user)

    @post("/", operation_id="create_kpi_contract", guards=WRITE)
    async def create(self, request: Reader, data: JSONBody[ContractCreate]) -> ContractRead:
        """A new contract as a draft: weights sum to 100, each method with its parameters."""
        return await service.create_contract(actor=request.user, data=data)

    @get("/{contract_id:uuid}", operation_id="get_kpi_contract", guards=READ)
    async def get_one(self, request: Reader, contract_id: ContractId) -> ContractRead:
        """One contract version with its terms."""
        return await service.get_contract(actor=request.user, contract_id=contract_id)

    @put("/{contract_id:uuid}", operation_id="update_kpi_contract", guards=WRITE)
    async def update(
        self, request: Reader, contract_id: ContractId, data: JSONBody[ContractCreate]
    ) -> ContractRead:
        """Replace a draft's terms; a signed contract answers 409 (make a new version)."""
        return await service.update_contract(actor=request.user, contract_id=contract_id, data=data)

    @post("/{contract_id:uuid}/versions", operation_id="version_kpi_contract", guards=WRITE)
    async def version(
        self, request: Reader, contract_id: ContractId, data: JSONBody[ContractCreate]
    ) -> ContractRead:
        """A new draft version of a signed contract; the signed one stays readable as it was."""
        return await service.new_version(actor=request.user, contract_id=contract_id, data=data)

    @post(
        "/{contract_id:uuid}/transitions",
        operation_id="transition_kpi_contract",
        guards=WRITE,
        status_code=200,
    )
    async def transition(
        self, request: Reader, contract_id: ContractId, data: JSONBody[Transition]
    ) -> ContractRead:
        """Move a contract on: draft → signed → active → closed; activating closes the old version."""
        return await service.transition(actor=request.user, contract_id=contract_id, to=data.to)

    @get("/{contract_id:uuid}/scorecard", operation_id="get_kpi_scorecard", guards=READ)
    async def scorecard(
        self, request: Reader, contract_id: ContractId, year: ScoreYear
    ) -> Scorecard:
        """A year's scorecard: each indicator's actual, target, benchmarks, score and arithmetic."""
        return await service.scorecard(actor=request.user, contract_id=contract_id, year=year)

    @get("/{contract_id:uuid}/tenure", operation_id="get_kpi_tenure_scorecard", guards=READ)
    async def tenure(self, request: Reader, contract_id: ContractId) -> TenureScorecard:
        """The tenure scorecard (任期考核) of a contract, year by year.

        Each year's total, rank, grade, pay and review, each indicator by year, and the tenure
        total (the mean of the scored years); unscored years with the reason."""
        return await service.tenure_scorecard(actor=request.user, contract_id=contract_id)


class BenchmarkController(Controller):
    path = "/api/v1/kpi"
    tags = ["kpi"]

    @get("/peer-standards", operation_id="list_kpi_peer_standards", guards=READ)
    async def list_peer_standards(self) -> list[PeerStandardRead]:
        """Peer standard values (企业绩效评价标准值): five tiers per industry, indicator and year."""
        return await service.list_peer_standards()

    @post("/peer-standards", operation_id="create_kpi_peer_standard", guards=WRITE)
    async def add_peer_standard(
        self, request: Reader, data: JSONBody[PeerStandardCreate]
    ) -> PeerStandardRead:
        """Enter one industry's standard values for an indicator and year, with their source."""
        return await service.add_peer_standard(actor=request.user, data=data)

    @get("/macro", operation_id="list_kpi_macro_points", guards=READ)
    async def list_macro(self) -> list[MacroPointRead]:
        """Macro series by year (e.g. gdp_growth, %)."""
        return await service.list_macro_points()

    @post("/macro", operation_id="create_kpi_macro_point", guards=WRITE)
    async def add_macro(self, request: Reader, data: JSONBody[MacroPointCreate]) -> MacroPointRead:
        """Enter one year of a macro series with its source."""
        return await service.add_macro_point(actor=request.user, data=data)

    @get("/scorecards", operation_id="list_kpi_scorecards", guards=READ)
    async def ranking(self, request: Reader, year: ScoreYear) -> list[RankingRow]:
        """The ranking of second-level companies for a year: total, grade, pay, review flag."""
        return await service.ranking(actor=request.user, year=year)

    @get("/scorecards.xlsx", operation_id="export_kpi_scorecards", guards=READ)
    async def ranking_xlsx(self, request: Reader, year: ScoreYear) -> Response[bytes]:
        """The ranking as XLSX with Chinese column labels."""
        rows = await service.ranking(actor=request.user, year=year)
        return xlsx_download(service.ranking_workbook(rows, year), f"{year}年经营业绩考核排名.xlsx")


KPI_CONTROLLERS = [ContractController, BenchmarkController, RatioController, StoredScoreController]
