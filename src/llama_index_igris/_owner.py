"""How IgrisLLM and IgrisEmbedding hold their clients (:class:`igris_core._pool.ModelClients`,
over the pools shared by every model): checked when the model is configured, rebuilt when a
field that shapes them is assigned, left out of pickles."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from pydantic import AfterValidator, SecretStr

from igris_core import AsyncIgris, Igris
from igris_core._inputs import check_model
from igris_core._pool import ClientSettings, ModelClients, state_without_clients

__all__ = ["CLIENT_ARGUMENTS", "CLIENT_FIELDS", "ClientOwner", "ModelName"]

ModelName = Annotated[str, AfterValidator(check_model)]
"""The ``model`` field of both models: ``@<connection-slug>/<model>``, checked when validated."""

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
"""The model fields that shape the clients: assigning one builds new :class:`ModelClients`."""


class ClientOwner:
    """What IgrisLLM and IgrisEmbedding share about their clients (a mixin placed before the
    LlamaIndex base class; the model declares ``_client_set`` as a pydantic private attribute).

    The clients' options are checked at construction and when a field in
    :data:`CLIENT_FIELDS` is assigned (a refused value leaves the old one in place), before
    any request (docs/protocol.md, "Base URL and key").
    """

    _client_set: ModelClients | None

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "api_key" and isinstance(value, str):
            value = SecretStr(value)
        elif name == "model":
            check_model(value)
        clients = self._client_set if name in CLIENT_FIELDS else None
        if clients is None:
            super().__setattr__(name, value)
            self._field_set(name, value)
            return
        old = getattr(self, name)
        super().__setattr__(name, value)
        try:  # new clients, or the old value back when the new one is refused
            self._set_clients(clients.settings.http_client, clients.settings.http_async_client)
        except BaseException:
            super().__setattr__(name, old)
            raise

    def _field_set(self, name: str, value: Any) -> None:
        """Hook: a field that does not shape the clients was assigned."""

    def _set_clients(
        self, http_client: httpx.Client | None, async_http_client: httpx.AsyncClient | None
    ) -> None:
        """Build and check the clients from the fields as they are now."""
        clients = ModelClients(ClientSettings.of(self, http_client, async_http_client))
        options = clients.options()  # raises on a bad key, base URL, timeout, identity...
        self._client_set = clients
        object.__setattr__(self, "api_key", options.api_key)  # the resolved key

    def __getstate__(self) -> dict[Any, Any]:
        # LlamaIndex pickles models for multiprocessing pipelines. The clients pickle as None
        # (rebuilt at first use, over the shared pools) and the key is left out: the unpickled
        # model reads IGRIS_API_KEY in its own process.
        return state_without_clients(super().__getstate__())  # type: ignore[misc]

    def _clients(self) -> ModelClients:
        clients = self._client_set
        if clients is None:  # unpickled, or built without __init__ (model_construct)
            clients = self._client_set = ModelClients(ClientSettings.of(self))
        return clients

    def _sync_client(self) -> Igris:
        return self._clients().sync()

    def _async_client(self) -> AsyncIgris:
        return self._clients().async_()

    @property
    def client(self) -> Igris:
        """The underlying :class:`igris_core.Igris` client."""
        return self._sync_client()
