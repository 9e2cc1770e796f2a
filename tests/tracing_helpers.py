"""An OpenTelemetry SDK tracer provider with an in-memory exporter, for the tracing tests.

The global provider can be set only once per process, so the tests swap it in and out through
the API's module attribute (as OpenTelemetry's own test utilities do)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

TRACEPARENT_RE = re.compile(
    r"00-(?P<trace>[0-9a-f]{32})-(?P<span>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})"
)


@contextmanager
def recording_spans() -> Iterator[InMemorySpanExporter]:
    """A configured SDK tracer provider for the block; the exporter holds the ended spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = trace._TRACER_PROVIDER
    trace._TRACER_PROVIDER = provider
    try:
        yield exporter
    finally:
        trace._TRACER_PROVIDER = previous
        provider.shutdown()


def hex_trace_id(span: trace.Span) -> str:
    """A span's trace id as the header carries it."""
    return f"{span.get_span_context().trace_id:032x}"
