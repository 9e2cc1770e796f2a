"""The one client layer under the framework models (``langchain_igris``, ``llama_index_igris``).

What models share is the ``httpx`` pool, not whole clients: the key, base URL, timeout, retries,
headers and identity are options of each request (:class:`~igris_core._config.ClientOptions`),
so models that differ in them still share one pool. Building a pool costs tens of milliseconds
(an SSL context) and applications build a model per request; building a model's clients costs
microseconds. There is one owned pool per :class:`PoolSettings` in the process, created on first
use: a sync one, and an async one per running event loop (:class:`AsyncTransport`). A model
given its own ``httpx`` clients uses those. Nothing here is keyed by the key.

A forked child never uses its parent's pools: the registry is emptied in the child, and each
transport notices the new process itself (for the clients models already hold).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from igris_core import protocol
from igris_core._client import AsyncIgris, Igris
from igris_core._config import ClientOptions
from igris_core._transport import DEFAULT_LIMITS, AsyncTransport, SyncTransport

__all__ = [
    "CALLER_CLIENT_FIELDS",
    "DEFAULT_POOL",
    "ClientSettings",
    "ModelClients",
    "PoolSettings",
    "clients_for",
    "clients_of",
    "limits_of",
    "shared_pool_settings",
    "shared_transports",
    "state_without_clients",
    "state_without_secrets",
]

CALLER_CLIENT_FIELDS = ("http_client", "http_async_client")
"""Model fields holding the caller's own ``httpx`` clients (never pickled)."""


@dataclass(frozen=True)
class PoolSettings:
    """What makes two owned pools differ (there is one kind today: ``httpx`` limits)."""

    max_connections: int | None = DEFAULT_LIMITS.max_connections
    max_keepalive_connections: int | None = DEFAULT_LIMITS.max_keepalive_connections
    keepalive_expiry: float | None = DEFAULT_LIMITS.keepalive_expiry

    @property
    def limits(self) -> httpx.Limits:
        """The pool's ``httpx`` limits."""
        return httpx.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_keepalive_connections,
            keepalive_expiry=self.keepalive_expiry,
        )


DEFAULT_POOL = PoolSettings()
"""The settings of the pool every model uses unless it brings its own ``httpx`` clients."""


@dataclass(frozen=True)
class _Shared:
    sync: SyncTransport
    async_: AsyncTransport


_lock = threading.Lock()
_shared: dict[PoolSettings, _Shared] = {}


def shared_transports(
    settings: PoolSettings = PoolSettings(),
) -> tuple[SyncTransport, AsyncTransport]:
    """The process's sync and async transports for ``settings`` (their pools open on first
    use)."""
    shared = _shared.get(settings)
    if shared is None:
        with _lock:
            shared = _shared.get(settings)
            if shared is None:
                shared = _shared[settings] = _Shared(
                    SyncTransport(limits=settings.limits), AsyncTransport(limits=settings.limits)
                )
    return shared.sync, shared.async_


def shared_pool_settings() -> list[PoolSettings]:
    """The settings of the shared pools of this process."""
    return list(_shared)


def _forget_shared_after_fork() -> None:
    global _lock, _shared
    _lock = threading.Lock()  # another thread of the parent may have held it
    _shared = {}  # the parent's pools stay the parent's: not closed, not used


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_shared_after_fork)


def limits_of(model: object) -> tuple[int, int, float | None]:
    """``max_response_bytes``, ``max_event_bytes`` and ``stream_timeout`` of a framework model
    (the defaults for a field it does not declare: embeddings models never stream)."""
    return (
        getattr(model, "max_response_bytes", protocol.DEFAULT_MAX_RESPONSE_BYTES),
        getattr(model, "max_event_bytes", protocol.DEFAULT_MAX_EVENT_BYTES),
        getattr(model, "stream_timeout", None),
    )


@dataclass(frozen=True)
class ClientSettings:
    """Everything a model's clients are built from, read from the model's fields (both
    frameworks name them alike), plus the caller's own ``httpx`` clients."""

    api_key: SecretStr | None
    base_url: str | None
    timeout: Any
    max_retries: int | None
    default_headers: Mapping[str, str] | None
    user: str | None
    trace_id: str | None
    metadata: Mapping[str, str] | None
    max_response_bytes: int = protocol.DEFAULT_MAX_RESPONSE_BYTES
    max_event_bytes: int = protocol.DEFAULT_MAX_EVENT_BYTES
    stream_timeout: float | None = None
    http_client: httpx.Client | None = field(default=None, repr=False)
    http_async_client: httpx.AsyncClient | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls,
        model: Any,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
    ) -> ClientSettings:
        """The settings of a framework model (``igris_*`` fields are the default identity)."""
        max_response_bytes, max_event_bytes, stream_timeout = limits_of(model)
        return cls(
            api_key=model.api_key,
            base_url=model.base_url,
            timeout=model.timeout,
            max_retries=model.max_retries,
            default_headers=model.default_headers,
            user=model.igris_user,
            trace_id=model.igris_trace_id,
            metadata=model.igris_metadata,
            max_response_bytes=max_response_bytes,
            max_event_bytes=max_event_bytes,
            stream_timeout=stream_timeout,
            http_client=http_client,
            http_async_client=http_async_client,
        )

    def options(self) -> ClientOptions:
        """The checked client options (raises :class:`~igris_core.IgrisInputError` on a bad
        value). Without an ``api_key``, ``IGRIS_API_KEY`` is read now."""
        return ClientOptions.build(
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=protocol.DEFAULT_MAX_RETRIES
            if self.max_retries is None
            else self.max_retries,
            user=self.user,
            trace_id=self.trace_id,
            metadata=self.metadata,
            default_headers=self.default_headers,
            max_response_bytes=self.max_response_bytes,
            max_event_bytes=self.max_event_bytes,
            stream_timeout=self.stream_timeout,
        )


def _unbuilt() -> None:
    """What a pickled :class:`ModelClients` becomes: nothing (rebuilt at first use)."""
    return None


class ModelClients:
    """The core clients of one model: built from its :class:`ClientSettings` on first use,
    over the shared transports (or over the caller's ``httpx`` clients). Their ``close()``
    leaves the shared pools open. Pickles and copies as ``None``: no key, no sockets.

    Example::

        clients = ModelClients(ClientSettings.of(model))
        clients.sync().chat.completions.create(...)
    """

    __slots__ = ("_async", "_options", "_settings", "_sync")

    def __init__(self, settings: ClientSettings) -> None:
        self._settings = settings
        self._options: ClientOptions | None = None
        self._sync: Igris | None = None
        self._async: AsyncIgris | None = None

    @property
    def settings(self) -> ClientSettings:
        """What these clients are built from."""
        return self._settings

    def options(self) -> ClientOptions:
        """The checked options, resolved once (the key from ``IGRIS_API_KEY`` when the model
        has none: as the variable is at first use)."""
        options = self._options
        if options is None:
            options = self._options = self._settings.options()
        return options

    def sync(self) -> Igris:
        """The sync client."""
        client = self._sync
        if client is None:
            given = self._settings.http_client
            transport = shared_transports()[0] if given is None else SyncTransport(given)
            client = self._sync = Igris._over(self.options(), transport)
        return client

    def async_(self) -> AsyncIgris:
        """The async client (a pool per event loop)."""
        client = self._async
        if client is None:
            given = self._settings.http_async_client
            transport = shared_transports()[1] if given is None else AsyncTransport(given)
            client = self._async = AsyncIgris._over(self.options(), transport)
        return client

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _unbuilt, ()

    def __repr__(self) -> str:
        return f"ModelClients({self._settings!r})"


def clients_for(current: ModelClients | None, settings: ClientSettings) -> ModelClients:
    """``current`` while it was built from ``settings``, else new clients."""
    if current is not None and current.settings == settings:
        return current
    return ModelClients(settings)


def clients_of(model: Any) -> ModelClients:
    """The clients of a model whose fields hold all its settings (the caller's ``httpx``
    clients in ``http_client`` / ``http_async_client``) and which keeps them in its private
    ``_client_set``: rebuilt when a field changed since (or after unpickling or copying)."""
    settings = ClientSettings.of(
        model, getattr(model, "http_client", None), getattr(model, "http_async_client", None)
    )
    clients: ModelClients = clients_for(model._client_set, settings)
    model._client_set = clients
    return clients


def state_without_secrets(state: dict[Any, Any]) -> dict[Any, Any]:
    """A pydantic model's pickle state (``__getstate__``) with every ``SecretStr`` field set to
    ``None``: pickles carry no key. The unpickled model then resolves its key like one built
    without ``api_key``, from ``IGRIS_API_KEY`` in its own process, at first use; that is how
    worker processes (multiprocessing, Ray, Celery) get theirs."""
    fields = state.get("__dict__")
    if not isinstance(fields, dict) or not any(isinstance(v, SecretStr) for v in fields.values()):
        return state
    cleaned = {name: None if isinstance(v, SecretStr) else v for name, v in fields.items()}
    return {**state, "__dict__": cleaned}


def state_without_clients(state: dict[Any, Any]) -> dict[Any, Any]:
    """A pydantic model's pickle state without the key (see :func:`state_without_secrets`) and
    without the caller's ``httpx`` clients (not picklable: the unpickled model uses the shared
    pools)."""
    state = state_without_secrets(state)
    fields = state.get("__dict__")
    if isinstance(fields, dict) and any(fields.get(name) for name in CALLER_CLIENT_FIELDS):
        fields = {**fields, **{name: None for name in CALLER_CLIENT_FIELDS if name in fields}}
        state = {**state, "__dict__": fields}
    return state
