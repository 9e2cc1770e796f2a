"""Which key a request presents: ``Authorization: Bearer <key>`` or ``x-api-key: <key>``."""

from __future__ import annotations

from collections.abc import Iterable

from igris_core import protocol

__all__ = ["presented_keys"]

_AUTHORIZATION = protocol.AUTHORIZATION_HEADER.lower().encode("latin-1")
_API_KEY = protocol.API_KEY_HEADER.lower().encode("latin-1")


def presented_keys(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """The keys a request carries, Bearer first (an SDK may send both headers)."""
    bearer: list[str] = []
    api_key: list[str] = []
    for name, raw in headers:
        value = raw.decode("latin-1").strip()
        if name == _AUTHORIZATION:
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                bearer.append(token.strip())
        elif name == _API_KEY and value:
            api_key.append(value)
    return bearer + api_key
