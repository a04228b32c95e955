"""Request bodies as the API reads them: exact numbers, and malformed JSON refused as 400.

Litestar decodes a JSON body to Python objects first and converts them to the handler's Struct
after. Its decoder reads `12345678901234567.01` as a float (17 significant digits, so the cent is
lost before any check sees it) and `1e999` not at all; it lets a body that is not UTF-8 or nests
deeper than the interpreter's recursion limit escape as a 500. Here every JSON number with a
fraction or exponent becomes a `Decimal` with the digits the caller sent (a float field still
accepts it), and each way a body can fail to decode is a 400 whose one error names `body`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.types import Empty

_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def decode_json_body(body: bytes) -> Any:
    """The body as Python objects, non-integer numbers as `Decimal`; a 400 naming `body` if not."""
    try:
        return _DECODER.decode(body)
    except msgspec.DecodeError as exc:
        reason = f"not valid JSON: {exc}"
    except UnicodeDecodeError as exc:
        # msgspec gives the offending string, not the body: its offset would mislead.
        reason = f"not valid UTF-8 (byte 0x{exc.object[exc.start]:02x})"
    except RecursionError:
        # msgspec stops at the interpreter's recursion limit, cleanly (no frame is left broken).
        reason = "JSON nested too deeply"
    raise ValidationException(
        detail=f"body: {reason}", extra=[{"key": "", "message": reason, "source": "body"}]
    )


class ApiRequest(Request[Any, Any, Any]):
    """Litestar's request with the JSON body read by `decode_json_body`."""

    async def json(self) -> Any:
        if self._json is Empty:
            if (cached := self._connection_state.json) is not Empty:
                self._json = cached
            else:
                body = await self.body()
                self._json = self._connection_state.json = decode_json_body(body or b"null")
        return self._json
