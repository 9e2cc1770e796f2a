"""``client.chat.completions``: chat completions, plain and streaming."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from igris_core._identity import Identity, call_identity
from igris_core._requests import parse_chat, prepare_chat
from igris_core._streaming import AsyncChatCompletionStream, ChatCompletionStream, StreamSettings
from igris_core._tracing import gateway_call
from igris_core.types._chat import ChatCompletionResponse, ChatMessage

if TYPE_CHECKING:
    from igris_core._client import AsyncIgris, Igris

__all__ = ["AsyncChat", "AsyncCompletions", "Chat", "Completions"]

Messages = Iterable[ChatMessage | Mapping[str, Any]]


class Completions:
    """Chat completions through the gateway (``POST /llm/{slug}/v1/chat/completions``)."""

    def __init__(self, client: Igris) -> None:
        self._client = client

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[False] = False,
        identity: Identity | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> ChatCompletionResponse: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[True],
        identity: Identity | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> ChatCompletionStream: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: bool,
        identity: Identity | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> ChatCompletionResponse | ChatCompletionStream: ...

    def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: bool = False,
        identity: Identity | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> ChatCompletionResponse | ChatCompletionStream:
        """Send a chat completion. ``model`` is ``"@slug/model"``; any other OpenAI field
        (``temperature``, ``tools``, ``response_format``, ...) passes through ``fields``.

        ``igris_user`` / ``igris_trace_id`` / ``igris_metadata`` (or an ``identity``) set this
        call's identity, over any :func:`~igris_core.igris_context` scope and the client's own.

        Example::

            answer = client.chat.completions.create(
                model="@openai-prod/gpt-4o",
                messages=[{"role": "user", "content": "What is the capital of France?"}],
                max_tokens=200,
            )
            print(answer.choices[0].message.content)
        """
        client = self._client
        prepared = prepare_chat(
            client._options,
            model,
            messages,
            stream,
            fields,
            call_identity(igris_user, igris_trace_id, igris_metadata, identity),
            extra_headers,
        )
        with gateway_call("chat", model, prepared) as call:
            if stream:
                opened = client._transport.open_stream(client._options, call.request)
                settings = StreamSettings.of(client._options, opened)
                return ChatCompletionStream(opened.response, settings, trace=call.for_stream())
            return call.done(parse_chat(client._transport.request(client._options, call.request)))


class AsyncCompletions:
    """Chat completions through the gateway, async."""

    def __init__(self, client: AsyncIgris) -> None:
        self._client = client

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[False] = False,
        identity: Identity | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> ChatCompletionResponse: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: Literal[True],
        identity: Identity | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> AsyncChatCompletionStream: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: bool,
        identity: Identity | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> ChatCompletionResponse | AsyncChatCompletionStream: ...

    async def create(
        self,
        *,
        model: str,
        messages: Messages,
        stream: bool = False,
        identity: Identity | None = None,
        igris_user: str | None = None,
        igris_trace_id: str | None = None,
        igris_metadata: Mapping[str, str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> ChatCompletionResponse | AsyncChatCompletionStream:
        """Async form of :meth:`Completions.create`."""
        client = self._client
        prepared = prepare_chat(
            client._options,
            model,
            messages,
            stream,
            fields,
            call_identity(igris_user, igris_trace_id, igris_metadata, identity),
            extra_headers,
        )
        with gateway_call("chat", model, prepared) as call:
            if stream:
                opened = await client._transport.open_stream(client._options, call.request)
                settings = StreamSettings.of(client._options, opened)
                return AsyncChatCompletionStream(opened.response, settings, trace=call.for_stream())
            answer = await client._transport.request(client._options, call.request)
            return call.done(parse_chat(answer))


class Chat:
    """``client.chat``: holds ``completions``."""

    def __init__(self, client: Igris) -> None:
        self.completions = Completions(client)


class AsyncChat:
    """``client.chat`` of an async client: holds ``completions``."""

    def __init__(self, client: AsyncIgris) -> None:
        self.completions = AsyncCompletions(client)
