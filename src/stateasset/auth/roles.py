"""Roles and what each may do. Every route names one permission; `app.py` refuses to start otherwise."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    group_finance = "group_finance"  # 集团财务
    entity_finance = "entity_finance"  # 平台/子公司财务, scoped to an entity and what it controls
    fund_manager = "fund_manager"  # 基金管理人, scoped to funds
    board = "board"  # 董事会, reads only
    auditor = "auditor"  # 审计, reads, plus the audit log


class Permission(StrEnum):
    ledger_read = "ledger:read"
    ledger_write = "ledger:write"
    ledger_approve = "ledger:approve"  # validate and lock periods
    ledger_reopen = "ledger:reopen"
    funds_read = "funds:read"
    funds_write = "funds:write"
    kpi_read = "kpi:read"
    kpi_write = "kpi:write"
    jobs_run = "jobs:run"
    audit_read = "audit:read"
    users_admin = "users:admin"
    self_service = "self"  # what any signed-in user may do to their own account


_READ = {
    Permission.ledger_read,
    Permission.funds_read,
    Permission.kpi_read,
    Permission.self_service,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.group_finance: frozenset(
        _READ
        | {
            Permission.ledger_write,
            Permission.ledger_approve,
            Permission.kpi_write,
            Permission.jobs_run,
        }
    ),
    Role.entity_finance: frozenset(
        {Permission.ledger_read, Permission.ledger_write, Permission.self_service}
    ),
    Role.fund_manager: frozenset(
        {
            Permission.funds_read,
            Permission.funds_write,
            Permission.ledger_read,
            Permission.self_service,
        }
    ),
    Role.board: frozenset(_READ),
    Role.auditor: frozenset(_READ | {Permission.audit_read}),
}

SCOPED_ROLES = {Role.entity_finance, Role.fund_manager}
