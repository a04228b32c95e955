"""The statement services the 快报 page reads beside the API's: versions and filed periods."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import asyncpg
import pytest

from stateasset.auth.roles import Role
from stateasset.auth.schemas import Actor
from stateasset.core.errors import NotFound
from stateasset.ledger import service
from stateasset.ledger.closing import statements
from stateasset.ledger.schemas import EntityCreate, EntityKind, StatementSubmit
from tests.ledger.conftest import credit_code

ADMIN = Actor(id=UUID(int=1), username="admin-versions", role=Role.admin)


def _items(cash: str) -> dict[str, Decimal]:
    # assets = equity, each total the sum of its parts
    amount = Decimal(cash)
    return {
        "cash": amount,
        "total_assets": amount,
        "paid_in_capital": amount,
        "total_equity": amount,
    }


async def test_versions_newest_first_and_the_periods_filed_in_scope(db: asyncpg.Connection) -> None:
    group = await service.create_entity(
        actor=ADMIN,
        data=EntityCreate(credit_code=credit_code(1), name="集团", kind=EntityKind.group),
    )
    other = await service.create_entity(
        actor=ADMIN,
        data=EntityCreate(credit_code=credit_code(2), name="另一家", kind=EntityKind.subsidiary),
    )
    for period, cash, source in (
        ("2026-Q1", "100.00", "api"),
        ("2026-Q1", "120.00", "web"),
        ("2025-Q4", "90.00", "api"),
        ("2025-12", "90.00", "api"),
    ):
        _, added = await statements.file_statement(
            actor=ADMIN,
            data=StatementSubmit(entity_id=group.id, period=period, items=_items(cash)),
            source=source,
        )
        assert added

    versions = await statements.list_versions(actor=ADMIN, entity_id=group.id, period="2026-Q1")
    assert [(v.version, v.source, v.created_by) for v in versions] == [
        (2, "web", "admin-versions"),
        (1, "api", "admin-versions"),
    ]
    assert await statements.list_versions(actor=ADMIN, entity_id=group.id, period="2026-Q2") == []
    # by end date, a month before the quarter ending with it
    assert await statements.filed_periods(actor=ADMIN) == ["2025-12", "2025-Q4", "2026-Q1"]

    # a user scoped to an entity that filed nothing sees no periods and not the group's versions
    scoped = Actor(id=UUID(int=2), username="ef", role=Role.entity_finance, entity_id=other.id)
    assert await statements.filed_periods(actor=scoped) == []
    with pytest.raises(NotFound):
        await statements.list_versions(actor=scoped, entity_id=group.id, period="2026-Q1")
