"""The ``Igris`` and ``AsyncIgris`` clients: options, one connection pool, the resources."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr
from typing_extensions import Self

from igris_core import protocol
from igris_core._config import ClientOptions, TimeoutTypes
from igris_core._identity import Identity, current_context, identity_headers, resolve_identity
from igris_core._model_ref import validate_slug
from igris_core._resources import (
    AsyncChat,
    AsyncEmbeddings,
    AsyncLlmProviders,
    Chat,
    Embeddings,
    LlmProviders,
)
from igris_core._transport import AsyncTransport, SyncTransport
from igris_core.types._providers import LlmConnection

__all__ = ["AsyncIgris", "Igris"]

_UNSET: Any = object()


class _ClientBase:
    _options: ClientOptions
    _transport: SyncTransport | AsyncTransport
    _owns_transport: bool

    @property
    def base_url(self) -> str:
        """The gateway's base URL (no trailing ``/``)."""
        return self._options.base_url

    @property
    def api_key(self) -> SecretStr:
        """The Igris API key (a ``SecretStr``: call ``get_secret_value()`` to read it)."""
        return self._options.api_key

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeout of each request."""
        return self._options.timeout

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried (docs/protocol.md, "Retries")."""
        return self._options.max_retries

    @property
    def identity(self) -> Identity:
        """The client's default identity (user, trace id, metadata)."""
        return self._options.identity

    def identity_headers(
        self,
        *,
        user: str | None = None,
        trace_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The ``X-Igris-*`` headers a call made now would carry: the arguments, then the
        current :func:`~igris_core.igris_context` scope, then the client's defaults."""
        layer = Identity.of(user, trace_id, metadata)
        return identity_headers(resolve_identity(layer, current_context(), self._options.identity))

    def connect_llm(
        self,
        slug: str,
        *,
        user: str | None = None,
        trace_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> LlmConnection:
        """What an OpenAI-compatible SDK needs to route through connection ``slug``.

        Example::

            conn = igris.connect_llm("openai-prod", user="alice@corp.com")
            conn.base_url   # https://api.igrisecurity.com/llm/openai-prod/v1
            openai.OpenAI(**conn.openai_kwargs())
        """
        validate_slug(slug)
        return LlmConnection(
            base_url=self._options.base_url + protocol.connection_prefix(slug),
            api_key=self._options.api_key,
            headers=self.identity_headers(user=user, trace_id=trace_id, metadata=metadata),
        )

    def _init_resources(self) -> None:
        raise NotImplementedError

    def _derive(
        self,
        user: str | None,
        trace_id: str | None,
        metadata: Mapping[str, str] | None,
        timeout: Any,
        max_retries: Any,
    ) -> Self:
        options = self._derived_options(user, trace_id, metadata, timeout, max_retries)
        return self._over(options, self._transport)  # the pool stays this client's to close

    @classmethod
    def _over(cls, options: ClientOptions, transport: SyncTransport | AsyncTransport) -> Self:
        """A client with ``options`` over a transport it does not own: its ``close()`` leaves
        the pool open (a derived client's, or one shared by framework models)."""
        client = object.__new__(cls)
        client._options = options
        client._transport = transport
        client._owns_transport = False
        client._init_resources()
        return client

    def _derived_options(
        self,
        user: str | None,
        trace_id: str | None,
        metadata: Mapping[str, str] | None,
        timeout: Any,
        max_retries: Any,
    ) -> ClientOptions:
        return self._options.derive(
            identity=Identity.of(user, trace_id, metadata),
            timeout=... if timeout is _UNSET else timeout,
            max_retries=... if max_retries is _UNSET else max_retries,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"max_retries={self.max_retries}, identity={self.identity!r})"
        )


class Igris(_ClientBase):
    """The Igris gateway client.

    Args:
        api_key: the Igris API key; ``IGRIS_API_KEY`` when not given. Empty is an error.
        base_url: the gateway; ``IGRIS_BASE_URL``, else ``https://api.igrisecurity.com``.
        timeout: seconds per attempt, a wall-clock deadline: connecting, sending and reading
            the whole answer must fit in it, however slowly the server trickles bytes. For a
            stream: the longest wait for the first event and between two events (comments do
            not count). An ``httpx.Timeout`` sets httpx's phases; its largest is the deadline.
        max_retries: retries of failed requests (408, 429, 5xx, no answer); 0 turns them off.
        user, trace_id, metadata: the default identity of every call (``X-Igris-*``).
        http_client: an ``httpx.Client`` of your own (proxies, mTLS); you keep closing it.
            Over it the deadline is checked between body chunks only.
        default_headers: extra headers on every request (printable ASCII).
        max_response_bytes: the largest answer accepted, counted after decompression
            (default 32 MiB); beyond it, :class:`~igris_core.IgrisResponseTooLargeError`.
        max_event_bytes: the largest stream line or event (default 8 MiB); beyond it,
            :class:`~igris_core.IgrisStreamError`.
        stream_timeout: an optional limit, in seconds, on the whole of a stream.

    Example::

        with Igris() as igris:
            answer = igris.chat.completions.create(
                model="@openai-prod/gpt-4o", messages=[{"role": "user", "content": "Hi"}]
            )
    """

    chat: Chat
    embeddings: Embeddings
    llm_providers: LlmProviders
    _transport: SyncTransport

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutTypes = protocol.DEFAULT_TIMEOUT,
        max_retries: int = protocol.DEFAULT_MAX_RETRIES,
        user: str | None = None,
        trace_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int = protocol.DEFAULT_MAX_RESPONSE_BYTES,
        max_event_bytes: int = protocol.DEFAULT_MAX_EVENT_BYTES,
        stream_timeout: float | None = None,
    ) -> None:
        self._options = ClientOptions.build(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            user=user,
            trace_id=trace_id,
            metadata=metadata,
            default_headers=default_headers,
            max_response_bytes=max_response_bytes,
            max_event_bytes=max_event_bytes,
            stream_timeout=stream_timeout,
        )
        self._transport = SyncTransport(http_client)
        self._owns_transport = True
        self._init_resources()

    def _init_resources(self) -> None:
        self.chat = Chat(self)
        self.embeddings = Embeddings(self)
        self.llm_providers = LlmProviders(self)

    def with_options(
        self,
        *,
        user: str | None = None,
        trace_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        timeout: TimeoutTypes = _UNSET,
        max_retries: int = _UNSET,
    ) -> Igris:
        """A client deriving from this one (same connection pool) with more identity, or
        another timeout or retry count. Metadata merges over this client's, key by key.

        Example::

            alice = igris.with_options(user="alice@corp.com", metadata={"team": "search"})
        """
        return self._derive(user, trace_id, metadata, timeout, max_retries)

    def close(self) -> None:
        """Close the connection pool (not one you passed in, and not from a derived client)."""
        if self._owns_transport:
            self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncIgris(_ClientBase):
    """The async Igris gateway client; the same arguments as :class:`Igris`
    (``http_client`` is an ``httpx.AsyncClient``).

    Example::

        async with AsyncIgris() as igris:
            answer = await igris.chat.completions.create(
                model="@openai-prod/gpt-4o", messages=[{"role": "user", "content": "Hi"}]
            )
    """

    chat: AsyncChat
    embeddings: AsyncEmbeddings
    llm_providers: AsyncLlmProviders
    _transport: AsyncTransport

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutTypes = protocol.DEFAULT_TIMEOUT,
        max_retries: int = protocol.DEFAULT_MAX_RETRIES,
        user: str | None = None,
        trace_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int = protocol.DEFAULT_MAX_RESPONSE_BYTES,
        max_event_bytes: int = protocol.DEFAULT_MAX_EVENT_BYTES,
        stream_timeout: float | None = None,
    ) -> None:
        self._options = ClientOptions.build(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            user=user,
            trace_id=trace_id,
            metadata=metadata,
            default_headers=default_headers,
            max_response_bytes=max_response_bytes,
            max_event_bytes=max_event_bytes,
            stream_timeout=stream_timeout,
        )
        self._transport = AsyncTransport(http_client)
        self._owns_transport = True
        self._init_resources()

    def _init_resources(self) -> None:
        self.chat = AsyncChat(self)
        self.embeddings = AsyncEmbeddings(self)
        self.llm_providers = AsyncLlmProviders(self)

    def with_options(
        self,
        *,
        user: str | None = None,
        trace_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        timeout: TimeoutTypes = _UNSET,
        max_retries: int = _UNSET,
    ) -> AsyncIgris:
        """A derived client sharing this one's pool; see :meth:`Igris.with_options`."""
        return self._derive(user, trace_id, metadata, timeout, max_retries)

    async def aclose(self) -> None:
        """Close the connection pool (not one you passed in, and not from a derived client)."""
        if self._owns_transport:
            await self._transport.aclose()

    async def close(self) -> None:
        """Alias of :meth:`aclose`."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
