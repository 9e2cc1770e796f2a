"""Trace correlation in the core clients: the automatic trace id, ``traceparent`` and a span per
gateway call (OpenTelemetry SDK, in-memory exporter)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
)

from igris_core import AsyncIgris, Igris, IgrisRateLimitError, igris_context
from igris_core._tracing import CAPTURE_CONTENT_ENV, run_trace_scope
from tests.conftest import Delay
from tests.igris_core.helpers import Recorder, chat_answer, sse, sse_response
from tests.tracing_helpers import TRACEPARENT_RE, hex_trace_id, recording_spans

MODEL = "@openai-prod/gpt-4o"
PROMPT = "the secret launch codes are 1234"
KEY = "ig_test_secret_key"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with recording_spans() as exporter:
        yield exporter


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=chat_answer("hi"), headers={"x-igris-request-id": "req_1"})


def chunk(content: str | None = None, finish: str | None = None, usage: Any = None) -> Any:
    choices = (
        []
        if content is None and finish is None
        else [
            {"index": 0, "delta": {"content": content} if content else {}, "finish_reason": finish}
        ]
    )
    body: dict[str, Any] = {"id": "c1", "model": "gpt-4o-2024", "choices": choices}
    if usage is not None:
        body["usage"] = usage
    return body


def streamed(request: httpx.Request) -> httpx.Response:
    usage = {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
    body = sse(chunk("Hel"), chunk("lo", "stop"), chunk(usage=usage))
    return sse_response(body, **{"x-igris-request-id": "req_s"})


def embedded(request: httpx.Request) -> httpx.Response:
    data = [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}]
    body = {
        "object": "list",
        "data": data,
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    return httpx.Response(200, json=body, headers={"x-igris-request-id": "req_e"})


def ask(client: Igris, **kwargs: Any) -> Any:
    return client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": PROMPT}], **kwargs
    )


def only_igris_span(exporter: InMemorySpanExporter) -> Any:
    (span,) = [s for s in exporter.get_finished_spans() if s.name.startswith(("chat", "emb"))]
    return span


def attributes_text(span: Any) -> str:
    return json.dumps({k: str(v) for k, v in span.attributes.items()})


# --- headers ---------------------------------------------------------------------------------


def test_no_span_no_scope_sends_no_trace_id(
    make_client: Callable[..., tuple[Igris, Recorder]], spans: InMemorySpanExporter
) -> None:
    client, rec = make_client(ok)
    ask(client)
    headers = rec.requests[0].headers
    assert "x-igris-trace-id" not in headers
    call = only_igris_span(spans)
    assert call.parent is None  # a root span of its own, which the gateway may join
    assert headers["traceparent"].startswith(f"00-{call.context.trace_id:032x}-")


def test_without_a_tracer_provider_or_span_nothing_is_added(
    make_client: Callable[..., tuple[Igris, Recorder]],
) -> None:
    client, rec = make_client(ok)
    ask(client)
    headers = rec.requests[0].headers
    assert "x-igris-trace-id" not in headers
    assert "traceparent" not in headers


def test_header_is_the_active_span_trace_id_and_traceparent_names_the_call_span(
    make_client: Callable[..., tuple[Igris, Recorder]], spans: InMemorySpanExporter
) -> None:
    client, rec = make_client(ok)
    tracer = trace.get_tracer("app")
    with tracer.start_as_current_span("handle-ticket") as app_span:
        ask(client)
    headers = rec.requests[0].headers
    assert headers["x-igris-trace-id"] == hex_trace_id(app_span)
    match = TRACEPARENT_RE.fullmatch(headers["traceparent"])
    assert match is not None, headers["traceparent"]
    assert match["trace"] == hex_trace_id(app_span)
    call = only_igris_span(spans)
    assert match["span"] == f"{call.context.span_id:016x}"  # the gateway joins under our span
    assert int(match["flags"], 16) == int(call.context.trace_flags)
    assert call.parent is not None
    assert call.parent.span_id == app_span.get_span_context().span_id


@pytest.mark.parametrize("where", ["argument", "context", "client"])
def test_explicit_trace_id_wins_over_the_span(
    make_client: Callable[..., tuple[Igris, Recorder]], spans: InMemorySpanExporter, where: str
) -> None:
    client, rec = make_client(ok, trace_id="ticket-1" if where == "client" else None)
    with trace.get_tracer("app").start_as_current_span("app") as app_span:
        if where == "argument":
            ask(client, igris_trace_id="ticket-1")
        else:
            with igris_context(trace_id="ticket-1" if where == "context" else None):
                ask(client)
    headers = rec.requests[0].headers
    assert headers["x-igris-trace-id"] == "ticket-1"
    assert TRACEPARENT_RE.fullmatch(headers["traceparent"])["trace"] == hex_trace_id(app_span)  # type: ignore[index]
    assert only_igris_span(spans).attributes["igris.trace_id"] == "ticket-1"


def test_caller_traceparent_in_extra_headers_is_kept(
    make_client: Callable[..., tuple[Igris, Recorder]], spans: InMemorySpanExporter
) -> None:
    mine = "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"
    client, rec = make_client(ok)
    with trace.get_tracer("app").start_as_current_span("app"):
        ask(client, extra_headers={"traceparent": mine})
    assert rec.requests[0].headers["traceparent"] == mine


def test_run_scope_id_is_used_outside_spans_and_the_span_wins_inside(
    make_client: Callable[..., tuple[Igris, Recorder]], spans: InMemorySpanExporter
) -> None:
    client, rec = make_client(ok)
    with run_trace_scope("run-7"):
        ask(client)
        with trace.get_tracer("app").start_as_current_span("app") as app_span:
            ask(client)
        with igris_context(trace_id="explicit"):
            ask(client)
    ask(client)
    ids = [r.headers.get("x-igris-trace-id") for r in rec.requests]
    assert ids == ["run-7", hex_trace_id(app_span), "explicit", None]


def test_propagated_context_without_sdk_gives_ids_but_no_span(
    make_client: Callable[..., tuple[Igris, Recorder]],
) -> None:
    # No SDK provider: only the incoming (remote) context, as a server framework would set.
    remote = SpanContext(
        trace_id=0xABC, span_id=0xDEF, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )
    client, rec = make_client(ok)
    token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
    try:
        ask(client)
    finally:
        otel_context.detach(token)
    headers = rec.requests[0].headers
    assert headers["x-igris-trace-id"] == f"{0xABC:032x}"
    assert headers["traceparent"] == f"00-{0xABC:032x}-{0xDEF:016x}-01"


# --- spans -----------------------------------------------------------------------------------


def test_span_attributes_follow_genai_conventions_without_key_or_content(
    make_client: Callable[..., tuple[Igris, Recorder]], spans: InMemorySpanExporter
) -> None:
    client, _ = make_client(ok, user="alice@corp.com")
    with trace.get_tracer("app").start_as_current_span("app"):
        ask(client, max_tokens=5)
    span = only_igris_span(spans)
    assert span.name == "chat gpt-4o"
    assert span.kind is SpanKind.CLIENT
    attrs = span.attributes
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.response.model"] == "gpt-4o"
    assert attrs["gen_ai.response.id"] == "chatcmpl-1"
    assert attrs["gen_ai.usage.input_tokens"] == 3
    assert attrs["gen_ai.usage.output_tokens"] == 1
    assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)
    assert attrs["igris.connection"] == "openai-prod"
    assert attrs["igris.request_id"] == "req_1"
    assert attrs["igris.user"] == "alice@corp.com"
    assert span.status.status_code is StatusCode.UNSET
    text = attributes_text(span) + span.name
    assert KEY not in text
    assert PROMPT not in text
    assert "hi" not in set(map(str, attrs.values()))  # nor the answer


def test_message_contents_only_when_opted_in(
    make_client: Callable[..., tuple[Igris, Recorder]],
    spans: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    client, _ = make_client(ok)
    ask(client)
    attrs = only_igris_span(spans).attributes
    assert PROMPT in attrs["gen_ai.input.messages"]
    assert json.loads(attrs["gen_ai.output.messages"])[0]["content"] == "hi"


def test_error_sets_error_type_status_and_request_id(
    make_client: Callable[..., tuple[Igris, Recorder]],
    spans: InMemorySpanExporter,
    delays: list[Delay],
) -> None:
    def limited(request: httpx.Request) -> httpx.Response:
        body = {"error": {"message": f"slow down {PROMPT}", "type": "rate_limit_error"}}
        return httpx.Response(429, json=body, headers={"x-igris-request-id": "req_429"})

    client, _ = make_client(limited, max_retries=0)
    with pytest.raises(IgrisRateLimitError):
        ask(client)
    span = only_igris_span(spans)
    assert span.attributes["error.type"] == "IgrisRateLimitError"
    assert span.attributes["igris.request_id"] == "req_429"
    assert span.attributes["http.response.status_code"] == 429
    assert span.status.status_code is StatusCode.ERROR
    assert PROMPT not in (span.status.description or "") + attributes_text(span)


async def test_async_call_and_embeddings(
    make_async_client: Callable[..., tuple[AsyncIgris, Recorder]], spans: InMemorySpanExporter
) -> None:
    client, rec = make_async_client(lambda r: embedded(r) if "embeddings" in r.url.path else ok(r))
    with trace.get_tracer("app").start_as_current_span("app") as app_span:
        await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
        await client.embeddings.create(model="@openai-prod/text-embedding-3-small", input="hi")
    assert {r.headers["x-igris-trace-id"] for r in rec.requests} == {hex_trace_id(app_span)}
    chat, embed = sorted(
        (s for s in spans.get_finished_spans() if s.name != "app"), key=lambda s: s.name
    )
    assert chat.attributes["igris.request_id"] == "req_1"
    assert embed.name == "embeddings text-embedding-3-small"
    assert embed.attributes["gen_ai.operation.name"] == "embeddings"
    assert embed.attributes["gen_ai.usage.input_tokens"] == 2
    assert embed.attributes["igris.request_id"] == "req_e"
    assert chat.parent.span_id == embed.parent.span_id == app_span.get_span_context().span_id  # type: ignore[union-attr]


def test_stream_span_ends_with_the_stream(
    make_client: Callable[..., tuple[Igris, Recorder]], spans: InMemorySpanExporter
) -> None:
    client, rec = make_client(streamed)
    with trace.get_tracer("app").start_as_current_span("app") as app_span:
        stream = ask(client, stream=True)
        assert not [s for s in spans.get_finished_spans() if s.name.startswith("chat")]
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello"
    assert rec.requests[0].headers["x-igris-trace-id"] == hex_trace_id(app_span)
    span = only_igris_span(spans)
    assert span.attributes["gen_ai.usage.output_tokens"] == 2
    assert span.attributes["gen_ai.response.model"] == "gpt-4o-2024"
    assert tuple(span.attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert span.attributes["igris.request_id"] == "req_s"
    assert span.attributes["igris.stream.completed"] is True


@pytest.mark.parametrize("how", ["break", "close", "unread"])
def test_stream_closed_early_ends_its_span(
    make_client: Callable[..., tuple[Igris, Recorder]], spans: InMemorySpanExporter, how: str
) -> None:
    client, _ = make_client(streamed)
    stream = ask(client, stream=True)
    if how == "break":
        for _ in stream:
            break
    elif how == "close":
        next(stream)
        stream.close()
    else:
        with stream:
            pass
    span = only_igris_span(spans)
    assert span.attributes["igris.stream.completed"] is False
    assert span.status.status_code is StatusCode.UNSET


def test_cut_stream_is_an_error_on_its_span(
    make_client: Callable[..., tuple[Igris, Recorder]], spans: InMemorySpanExporter
) -> None:
    client, _ = make_client(lambda r: sse_response(sse(chunk("Hel"), done=False)))
    with pytest.raises(Exception) as caught:
        for _ in ask(client, stream=True):
            pass
    span = only_igris_span(spans)
    assert span.attributes["error.type"] == type(caught.value).__qualname__
    assert span.status.status_code is StatusCode.ERROR


async def test_async_stream_span(
    make_async_client: Callable[..., tuple[AsyncIgris, Recorder]], spans: InMemorySpanExporter
) -> None:
    client, _ = make_async_client(streamed)
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    async with stream:
        async for _ in stream:
            pass
    span = only_igris_span(spans)
    assert span.attributes["gen_ai.usage.input_tokens"] == 7
    assert span.attributes["igris.stream.completed"] is True

    early = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    async with early:
        async for _ in early:
            break
    spans_now = [s for s in spans.get_finished_spans() if s.name.startswith("chat")]
    assert len(spans_now) == 2
    assert spans_now[1].attributes["igris.stream.completed"] is False
