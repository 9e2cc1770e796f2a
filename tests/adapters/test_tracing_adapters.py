"""Adapted SDK clients carry the automatic trace id and ``traceparent`` inside an OpenTelemetry
span, under every explicit identity and the SDK's own headers."""

from __future__ import annotations

from opentelemetry import trace

from igris_core import Igris, igris_context
from igris_core.adapters.anthropic import with_igris as anthropic_with_igris
from igris_core.adapters.openai import with_igris
from tests.adapters.helpers import Recorder, anthropic_client, chat, message, openai_client
from tests.tracing_helpers import TRACEPARENT_RE, hex_trace_id, recording_spans


def test_openai_and_anthropic_requests_in_a_span(igris: Igris) -> None:
    rec = Recorder()
    client = with_igris(openai_client(rec), igris, "openai-prod")
    claude = anthropic_with_igris(anthropic_client(rec), igris, "anthropic-prod")
    with recording_spans(), trace.get_tracer("app").start_as_current_span("app") as span:
        chat(client)
        message(claude)
        with igris_context(trace_id="ticket-1"):
            chat(client)
        chat(client, extra_headers={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
    chat(client)
    ids = [r.headers.get("x-igris-trace-id") for r in rec.requests]
    assert ids == [hex_trace_id(span), hex_trace_id(span), "ticket-1", hex_trace_id(span), None]
    parents = [r.headers.get("traceparent") for r in rec.requests]
    for parent in parents[:3]:
        match = TRACEPARENT_RE.fullmatch(parent or "")
        assert match is not None and match["trace"] == hex_trace_id(span)
    assert parents[3] == "00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    assert parents[4] is None
