"""Which records of a domain an actor may see: one interface, one resolver per domain.

Seeing all of a domain is a permission (`ledger:all`, `funds:all`, `kpi:all`). Everyone else sees
what their domain's resolver returns, from where the actor's scope starts:

- ledger, by control: the actor's entity and every entity it controls at the date asked;
- funds, by assignment: the funds in the actor's `fund_ids`;
- kpi, by company: the actor's own company (`entity_id`).

The ledger registers its resolver from `ledger.service`, beside the ownership computation it needs.
The funds and KPI rules read only the actor, so they are registered here until those domains exist
and take them over. Outside one's scope is "not found", never "forbidden": existence is not revealed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from enum import StrEnum
from uuid import UUID

import msgspec

from stateasset.auth.guards import allowed
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.clock import today


class Domain(StrEnum):
    ledger = "ledger"
    funds = "funds"
    kpi = "kpi"


SEES_ALL: dict[Domain, Permission] = {
    Domain.ledger: Permission.ledger_all,
    Domain.funds: Permission.funds_all,
    Domain.kpi: Permission.kpi_all,
}


class Scope(msgspec.Struct, frozen=True):
    """All of a domain, or only the records whose ids are in `ids`."""

    all: bool = False
    ids: frozenset[UUID] = frozenset()

    def allows(self, record_id: UUID) -> bool:
        return self.all or record_id in self.ids


EVERYTHING = Scope(all=True)

# The ids an actor who does not see everything may see, as of a date.
Resolver = Callable[[Actor, date], Awaitable[Iterable[UUID]]]
_RESOLVERS: dict[Domain, Resolver] = {}


def register(domain: Domain, resolver: Resolver) -> None:
    """Make `resolver` the one rule for `domain`'s scope (a domain registers its own)."""
    _RESOLVERS[domain] = resolver


async def scope_of(actor: Actor, domain: Domain, *, as_of: date | None = None) -> Scope:
    """What `actor` may see of `domain` at `as_of` (today by default)."""
    if allowed(actor, SEES_ALL[domain]):
        return EVERYTHING
    resolver = _RESOLVERS.get(domain)
    if resolver is None:
        raise LookupError(f"no scope rule is registered for {domain.value}; import its service")
    return Scope(ids=frozenset(await resolver(actor, as_of or today())))


async def _assigned_funds(actor: Actor, _: date) -> Iterable[UUID]:
    return actor.fund_ids


async def _own_company(actor: Actor, _: date) -> Iterable[UUID]:
    return () if actor.entity_id is None else (actor.entity_id,)


register(Domain.funds, _assigned_funds)
register(Domain.kpi, _own_company)
