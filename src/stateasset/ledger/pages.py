"""The ledger's pages: 主体与股权 (entities, their trees and one entity's stakes).

The example to copy for a list page: the handler asks the ledger `service` for rows (scope and
permission checked there, as for the API), shapes them into one Polars frame, and hands it to the
table component (`web.table`); an htmx request gets only the table back.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

import polars as pl
from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from stateasset.auth.guards import allowed, requires
from stateasset.auth.roles import Permission
from stateasset.auth.schemas import Actor
from stateasset.core.errors import DomainError, NotFound
from stateasset.core.http import xlsx_download
from stateasset.ledger import service
from stateasset.ledger.closing import statements
from stateasset.ledger.schemas import ConsolidationMethod, EntityUpdate, TreeNode
from stateasset.web.forms import decode, problems_by_field
from stateasset.web.shell import PageController, is_htmx, page
from stateasset.web.table import Column, Table

Reader = Request[Actor, Any, Any]

METHOD_LABELS = {
    ConsolidationMethod.full: "全面合并",
    ConsolidationMethod.equity: "权益法",
    ConsolidationMethod.none: "不合并",
}
STATUS_LABELS = {"active": "存续", "dormant": "停业", "deregistered": "注销"}
HIERARCHIES = {"legal": "法人层级", "platform": "五大投平台", "segment": "业务板块"}

ENTITIES = Table(
    "entities",
    [
        Column("name", "名称", "link", link="/ledger/entities/{id}"),
        Column("short_name", "简称"),
        Column("credit_code", "统一社会信用代码"),
        Column("kind_label", "类型", choices=True),
        Column("platform", "平台", choices=True),
        Column("segment_label", "板块", choices=True),
        Column("method_label", "合并方法", choices=True),
        Column("effective_interest", "穿透持股比例", "ratio"),
        Column("consolidated_interest", "归母权益比例", "ratio"),
    ],
    search=("name", "short_name", "credit_code"),
)

_SCHEMA = {
    "id": pl.String,
    "name": pl.String,
    "short_name": pl.String,
    "credit_code": pl.String,
    "kind_label": pl.String,
    "platform": pl.String,
    "segment_label": pl.String,
    "method_label": pl.String,
    "effective_interest": pl.Float64,
    "consolidated_interest": pl.Float64,
}


async def _root(actor: Actor) -> UUID | None:
    """Where the actor's ownership view starts: the group, or their own entity when scoped."""
    if allowed(actor, Permission.ledger_all):
        return await service.group_id()
    return actor.entity_id


async def entities_frame(actor: Actor, as_of: date) -> pl.DataFrame:
    """Every entity the actor may see, with its platform and its interest from the actor's root."""
    page_ = await service.list_entities(actor=actor, limit=1_000_000)
    # Platforms by the short names staff use (城建投), where the actor can see the platform.
    names = await service.entity_names()
    names.update({e.id: e.short_name or e.name for e in page_.items})
    root = await _root(actor)
    owned = {}
    if root is not None:
        view = await service.ownership_view(actor=actor, root_id=root, as_of=as_of)
        owned = {r.entity_id: r for r in view.rows}
    rows = []
    for e in page_.items:
        own = owned.get(e.id)
        rows.append(
            {
                "id": str(e.id),
                "name": e.name,
                "short_name": e.short_name,
                "credit_code": e.credit_code,
                "kind_label": e.kind_label,
                "platform": names.get(e.platform_id) if e.platform_id else None,
                "segment_label": e.segment_label,
                "method_label": METHOD_LABELS[own.method] if own else None,
                "effective_interest": own.effective_interest if own else None,
                "consolidated_interest": own.consolidated_interest if own else None,
            }
        )
    return pl.DataFrame(rows, schema=_SCHEMA)


def _tree_rows(nodes: list[TreeNode], frame: pl.DataFrame, depth: int = 0) -> list[dict[str, Any]]:
    """The tree flattened in display order, each node with its depth and its table columns."""
    by_id = {r["id"]: r for r in frame.to_dicts()}
    out: list[dict[str, Any]] = []

    def walk(node: TreeNode, level: int) -> None:
        facts = by_id.get(node.id, {})
        out.append({"node": node, "depth": level, "facts": facts, "entity": node.id in by_id})
        for child in node.children:
            walk(child, level + 1)

    for node in nodes:
        walk(node, depth)
    return out


class EntityPages(PageController):
    path = "/ledger/entities"
    guards = [requires(Permission.ledger_read)]

    @get("/")
    async def entities(
        self, request: Reader, view: FromQuery[str] = "table", hierarchy: FromQuery[str] = "legal"
    ) -> Template:
        """主体与股权: the entities table, or a tree (legal / platform / segment)."""
        frame = await entities_frame(request.user, date.today())
        if view == "tree":
            hierarchy = hierarchy if hierarchy in HIERARCHIES else "legal"
            nodes = await service.entity_tree(
                actor=request.user, hierarchy=hierarchy, as_of=date.today()
            )
            return page(
                "ledger/entities.html",
                request,
                view="tree",
                hierarchy=hierarchy,
                hierarchies=HIERARCHIES,
                tree=_tree_rows(nodes, frame),
                method_labels=METHOD_LABELS,
            )
        table = ENTITIES.view(frame, request.query_params)
        export_url = "/ledger/entities/export.xlsx" + table.url(page=None).rstrip("?")
        if is_htmx(request):
            return page("_table.html", request, table=table, export_url=export_url)
        return page(
            "ledger/entities.html",
            request,
            view="table",
            hierarchies=HIERARCHIES,
            table=table,
            export_url=export_url,
        )

    @get("/export.xlsx")
    async def export(self, request: Reader) -> Response[bytes]:
        """The entities table as filtered and sorted, every row, as XLSX."""
        frame = await entities_frame(request.user, date.today())
        content = ENTITIES.xlsx(frame, request.query_params, "主体与股权")
        return xlsx_download(content, "entities.xlsx")

    @get("/{entity_id:uuid}")
    async def entity(self, request: Reader, entity_id: FromPath[UUID]) -> Template:
        """One entity: its facts and its stakes, held and holding, over time."""
        return await self._entity_page(request, entity_id)

    @post("/{entity_id:uuid}", guards=[requires(Permission.ledger_approve)], status_code=303)
    async def rename(
        self,
        request: Reader,
        entity_id: FromPath[UUID],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        """Change an entity's names through the API's service; problems show beside the fields."""
        form = {k: (data.get(k) or "").strip() for k in ("name", "short_name")}
        try:
            change = decode(form, EntityUpdate)
            await service.update_entity(actor=request.user, entity_id=entity_id, data=change)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise
            return await self._entity_page(
                request, entity_id, form=form, problems=problems_by_field(exc), problem=exc
            )
        return Redirect(f"/ledger/entities/{entity_id}", status_code=303)

    async def _entity_page(
        self,
        request: Reader,
        entity_id: UUID,
        *,
        form: dict[str, str] | None = None,
        problems: dict[str, str] | None = None,
        problem: DomainError | None = None,
    ) -> Template:
        try:
            entity = await service.get_entity(actor=request.user, entity_id=entity_id)
        except NotFound as exc:
            if allowed(request.user, Permission.ledger_all):
                raise
            # Outside one's scope and not existing look the same: no access.
            raise PermissionDeniedException("outside the user's scope") from exc
        stakes = await service.list_stakes(actor=request.user, entity_id=entity_id, as_of=None)
        # Statements are `ledger:statements`; a fund manager reads the entity without them.
        filed = (
            await statements.entity_periods(actor=request.user, entity_id=entity_id)
            if allowed(request.user, Permission.ledger_statements)
            else None
        )
        names = await service.entity_names()
        return page(
            "ledger/entity.html",
            request,
            entity=entity,
            platform=names.get(entity.platform_id) if entity.platform_id else None,
            held_by=[s for s in stakes if s.held_id == entity_id],
            holds=[s for s in stakes if s.holder_id == entity_id],
            names=names,
            filed=filed,
            status_label=STATUS_LABELS.get(entity.status, entity.status),
            can_edit=allowed(request.user, Permission.ledger_approve),
            form=form or {"name": entity.name, "short_name": entity.short_name},
            problems=problems or {},
            problem=problem,
            status_code=problem.status if problem else 200,
        )


LEDGER_PAGES = [EntityPages]
