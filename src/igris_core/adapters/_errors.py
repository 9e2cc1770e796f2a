"""Turn the exceptions an adapted SDK client raises into the package's typed errors.

An adapted ``openai`` or ``anthropic`` client keeps raising the SDK's own exceptions
(``openai.PermissionDeniedError``, ``anthropic.RateLimitError``, ...), so that code written
against the SDK keeps working. :func:`to_igris_error` gives the matching :class:`IgrisError`
instead, mapped exactly as the Igris client maps a gateway answer (docs/protocol.md, "Errors").

Neither SDK is imported here: an exception of an SDK means that SDK is already loaded, so the
classes are looked up in ``sys.modules``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import httpx

from igris_core import (
    IgrisConnectionError,
    IgrisDecodeError,
    IgrisError,
    IgrisInputTypeError,
    IgrisTimeoutError,
    protocol,
)
from igris_core._answer import Answer, Redactor, error_from_answer
from igris_core._streaming import _error_event as error_event  # the Igris streams' mapping

__all__ = ["to_igris_error"]

_SDKS = ("openai", "anthropic")


def _sdk_class(name: str) -> tuple[type[BaseException], ...]:
    """The class ``name`` of every SDK loaded in this process (none may be)."""
    found: list[type[BaseException]] = []
    for module_name in _SDKS:
        cls = getattr(sys.modules.get(module_name), name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def _secrets(request: Any) -> list[str]:
    """The credentials the request carried: the adapted client sends the Igris key as
    ``Authorization: Bearer`` or ``x-api-key``, and a hostile gateway may echo either back."""
    headers = getattr(request, "headers", None) or {}
    bearer = str(headers.get(protocol.AUTHORIZATION_HEADER, "")).partition(" ")[2].strip()
    api_key = str(headers.get(protocol.API_KEY_HEADER, "")).strip()
    return [secret for secret in (bearer, api_key) if secret]


def _redact(text: str, secrets: list[str]) -> str:
    """``text`` without any echo of the credentials, in whatever escaping (the same redaction
    the Igris client applies to its own answers)."""
    for secret in secrets:
        text = Redactor(secret)(text)
    return text


def _as_answer(response: Any, secrets: list[str]) -> Answer:
    """The SDK response (an ``httpx`` or ``httpx2`` object) as the client's bounded answer, so
    that the one function that maps gateway answers builds the error."""
    headers = httpx.Headers(
        [(name, _redact(value, secrets)) for name, value in response.headers.items()]
    )
    return Answer(
        status_code=response.status_code,
        reason_phrase=str(getattr(response, "reason_phrase", "")),
        headers=headers,
        content=_redact(response.text, secrets).encode(),
        redact=Redactor(secrets[0] if secrets else ""),  # the body is redacted already
    )


def _no_answer(exc: Any, cls: type[IgrisConnectionError]) -> IgrisError:
    request = exc.request
    secrets = _secrets(request)
    where = f"{request.method} {_redact(str(request.url), secrets)}"
    detail = _redact(str(exc.__cause__ or exc), secrets)
    return cls(f"{type(exc).__name__} on {where}: {detail}")


def to_igris_error(exc: object) -> IgrisError:
    """The :class:`~igris_core.IgrisError` for an exception an adapted SDK client raised.

    - ``APIStatusError`` (every HTTP error of ``openai`` and ``anthropic``): the class the Igris
      client raises for that status (403 :class:`~igris_core.IgrisPolicyDeniedError`, 429
      :class:`~igris_core.IgrisRateLimitError` with ``retry_after``, 5xx
      :class:`~igris_core.IgrisServerError`, ...), with ``request_id`` from the gateway's
      ``X-Igris-Request-Id`` header, the parsed ``response`` and the raw ``body``;
    - ``APITimeoutError``: :class:`~igris_core.IgrisTimeoutError`; ``APIConnectionError``:
      :class:`~igris_core.IgrisConnectionError`, naming the method and URL tried;
    - ``APIResponseValidationError`` (a 2xx answer of the wrong shape):
      :class:`~igris_core.IgrisDecodeError`;
    - an ``error`` event in a stream (``openai.APIError``, or an ``anthropic.APIStatusError`` of a
      200 answer): the class for the status the event names, as the Igris client's streams do;
    - an :class:`~igris_core.IgrisError` (an adapted client raises one for a bad identity value
      before sending): returned as it is.

    The credential the request carried is replaced by ``***`` wherever the answer echoed it. The
    SDK exception becomes the error's ``__cause__``. Anything else raises
    :class:`~igris_core.IgrisInputTypeError`.

    Example::

        try:
            client.chat.completions.create(model="gpt-4o", messages=msgs)
        except openai.APIError as exc:
            raise to_igris_error(exc) from exc
    """
    if isinstance(exc, IgrisError):
        return exc
    if isinstance(exc, BaseException):
        err = _convert(exc)
        if err is not None:
            err.__cause__ = exc
            return err
    raise IgrisInputTypeError(
        f"invalid exception {type(exc).__name__!r}: expected an exception raised by an "
        "adapted openai or anthropic client (openai.APIError / anthropic.APIError), or an "
        "IgrisError"
    )


def _status_error(exc: Any) -> IgrisError:
    if exc.response.status_code < 400:  # anthropic: an error event in a 200 stream
        return _event_error(exc)
    return error_from_answer(_as_answer(exc.response, _secrets(exc.request)))


def _event_error(exc: Any) -> IgrisError:
    """An ``error`` event in a stream: the SDK keeps the event's JSON as ``body``."""
    secrets = _secrets(exc.request)
    body = exc.body
    payload = body if isinstance(body, dict) and "error" in body else {"error": body}
    payload = json.loads(_redact(json.dumps(payload, default=str), secrets))
    response = getattr(exc, "response", None)
    request_id = response.headers.get(protocol.REQUEST_ID_HEADER) if response is not None else None
    return error_event(payload, request_id)


def _timeout_error(exc: Any) -> IgrisError:
    return _no_answer(exc, IgrisTimeoutError)


def _connection_error(exc: Any) -> IgrisError:
    return _no_answer(exc, IgrisConnectionError)


def _decode_error(exc: Any) -> IgrisError:
    secrets = _secrets(exc.request)
    answer = _as_answer(exc.response, secrets)
    where = f"{exc.request.method} {_redact(str(exc.request.url), secrets)}"
    return IgrisDecodeError(
        f"the answer to {where} does not have the shape the SDK expects: "
        f"{_redact(str(exc), secrets)}",
        status_code=answer.status_code,
        request_id=answer.request_id,
        body=answer.safe_text(),
    )


# SDK class name -> builder, most specific first (APITimeoutError is an APIConnectionError).
_BUILDERS: tuple[tuple[str, Callable[[Any], IgrisError]], ...] = (
    ("APIStatusError", _status_error),
    ("APITimeoutError", _timeout_error),
    ("APIConnectionError", _connection_error),
    ("APIResponseValidationError", _decode_error),
    ("APIError", _event_error),  # openai: an error event in a stream
)


def _convert(exc: BaseException) -> IgrisError | None:
    """The typed error for an SDK exception, ``None`` for any other exception."""
    for name, build in _BUILDERS:
        if isinstance(exc, _sdk_class(name)):
            return build(exc)
    return None
