"""Roles and what each may do. Every route names one permission; `app.py` refuses to start otherwise.

What a user may do is their role's permissions plus any an admin granted them (`grants`). Whether
they see all of a domain or only their scope is a permission too (`ledger:all`, `funds:all`,
`kpi:all`); the scope itself is resolved in `auth.scope`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    group_finance = "group_finance"  # 集团财务
    entity_finance = "entity_finance"  # 平台/子公司财务, scoped to an entity and what it controls
    fund_manager = "fund_manager"  # 基金管理人, scoped to funds
    board = "board"  # 董事会, reads only
    auditor = "auditor"  # 审计, reads, plus the audit log


class Permission(StrEnum):
    """What a route or a service may check. A role holds a set; a user may be granted more."""

    ledger_read = "ledger:read"  # entities, trees, ownership, stakes
    ledger_statements = "ledger:statements"  # statements, intercompany, period board, consolidation
    ledger_write = "ledger:write"
    ledger_approve = "ledger:approve"  # validate and lock periods
    ledger_reopen = "ledger:reopen"
    ledger_all = "ledger:all"  # every entity, not only one's own and what it controls
    funds_read = "funds:read"
    funds_write = "funds:write"
    funds_all = "funds:all"  # every fund, not only the assigned ones
    kpi_read = "kpi:read"
    kpi_write = "kpi:write"
    kpi_all = "kpi:all"  # every company, not only one's own
    jobs_run = "jobs:run"
    audit_read = "audit:read"
    users_admin = "users:admin"
    self_service = "self"  # what any signed-in user may do to their own account


# Reading everything, as group finance, the board and the auditors do.
_READ_ALL = {
    Permission.ledger_read,
    Permission.ledger_statements,
    Permission.ledger_all,
    Permission.funds_read,
    Permission.funds_all,
    Permission.kpi_read,
    Permission.kpi_all,
    Permission.self_service,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.group_finance: frozenset(
        _READ_ALL
        | {
            Permission.ledger_write,
            Permission.ledger_approve,
            Permission.kpi_write,
            Permission.jobs_run,
        }
    ),
    # A company's finance staff read their own company's scorecards (the kpi scope).
    Role.entity_finance: frozenset(
        {
            Permission.ledger_read,
            Permission.ledger_statements,
            Permission.ledger_write,
            Permission.kpi_read,
            Permission.self_service,
        }
    ),
    # Funds, GPs and portfolio companies are entities: a fund manager reads every entity, but
    # statements and consolidations only when granted `ledger:statements`.
    Role.fund_manager: frozenset(
        {
            Permission.funds_read,
            Permission.funds_write,
            Permission.ledger_read,
            Permission.ledger_all,
            Permission.self_service,
        }
    ),
    Role.board: frozenset(_READ_ALL),
    Role.auditor: frozenset(_READ_ALL | {Permission.audit_read}),
}


def effective_permissions(role: Role, grants: Iterable[Permission] = ()) -> frozenset[Permission]:
    """The role's permissions and the user's grants."""
    return ROLE_PERMISSIONS[role] | frozenset(grants)


def known_permissions(values: Iterable[str]) -> tuple[Permission, ...]:
    """The stored grants that still name a permission, sorted; a retired name grants nothing."""
    known = {p.value for p in Permission}
    return tuple(sorted(Permission(v) for v in set(values) if v in known))
