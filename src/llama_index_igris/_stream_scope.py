"""Keep the ``igris_context`` scope of a streaming query for the reading of its stream.

A streaming query engine returns its ``StreamingResponse`` at once and sends the LLM request only
when ``response_gen`` is first read, often after the ``with igris_context(...)`` block has
closed. A LlamaIndex span handler sees every query span end inside that block: it captures the
scope there and wraps the response's token stream so that each step of the stream runs inside
it again. Threads and worker processes do not see the caller's contextvars at all; the models'
own ``igris_user`` / ``igris_trace_id`` / ``igris_metadata`` reach them (README, "LlamaIndex
details").
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from contextlib import AbstractContextManager
from typing import Any

from llama_index.core.base.response.schema import AsyncStreamingResponse, StreamingResponse
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from llama_index_instrumentation import get_dispatcher

from igris_core import Identity, current_context, igris_context

__all__ = ["install_stream_scope"]

_wrapped: weakref.WeakSet[object] = weakref.WeakSet()
_installed = False
_lock = threading.Lock()


def _scope(identity: Identity) -> AbstractContextManager[Identity]:
    return igris_context(identity.user, identity.trace_id, identity.metadata)


def _scoped(identity: Identity, tokens: Iterator[str]) -> Generator[str, None, None]:
    try:
        while True:
            with _scope(identity):
                try:
                    token = next(tokens)
                except StopIteration:
                    return
            yield token
    finally:
        close = getattr(tokens, "close", None)
        if close is not None:
            with _scope(identity):
                close()


async def _ascoped(identity: Identity, tokens: AsyncIterator[str]) -> AsyncGenerator[str, None]:
    iterator = tokens.__aiter__()
    try:
        while True:
            with _scope(identity):
                try:
                    token = await iterator.__anext__()
                except StopAsyncIteration:
                    return
            yield token
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with _scope(identity):
                await aclose()


def _keep_scope(response: StreamingResponse | AsyncStreamingResponse) -> None:
    identity = current_context()
    tokens = response.response_gen
    if identity is None or tokens is None or tokens in _wrapped:
        return
    if isinstance(response, StreamingResponse):
        response.response_gen = _scoped(identity, response.response_gen)
    else:
        response.response_gen = _ascoped(identity, response.response_gen)
    _wrapped.add(response.response_gen)


class _StreamScopeHandler(BaseSpanHandler[Any]):
    """Records no spans; wraps the token stream of a streaming response as its span ends."""

    @classmethod
    def class_name(cls) -> str:
        """The handler's name in LlamaIndex's instrumentation."""
        return "IgrisStreamScopeHandler"

    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """No span is kept."""
        return None

    def prepare_to_exit_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        result: Any | None = None,
        **kwargs: Any,
    ) -> None:
        """Wrap a streaming response's tokens in the current ``igris_context`` scope."""
        if isinstance(result, StreamingResponse | AsyncStreamingResponse):
            _keep_scope(result)
        return None

    def prepare_to_drop_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> None:
        """No span is kept."""
        return None


def install_stream_scope() -> None:
    """Add the handler to LlamaIndex's root dispatcher, once per process."""
    global _installed
    with _lock:
        if not _installed:
            get_dispatcher().add_span_handler(_StreamScopeHandler())
            _installed = True
