"""Builders for KPI API tests."""

from __future__ import annotations

from tests.ledger.conftest import Api, admin, api, credit_code, make_entity, make_stake  # noqa: F401
