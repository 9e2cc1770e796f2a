"""Which key a request presents: ``Authorization: Bearer <key>`` or ``x-api-key: <key>``."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

from igris_core import protocol

__all__ = ["match_key", "presented_keys"]

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


def match_key(presented: str, keys: Mapping[str, str]) -> str | None:
    """The id of the key ``presented`` matches in ``keys`` (key -> key id), else ``None``.

    Every key is compared in constant time and the loop never stops early, so the answer's
    timing tells nothing about how much of a key was right.
    """
    candidate = presented.encode("utf-8", "surrogatepass")
    found: str | None = None
    for key, key_id in keys.items():
        if hmac.compare_digest(candidate, key.encode("utf-8", "surrogatepass")) and found is None:
            found = key_id
    return found
