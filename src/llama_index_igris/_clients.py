"""The ``igris_core`` clients behind one IgrisLLM or IgrisEmbedding: a sync client, and one
async client per event loop (an ``httpx.AsyncClient``'s pooled connections belong to the loop
that opened them, and LlamaIndex runs coroutines on fresh loops here and there)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from typing import Any

import httpx

from igris_core.client import AsyncIgris, Igris

__all__ = ["CLIENT_FIELDS", "ClientSet", "client_options"]

CLIENT_FIELDS = frozenset(
    {
        "api_key",
        "base_url",
        "timeout",
        "max_retries",
        "default_headers",
        "igris_user",
        "igris_trace_id",
        "igris_metadata",
    }
)
"""The model fields that shape the clients: assigning one builds a new :class:`ClientSet`."""


class ClientSet:
    """The clients of one model. The sync client is built at once, so a bad key, base URL,
    timeout or identity is refused when the model is configured, before any request.

    Example::

        clients = ClientSet({"api_key": "ig_...", "base_url": None}, None, None)
        clients.sync().chat.completions.create(...)
    """

    __slots__ = ("_async", "_async_http_client", "_by_loop", "_http_client", "_options", "_sync")

    def __init__(
        self,
        options: Mapping[str, Any],
        http_client: httpx.Client | None,
        async_http_client: httpx.AsyncClient | None,
    ) -> None:
        self._options = dict(options)
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._sync = Igris(http_client=http_client, **self._options)
        self._async: AsyncIgris | None = None
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncIgris] = (
            weakref.WeakKeyDictionary()
        )

    def rebuilt(self, options: Mapping[str, Any]) -> ClientSet:
        """A new set with other options and the same ``httpx`` clients of the caller's."""
        return ClientSet(options, self._http_client, self._async_http_client)

    def sync(self) -> Igris:
        """The sync client."""
        return self._sync

    def async_(self) -> AsyncIgris:
        """The async client of the running loop (or the one around the caller's
        ``async_http_client``, which the caller keeps on one loop)."""
        if self._async_http_client is not None:
            if self._async is None:
                self._async = AsyncIgris(http_client=self._async_http_client, **self._options)
            return self._async
        loop = asyncio.get_running_loop()
        client = self._by_loop.get(loop)
        if client is None:
            client = self._by_loop[loop] = AsyncIgris(**self._options)
        return client


def client_options(model: Any) -> dict[str, Any]:
    """The client options of an IgrisLLM or IgrisEmbedding (both name their fields alike)."""
    return {
        "api_key": model.api_key,
        "base_url": model.base_url,
        "timeout": model.timeout,
        "max_retries": model.max_retries,
        "user": model.igris_user,
        "trace_id": model.igris_trace_id,
        "metadata": model.igris_metadata,
        "default_headers": model.default_headers,
    }
