"""Per-call and per-run identity for LangChain calls (docs/protocol.md, "Identity headers").

Two layers come from LangChain, most specific first:

1. the call's own keyword arguments ``igris_user``, ``igris_trace_id``, ``igris_metadata``
   (``model.invoke(..., igris_user=...)`` or ``model.bind(igris_user=...)``);
2. the same keys in the ``metadata`` of the run's ``RunnableConfig`` (set once at the top of a
   chain or a LangGraph run, they reach every model call inside it).

Both are merged here into one :class:`~igris_core.Identity` layer, handed to the core client as
``identity=``; the core then adds the :func:`~igris_core.igris_context` scope and the model's own
``igris_*`` fields (the client's defaults) under it.

``BaseChatModel`` does not hand the run manager to ``_stream``, so the chat model records the
run's metadata in a context variable for the duration of its own ``generate``/``stream`` call
(:func:`run_metadata_scope`), and ``_generate``/``_stream`` read it back (:func:`run_metadata`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Any

from igris_core import Identity, current_context, resolve_identity
from igris_core._inputs import pop_identity

__all__ = [
    "UNSET",
    "cache_identity",
    "call_identity",
    "identity_from_metadata",
    "reset_run_metadata",
    "run_metadata",
    "set_run_metadata",
]

UNSET: Any = object()
"""What :func:`run_metadata` returns outside a model's own ``generate``/``stream`` call."""

_run_metadata: ContextVar[Any] = ContextVar("langchain_igris_run_metadata", default=UNSET)


def set_run_metadata(metadata: Mapping[str, Any] | None) -> Token[Any]:
    """Record the metadata of the run that is starting (see the module docstring)."""
    return _run_metadata.set(metadata)


def reset_run_metadata(token: Token[Any]) -> None:
    """Forget the metadata recorded by :func:`set_run_metadata`."""
    _run_metadata.reset(token)


def run_metadata() -> Any:
    """The metadata recorded for the current run (a mapping or ``None``), or :data:`UNSET`."""
    return _run_metadata.get()


def identity_from_metadata(metadata: Mapping[str, Any] | None) -> Identity | None:
    """The identity layer set by a RunnableConfig's ``metadata``, or ``None``."""
    if not metadata:
        return None
    return pop_identity(dict(metadata), where="the RunnableConfig metadata")


def call_identity(kwargs: dict[str, Any], metadata: Mapping[str, Any] | None) -> Identity | None:
    """Pop the identity keyword arguments off ``kwargs`` and merge them over the run's
    metadata layer. Bad values raise :class:`~igris_core.IgrisInputError` naming the value,
    before any request."""
    return pop_identity(kwargs, identity_from_metadata(metadata))


def cache_identity(
    kwargs: Mapping[str, Any], metadata: Mapping[str, Any] | None, defaults: Identity | None
) -> str:
    """The identity a call would send, from all four levels (call arguments, run metadata,
    ``igris_context`` scope, the model's defaults), as a stable string for LLM cache keys: a
    cached answer is only served to a call the gateway would have seen with the same
    identity."""
    resolved = resolve_identity(call_identity(dict(kwargs), metadata), current_context(), defaults)
    return json.dumps([resolved.user, resolved.trace_id, sorted(resolved.metadata.items())])
