"""The route handlers. Every connection route runs the same steps, in this order:

connection lookup (404) -> body (413, 400) -> shape (422) -> deny rules (403) -> rate limits
(429) -> faults (latency, injected status) -> scripted reply or backend -> answer (JSON or SSE).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from igris_core import protocol
from igris_core.local_gateway._backends.echo import echo_answer, needs_schema_work
from igris_core.local_gateway._backends.embedder import embed, encode_base64
from igris_core.local_gateway._backends.forward import Forwarder
from igris_core.local_gateway._backends.llama_cpp import Finished, LlamaCppBackend
from igris_core.local_gateway._backends.script import exhausted_error, scripted_answer
from igris_core.local_gateway._chat.answer import ChatAnswer
from igris_core.local_gateway._chat.conversation import Conversation
from igris_core.local_gateway._chat.text import count_words
from igris_core.local_gateway._config.providers import PROVIDERS, provider_info
from igris_core.local_gateway._config.settings import ConnectionConfig
from igris_core.local_gateway._policy.deny import check_deny_rules
from igris_core.local_gateway._policy.faults import FaultPlan
from igris_core.local_gateway._server.context import RequestContext, context_of
from igris_core.local_gateway._server.routes import ROUTE_SUFFIXES
from igris_core.local_gateway._server.state import GatewayState
from igris_core.local_gateway._wire.anthropic_render import error_event as anthropic_error_event
from igris_core.local_gateway._wire.anthropic_render import message_body, message_events
from igris_core.local_gateway._wire.anthropic_request import (
    messages_request_user,
    parse_messages_request,
)
from igris_core.local_gateway._wire.body import read_json_object
from igris_core.local_gateway._wire.chat_request import embedding_inputs, parse_chat_request
from igris_core.local_gateway._wire.errors import GatewayError
from igris_core.local_gateway._wire.openai_render import (
    ChatIds,
    ChunkWriter,
    completion_body,
    completion_chunks,
)
from igris_core.local_gateway._wire.sse import DONE_EVENT, SseEvent, json_event, play_stream
from igris_core.local_gateway._wire.stream_shapes import apply_stream_shape

__all__ = ["MAX_EMBEDDING_INPUTS", "MAX_EMBEDDING_VALUES", "Handlers"]

# Embedding this much at once would hold up the event loop: do it in a worker thread.
_EMBED_IN_THREAD_WORK = 20_000
# Caps of one embeddings call (a 400 beyond): inputs, and inputs x dimensions (about 20 MB of JSON).
MAX_EMBEDDING_INPUTS = 2048
MAX_EMBEDDING_VALUES = 1 << 20
# Worker threads for CPU-heavy answers (schema instances, large embeddings). One: a burst of
# heavy calls queues behind it, and the event loop only ever shares the GIL with one busy thread.
_HEAVY_WORKERS = 1
_SHUTDOWN_POLL = 0.05  # how often a sleeping call checks whether the gateway is stopping


def _json(payload: Any, *, malformed: bool) -> Response:
    response = JSONResponse(payload)
    if malformed:  # an injected fault: half of a JSON text is never valid JSON
        response.body = response.body[: max(1, len(response.body) // 2)]
        response.headers["content-length"] = str(len(response.body))
    return response


def _sse(stream: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        stream, media_type=protocol.SSE_CONTENT_TYPE, headers={"Cache-Control": "no-cache"}
    )


_T = TypeVar("_T")


class Handlers:
    """The endpoints of one gateway app."""

    def __init__(self, state: GatewayState, forwarder: Forwarder) -> None:
        self.state = state
        self.forwarder = forwarder
        self._heavy: anyio.CapacityLimiter | None = None
        self.local_model = LlamaCppBackend()

    async def _off_loop(self, work: Callable[[], _T]) -> _T:
        """Run CPU-heavy ``work`` in a worker thread, at most a few at a time."""
        if self._heavy is None:  # made on the server's event loop, on first use
            self._heavy = anyio.CapacityLimiter(_HEAVY_WORKERS)
        return await anyio.to_thread.run_sync(work, limiter=self._heavy)

    async def providers(self, request: Request) -> Response:
        """``GET /llm/providers``: the built-in provider registry."""
        return JSONResponse([p.to_wire() for p in PROVIDERS])

    # --- shared steps ----------------------------------------------------------------------------
    def _connection(self, ctx: RequestContext) -> ConnectionConfig:
        connection = self.state.connection(ctx.slug)
        if connection is None:
            known = ", ".join(self.state.connection_slugs()) or "none"
            raise GatewayError(
                404,
                f"unknown connection {ctx.slug!r}; this gateway serves: {known}",
                code="unknown_connection",
            )
        suffix = ROUTE_SUFFIXES[ctx.route]
        if not provider_info(connection.provider).supports(suffix):
            raise GatewayError(
                404,
                f"connection {ctx.slug!r} (provider {connection.provider}) does not serve {suffix}",
                code="unsupported_route",
            )
        return connection

    async def _body(self, request: Request, ctx: RequestContext) -> tuple[bytes, dict[str, Any]]:
        raw, body = await read_json_object(request, self.state.max_body_bytes)
        model = body.get("model")
        ctx.model = model if isinstance(model, str) else None
        ctx.stream = body.get("stream") is True
        user = body.get("user")
        if ctx.user is None and isinstance(user, str):
            ctx.user = user  # the body's user stands in when no X-Igris-User header was sent
        return raw, body

    async def _sleep(self, seconds: float) -> None:
        """An injected latency, cut short (503) when the gateway is asked to stop."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.state.closing.is_set():
                raise GatewayError(503, "the local gateway is shutting down", code="shutting_down")
            await asyncio.sleep(min(left, _SHUTDOWN_POLL))

    async def _admit(self, ctx: RequestContext, text: str) -> FaultPlan:
        facts = ctx.facts(text)
        check_deny_rules(self.state.deny_rules(), facts)
        self.state.limiter.check(self.state.rate_limits(), facts)
        assert ctx.slug is not None  # a connection route always names one
        plan = self.state.plan_faults(ctx.slug, ctx.route, ctx.stream)
        if plan.latency > 0:
            await self._sleep(plan.latency)
        if plan.error is not None:
            raise plan.error
        if plan.stream.error is not None:
            ctx.error_type = plan.stream.error.type
        return plan

    async def _answer(
        self, connection: ConnectionConfig, conversation: Conversation
    ) -> ChatAnswer | None:
        """The scripted reply if one is queued, else the backend's answer (``None``: forward)."""
        reply = self.state.next_scripted(connection.slug)
        if reply is not None:
            return scripted_answer(reply, conversation)
        if connection.backend == "forward":
            return None
        if connection.backend == "script":
            raise exhausted_error(connection.slug)
        if connection.backend == "llama-cpp":
            return await self.local_model.answer(connection, conversation)
        if needs_schema_work(conversation):
            return await self._off_loop(lambda: echo_answer(conversation))
        return echo_answer(conversation)

    async def _live_stream(
        self,
        connection: ConnectionConfig,
        conversation: Conversation,
        ctx: RequestContext,
        plan: FaultPlan,
        ids: ChatIds,
    ) -> Response:
        """A local model's answer streamed as it is decoded. The first piece is awaited before
        the response starts, so a request the model refuses gets a proper error answer."""
        pieces = self.local_model.stream(connection, conversation)
        first = await anext(pieces)
        writer = ChunkWriter(ids, include_usage=conversation.include_usage)

        async def events() -> AsyncIterator[SseEvent]:
            yield json_event(writer.role(0))
            item = first
            try:
                while not isinstance(item, Finished):
                    yield json_event(writer.chunk(0, {"content": item}))
                    item = await anext(pieces)
            finally:
                await pieces.aclose()  # frees the model's queue place, stops an abandoned answer
            ctx.usage = item.usage.to_audit()
            yield json_event(writer.chunk(0, {}, item.finish_reason))
            if conversation.include_usage:
                yield json_event(writer.usage(item.usage))

        error = plan.stream.error or GatewayError(500, "injected fault: error event")
        return _sse(
            play_stream(
                events(), plan.stream, error_event=json_event(error.body()), done=DONE_EVENT
            )
        )

    # --- routes ----------------------------------------------------------------------------------
    async def chat(self, request: Request) -> Response:
        """``POST /llm/<slug>/v1/chat/completions``."""
        ctx = context_of(request)
        connection = self._connection(ctx)
        raw, body = await self._body(request, ctx)
        conversation = parse_chat_request(body)
        plan = await self._admit(ctx, conversation.all_text())

        ids = ChatIds("chatcmpl-" + ctx.request_id[-24:], int(time.time()), conversation.model)
        if (
            connection.backend == "llama-cpp"
            and conversation.stream
            and plan.stream.shape is None
            and self.local_model.streams_text(conversation)
            and not self.state.has_scripted(connection.slug)
        ):
            return await self._live_stream(connection, conversation, ctx, plan, ids)
        answer = await self._answer(connection, conversation)
        if answer is None:
            return await self.forwarder.forward(
                connection=connection,
                suffix=protocol.CHAT_COMPLETIONS_SUFFIX,
                request=request,
                raw_body=raw,
                ctx=ctx,
                plan=plan,
                conversation=conversation,
            )
        ctx.usage = answer.usage.to_audit()
        if not conversation.stream:
            return _json(completion_body(answer, ids), malformed=plan.malformed_json)
        chunks = completion_chunks(answer, ids, include_usage=conversation.include_usage)
        if plan.stream.shape is not None:
            chunks = apply_stream_shape(plan.stream.shape, chunks, answer.usage)
        error = plan.stream.error or GatewayError(500, "injected fault: error event")
        return _sse(
            play_stream(
                [json_event(c) for c in chunks],
                plan.stream,
                error_event=json_event(error.body()),
                done=DONE_EVENT,
            )
        )

    async def messages(self, request: Request) -> Response:
        """``POST /llm/<slug>/v1/messages`` (Anthropic-style connections)."""
        ctx = context_of(request)
        connection = self._connection(ctx)
        raw, body = await self._body(request, ctx)
        if ctx.user is None:
            ctx.user = messages_request_user(body)
        conversation = parse_messages_request(body)
        plan = await self._admit(ctx, conversation.all_text())
        answer = await self._answer(connection, conversation)
        if answer is None:
            return await self.forwarder.forward(
                connection=connection,
                suffix=protocol.MESSAGES_SUFFIX,
                request=request,
                raw_body=raw,
                ctx=ctx,
                plan=plan,
                conversation=conversation,
            )
        ctx.usage = answer.usage.to_audit()
        message_id = "msg_" + ctx.request_id[-24:]
        if not conversation.stream:
            return _json(
                message_body(answer, message_id, conversation.model), malformed=plan.malformed_json
            )
        error = plan.stream.error or GatewayError(500, "injected fault: error event")
        return _sse(
            play_stream(
                message_events(answer, message_id, conversation.model),
                plan.stream,
                error_event=anthropic_error_event(error),
                done=None,
            )
        )

    async def embeddings(self, request: Request) -> Response:
        """``POST /llm/<slug>/v1/embeddings``: the local embedder (or the forward upstream)."""
        ctx = context_of(request)
        connection = self._connection(ctx)
        raw, body = await self._body(request, ctx)
        parsed, texts = embedding_inputs(body, MAX_EMBEDDING_INPUTS)
        plan = await self._admit(ctx, "\n".join(texts))
        if connection.backend == "forward":
            return await self.forwarder.forward(
                connection=connection,
                suffix=protocol.EMBEDDINGS_SUFFIX,
                request=request,
                raw_body=raw,
                ctx=ctx,
                plan=plan,
                conversation=None,
            )
        dimensions = parsed.dimensions or connection.embedding_dimensions
        if len(texts) * dimensions > MAX_EMBEDDING_VALUES:
            raise GatewayError(
                400,
                f"{len(texts)} inputs x {dimensions} dimensions is above the local gateway's "
                f"limit of {MAX_EMBEDDING_VALUES} values per call: send fewer inputs per call",
                code="too_many_values",
            )
        tokens = sum(count_words(t) for t in texts)
        ctx.usage = {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens}

        def render() -> Response:
            vectors = [embed(text, dimensions) for text in texts]
            as_base64 = parsed.encoding_format == "base64"
            payload = {
                "object": "list",
                "data": [
                    {
                        "object": "embedding",
                        "index": i,
                        "embedding": encode_base64(v) if as_base64 else v,
                    }
                    for i, v in enumerate(vectors)
                ],
                "model": parsed.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
            return _json(payload, malformed=plan.malformed_json)

        work = sum(len(t) for t in texts) + len(texts) * dimensions
        if work > _EMBED_IN_THREAD_WORK:
            return await self._off_loop(render)
        return render()
