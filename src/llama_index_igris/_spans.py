"""The top-level span of every LlamaIndex call: one automatic trace id per query, chat or agent
run (docs/protocol.md, "Tracing").

LlamaIndex's instrumentation opens a span for every query engine, retriever, LLM, embedding
and agent call, and keeps only the active span's id in a context variable. A span handler on
the root dispatcher sees each span open with its parent, so it knows each open span's root:
the retrieval embedding and the synthesis calls of one query share that root, the next query
has another.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

from llama_index.core.instrumentation.span import SimpleSpan, active_span_id
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from llama_index_instrumentation import get_dispatcher
from pydantic import PrivateAttr

__all__ = ["ROOT_SPANS", "RootSpans", "root_span_id"]

_MAX_OPEN_SPANS = 100_000  # spans that never close (an abandoned generator) cannot pile up


class RootSpans(BaseSpanHandler[SimpleSpan]):
    """Maps each open span to the top-level span it runs under. It keeps no span objects."""

    _roots: dict[str, str] = PrivateAttr(default_factory=dict)
    _roots_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex knows this handler by."""
        return "IgrisRootSpans"

    def root_of(self, span_id: str) -> str:
        """The top-level span of an open span (the span itself when it was not seen)."""
        return self._roots.get(span_id, span_id)

    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SimpleSpan | None:
        """Record the span's root; no span object is kept."""
        roots = self._roots
        root = id_ if parent_span_id is None else roots.get(parent_span_id, parent_span_id)
        with self._roots_lock:
            if len(roots) >= _MAX_OPEN_SPANS:
                del roots[next(iter(roots))]  # the oldest
            roots[id_] = root
        return None

    def prepare_to_exit_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        result: Any | None = None,
        **kwargs: Any,
    ) -> SimpleSpan | None:
        """Forget a finished span."""
        self._roots.pop(id_, None)
        return None

    def prepare_to_drop_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> SimpleSpan | None:
        """Forget a failed span."""
        self._roots.pop(id_, None)
        return None


def _install() -> RootSpans:
    dispatcher = get_dispatcher()  # the root: every LlamaIndex dispatcher propagates to it
    for handler in dispatcher.span_handlers:
        if isinstance(handler, RootSpans):
            return handler
    handler = RootSpans()
    dispatcher.add_span_handler(handler)
    return handler


ROOT_SPANS = _install()


def root_span_id() -> str | None:
    """The id of the top-level span the current code runs under, or ``None`` outside spans."""
    active = active_span_id.get()
    return None if active is None else ROOT_SPANS.root_of(active)
