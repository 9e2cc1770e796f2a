"""The audit trail correlates with the caller's traces: each entry keeps the trace id and the
W3C ``traceparent`` the call carried."""

from __future__ import annotations

import httpx
from opentelemetry import trace

from igris_core import Igris
from igris_core.local_gateway import LocalGateway
from tests.local_gateway.helpers import CHAT, chat_body
from tests.tracing_helpers import TRACEPARENT_RE, hex_trace_id, recording_spans


def test_entry_keeps_the_traceparent_received(gw: LocalGateway, client: httpx.Client) -> None:
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    client.post(CHAT, json=chat_body("hi"), headers={"traceparent": parent})
    client.post(CHAT, json=chat_body("hi"))
    assert [e.traceparent for e in gw.audit] == [parent, None]


def test_calls_made_in_a_span_are_found_by_its_trace(gw: LocalGateway) -> None:
    igris = Igris(api_key=gw.api_key, base_url=gw.base_url)
    tracer = trace.get_tracer("app")
    with recording_spans() as spans, tracer.start_as_current_span("ticket") as app_span:
        igris.chat.completions.create(
            model="@openai-prod/gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        stream = igris.chat.completions.create(
            model="@openai-prod/gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        stream.until_done()
        igris.embeddings.create(model="@openai-prod/text-embedding-3-small", input="hi")
    entries = gw.audit
    assert [e.route for e in entries] == ["chat", "chat", "embeddings"]
    assert {e.trace_id for e in entries} == {hex_trace_id(app_span)}
    calls = {
        f"{s.context.span_id:016x}": s for s in spans.get_finished_spans() if s.name != "ticket"
    }
    for entry in entries:
        match = TRACEPARENT_RE.fullmatch(entry.traceparent or "")
        assert match is not None and match["trace"] == hex_trace_id(app_span)
        span = calls[match["span"]]  # the gateway would join under the client's own span
        assert span.attributes["igris.request_id"] == entry.request_id


def test_the_log_line_carries_the_traceparent(gw: LocalGateway, client: httpx.Client) -> None:
    from igris_core.local_gateway._audit.request_log import format_entry

    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    client.post(CHAT, json=chat_body("hi"), headers={"traceparent": parent})
    client.post(CHAT, json=chat_body("hi"))
    with_parent, without = (format_entry(e) for e in gw.audit)
    assert f"traceparent={parent}" in with_parent
    assert "traceparent" not in without
