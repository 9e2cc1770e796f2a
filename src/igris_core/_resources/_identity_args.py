"""Per-call identity arguments shared by every resource method."""

from __future__ import annotations

from collections.abc import Mapping

from igris_core._identity import Identity, resolve_identity


def call_identity(
    identity: Identity | None,
    igris_user: str | None,
    igris_trace_id: str | None,
    igris_metadata: Mapping[str, str] | None,
) -> Identity | None:
    """The call's own identity layer: the ``igris_*`` arguments over an ``identity`` object."""
    own = Identity.of(igris_user, igris_trace_id, igris_metadata)
    if own is None:
        return identity
    return own if identity is None else resolve_identity(own, identity)
