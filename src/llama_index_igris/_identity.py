"""The per-call identity arguments of every IgrisLLM method (``igris_user``, ``igris_trace_id``,
``igris_metadata``), taken out of the call's keyword arguments.

The instance fields are the client's defaults and the core reads :func:`igris_core.igris_context`
itself at request time, so the layers resolve in the order of docs/protocol.md, "Identity
headers": the call's own arguments, then the ``igris_context`` scope, then the instance fields.
"""

from __future__ import annotations

from typing import Any

from igris_core import Identity, current_context
from igris_core._inputs import pop_identity

__all__ = ["pop_call_identity"]


def pop_call_identity(kwargs: dict[str, Any], *, capture_context: bool = False) -> Identity | None:
    """Remove the ``igris_*`` arguments (and an ``identity`` object) from ``kwargs`` and return
    their identity layer, or ``None`` when the call sets none.

    ``capture_context`` folds the current ``igris_context`` scope in beneath the call's own
    layer: streams send their request when first iterated, possibly after the ``with`` block
    that was open when the stream was asked for.
    """
    given = kwargs.pop("identity", None)  # an igris_core Identity, as the core's methods take
    return pop_identity(kwargs, given, current_context() if capture_context else None)
