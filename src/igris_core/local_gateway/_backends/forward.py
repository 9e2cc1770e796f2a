"""The forward backend: pass a call to a real OpenAI-compatible (or Anthropic) upstream.

The request body goes out byte for byte; only authentication is rewritten (the upstream key is
read from the connection's environment variable at request time and sent the way the provider
expects: Bearer, ``x-api-key`` or ``?key=``). The gateway's own headers (``Authorization``,
``x-api-key``, ``X-Igris-*``) stay here. Answers come back with their status and body; a stream is
passed through as its bytes arrive, while usage is read from its terminal chunk (or counted when
the upstream sent none) for the audit trail. When a stream fault is injected, the stream is
replayed event by event under it instead (a stream shape needs the whole stream first).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from igris_core import protocol
from igris_core.local_gateway._chat.answer import Usage
from igris_core.local_gateway._chat.conversation import Conversation
from igris_core.local_gateway._chat.text import count_words
from igris_core.local_gateway._config.providers import provider_info
from igris_core.local_gateway._config.settings import ConnectionConfig
from igris_core.local_gateway._policy.faults import FaultPlan, StreamPlan
from igris_core.local_gateway._server.context import RequestContext
from igris_core.local_gateway._wire.errors import GatewayError, StreamAbort
from igris_core.local_gateway._wire.sse import (
    DONE_EVENT,
    SseEvent,
    UpstreamEvents,
    json_event,
    play_stream,
)
from igris_core.local_gateway._wire.stream_shapes import apply_stream_shape

__all__ = ["Forwarder", "UsageWatcher"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
_NOT_FORWARDED = _HOP_BY_HOP | {
    "host",
    "content-length",
    "accept-encoding",
    protocol.AUTHORIZATION_HEADER.lower(),
    protocol.API_KEY_HEADER.lower(),
}
_NOT_RELAYED = _HOP_BY_HOP | {
    "content-length",
    "content-encoding",
    "date",
    "server",
    protocol.REQUEST_ID_HEADER.lower(),
}
_IGRIS_PREFIX = "x-igris-"
_TIMEOUT = httpx.Timeout(300.0, connect=10.0)


def _usage_from(payload: Any) -> tuple[int | None, int | None]:
    """Prompt and completion tokens an answer or chunk reports (OpenAI or Anthropic names)."""
    if not isinstance(payload, Mapping):
        return None, None
    if payload.get("type") == "message_start":
        payload = payload.get("message") or {}
    usage = payload.get("usage") if isinstance(payload, Mapping) else None
    if not isinstance(usage, Mapping):
        return None, None

    def pick(*names: str) -> int | None:
        for name in names:
            value = usage.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    return pick("prompt_tokens", "input_tokens"), pick("completion_tokens", "output_tokens")


class UsageWatcher:
    """Reads usage from a stream going past; counts the words when the stream reports none."""

    def __init__(self, conversation: Conversation | None) -> None:
        self._reader = UpstreamEvents()
        self._prompt: int | None = None
        self._completion: int | None = None
        self._words = 0
        self._fallback_prompt = conversation.prompt_tokens() if conversation else 0

    def feed(self, data: bytes) -> None:
        """Look at the next bytes of the stream."""
        for event in self._reader.feed(data):
            self.see(event)

    def see(self, event: SseEvent) -> None:
        """Look at one event of the stream."""
        if event.is_done:
            return
        try:
            payload = json.loads(event.data)
        except ValueError:
            return
        prompt, completion = _usage_from(payload)
        self._prompt = prompt if prompt is not None else self._prompt
        self._completion = completion if completion is not None else self._completion
        self._words += _delta_words(payload)

    def usage(self) -> Usage:
        """The stream's usage: as reported, else counted."""
        prompt = self._prompt if self._prompt is not None else self._fallback_prompt
        completion = self._completion if self._completion is not None else self._words
        return Usage(prompt, completion)


def _delta_words(payload: Any) -> int:
    if not isinstance(payload, Mapping):
        return 0
    words = 0
    delta = payload.get("delta")
    if isinstance(delta, Mapping):  # Anthropic content_block_delta
        for name in ("text", "partial_json"):
            if isinstance(delta.get(name), str):
                words += count_words(delta[name])
    for choice in payload.get("choices") or []:
        inner = choice.get("delta") if isinstance(choice, Mapping) else None
        if isinstance(inner, Mapping) and isinstance(inner.get("content"), str):
            words += count_words(inner["content"])
    return words


def _relayed(headers: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _NOT_RELAYED}


def _error_type(body: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else None


class Forwarder:
    """Sends forward-backend calls upstream with one pooled HTTP client per running server."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        """Close the pooled client (at server shutdown)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        # Created lazily so it belongs to the server's event loop.
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False)
        return self._client

    def _outgoing(
        self, request: Request, connection: ConnectionConfig
    ) -> tuple[dict[str, str], dict[str, str]]:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in _NOT_FORWARDED and not k.lower().startswith(_IGRIS_PREFIX)
        }
        headers["accept-encoding"] = "identity"  # keeps passthrough byte for byte
        params: dict[str, str] = {}
        env = connection.upstream_api_key_env
        if env is None:
            return headers, params
        key = os.environ.get(env)
        if not key:
            raise GatewayError(
                500,
                f"connection {connection.slug!r}: the environment variable {env} that holds the "
                "upstream key is not set",
                code="upstream_key_missing",
            )
        style = provider_info(connection.provider).auth_style
        if style == "x-api-key":
            headers[protocol.API_KEY_HEADER] = key
        elif style == "query-param":
            params["key"] = key
        elif style != "none":
            headers[protocol.AUTHORIZATION_HEADER] = f"Bearer {key}"
        return headers, params

    async def forward(
        self,
        *,
        connection: ConnectionConfig,
        suffix: str,
        request: Request,
        raw_body: bytes,
        ctx: RequestContext,
        plan: FaultPlan,
        conversation: Conversation | None,
    ) -> Response:
        """Send the call upstream and relay the answer."""
        assert connection.upstream_base_url is not None  # checked by ConnectionConfig
        headers, params = self._outgoing(request, connection)
        client = self._http()
        outgoing = client.build_request(
            "POST",
            connection.upstream_base_url.rstrip("/") + suffix,
            content=raw_body,
            headers=headers,
            params=params,
        )
        try:
            upstream = await client.send(outgoing, stream=True)
        except httpx.TimeoutException as exc:
            raise GatewayError(504, f"upstream timed out: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise GatewayError(502, f"upstream unreachable: {type(exc).__name__}: {exc}") from None
        is_stream = upstream.headers.get("content-type", "").startswith(protocol.SSE_CONTENT_TYPE)
        if not ctx.stream or upstream.status_code >= 400 or not is_stream:
            return await self._whole(upstream, ctx, plan)
        watcher = UsageWatcher(conversation)
        chat = suffix == protocol.CHAT_COMPLETIONS_SUFFIX
        return StreamingResponse(
            self._stream(upstream, watcher, ctx, plan.stream, chat=chat),
            status_code=upstream.status_code,
            headers=_relayed(upstream.headers),
        )

    async def _whole(
        self, upstream: httpx.Response, ctx: RequestContext, plan: FaultPlan
    ) -> Response:
        try:
            body = await upstream.aread()
        except httpx.HTTPError as exc:
            raise GatewayError(502, f"upstream answer broke off: {type(exc).__name__}") from None
        finally:
            await upstream.aclose()
        if upstream.status_code >= 400:
            ctx.error_type = _error_type(body) or f"upstream_{upstream.status_code}"
        else:
            try:
                prompt, completion = _usage_from(json.loads(body))
            except ValueError:
                prompt = completion = None
            if prompt is not None or completion is not None:
                ctx.usage = Usage(prompt or 0, completion or 0).to_audit()
            if plan.malformed_json:
                body = body[: max(1, len(body) // 2)]
        return Response(body, status_code=upstream.status_code, headers=_relayed(upstream.headers))

    async def _stream(
        self,
        upstream: httpx.Response,
        watcher: UsageWatcher,
        ctx: RequestContext,
        plan: StreamPlan,
        *,
        chat: bool,
    ) -> AsyncIterator[bytes]:
        ctx.usage_source = lambda: watcher.usage().to_audit()
        try:
            if plan == StreamPlan():
                async for data in upstream.aiter_bytes():
                    watcher.feed(data)
                    yield data
            else:
                error = plan.error or GatewayError(500, "injected fault: error event")
                error_event = json_event(
                    error.body() if chat else {"type": "error", **error.body()},
                    None if chat else "error",
                )
                events = self._events(upstream, watcher, shape=plan.shape if chat else None)
                async for data in play_stream(
                    events, plan, error_event=error_event, done=DONE_EVENT if chat else None
                ):
                    yield data
        except httpx.HTTPError:
            raise StreamAbort("the upstream stream broke off") from None
        finally:
            await upstream.aclose()
            ctx.usage = watcher.usage().to_audit()

    async def _events(
        self, upstream: httpx.Response, watcher: UsageWatcher, *, shape: str | None
    ) -> AsyncIterator[SseEvent]:
        reader = UpstreamEvents()
        pending: list[SseEvent] = []
        async for data in upstream.aiter_bytes():
            for event in reader.feed(data):
                if event.is_done:
                    continue  # play_stream writes its own terminator
                watcher.see(event)
                if shape is None:
                    yield event
                else:
                    pending.append(event)
        if shape is not None:
            chunks = []
            for event in pending:
                try:
                    chunks.append(json.loads(event.data))
                except ValueError:
                    continue
            for chunk in apply_stream_shape(shape, chunks, watcher.usage()):
                yield json_event(chunk)
