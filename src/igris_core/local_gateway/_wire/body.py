"""Reading a request body: the size limit (413), JSON (400) and a JSON object (422)."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from igris_core.local_gateway._wire.errors import GatewayError

__all__ = ["read_json_object"]


class _InvalidNumber(ValueError):
    pass


def _no_constant(name: str) -> float:
    # Python's json accepts NaN and Infinity; JSON has no such numbers.
    raise _InvalidNumber(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _InvalidNumber(f"{text[:40]} is out of the range of a double")
    return value


async def read_json_object(request: Request, limit: int) -> tuple[bytes, dict[str, Any]]:
    """The raw body and its JSON object. The size is checked as the body streams in, so a body
    without ``Content-Length`` (chunked) cannot get past the limit either."""
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise GatewayError(413, f"request body exceeds the limit of {limit} bytes")
        parts.append(part)
    raw = b"".join(parts)
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except _InvalidNumber as exc:
        raise GatewayError(400, f"request body holds an invalid number: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise GatewayError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise GatewayError(422, "invalid request: the body must be a JSON object")
    return raw, data
