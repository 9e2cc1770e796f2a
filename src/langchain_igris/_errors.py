"""The errors ChatIgris and IgrisEmbeddings raise: ``igris_core``'s typed errors that are also
LangChain's standard model errors (``langchain_core.exceptions``).

LangChain's machinery decides what to do with a failed model call from those standard classes:
agent retry middleware and ``with_retry`` read ``ModelError.is_retryable`` (a policy denial must
not be retried), ``SummarizationMiddleware`` summarises and tries again on
``ContextOverflowError``. ``igris_core`` knows nothing of LangChain, so each of its error classes
gets a subclass here deriving from both, of the same name (messages and ``type(err).__name__``
read as before; a context overflow is ``IgrisContextOverflowError``). :func:`langchain_errors`
re-raises an ``igris_core`` error as its subclass, with every attribute kept:
``except IgrisPolicyDeniedError`` and ``except ModelPermissionDeniedError`` both catch a denial.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from igris_core import _errors as core

__all__ = ["as_langchain_error", "is_context_overflow", "langchain_errors"]


class IgrisError(core.IgrisError, ModelError):
    """Any other Igris error (not retried by LangChain's middleware)."""


class IgrisInputError(core.IgrisInputError, ModelInvalidRequestError):
    """A bad argument refused before any request; a LangChain ``ModelInvalidRequestError``."""


class IgrisInputTypeError(core.IgrisInputTypeError, ModelInvalidRequestError):
    """An argument of the wrong type; a LangChain ``ModelInvalidRequestError``."""


class IgrisBadRequestError(core.IgrisBadRequestError, ModelInvalidRequestError):
    """HTTP 400; a LangChain ``ModelInvalidRequestError``."""


class IgrisContextOverflowError(core.IgrisBadRequestError, ContextOverflowError):
    """HTTP 400 whose code or message says the input exceeds the model's context window."""


class IgrisPayloadTooLargeError(core.IgrisPayloadTooLargeError, ModelInvalidRequestError):
    """HTTP 413; a LangChain ``ModelInvalidRequestError``."""


class IgrisPayloadContextOverflowError(core.IgrisPayloadTooLargeError, ContextOverflowError):
    """HTTP 413 whose code or message says the input exceeds the model's context window."""


class IgrisValidationError(core.IgrisValidationError, ModelInvalidRequestError):
    """HTTP 422; a LangChain ``ModelInvalidRequestError``."""


class IgrisAuthError(core.IgrisAuthError, ModelAuthenticationError):
    """HTTP 401; a LangChain ``ModelAuthenticationError``."""


class IgrisPolicyDeniedError(core.IgrisPolicyDeniedError, ModelPermissionDeniedError):
    """HTTP 403, a policy denial; a LangChain ``ModelPermissionDeniedError`` (never retried)."""


class IgrisNotFoundError(core.IgrisNotFoundError, ModelNotFoundError):
    """HTTP 404; a LangChain ``ModelNotFoundError``."""


class IgrisConflictError(core.IgrisConflictError, ModelError):
    """HTTP 409; a LangChain ``ModelError`` (not retried)."""


class IgrisRateLimitError(core.IgrisRateLimitError, ModelRateLimitError):
    """HTTP 429; a LangChain ``ModelRateLimitError`` (retryable)."""


class IgrisServerError(core.IgrisServerError, ModelAPIError):
    """HTTP 5xx; a LangChain ``ModelAPIError`` (retryable)."""


class IgrisDecodeError(core.IgrisDecodeError, ModelAPIError):
    """An answer that is not what the protocol promises; a LangChain ``ModelAPIError``."""


class IgrisResponseTooLargeError(core.IgrisResponseTooLargeError, ModelAPIError):
    """An answer over ``max_response_bytes``; a LangChain ``ModelAPIError``."""


class IgrisConnectionError(core.IgrisConnectionError, ModelConnectionError):
    """No answer; a LangChain ``ModelConnectionError`` (retryable)."""


class IgrisStreamError(core.IgrisStreamError, ModelConnectionError):
    """A stream cut before its end; a LangChain ``ModelConnectionError`` (retryable)."""


class IgrisTimeoutError(core.IgrisTimeoutError, ModelTimeoutError):
    """No answer in time; a LangChain ``ModelTimeoutError`` (retryable)."""


# Most specific first: the first ``isinstance`` match wins.
_CLASSES: tuple[tuple[type[core.IgrisError], type[core.IgrisError]], ...] = (
    (core.IgrisInputTypeError, IgrisInputTypeError),
    (core.IgrisInputError, IgrisInputError),
    (core.IgrisBadRequestError, IgrisBadRequestError),
    (core.IgrisPayloadTooLargeError, IgrisPayloadTooLargeError),
    (core.IgrisValidationError, IgrisValidationError),
    (core.IgrisAuthError, IgrisAuthError),
    (core.IgrisPolicyDeniedError, IgrisPolicyDeniedError),
    (core.IgrisNotFoundError, IgrisNotFoundError),
    (core.IgrisConflictError, IgrisConflictError),
    (core.IgrisRateLimitError, IgrisRateLimitError),
    (core.IgrisServerError, IgrisServerError),
    (core.IgrisDecodeError, IgrisDecodeError),
    (core.IgrisResponseTooLargeError, IgrisResponseTooLargeError),
    (core.IgrisTimeoutError, IgrisTimeoutError),
    (core.IgrisStreamError, IgrisStreamError),
    (core.IgrisConnectionError, IgrisConnectionError),
    (core.IgrisError, IgrisError),
)
_OVERFLOW_CLASSES: dict[type[core.IgrisError], type[core.IgrisError]] = {
    IgrisBadRequestError: IgrisContextOverflowError,
    IgrisPayloadTooLargeError: IgrisPayloadContextOverflowError,
}
# Error codes and message fragments providers use for "the prompt does not fit the context".
_OVERFLOW_CODES = frozenset(
    {"context_length_exceeded", "context_window_exceeded", "model_context_window_exceeded"}
)
_OVERFLOW_PHRASES = (
    "context_length_exceeded",
    "maximum context length",
    "context window",
    "prompt is too long",
    "input tokens exceed",
    "input is too long",
)


def is_context_overflow(error: core.IgrisError) -> bool:
    """True when a 400/413 answer's code or message says the input exceeds the context."""
    if error.code and error.code.lower() in _OVERFLOW_CODES:
        return True
    message = error.message.lower()
    return any(phrase in message for phrase in _OVERFLOW_PHRASES)


def as_langchain_error(error: core.IgrisError) -> core.IgrisError:
    """``error`` as an instance of its LangChain-aware subclass (itself when it already is one).

    The copy keeps the message, every attribute (status, request id, body, code, retry-after)
    and the cause.
    """
    if isinstance(error, ModelError):
        return error
    target = next(cls for base, cls in _CLASSES if isinstance(error, base))
    overflow = _OVERFLOW_CLASSES.get(target)
    if overflow is not None and is_context_overflow(error):
        target = overflow
    copy = target.__new__(target)
    Exception.__init__(copy, *error.args)
    copy.__dict__.update(error.__dict__)
    copy.__cause__ = error.__cause__
    copy.__suppress_context__ = error.__suppress_context__
    return copy


@contextmanager
def langchain_errors() -> Iterator[None]:
    """Re-raise any ``igris_core`` error raised in the block as its LangChain-aware subclass
    (works around the body of a generator or an async generator too)."""
    try:
        yield
    except core.IgrisError as error:
        converted = as_langchain_error(error)
        if converted is error:
            raise
        raise converted.with_traceback(error.__traceback__) from error.__cause__
