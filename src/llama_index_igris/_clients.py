"""The ``igris_core`` clients behind one IgrisLLM or IgrisEmbedding: a sync and an async client
(the async one opens a pool per event loop by itself, which matters because LlamaIndex runs
coroutines on fresh loops here and there)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from igris_core import AsyncIgris, Igris, parse_model
from igris_core._config import limits_of, state_without_secrets

__all__ = ["CLIENT_ARGUMENTS", "CLIENT_FIELDS", "ClientOwner", "ClientSet", "client_options"]

CLIENT_ARGUMENTS = ("http_client", "async_http_client")
"""The constructor arguments that are your own ``httpx`` clients (not model fields)."""

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
        "max_response_bytes",
        "max_event_bytes",
        "stream_timeout",
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
    max_response_bytes, max_event_bytes, stream_timeout = limits_of(model)
    return {
        "max_response_bytes": max_response_bytes,
        "max_event_bytes": max_event_bytes,
        "stream_timeout": stream_timeout,
        "api_key": model.api_key,
        "base_url": model.base_url,
        "timeout": model.timeout,
        "max_retries": model.max_retries,
        "user": model.igris_user,
        "trace_id": model.igris_trace_id,
        "metadata": model.igris_metadata,
        "default_headers": model.default_headers,
    }


class ClientOwner:
    """What IgrisLLM and IgrisEmbedding share about their clients (a mixin placed before the
    LlamaIndex base class; the model declares ``_clients`` as a pydantic private attribute).

    Assigning a field in :data:`CLIENT_FIELDS` builds new clients at once (so a bad value is
    refused at assignment, and the old value stays); pickles leave the clients out.
    """

    _clients: ClientSet | None

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "api_key" and isinstance(value, str):
            value = SecretStr(value)
        elif name == "model":
            parse_model(value)
        clients = self._clients if name in CLIENT_FIELDS else None
        if clients is None:
            super().__setattr__(name, value)
            self._field_set(name, value)
            return
        old = getattr(self, name)
        super().__setattr__(name, value)
        try:  # new clients, or the old value back when the new one is refused
            clients = clients.rebuilt(client_options(self))
        except BaseException:
            super().__setattr__(name, old)
            raise
        self._clients = clients
        object.__setattr__(self, "api_key", clients.sync().api_key)

    def _field_set(self, name: str, value: Any) -> None:
        """Hook: a field that does not shape the clients was assigned."""

    def _attach_clients(
        self, http_client: httpx.Client | None, async_http_client: httpx.AsyncClient | None
    ) -> None:
        """Build the clients once the fields are set. The sync client is built now, so the
        key, base URL, timeout, retries and identity are checked at construction, before any
        request (docs/protocol.md, "Base URL and key")."""
        clients = ClientSet(client_options(self), http_client, async_http_client)
        self._clients = clients
        object.__setattr__(self, "api_key", clients.sync().api_key)  # the resolved key

    def __getstate__(self) -> dict[Any, Any]:
        # Clients hold sockets and locks: pickle without them (they are rebuilt at first use;
        # LlamaIndex pickles models for multiprocessing pipelines). Nor the key: the unpickled
        # model reads IGRIS_API_KEY in its own process.
        private = self.__pydantic_private__  # type: ignore[attr-defined]
        object.__setattr__(self, "__pydantic_private__", {**(private or {}), "_clients": None})
        try:
            state: dict[Any, Any] = super().__getstate__()  # type: ignore[misc]
        finally:
            object.__setattr__(self, "__pydantic_private__", private)
        return state_without_secrets(state)

    def _client_set(self) -> ClientSet:
        clients = self._clients
        if clients is None:  # built without __init__ (model_validate, model_construct)
            clients = self._clients = ClientSet(client_options(self), None, None)
        return clients

    def _sync_client(self) -> Igris:
        return self._client_set().sync()

    def _async_client(self) -> AsyncIgris:
        return self._client_set().async_()

    @property
    def client(self) -> Igris:
        """The underlying :class:`igris_core.Igris` client."""
        return self._sync_client()
