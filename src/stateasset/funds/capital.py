"""LP positions: commitments (认缴), calls (实缴), distributions (分配), NAV statements (估值).

Invariants kept on every write, under a row lock on the commitment:
- paid-in + unfunded = commitment: unfunded = commitment − calls inside it (paid or not) +
  recallable distributions; a call over the unfunded amount is a 422 with the numbers unless it
  is marked outside the commitment (认缴外出资).
- a NAV statement rolls forward from the previous one: begin + contributions − distributions +
  gains − fees = NAV, else 422 with the difference; statements come quarter after quarter.
Flows and NAVs are append-only (a trigger refuses changes, but a call's paid date set once).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import msgspec

from stateasset import db
from stateasset.audit import service as audit
from stateasset.auth.schemas import Actor
from stateasset.core.clock import utc_now
from stateasset.core.errors import Conflict, FieldProblem, Invalid, NotFound, invalid
from stateasset.core.money import as_stored, money_problem
from stateasset.core.periods import period_of
from stateasset.db import engine
from stateasset.funds.schemas import (
    PURPOSE_LABELS,
    CallCreate,
    CallPurpose,
    CapitalImportReport,
    CommitmentCreate,
    CommitmentRead,
    DistributionCreate,
    DistributionPurpose,
    FlowKind,
    FlowRead,
    NavCreate,
    NavRead,
    PositionRead,
)
from stateasset.funds.service import ensure_fund_visible
from stateasset.ledger.assets import uploads as asset_uploads
from stateasset.ledger.assets.schemas import CardImportProblem

ZERO = Decimal("0.00")


def _money(value: Decimal, field: str, *, positive: bool = True) -> Decimal:
    if problem := money_problem(value):
        raise invalid(field, problem)
    if positive and value <= 0:
        raise invalid(field, "must be greater than 0")
    return as_stored(value)


# ------------------------------------------------------------------------------------------
# Commitments


def _commitment_read(row: Any) -> CommitmentRead:
    return CommitmentRead(
        id=row["id"],
        fund_id=row["fund"],
        lp_id=row["lp"],
        lp_name=row["lp_name"],
        amount=as_stored(row["amount"]),
        government=row["government"],
        committed_on=row["committed_on"],
    )


async def create_commitment(
    *, actor: Actor, fund_id: UUID, data: CommitmentCreate
) -> CommitmentRead:
    """An LP's commitment (认缴) to the fund; one per LP and fund."""
    await ensure_fund_visible(actor, fund_id)
    amount = _money(data.amount, "body.amount")
    async with engine().transaction(), db.connection() as conn:
        if not await conn.fetchval("SELECT 1 FROM entity WHERE id = $1", data.lp_id):
            raise invalid("body.lp_id", "no such entity: register the LP in the ledger first")
        if await conn.fetchval(
            "SELECT 1 FROM fund_commitment WHERE fund = $1 AND lp = $2", fund_id, data.lp_id
        ):
            raise Conflict("this LP already has a commitment to the fund")
        commitment_id = uuid4()
        await conn.execute(
            "INSERT INTO fund_commitment (id, fund, lp, amount, government, committed_on, "
            "created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            commitment_id,
            fund_id,
            data.lp_id,
            amount,
            data.government,
            data.committed_on,
            utc_now(),
            actor.username,
        )
        read = _commitment_read(await _commitment_row(conn, commitment_id))
        await audit.record(
            actor=actor.username,
            action="fund_commitment.create",
            object_type="fund_commitment",
            object_id=commitment_id,
            after=read,
        )
    return read


async def _commitment_row(conn: asyncpg.Connection, commitment_id: UUID, lock: bool = False) -> Any:
    row = await conn.fetchrow(
        "SELECT c.*, e.name AS lp_name FROM fund_commitment c JOIN entity e ON e.id = c.lp "
        "WHERE c.id = $1" + (" FOR UPDATE OF c" if lock else ""),
        commitment_id,
    )
    if row is None:
        raise NotFound(f"commitment {commitment_id} not found")
    return row


async def list_commitments(*, actor: Actor, fund_id: UUID) -> list[CommitmentRead]:
    await ensure_fund_visible(actor, fund_id)
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT c.*, e.name AS lp_name FROM fund_commitment c JOIN entity e ON e.id = c.lp "
            "WHERE c.fund = $1 ORDER BY c.amount DESC, e.name",
            fund_id,
        )
    return [_commitment_read(row) for row in rows]


# ------------------------------------------------------------------------------------------
# Positions (the capital account)

_POSITIONS = """
SELECT c.id AS commitment_id, c.lp AS lp_id, e.name AS lp_name, c.government,
    c.amount AS commitment,
    coalesce(sum(f.amount) FILTER (WHERE f.kind = 'call' AND f.flow_date <= $2), 0) AS called,
    coalesce(sum(f.amount) FILTER (WHERE f.kind = 'call' AND NOT f.outside_commitment
        AND f.flow_date <= $2), 0) AS called_inside,
    coalesce(sum(f.amount) FILTER (WHERE f.kind = 'call' AND f.paid_on <= $2), 0) AS paid_in,
    coalesce(sum(f.amount) FILTER (WHERE f.kind = 'distribution' AND f.recallable
        AND f.flow_date <= $2), 0) AS recallable,
    coalesce(sum(f.amount) FILTER (WHERE f.kind = 'distribution' AND f.flow_date <= $2), 0)
        AS distributed
FROM fund_commitment c JOIN entity e ON e.id = c.lp
LEFT JOIN fund_flow f ON f.commitment = c.id
WHERE {where}
GROUP BY c.id, e.name ORDER BY c.amount DESC, e.name
"""


def _position(row: Any) -> PositionRead:
    commitment, recallable = as_stored(row["commitment"]), as_stored(row["recallable"])
    return PositionRead(
        commitment_id=row["commitment_id"],
        lp_id=row["lp_id"],
        lp_name=row["lp_name"],
        government=row["government"],
        commitment=commitment,
        called=as_stored(row["called"]),
        paid_in=as_stored(row["paid_in"]),
        recallable=recallable,
        unfunded=as_stored(commitment - row["called_inside"] + recallable),
        distributed=as_stored(row["distributed"]),
    )


async def positions(
    *, actor: Actor, fund_id: UUID, as_of: date | None = None
) -> list[PositionRead]:
    """The fund's capital account (出资台账) by LP as of a date (today's data by default)."""
    await ensure_fund_visible(actor, fund_id)
    async with db.connection() as conn:
        rows = await conn.fetch(_POSITIONS.format(where="c.fund = $1"), fund_id, as_of or date.max)
    return [_position(row) for row in rows]


async def _locked_position(conn: asyncpg.Connection, fund_id: UUID, commitment_id: UUID) -> Any:
    """The position of a commitment of this fund, its commitment row locked until commit."""
    row = await _commitment_row(conn, commitment_id, lock=True)
    if row["fund"] != fund_id:
        raise invalid("body.commitment_id", "not a commitment to this fund")
    position = await conn.fetchrow(_POSITIONS.format(where="c.id = $1"), commitment_id, date.max)
    return _position(position)


# ------------------------------------------------------------------------------------------
# Calls and distributions


def _flow_read(row: Any) -> FlowRead:
    return FlowRead(
        id=row["id"],
        fund_id=row["fund"],
        commitment_id=row["commitment"],
        lp_id=row["lp"],
        kind=FlowKind(row["kind"]),
        purpose=row["purpose"],
        purpose_label=PURPOSE_LABELS.get(row["purpose"], row["purpose"]),
        flow_date=row["flow_date"],
        due_on=row["due_on"],
        paid_on=row["paid_on"],
        amount=as_stored(row["amount"]),
        recallable=row["recallable"],
        outside_commitment=row["outside_commitment"],
        note=row["note"],
    )


_FLOW_SELECT = "SELECT f.*, c.lp FROM fund_flow f JOIN fund_commitment c ON c.id = f.commitment"


def over_unfunded(position: PositionRead, amount: Decimal, field: str) -> Invalid:
    """The 422 for a call above the unfunded amount, with every number behind it."""
    numbers = {
        "commitment": str(position.commitment),
        "called": str(position.called),
        "recallable": str(position.recallable),
        "unfunded": str(position.unfunded),
        "amount": str(amount),
        "excess": str(as_stored(amount - position.unfunded)),
    }
    reason = (
        f"exceeds the unfunded amount: commitment {position.commitment} − called "
        f"{position.called} + recallable {position.recallable} = unfunded {position.unfunded}; "
        f"this call {amount} is {numbers['excess']} over (mark it outside the commitment if so)"
    )
    return Invalid(
        f"{field}: {reason}", errors=[FieldProblem(field=field, reason=reason)], extra=numbers
    )


async def _insert_flow(
    conn: asyncpg.Connection,
    *,
    actor: Actor,
    fund_id: UUID,
    commitment_id: UUID,
    kind: FlowKind,
    purpose: str,
    flow_date: date,
    amount: Decimal,
    due_on: date | None = None,
    paid_on: date | None = None,
    recallable: bool = False,
    outside_commitment: bool = False,
    note: str = "",
) -> UUID:
    flow_id = uuid4()
    await conn.execute(
        "INSERT INTO fund_flow (id, fund, commitment, kind, purpose, flow_date, due_on, paid_on, "
        "amount, recallable, outside_commitment, note, created_at, created_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        flow_id,
        fund_id,
        commitment_id,
        kind.value,
        purpose,
        flow_date,
        due_on,
        paid_on,
        amount,
        recallable,
        outside_commitment,
        note,
        utc_now(),
        actor.username,
    )
    return flow_id


async def post_call(
    conn: asyncpg.Connection, *, actor: Actor, fund_id: UUID, data: CallCreate, field: str
) -> UUID:
    """Check and insert one call inside the caller's transaction (the API and the import)."""
    amount = _money(data.amount, f"{field}.amount")
    if data.paid_on is not None and data.paid_on < data.call_date:
        raise invalid(f"{field}.paid_on", "cannot be before the call date")
    position = await _locked_position(conn, fund_id, data.commitment_id)
    if not data.outside_commitment and amount > position.unfunded:
        raise over_unfunded(position, amount, f"{field}.amount")
    return await _insert_flow(
        conn,
        actor=actor,
        fund_id=fund_id,
        commitment_id=data.commitment_id,
        kind=FlowKind.call,
        purpose=data.purpose.value,
        flow_date=data.call_date,
        amount=amount,
        due_on=data.due_on,
        paid_on=data.paid_on,
        outside_commitment=data.outside_commitment,
        note=data.note,
    )


async def post_distribution(
    conn: asyncpg.Connection,
    *,
    actor: Actor,
    fund_id: UUID,
    data: DistributionCreate,
    field: str,
) -> UUID:
    amount = _money(data.amount, f"{field}.amount")
    await _locked_position(conn, fund_id, data.commitment_id)
    return await _insert_flow(
        conn,
        actor=actor,
        fund_id=fund_id,
        commitment_id=data.commitment_id,
        kind=FlowKind.distribution,
        purpose=data.purpose.value,
        flow_date=data.distribution_date,
        amount=amount,
        recallable=data.recallable,
        note=data.note,
    )


async def create_call(*, actor: Actor, fund_id: UUID, data: CallCreate) -> FlowRead:
    """A capital call on one LP position; 422 with the numbers when above its unfunded amount."""
    await ensure_fund_visible(actor, fund_id)
    async with engine().transaction(), db.connection() as conn:
        flow_id = await post_call(conn, actor=actor, fund_id=fund_id, data=data, field="body")
        read = _flow_read(await conn.fetchrow(f"{_FLOW_SELECT} WHERE f.id = $1", flow_id))
        await audit.record(
            actor=actor.username,
            action="fund_call.create",
            object_type="fund_flow",
            object_id=flow_id,
            after=read,
        )
    return read


async def settle_call(*, actor: Actor, fund_id: UUID, flow_id: UUID, paid_on: date) -> FlowRead:
    """Record that a call was paid (its paid-in date); set once."""
    await ensure_fund_visible(actor, fund_id)
    async with engine().transaction(), db.connection() as conn:
        row = await conn.fetchrow(f"{_FLOW_SELECT} WHERE f.id = $1 FOR UPDATE OF f", flow_id)
        if row is None or row["fund"] != fund_id or row["kind"] != FlowKind.call.value:
            raise NotFound(f"call {flow_id} not found")
        if row["paid_on"] is not None:
            raise Conflict(f"the call was already paid on {row['paid_on']}")
        if paid_on < row["flow_date"]:
            raise invalid("body.paid_on", "cannot be before the call date")
        before = _flow_read(row)
        await conn.execute("UPDATE fund_flow SET paid_on = $1 WHERE id = $2", paid_on, flow_id)
        after = _flow_read(await conn.fetchrow(f"{_FLOW_SELECT} WHERE f.id = $1", flow_id))
        await audit.record(
            actor=actor.username,
            action="fund_call.settle",
            object_type="fund_flow",
            object_id=flow_id,
            before=before,
            after=after,
        )
    return after


async def create_distribution(*, actor: Actor, fund_id: UUID, data: DistributionCreate) -> FlowRead:
    """A distribution to one LP position (a recallable one adds back to its unfunded amount)."""
    await ensure_fund_visible(actor, fund_id)
    async with engine().transaction(), db.connection() as conn:
        flow_id = await post_distribution(
            conn, actor=actor, fund_id=fund_id, data=data, field="body"
        )
        read = _flow_read(await conn.fetchrow(f"{_FLOW_SELECT} WHERE f.id = $1", flow_id))
        await audit.record(
            actor=actor.username,
            action="fund_distribution.create",
            object_type="fund_flow",
            object_id=flow_id,
            after=read,
        )
    return read


async def list_flows(*, actor: Actor, fund_id: UUID) -> list[FlowRead]:
    """Every call and distribution of the fund, by date."""
    await ensure_fund_visible(actor, fund_id)
    async with db.connection() as conn:
        rows = await conn.fetch(
            f"{_FLOW_SELECT} WHERE f.fund = $1 ORDER BY f.flow_date, f.created_at", fund_id
        )
    return [_flow_read(row) for row in rows]


# ------------------------------------------------------------------------------------------
# NAV statements


def _nav_read(row: Any) -> NavRead:
    return NavRead(
        id=row["id"],
        fund_id=row["fund"],
        period=row["period"],
        as_of=row["as_of"],
        nav_begin=as_stored(row["nav_begin"]),
        contributions=as_stored(row["contributions"]),
        distributions=as_stored(row["distributions"]),
        gains=as_stored(row["gains"]),
        fees=as_stored(row["fees"]),
        nav=as_stored(row["nav"]),
    )


async def create_nav(*, actor: Actor, fund_id: UUID, data: NavCreate) -> NavRead:
    """A quarter's NAV statement; 422 with the difference when it does not roll forward."""
    await ensure_fund_visible(actor, fund_id)
    period = period_of(data.period)
    values = {
        name: _money(getattr(data, name), f"body.{name}", positive=False)
        for name in ("contributions", "distributions", "gains", "fees", "nav")
    }
    async with engine().transaction(), db.connection() as conn:
        await conn.execute("SELECT 1 FROM fund WHERE id = $1 FOR UPDATE", fund_id)
        last = await conn.fetchrow(
            "SELECT period, as_of, nav FROM fund_nav WHERE fund = $1 ORDER BY as_of DESC LIMIT 1",
            fund_id,
        )
        if last is not None and last["as_of"] >= period.end:
            raise Conflict(
                f"the fund's NAV is stated up to {last['period']}: statements come quarter "
                "after quarter and are never replaced"
            )
        begin = ZERO if last is None else as_stored(last["nav"])
        expected = (
            begin
            + values["contributions"]
            - values["distributions"]
            + values["gains"]
            - values["fees"]
        )
        difference = as_stored(values["nav"] - expected)
        if difference != 0:
            reason = (
                f"does not roll forward: begin {begin} + contributions {values['contributions']} "
                f"− distributions {values['distributions']} + gains {values['gains']} − fees "
                f"{values['fees']} = {as_stored(expected)}, stated {values['nav']}, "
                f"difference {difference}"
            )
            raise Invalid(
                f"body.nav: {reason}",
                errors=[FieldProblem(field="body.nav", reason=reason)],
                extra={
                    "nav_begin": str(begin),
                    "expected": str(as_stored(expected)),
                    "difference": str(difference),
                },
            )
        nav_id = uuid4()
        await conn.execute(
            "INSERT INTO fund_nav (id, fund, period, as_of, nav_begin, contributions, "
            "distributions, gains, fees, nav, created_at, created_by) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            nav_id,
            fund_id,
            period.code,
            period.end,
            begin,
            values["contributions"],
            values["distributions"],
            values["gains"],
            values["fees"],
            values["nav"],
            utc_now(),
            actor.username,
        )
        read = _nav_read(await conn.fetchrow("SELECT * FROM fund_nav WHERE id = $1", nav_id))
        await audit.record(
            actor=actor.username,
            action="fund_nav.create",
            object_type="fund_nav",
            object_id=nav_id,
            after=read,
        )
    return read


async def list_navs(*, actor: Actor, fund_id: UUID) -> list[NavRead]:
    await ensure_fund_visible(actor, fund_id)
    async with db.connection() as conn:
        rows = await conn.fetch("SELECT * FROM fund_nav WHERE fund = $1 ORDER BY as_of", fund_id)
    return [_nav_read(row) for row in rows]


# ------------------------------------------------------------------------------------------
# Bulk import of a capital account

CAPITAL_HEADERS = (
    ("lp", "LP统一社会信用代码", True),
    ("kind", "类型", True),
    ("flow_date", "日期", True),
    ("amount", "金额", True),
    ("purpose", "用途", False),
    ("paid_on", "到账日期", False),
    ("due_on", "缴款截止日", False),
    ("recallable", "可再投资", False),
    ("outside_commitment", "认缴外出资", False),
    ("note", "备注", False),
)
_KINDS = {"出资": FlowKind.call, "实缴": FlowKind.call, "分配": FlowKind.distribution}
_PURPOSES = {label: key for key, label in PURPOSE_LABELS.items()}
_YES = {"是": True, "否": False, "true": True, "false": False, "1": True, "0": False}


async def import_capital(
    *, actor: Actor, fund_id: UUID, data: bytes, filename: str
) -> CapitalImportReport:
    """Every call and distribution of the file, or none: problems listed by row and column.

    Rows are posted in the file's order under the same checks as the API (a call above an LP's
    unfunded amount is that row's problem).
    """
    await ensure_fund_visible(actor, fund_id)
    rows, problems = await asset_uploads._read(data, filename, CAPITAL_HEADERS)
    async with db.connection() as conn:
        known = {
            r["credit_code"]: r["id"]
            for r in await conn.fetch(
                "SELECT e.credit_code, c.id FROM fund_commitment c JOIN entity e ON e.id = c.lp "
                "WHERE c.fund = $1",
                fund_id,
            )
        }
    parsed: list[tuple[int, str, CallCreate | DistributionCreate]] = []
    for number, record in rows:
        row = asset_uploads._Row(number, record, problems)
        before = len(problems)
        lp = row.text("lp", True)
        if lp is not None and lp not in known:
            row.problem("lp", f"{lp} has no commitment to this fund")
        kind_text = row.text("kind", True)
        kind = _KINDS.get(kind_text or "") or (
            FlowKind(kind_text) if kind_text in {"call", "distribution"} else None
        )
        if kind_text is not None and kind is None:
            row.problem("kind", "出资 or 分配")
        day = row.day("flow_date")
        amount = row.amount("amount", True)
        purpose_text = row.text("purpose")
        purpose = _PURPOSES.get(purpose_text or "", purpose_text)
        flags = {}
        for key in ("recallable", "outside_commitment"):
            text = row.text(key)
            if text is not None and text.casefold() not in _YES:
                row.problem(key, "是 or 否")
            flags[key] = _YES.get((text or "否").casefold(), False)
        paid_on = row.day("paid_on") if row.text("paid_on") else None
        due_on = row.day("due_on") if row.text("due_on") else None
        if len(problems) > before or kind is None:
            continue
        try:
            if kind == FlowKind.call:
                item: CallCreate | DistributionCreate = CallCreate(
                    commitment_id=known[lp or ""],
                    amount=amount,
                    call_date=day,  # type: ignore[arg-type]
                    paid_on=paid_on if paid_on is not None else day,
                    due_on=due_on,
                    purpose=CallPurpose(purpose or "investment"),
                    outside_commitment=flags["outside_commitment"],
                    note=row.text("note") or "",
                )
            else:
                item = DistributionCreate(
                    commitment_id=known[lp or ""],
                    amount=amount,
                    distribution_date=day,  # type: ignore[arg-type]
                    purpose=DistributionPurpose(purpose or "income"),
                    recallable=flags["recallable"],
                    note=row.text("note") or "",
                )
        except (ValueError, msgspec.ValidationError) as exc:
            row.problem("purpose", str(exc))
            continue
        parsed.append((number, row.letters.get("amount", "D"), item))
    if not rows and not problems:
        problems.append(CardImportProblem(row=0, column="", reason="no rows in the file"))
    if problems:
        raise asset_uploads._problems(filename, problems)
    calls = distributions = 0
    async with engine().transaction(), db.connection() as conn:
        failed: list[CardImportProblem] = []
        for number, letter, item in parsed:
            try:
                if isinstance(item, CallCreate):
                    await post_call(conn, actor=actor, fund_id=fund_id, data=item, field="row")
                    calls += 1
                else:
                    await post_distribution(
                        conn, actor=actor, fund_id=fund_id, data=item, field="row"
                    )
                    distributions += 1
            except Invalid as exc:
                reason = exc.errors[0].reason if exc.errors else exc.detail
                # Checked rows write nothing themselves, so the rest are still checked.
                failed.append(CardImportProblem(row=number, column=letter, reason=reason))
        if failed:
            raise asset_uploads._problems(filename, failed)
        report = CapitalImportReport(fund_id=fund_id, calls=calls, distributions=distributions)
        await audit.record(
            actor=actor.username,
            action="fund_capital.import",
            object_type="fund",
            object_id=fund_id,
            after={"filename": filename, "calls": calls, "distributions": distributions},
        )
    return report
