"""业绩合同: group finance's contract editor — the list of contract versions, a draft's form, and
the moves of a contract (签订, 生效, 结束, 新版本).

Every write calls the KPI service the API calls (`create_contract`, `update_contract`,
`new_version`, `transition`) under the API's `kpi:write`, so the form is refused for exactly the
API's reasons: the problem's field (`body.indicators[1].parameters.tiers`) puts its reason beside
that input, and nothing is written. Indicators, targets and bonus/deduction items are repeatable
rows; blank rows are left out, so the n-th row sent is the API's `[n]`. An indicator's history,
peer values and entered actuals are not edited here: they travel with the row unchanged (a hidden
JSON field, decoded by the same schema), so saving the form never drops them.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import polars as pl
from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect, Template

from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today
from stateasset.core.errors import DomainError, FieldProblem, Invalid, NotFound
from stateasset.core.http import xlsx_download
from stateasset.kpi import service
from stateasset.kpi.compute import RATIO_NAMES
from stateasset.kpi.schemas import (
    METHOD_LABELS,
    NEXT_STATE,
    ContractCreate,
    ContractRead,
    ContractState,
    Transition,
)
from stateasset.ledger import service as ledger_service
from stateasset.web.forms import decode
from stateasset.web.shell import PageController, is_htmx, page
from stateasset.web.table import Column, Table

Reader = Request[Actor, Any, Any]

CONTRACTS = Table(
    "kpi-contracts",
    [
        Column("company_name", "公司", "link", link="/kpi/contracts/{id}/edit"),
        Column("name", "合同名称"),
        Column("state_label", "状态", choices=True),
        Column("version", "版本"),
        Column("tenure", "任期"),
        Column("managers", "经营者"),
        Column("created_by", "创建人"),
    ],
    search=("company_name", "name", "managers"),
    default_sort="company_name",
)
_CONTRACTS_SCHEMA = {
    "id": pl.String,
    "company_name": pl.String,
    "name": pl.String,
    "state_label": pl.String,
    "version": pl.Int64,
    "tenure": pl.String,
    "managers": pl.String,
}
MOVE_LABELS = {
    ContractState.signed: "签订",
    ContractState.active: "生效执行",
    ContractState.closed: "结束",
}
DIRECTION_LABELS = {"higher": "越高越好", "lower": "越低越好"}
KIND_LABELS = {"bonus": "加分", "deduction": "扣分"}
CHOICES = {
    "methods": {m.value: label for m, label in METHOD_LABELS.items()},
    "directions": DIRECTION_LABELS,
    "kinds": KIND_LABELS,
}
# Source suggestions: the §6 ratios, the common items, and values entered with evidence.
SOURCES = [
    *RATIO_NAMES.items(),
    ("net_profit", "净利润"),
    ("revenue", "营业收入"),
    ("entered", "录入（附依据）"),
]

IND_FIELDS = (
    "code",
    "name",
    "weight",
    "direction",
    "method",
    "source",
    "main",
    "tiers",
    "use_peer_standard",
    "macro_series",
    "offsets",
    "step_pct",
    "extra",
)
TGT_FIELDS = ("indicator", "year", "value", "basis")
ADJ_FIELDS = ("year", "kind", "points", "reason")
GROUPS = {"indicators": IND_FIELDS, "targets": TGT_FIELDS, "adjustments": ADJ_FIELDS}
BLANKS = {"indicators": 2, "targets": 3, "adjustments": 1}
TOP = (
    "company_id",
    "name",
    "industry",
    "tenure_start",
    "tenure_years",
    "managers",
    "band_A",
    "band_B",
    "band_C",
    "a_cap",
    "pay_A",
    "pay_B",
    "pay_C",
    "pay_D",
    "floor_score",
    "floor_ratio",
)
MAX_ROWS = 300
_SPLIT = re.compile(r"[\s/,，、;；]+")


@dataclass
class Row:
    """One repeatable row: its key in the form, what was typed, the problems beside it."""

    key: str
    values: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    def blank(self) -> bool:
        return not any(
            v for k, v in self.values.items() if k not in ("direction", "kind", "method")
        )


@dataclass
class ContractForm:
    """The whole form: top-level fields, the three row groups, and the problems by field."""

    top: dict[str, str]
    rows: dict[str, list[Row]]
    problems: dict[str, str] = field(default_factory=dict)


def _text(value: Any) -> str:
    """A number as typed back into a field: 90 not 90.0, 164945006.63 not 1.649e+08."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _numbers(values: list[float] | None) -> str:
    return " / ".join(_text(v) for v in values or [])


def _with_blanks(rows: dict[str, list[Row]]) -> dict[str, list[Row]]:
    """Each group's rows and its blank rows to fill in."""
    out = {}
    for group, fields in GROUPS.items():
        kept = rows.get(group, [])
        taken = {r.key for r in kept}
        free = (f"n{n}" for n in range(len(kept) + 2 * MAX_ROWS) if f"n{n}" not in taken)
        blanks = [Row(next(free), dict.fromkeys(fields, "")) for _ in range(BLANKS[group])]
        out[group] = [*kept, *blanks]
    return out


def form_of(contract: ContractRead | None) -> ContractForm:
    """The form filled with a contract's terms (a new contract: the group's usual policy)."""
    if contract is None:
        top = dict.fromkeys(TOP, "")
        top.update(
            tenure_start=str(today().year),
            tenure_years="3",
            band_A="90",
            band_B="80",
            band_C="70",
            pay_A="1.5",
            pay_B="1.2",
            pay_C="1",
            pay_D="0.6",
            floor_score="70",
            floor_ratio="0.7",
        )
        return ContractForm(top, _with_blanks({}))
    t = contract.terms
    top = {
        "company_id": str(contract.company_id),
        "name": contract.name,
        "industry": contract.industry,
        "tenure_start": str(contract.tenure_start),
        "tenure_years": str(contract.tenure_years),
        "managers": "、".join(t.managers),
        "band_A": _text(t.grade_bands.A),
        "band_B": _text(t.grade_bands.B),
        "band_C": _text(t.grade_bands.C),
        "a_cap": _text(t.a_cap),
        "pay_A": _text(t.pay_coefficients.A),
        "pay_B": _text(t.pay_coefficients.B),
        "pay_C": _text(t.pay_coefficients.C),
        "pay_D": _text(t.pay_coefficients.D),
        "floor_score": _text(t.floor.score),
        "floor_ratio": _text(t.floor.ratio),
    }
    indicators = []
    for n, i in enumerate(t.indicators):
        extra = {k: v for k, v in (("history", i.history), ("peers", i.peers)) if v}
        if i.entered:
            extra["entered"] = [
                {"year": e.year, "value": e.value, "evidence": e.evidence} for e in i.entered
            ]
        p = i.parameters
        indicators.append(
            Row(
                f"r{n}",
                {
                    "code": i.code,
                    "name": i.name,
                    "weight": _text(i.weight),
                    "direction": i.direction.value,
                    "method": i.method.value,
                    "source": i.source,
                    "main": "1" if i.main else "",
                    "tiers": _numbers(p.tiers),
                    "use_peer_standard": "1" if p.use_peer_standard else "",
                    "macro_series": p.macro_series or "",
                    "offsets": _numbers(p.offsets),
                    "step_pct": _text(p.step_pct),
                    "extra": json.dumps(extra, ensure_ascii=False) if extra else "",
                },
            )
        )
    targets = [
        Row(
            f"r{n}",
            {
                "indicator": x.indicator,
                "year": str(x.year),
                "value": _text(x.value),
                "basis": x.basis,
            },
        )
        for n, x in enumerate(t.targets)
    ]
    adjustments = [
        Row(
            f"r{n}",
            {"year": str(a.year), "kind": a.kind, "points": _text(a.points), "reason": a.reason},
        )
        for n, a in enumerate(t.adjustments)
    ]
    return ContractForm(
        top,
        _with_blanks({"indicators": indicators, "targets": targets, "adjustments": adjustments}),
    )


def submitted(form: FormMultiDict) -> ContractForm:
    """What was posted: top-level fields and the non-blank rows of each group, in order."""
    top = {k: str(form.get(k) or "").strip()[:1000] for k in TOP}
    rows: dict[str, list[Row]] = {}
    for group, fields in GROUPS.items():
        keys = [str(k)[:40] for k in form.getall(group, [])[:MAX_ROWS]]
        typed = [
            Row(k, {f: str(form.get(f"{group}.{k}.{f}") or "").strip()[:20_000] for f in fields})
            for k in keys
        ]
        rows[group] = [r for r in typed if not r.blank()]
    return ContractForm(top, rows)


def _list(text: str) -> list[str]:
    return [v for v in _SPLIT.split(text) if v]


def body_of(f: ContractForm) -> dict[str, Any]:
    """The API's request body from the form: empty fields left out, so the schema's defaults
    apply; typed text left as text, so the schema names what does not convert."""
    t = f.top
    body: dict[str, Any] = {
        k: t[k] for k in ("company_id", "name", "industry", "tenure_start", "tenure_years") if t[k]
    }
    body["managers"] = [m for m in re.split(r"[、,，;；\n]+", t["managers"]) if m.strip()]
    body["grade_bands"] = {g: t[f"band_{g}"] for g in "ABC" if t[f"band_{g}"]}
    body["pay_coefficients"] = {g: t[f"pay_{g}"] for g in "ABCD" if t[f"pay_{g}"]}
    body["floor"] = {k: t[f"floor_{k}"] for k in ("score", "ratio") if t[f"floor_{k}"]}
    if t["a_cap"]:
        body["a_cap"] = t["a_cap"]
    indicators = []
    for n, r in enumerate(f.rows["indicators"]):
        v = r.values
        params: dict[str, Any] = {}
        if v["tiers"]:
            params["tiers"] = _list(v["tiers"])
        if v["offsets"]:
            params["offsets"] = _list(v["offsets"])
        if v["use_peer_standard"]:
            params["use_peer_standard"] = True
        if v["macro_series"]:
            params["macro_series"] = v["macro_series"]
        if v["step_pct"]:
            params["step_pct"] = v["step_pct"]
        ind: dict[str, Any] = {
            k: v[k] for k in ("code", "name", "weight", "direction", "method", "source") if v[k]
        }
        ind.update(main=bool(v["main"]), parameters=params)
        if v["extra"]:
            try:
                extra = json.loads(v["extra"])
            except ValueError:
                extra = None
            if not isinstance(extra, dict) or set(extra) - {"history", "peers", "entered"}:
                raise Invalid(
                    f"body.indicators[{n}]: history, peers or entered actuals are unreadable",
                    errors=[
                        FieldProblem(
                            f"body.indicators[{n}]",
                            "history, peers or entered actuals are unreadable",
                        )
                    ],
                )
            ind.update(extra)
        indicators.append(ind)
    body["indicators"] = indicators
    # Staff type thousands separators in a target (1,000,000): read as the number it is.
    body["targets"] = [
        {**r.values, "value": r.values["value"].replace(",", "")} for r in f.rows["targets"]
    ]
    body["adjustments"] = [dict(r.values) for r in f.rows["adjustments"]]
    return body


def place(f: ContractForm, exc: DomainError) -> ContractForm:
    """Each problem beside its field: a row's (`body.targets[2].year`) on that row, the rest by
    the API's field name for the top-level inputs and the groups' headings."""
    problems: dict[str, str] = {}
    pattern = re.compile(r"^body\.(indicators|targets|adjustments)\[(\d+)\]\.?(.*)$")
    for p in exc.errors:
        match = pattern.match(p.field)
        if match and int(match.group(2)) < len(f.rows[match.group(1)]):
            row = f.rows[match.group(1)][int(match.group(2))]
            name = match.group(3).removeprefix("parameters.").split(".")[0].split("[")[0]
            name = name or "row"
            row.problems[name] = (
                f"{row.problems[name]}；{p.reason}" if name in row.problems else p.reason
            )
        else:
            # body.grade_bands.A and body.grade_bands both show beside the bands.
            key = ".".join(p.field.split(".")[:2]).split("[")[0]
            problems[key] = f"{problems[key]}；{p.reason}" if key in problems else p.reason
    return ContractForm(f.top, _with_blanks(f.rows), problems)


def contract_of(f: ContractForm) -> ContractCreate:
    """The form as the API's `ContractCreate`; a field that does not convert is a 422 naming it."""
    return decode(body_of(f), ContractCreate)


async def contracts_frame(actor: Actor) -> pl.DataFrame:
    """Every contract version in scope (service.list_contracts) as the table reads it."""
    rows = [
        {
            "id": str(c.id),
            "company_name": c.company_name,
            "name": c.name,
            "state_label": c.state_label,
            "version": c.version,
            "tenure": f"{c.tenure_start}–{c.tenure_start + c.tenure_years - 1}",
            "managers": "、".join(c.terms.managers),
            "created_by": c.created_by,
        }
        for c in await service.list_contracts(actor=actor)
    ]
    return pl.DataFrame(rows, schema={**_CONTRACTS_SCHEMA, "created_by": pl.String})


async def _companies(actor: Actor) -> list[tuple[str, str]]:
    """The second-level companies a contract may bind, by name."""
    found = await ledger_service.list_entities(actor=actor, second_level=True, limit=10_000)
    return [(str(e.id), e.name) for e in found.items]


class ContractEditorPages(PageController):
    """业绩合同: the list of versions, a draft's form, signing, activating, new versions."""

    path = "/kpi/contracts"
    guards = [requires(Permission.kpi_write)]

    @get("/")
    async def index(self, request: Reader) -> Template:
        """Every contract version: company, state, tenure, version."""
        view = CONTRACTS.view(await contracts_frame(request.user), request.query_params)
        export_url = "/kpi/contracts/export.xlsx" + view.url(page=None).rstrip("?")
        if is_htmx(request) and request.headers.get("hx-target") == f"tbl-{CONTRACTS.id}":
            return page("_table.html", request, table=view, export_url=export_url)
        return page("kpi/contracts.html", request, table=view, export_url=export_url)

    @get("/export.xlsx")
    async def export(self, request: Reader) -> Response[bytes]:
        """The list as filtered and sorted, every row, as XLSX."""
        frame = await contracts_frame(request.user)
        content = CONTRACTS.xlsx(frame, request.query_params, "业绩合同")
        return xlsx_download(content, "kpi-contracts.xlsx")

    @get("/rows/{group:str}")
    async def blank_row(self, request: Reader, group: FromPath[str]) -> Template:
        """One blank row of indicators, targets or adjustments (the form's 添加一行 asks)."""
        if group not in GROUPS:
            raise NotFound(f"no row group {group}")
        row = Row(f"n{secrets.token_hex(4)}", dict.fromkeys(GROUPS[group], ""))
        return page("kpi/_contract_row.html", request, group=group, row=row, **CHOICES)

    @get("/new")
    async def new(self, request: Reader) -> Template:
        """A blank contract form."""
        return await self._form(request, None, form_of(None))

    @post("/new", status_code=303)
    async def create(self, request: Reader) -> Response[Any]:
        """Create a draft through the API's service; problems shown beside the fields."""
        f = submitted(await request.form())
        try:
            made = await service.create_contract(actor=request.user, data=contract_of(f))
        except DomainError as exc:
            return await self._form(request, None, place(f, exc), problem=exc)
        return Redirect(f"/kpi/contracts/{made.id}/edit?done=created", status_code=303)

    @get("/{contract_id:uuid}/edit")
    async def edit(self, request: Reader, contract_id: FromPath[UUID]) -> Template:
        """A contract version's form, its moves, and its lineage's other versions."""
        contract = await service.get_contract(actor=request.user, contract_id=contract_id)
        return await self._form(request, contract, form_of(contract))

    @post("/{contract_id:uuid}/edit", status_code=303)
    async def update(self, request: Reader, contract_id: FromPath[UUID]) -> Response[Any]:
        """Save a draft's terms; a signed contract's 409 reason is shown, with 新版本 offered."""
        contract = await service.get_contract(actor=request.user, contract_id=contract_id)
        f = submitted(await request.form())
        try:
            await service.update_contract(
                actor=request.user, contract_id=contract_id, data=contract_of(f)
            )
        except NotFound:
            raise
        except DomainError as exc:
            return await self._form(request, contract, place(f, exc), problem=exc)
        return Redirect(f"/kpi/contracts/{contract_id}/edit?done=saved", status_code=303)

    @post("/{contract_id:uuid}/versions", status_code=303)
    async def version(self, request: Reader, contract_id: FromPath[UUID]) -> Response[Any]:
        """The form's terms as a new draft version of a signed contract; the old stays as it was."""
        contract = await service.get_contract(actor=request.user, contract_id=contract_id)
        f = submitted(await request.form())
        try:
            made = await service.new_version(
                actor=request.user, contract_id=contract_id, data=contract_of(f)
            )
        except NotFound:
            raise
        except DomainError as exc:
            return await self._form(request, contract, place(f, exc), problem=exc)
        return Redirect(f"/kpi/contracts/{made.id}/edit?done=versioned", status_code=303)

    @post("/{contract_id:uuid}/transitions", status_code=303)
    async def transition(self, request: Reader, contract_id: FromPath[UUID]) -> Response[Any]:
        """签订 / 生效执行 / 结束: the next state, through the API's service."""
        contract = await service.get_contract(actor=request.user, contract_id=contract_id)
        form = await request.form()
        try:
            to = decode({"to": form.get("to") or ""}, Transition).to
            await service.transition(actor=request.user, contract_id=contract_id, to=to)
        except NotFound:
            raise
        except DomainError as exc:
            return await self._form(request, contract, form_of(contract), problem=exc)
        return Redirect(f"/kpi/contracts/{contract_id}/edit?done={to.value}", status_code=303)

    async def _form(
        self,
        request: Reader,
        contract: ContractRead | None,
        form: ContractForm,
        *,
        problem: DomainError | None = None,
    ) -> Template:
        actor = request.user
        versions = (
            [c for c in await service.list_contracts(actor=actor) if c.lineage == contract.lineage]
            if contract
            else []
        )
        nxt = NEXT_STATE.get(contract.state) if contract else None
        return page(
            "kpi/contract_form.html",
            request,
            status_code=problem.status if problem else 200,
            contract=contract,
            form=form,
            problems=form.problems,
            problem=problem,
            versions=versions,
            move=(nxt.value, MOVE_LABELS[nxt]) if nxt else None,
            companies=await _companies(actor) if contract is None else [],
            **CHOICES,
            sources=SOURCES,
            done=request.query_params.get("done"),
            action=f"/kpi/contracts/{contract.id}/edit" if contract else "/kpi/contracts/new",
        )


EDITOR_PAGES = [ContractEditorPages]
