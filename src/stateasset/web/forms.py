"""Form input into the same schemas the API decodes, and problems back beside their fields.

A page handler converts the posted fields with `decode(data, Schema)` and calls the domain service;
both raise `DomainError` (`Invalid` with `errors`), whose field problems `problems_by_field` keys by
the API's field name (`body.short_name`), so `_field.html` shows each reason next to its input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from stateasset.core.errors import DomainError, FieldProblem, Invalid

T = TypeVar("T")
_AT = re.compile(r"\s*-\s*at `\$(?P<path>[^`]*)`$")


def decode(data: Mapping[str, Any], schema: type[T], *, at: str = "body") -> T:
    """`data` as `schema`, as the API would decode it; bad fields raise `Invalid` naming them.

    `at` is where `data` sits in the request, the start of each problem's field path.
    """
    try:
        return msgspec.convert(dict(data), schema, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _AT.search(message)
        path = match.group("path") if match else ""
        reason = _AT.sub("", message)
        raise Invalid(
            f"{at}{path}: {reason}", errors=[FieldProblem(field=f"{at}{path}", reason=reason)]
        ) from exc


def problems_by_field(exc: DomainError) -> dict[str, str]:
    """Each field's reasons, joined: what `_field.html` looks up as `problems[field]`."""
    out: dict[str, str] = {}
    for problem in exc.errors:
        out[problem.field] = (
            f"{out[problem.field]}；{problem.reason}" if problem.field in out else problem.reason
        )
    return out
