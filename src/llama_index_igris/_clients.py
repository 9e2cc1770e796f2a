"""The ``igris_core`` clients behind one IgrisLLM or IgrisEmbedding: a sync and an async client
(the async one opens a pool per event loop by itself, which matters because LlamaIndex runs
coroutines on fresh loops here and there)."""

from __future__ import annotations

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

    __slots__ = ("_async", "_async_http_client", "_http_client", "_options", "_sync")

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

    def rebuilt(self, options: Mapping[str, Any]) -> ClientSet:
        """A new set with other options and the same ``httpx`` clients of the caller's."""
        return ClientSet(options, self._http_client, self._async_http_client)

    def sync(self) -> Igris:
        """The sync client."""
        return self._sync

    def async_(self) -> AsyncIgris:
        """The async client (over the caller's ``async_http_client``, if any)."""
        if self._async is None:
            self._async = AsyncIgris(http_client=self._async_http_client, **self._options)
        return self._async


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
