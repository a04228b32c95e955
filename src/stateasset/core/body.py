"""Request bodies as the API reads them: exact numbers, and malformed JSON refused as 400.

Litestar decodes a JSON body to Python objects first and converts them to the handler's Struct
after. Its decoder reads `12345678901234567.01` as a float (17 significant digits, so the cent is
lost before any check sees it) and `1e999` not at all; it lets a body that is not UTF-8 or nests
deeper than the interpreter's recursion limit escape as a 500. Here every JSON number with a
fraction or exponent becomes a `Decimal` with the digits the caller sent (a float field still
accepts it), and each way a body can fail to decode is a `SerializationException`, which Litestar
answers as 400 with our problem details.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException
from litestar.types import Empty

_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def decode_json_body(body: bytes) -> Any:
    """The body as Python objects, non-integer numbers as `Decimal`; a 400 when it is not JSON."""
    try:
        return _DECODER.decode(body)
    except msgspec.DecodeError as exc:
        raise SerializationException(f"the body is not valid JSON: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SerializationException(
            f"the body is not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start})"
        ) from exc
    except RecursionError as exc:
        # msgspec stops at the interpreter's recursion limit, cleanly (no frame is left broken).
        raise SerializationException("the body's JSON is nested too deeply") from exc


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
