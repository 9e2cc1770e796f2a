"""The scope a chat model's stream runs in: taken when the stream is created, applied when it
sends its request.

``BaseChatModel.stream``/``astream`` are lazy: the request goes out at the first step, possibly
after the caller's ``igris_context`` block has ended or inside another one. The chat model
captures the run's metadata and the ``igris_context`` identity when the stream is created, and
these wrappers apply them around that first step (the creation-time scope wins over the one
current then).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from langchain_core.messages import AIMessageChunk

from igris_core import Identity, igris_context
from langchain_igris._identity import reset_run_metadata, set_run_metadata
from langchain_igris._runs import model_run_scope

__all__ = ["ain_scope", "in_scope"]

_END: Any = object()


@contextmanager
def _request_scope(metadata: Mapping[str, Any] | None, scope: Identity | None) -> Iterator[None]:
    """Around a stream's first step (where its request is sent): the run's metadata, and the
    ``igris_context`` scope the stream was created in (it wins over the current one)."""
    token = set_run_metadata(metadata)
    try:
        with model_run_scope():
            if scope is None:
                yield
            else:
                with igris_context(scope.user, scope.trace_id, scope.metadata):
                    yield
    finally:
        reset_run_metadata(token)


def in_scope(
    chunks: Iterator[AIMessageChunk],
    metadata: Mapping[str, Any] | None,
    scope: Identity | None,
) -> Iterator[AIMessageChunk]:
    """``chunks`` (a model's stream, not started yet), its first step (which sends the
    request) run in the creation-time scope (see :func:`_request_scope`)."""
    try:
        with _request_scope(metadata, scope):
            first = next(chunks, _END)  # the request is sent here
        if first is _END:
            return
        yield first
        yield from chunks
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


async def ain_scope(
    chunks: AsyncIterator[AIMessageChunk],
    metadata: Mapping[str, Any] | None,
    scope: Identity | None,
) -> AsyncIterator[AIMessageChunk]:
    """The async form of :func:`in_scope`."""
    try:
        with _request_scope(metadata, scope):
            first = await anext(chunks, _END)  # the request is sent here
        if first is _END:
            return
        yield first
        async for chunk in chunks:
            yield chunk
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
