"""Error answers the gateway writes itself, in the protocol's shape (docs/protocol.md,
"Errors")."""

from __future__ import annotations

import math
from collections.abc import Mapping

from starlette.responses import JSONResponse

from igris_core import protocol

__all__ = [
    "GatewayError",
    "StreamAbort",
    "error_type_for",
    "format_retry_after",
    "retry_after_seconds",
]


def error_type_for(status: int) -> str:
    """The gateway's ``error.type`` for a status it answers itself."""
    known = protocol.ERROR_TYPE_BY_STATUS.get(status)
    if known is not None:
        return known
    return protocol.ERROR_TYPE_BY_STATUS[500] if status >= 500 else "invalid_request_error"


def format_retry_after(value: float) -> str:
    """A ``Retry-After`` value written as given: ``2`` for 2 or 2.0, ``0.5`` for 0.5."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def retry_after_seconds(wait: float) -> int:
    """Whole seconds to wait for a real rate limit: rounded up, never below 1."""
    return max(1, math.ceil(wait))


class GatewayError(Exception):
    """An error answer: raised anywhere in a handler, rendered by the app's exception handler.

    ``rule`` names the deny rule or rate limit behind it, for the audit trail.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,  # mirrors the wire field name
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        rule: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or error_type_for(status)
        self.code = code
        self.headers = dict(headers or {})
        self.rule = rule

    def body(self) -> dict[str, object]:
        """The protocol's error body for this error."""
        return protocol.error_body(self.message, self.type, self.code)

    def response(self) -> JSONResponse:
        """The HTTP answer for this error."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


class StreamAbort(Exception):
    """Raised inside a streaming answer to drop the TCP connection on purpose (a fault, or an
    upstream that dropped ours): the client sees an incomplete body, never a clean end."""
