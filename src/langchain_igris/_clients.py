"""The ``igris_core`` clients behind a model: built lazily, shared between models.

Creating an ``httpx`` connection pool costs tens of milliseconds (an SSL context), and many
applications build a model per request. So models with the same connection settings (key, base
URL, timeout, retries, default headers) share one core client and its pool, the way
``langchain-openai`` shares its default ``httpx`` clients; each model derives its own view with
its default identity (``with_options``, same pool). The async core client opens a pool per
event loop by itself (``igris_core``'s transport). A model given its own ``http_client`` /
``http_async_client`` gets core clients of its own over them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from igris_core import AsyncIgris, Igris, IgrisInputError, protocol
from igris_core._config import limits_of, state_without_secrets

__all__ = [
    "ClientSpec",
    "Clients",
    "clients_of",
    "drop_openai_client_arguments",
    "rename_arguments",
    "state_without_clients",
]

_ClientT = TypeVar("_ClientT", Igris, AsyncIgris)
_MAX_SHARED = 64
_lock = threading.Lock()
_shared_sync: dict[tuple[Any, ...], Igris] = {}
_shared_async: dict[tuple[Any, ...], AsyncIgris] = {}


@dataclass(frozen=True)
class ClientSpec:
    """Everything needed to build the core clients of one model."""

    api_key: SecretStr | None
    base_url: str | None
    timeout: float | httpx.Timeout | None
    max_retries: int | None
    default_headers: Mapping[str, str] | None
    user: str | None
    trace_id: str | None
    metadata: Mapping[str, str] | None
    http_client: httpx.Client | None = None
    http_async_client: httpx.AsyncClient | None = None
    limits: tuple[int, int, float | None] = (
        protocol.DEFAULT_MAX_RESPONSE_BYTES,
        protocol.DEFAULT_MAX_EVENT_BYTES,
        None,
    )
    """``max_response_bytes``, ``max_event_bytes``, ``stream_timeout``."""

    def key(self) -> tuple[Any, ...]:
        """The connection settings that decide whether two models can share a pool."""
        # Without a key of its own (an unpickled model), the model uses IGRIS_API_KEY as it is
        # now: a pool built for another value of it must not be shared.
        return (
            self.api_key.get_secret_value()
            if self.api_key is not None
            else os.environ.get(protocol.ENV_API_KEY),
            self.base_url,
            repr(self.timeout),
            self.max_retries,
            tuple(sorted((self.default_headers or {}).items())),
            self.limits,
        )

    def connection_kwargs(self) -> dict[str, Any]:
        """Arguments of ``Igris(...)`` / ``AsyncIgris(...)`` except identity and pool."""
        return {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": protocol.DEFAULT_MAX_RETRIES
            if self.max_retries is None
            else self.max_retries,
            "default_headers": self.default_headers,
            "max_response_bytes": self.limits[0],
            "max_event_bytes": self.limits[1],
            "stream_timeout": self.limits[2],
        }

    @property
    def has_identity(self) -> bool:
        """True when the model sets a default identity of its own."""
        return self.user is not None or self.trace_id is not None or bool(self.metadata)


def _remember(cache: dict[tuple[Any, ...], Any], key: tuple[Any, ...], client: Any) -> None:
    if len(cache) >= _MAX_SHARED:
        cache.pop(next(iter(cache)))  # the oldest; models still holding it keep using it
    cache[key] = client


class Clients:
    """The core clients of one model instance (sync and async)."""

    __slots__ = ("_async", "_spec", "_sync")

    def __init__(self, spec: ClientSpec) -> None:
        self._spec = spec
        self._sync: Igris | None = None
        self._async: AsyncIgris | None = None

    @property
    def spec(self) -> ClientSpec:
        """What these clients were built from."""
        return self._spec

    def sync(self) -> Igris:
        """The sync client (built on first use; raises ``IgrisInputError`` on bad options)."""
        client = self._sync
        if client is None:
            client = self._derive(self._base_sync())
            self._sync = client
        return client

    def async_(self) -> AsyncIgris:
        """The async client (built on first use)."""
        client = self._async
        if client is None:
            client = self._derive(self._base_async())
            self._async = client
        return client

    def _derive(self, client: _ClientT) -> _ClientT:
        spec = self._spec
        if not spec.has_identity:
            return client
        derived = client.with_options(
            user=spec.user, trace_id=spec.trace_id, metadata=spec.metadata
        )
        return derived

    def _base_sync(self) -> Igris:
        spec = self._spec
        if spec.http_client is not None:
            return Igris(**spec.connection_kwargs(), http_client=spec.http_client)
        key = spec.key()
        with _lock:
            client = _shared_sync.get(key)
            if client is None:
                client = Igris(**spec.connection_kwargs())
                _remember(_shared_sync, key, client)
        return client

    def _base_async(self) -> AsyncIgris:
        spec = self._spec
        if spec.http_async_client is not None:
            return AsyncIgris(**spec.connection_kwargs(), http_client=spec.http_async_client)
        key = spec.key()
        with _lock:
            client = _shared_async.get(key)
            if client is None:
                client = AsyncIgris(**spec.connection_kwargs())
                _remember(_shared_async, key, client)
        return client


def _spec_of(model: Any) -> ClientSpec:
    return ClientSpec(
        api_key=model.api_key,
        base_url=model.base_url,
        timeout=model.timeout,
        max_retries=model.max_retries,
        default_headers=model.default_headers,
        user=model.igris_user,
        trace_id=model.igris_trace_id,
        metadata=model.igris_metadata,
        http_client=model.http_client,
        http_async_client=model.http_async_client,
        limits=limits_of(model),
    )


def clients_of(model: Any) -> Clients:
    """The clients of a ``ChatIgris`` / ``IgrisEmbeddings``, (re)built when its connection or
    identity fields changed since (or when it was just unpickled or copied)."""
    spec = _spec_of(model)
    clients: Clients | None = model._client_set
    if clients is None or clients.spec != spec:
        clients = Clients(spec)
        model._client_set = clients
    return clients


def state_without_clients(state: dict[Any, Any]) -> dict[Any, Any]:
    """A pydantic ``__getstate__`` result without the clients and the ``httpx`` clients (not
    picklable; rebuilt on first use, over default connection pools), and without the key (the
    unpickled model reads ``IGRIS_API_KEY`` at first use)."""
    state = state_without_secrets(state)
    fields = dict(state["__dict__"])
    fields["http_client"] = None
    fields["http_async_client"] = None
    state["__dict__"] = fields
    if state.get("__pydantic_private__"):
        state["__pydantic_private__"] = {**state["__pydantic_private__"], "_client_set": None}
    return state


def rename_arguments(values: dict[str, Any], spellings: Mapping[str, str]) -> dict[str, Any]:
    """Constructor arguments with other accepted spellings renamed to the field names."""
    if not any(name in values for name in spellings):
        return values
    values = dict(values)
    for other, name in spellings.items():
        if other in values:
            if name in values:
                raise ValueError(f"{name!r} was given twice (also as {other!r})")
            values[name] = values.pop(other)
    return values


def drop_openai_client_arguments(
    values: dict[str, Any], meanings: Mapping[str, str], owner: str
) -> dict[str, Any]:
    """Constructor arguments without those of OpenAI's own client classes (``ChatOpenAI``,
    ``OpenAIEmbeddings``) that mean nothing through the gateway. One left unset (``None``,
    ``False``) is dropped, so shared configurations work; one set raises
    :class:`~igris_core.IgrisInputError` saying why, since ignoring it would change the
    behaviour asked for. Neither reaches the request body."""
    if not any(name in values for name in meanings):
        return values
    values = dict(values)
    for name, why in meanings.items():
        if name in values and values.pop(name) not in (None, False):
            raise IgrisInputError(f"unsupported {owner} argument {name!r}: {why}")
    return values
