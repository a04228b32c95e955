"""Response shapes every domain shares: pages and problem details."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from stateasset.core.errors import FieldProblem

T = TypeVar("T")

MAX_PAGE = 500


class Page(msgspec.Struct, Generic[T], frozen=True):
    """One page of a list: `total` counts every match, not just this page."""

    items: list[T]
    total: int
    limit: int
    offset: int


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """RFC 9457 problem details, as every error is returned."""

    type: str
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    request_id: str = ""
    errors: list[FieldProblem] = []
    errors_truncated: int = 0  # how many more errors there were than `errors` lists
