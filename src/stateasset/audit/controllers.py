"""The audit log, for auditors and admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from stateasset.audit import service
from stateasset.audit.schemas import AuditRecord, ChainReport
from stateasset.auth.guards import requires
from stateasset.auth.roles import Permission
from stateasset.core.schemas import MAX_PAGE, Page


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
    guards = [requires(Permission.audit_read)]

    @get("/", operation_id="list_audit")
    async def list_audit(
        self,
        actor: FromQuery[str | None] = None,
        object_type: FromQuery[str | None] = None,
        object_id: FromQuery[str | None] = None,
        action: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Page[AuditRecord]:
        """Audit rows, newest first, filtered by person, object, action and time."""
        return await service.list_entries(
            actor=actor,
            object_type=object_type,
            object_id=object_id,
            action=action,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )

    @get("/verify", operation_id="verify_audit")
    async def verify(self) -> ChainReport:
        """Walk the hash chain and report the first broken link."""
        return await service.verify_chain()
