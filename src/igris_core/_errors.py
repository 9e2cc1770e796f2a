"""Typed errors raised by every Igris client, adapter and framework integration.

All of them subclass :class:`IgrisError`. An error raised for a gateway answer carries the
HTTP ``status_code``, the gateway's ``request_id`` (``X-Igris-Request-Id``) and the parsed
``response`` body where there was one. No error ever holds the API key.

Example::

    try:
        client.chat.completions.create(model="@openai-prod/gpt-4o", messages=msgs)
    except IgrisPolicyDeniedError as err:
        print("blocked:", err.message, err.request_id)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "IgrisAuthError",
    "IgrisBadRequestError",
    "IgrisConflictError",
    "IgrisConnectionError",
    "IgrisDecodeError",
    "IgrisError",
    "IgrisInputError",
    "IgrisInputTypeError",
    "IgrisNotFoundError",
    "IgrisPayloadTooLargeError",
    "IgrisPolicyDeniedError",
    "IgrisRateLimitError",
    "IgrisResponseTooLargeError",
    "IgrisServerError",
    "IgrisStreamError",
    "IgrisTimeoutError",
    "IgrisValidationError",
]


class IgrisError(Exception):
    """Base class of every error this package raises.

    Attributes:
        message: a human-readable description (never contains the API key).
        status_code: the HTTP status of the gateway's answer, or ``None`` when there was none.
        request_id: the gateway's ``X-Igris-Request-Id`` for the answer, when known.
        response: the parsed JSON body of the answer, when it was JSON.
        body: the raw text of the answer, when there was one.
        type: the ``error.type`` field of the gateway's error body, when present.
        code: the ``error.code`` field of the gateway's error body, when present.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        response: Any = None,
        body: str | None = None,
        type: str | None = None,  # mirrors the wire field name
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.request_id = request_id
        self.response = response
        self.body = body
        self.type = type
        self.code = code

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.append(f"status={self.status_code}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " | ".join(parts) if len(parts) > 1 else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status_code={self.status_code!r}, "
            f"request_id={self.request_id!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructor arguments: rebuild through a helper so errors pickle across
        # process pools with every attribute intact.
        return (_rebuild_error, (type(self), self.message, self.__dict__.copy()))


def _rebuild_error(cls: type[IgrisError], message: str, state: dict[str, Any]) -> IgrisError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class IgrisInputError(IgrisError, ValueError):
    """A bad argument, refused on the client before any request is sent."""


class IgrisInputTypeError(IgrisInputError, TypeError):
    """An argument of the wrong type, refused on the client before any request is sent."""


class IgrisBadRequestError(IgrisError):
    """HTTP 400: the gateway or the provider rejected the request."""


class IgrisAuthError(IgrisError):
    """HTTP 401: the Igris API key is missing, invalid or expired."""


class IgrisPolicyDeniedError(IgrisError):
    """HTTP 403: a gateway policy rule denied the request."""


class IgrisNotFoundError(IgrisError):
    """HTTP 404: unknown route, connection or model."""


class IgrisConflictError(IgrisError):
    """HTTP 409: a resource conflict (mostly management calls)."""


class IgrisPayloadTooLargeError(IgrisError):
    """HTTP 413: the request body exceeds the gateway's limit."""


class IgrisValidationError(IgrisError):
    """HTTP 422: the gateway rejected the request's shape."""


class IgrisRateLimitError(IgrisError):
    """HTTP 429: a rate limit (a policy rule or the provider's) was exceeded.

    ``retry_after`` holds the seconds the gateway asked to wait (``Retry-After``), when given.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class IgrisServerError(IgrisError):
    """HTTP 5xx: the gateway or the provider behind it failed."""


class IgrisConnectionError(IgrisError):
    """No answer: the connection was refused, reset or dropped."""


class IgrisTimeoutError(IgrisConnectionError):
    """No answer in time: the request exceeded its timeout."""


class IgrisStreamError(IgrisConnectionError):
    """A stream ended before ``data: [DONE]``: the answer is incomplete and must not be used."""


class IgrisResponseTooLargeError(IgrisError):
    """The answer (after decompression) exceeds the client's ``max_response_bytes``: reading
    stopped there instead of buffering without bound. ``body`` keeps a bounded prefix of what
    was read. (A stream line or event over ``max_event_bytes`` raises
    :class:`IgrisStreamError`.)"""


class IgrisDecodeError(IgrisError):
    """The gateway answered with a body that is not the JSON the protocol promises.

    ``body`` keeps a bounded prefix of the raw text (an echoed API key redacted).
    """
