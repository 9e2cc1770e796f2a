"""The root run of every LangChain call: one automatic trace id per run (docs/protocol.md,
"Tracing").

LangChain tells a model call its own run id and its parent's, never the root's. A callback
handler installed on every callback manager (through LangChain's own configure hook, as its
tracers are) sees each run start with its parent, so it knows each open run's root: the id
LangSmith shows as the trace. A chain, a LangGraph agent with its tool calls and each batch item
is one root run; a model called on its own is its own root.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables.config import var_child_runnable_config
from langchain_core.tracers.context import register_configure_hook

__all__ = [
    "LS_PROVIDER",
    "ROOT_RUNS",
    "RootRuns",
    "current_model_run",
    "enclosing_run_trace_id",
    "model_run_scope",
    "run_trace_id",
]

LS_PROVIDER = "igris"
"""The ``ls_provider`` of the Igris models' runs (their LangSmith parameters)."""

_model_run: ContextVar[UUID | None] = ContextVar("langchain_igris_model_run", default=None)
_MAX_OPEN_RUNS = 100_000  # runs whose end never comes (an abandoned generator) cannot pile up


class RootRuns(BaseCallbackHandler):
    """Maps each open run to its root run. Cheap and inline: it only records ids."""

    run_inline = True  # called where the run starts, before the model sends its request

    def __init__(self) -> None:
        self._roots: dict[UUID, UUID] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RootRuns(open={len(self._roots)})"

    def root_of(self, run_id: UUID) -> UUID | None:
        """The root run of an open run, or ``None`` when it was not seen starting."""
        return self._roots.get(run_id)

    def _start(self, run_id: UUID, parent_run_id: UUID | None) -> None:
        # A parent not seen here (a LangSmith @traceable around the run) stands as the root.
        root = run_id if parent_run_id is None else self._roots.get(parent_run_id, parent_run_id)
        with self._lock:
            roots = self._roots
            if len(roots) >= _MAX_OPEN_RUNS:
                del roots[next(iter(roots))]  # the oldest
            roots[run_id] = root

    def _end(self, run_id: UUID) -> None:
        self._roots.pop(run_id, None)

    def on_chain_start(
        self,
        serialized: Any,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a chain run (LCEL steps, LangGraph graphs and nodes)."""
        self._start(run_id, parent_run_id)

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a chat model run; for an Igris model, note it as the current model run."""
        self._start(run_id, parent_run_id)
        if metadata is not None and metadata.get("ls_provider") == LS_PROVIDER:
            _model_run.set(run_id)  # read back by the model (see model_run_scope)

    def on_llm_start(
        self,
        serialized: Any,
        prompts: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a completion model run."""
        self._start(run_id, parent_run_id)

    def on_tool_start(
        self,
        serialized: Any,
        input_str: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a tool run (a tool may call a model itself)."""
        self._start(run_id, parent_run_id)

    def on_retriever_start(
        self,
        serialized: Any,
        query: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a retriever run (its embeddings calls)."""
        self._start(run_id, parent_run_id)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a finished run."""
        self._end(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a failed run."""
        self._end(run_id)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a finished model run."""
        self._end(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a failed model run."""
        self._end(run_id)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a finished tool run."""
        self._end(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a failed tool run."""
        self._end(run_id)

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a finished retriever run."""
        self._end(run_id)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a failed retriever run."""
        self._end(run_id)


ROOT_RUNS = RootRuns()
"""The one handler LangChain adds to every callback manager (inheritable, so nested runs
reach it too)."""

_hook: ContextVar[RootRuns | None] = ContextVar("langchain_igris_root_runs", default=ROOT_RUNS)
register_configure_hook(_hook, True)


@contextmanager
def model_run_scope() -> Iterator[None]:
    """Around a model's ``generate``/``stream``: the model run that starts inside is noted
    (:func:`current_model_run`) until the block ends.

    LangChain does not always hand the run manager to ``_stream`` (``stream()``, and ``invoke``
    on a streaming path), so the handler notes the run id when the run starts, in the caller's
    context (it runs inline); the scope keeps that note from outliving the call.
    """
    token = _model_run.set(None)
    try:
        yield
    finally:
        _model_run.reset(token)


def current_model_run() -> UUID | None:
    """The Igris model run started in the innermost :func:`model_run_scope`, if any."""
    return _model_run.get()


def run_trace_id(run_id: UUID | None) -> str | None:
    """The automatic trace id of a model run: its root run's id, as LangSmith shows it."""
    if run_id is None:
        return None
    root = ROOT_RUNS.root_of(run_id)
    return None if root is None else str(root)


def enclosing_run_trace_id() -> str | None:
    """The automatic trace id for code that runs inside a LangChain run without a run manager
    of its own (embeddings called by a retriever or a tool): the root of the run whose child
    configuration is current."""
    config = var_child_runnable_config.get()
    callbacks = config.get("callbacks") if config else None
    return run_trace_id(getattr(callbacks, "parent_run_id", None))
