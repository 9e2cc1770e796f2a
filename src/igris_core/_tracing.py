"""Trace correlation: the automatic ``X-Igris-Trace-Id``, the W3C ``traceparent`` header and an
OpenTelemetry span per gateway call (docs/protocol.md, "Tracing").

OpenTelemetry is optional (the ``otel`` extra). Nothing here imports it unless the application
already has (``opentelemetry.trace`` in ``sys.modules``): an application that never touched
OpenTelemetry can have no active span and no tracer provider, so the check costs one dict
lookup. Spans are only made when a real tracer provider is configured.

Where no layer sets a trace id, the id a request carries is, in order: the active OpenTelemetry
span's trace id (32 lowercase hex digits), then the framework run's id set with
:func:`run_trace_scope` (a LangChain root run, a LlamaIndex top-level span), else none.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar

from igris_core import protocol
from igris_core._errors import IgrisError
from igris_core._identity import decode_header_value
from igris_core._model_ref import parse_model
from igris_core._transport import PreparedRequest
from igris_core._version import __version__

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from igris_core._accumulator import StreamAccumulator

__all__ = [
    "CAPTURE_CONTENT_ENV",
    "GatewayCall",
    "StreamTrace",
    "current_run_trace_id",
    "gateway_call",
    "run_trace_scope",
    "trace_headers",
]

T = TypeVar("T")

CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""Set to ``true`` to record message contents on spans (the GenAI conventions' opt-in)."""

_OTEL_MODULE: Final = "opentelemetry.trace"

_run_trace_id: ContextVar[str | None] = ContextVar("igris_run_trace_id", default=None)


@contextmanager
def run_trace_scope(trace_id: str | None) -> Iterator[None]:
    """Within the block, requests that no layer gives a trace id, sent outside any
    OpenTelemetry span, carry ``trace_id`` (the framework integrations' per-run id)."""
    if trace_id is None:
        yield
        return
    token = _run_trace_id.set(trace_id)
    try:
        yield
    finally:
        _run_trace_id.reset(token)


def current_run_trace_id() -> str | None:
    """The id set by the innermost :func:`run_trace_scope`, if any."""
    return _run_trace_id.get()


def _otel() -> Any:
    """The ``opentelemetry.trace`` module if the application loaded it, else ``None``."""
    return sys.modules.get(_OTEL_MODULE)


def _traceparent(span_context: Any) -> str:
    # The W3C trace-context form, as opentelemetry's TraceContextTextMapPropagator writes it.
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-"
        f"{int(span_context.trace_flags):02x}"
    )


def trace_headers(explicit_trace_id: bool) -> dict[str, str] | None:
    """The tracing headers of a request sent now: ``traceparent`` inside an active
    OpenTelemetry span, and ``X-Igris-Trace-Id`` (the span's trace id, else the run's id)
    unless a layer set one (``explicit_trace_id``). ``None`` when there are none."""
    otel = _otel()
    if otel is not None:
        context = otel.get_current_span().get_span_context()
        if context.is_valid:
            headers = {protocol.TRACEPARENT_HEADER: _traceparent(context)}
            if not explicit_trace_id:
                headers[protocol.TRACE_ID_HEADER] = f"{context.trace_id:032x}"
            return headers
    if explicit_trace_id:
        return None
    run_id = _run_trace_id.get()
    return None if run_id is None else {protocol.TRACE_ID_HEADER: run_id}


# --- spans ---------------------------------------------------------------------------------

_tracer: tuple[object, Tracer] | None = None  # (provider, its tracer)


def _get_tracer(otel: Any) -> Tracer | None:
    """The package's tracer, or ``None`` when no real tracer provider is configured."""
    global _tracer
    provider = otel.get_tracer_provider()
    cached = _tracer
    if cached is not None and cached[0] is provider:
        return cached[1]
    if isinstance(provider, otel.ProxyTracerProvider | otel.NoOpTracerProvider):
        return None
    tracer: Tracer = provider.get_tracer("igris_core", __version__)
    _tracer = (provider, tracer)
    return tracer


def _capture_content() -> bool:
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() == "true"


def _error_type(exc: BaseException) -> str:
    # Low-cardinality, and never the message: a gateway's error text may quote the prompt.
    return type(exc).__qualname__


class StreamTrace:
    """The span of a streamed call, ended when the stream ends, fails or is closed early."""

    __slots__ = ("_span", "ended")

    def __init__(self, span: Span) -> None:
        self._span = span
        self.ended = False

    def end(self, stream: Any, exc: BaseException | None) -> None:
        """End the span (once) with what the stream brought so far."""
        if self.ended:
            return
        self.ended = True
        span = self._span
        request_id = getattr(stream, "request_id", None)
        if request_id:
            span.set_attribute("igris.request_id", request_id)
        accumulator: StreamAccumulator | None = getattr(stream, "accumulator", None)
        if accumulator is not None:
            _chat_attributes(
                span,
                accumulator.id,
                accumulator.model,
                accumulator.usage,
                [accumulator.finish_reason(i) for i in accumulator.choice_indices],
            )
            if _capture_content() and stream.completed:
                _output_content(span, accumulator.response())
        completed = bool(getattr(stream, "completed", False))
        span.set_attribute("igris.stream.completed", completed)
        if exc is not None and not isinstance(exc, GeneratorExit):
            _fail(span, exc)
        span.end()

    def wrap(self, generator: Generator[T, None, None], stream: Any) -> Generator[T, None, None]:
        """``generator`` (a stream's event loop), ending the span when it finishes."""
        try:
            yield from generator
        except BaseException as exc:
            self.end(stream, exc)
            raise
        self.end(stream, None)

    async def awrap(
        self, generator: AsyncGenerator[T, None], stream: Any
    ) -> AsyncGenerator[T, None]:
        """Async form of :meth:`wrap`."""
        try:
            async for item in generator:
                yield item
        except BaseException as exc:
            self.end(stream, exc)
            raise
        finally:
            await generator.aclose()  # an early close must reach the inner loop's cleanup
        self.end(stream, None)


def _fail(span: Span, exc: BaseException) -> None:
    from opentelemetry.trace import Status, StatusCode

    kind = _error_type(exc)
    span.set_attribute("error.type", kind)
    if isinstance(exc, IgrisError):
        if exc.request_id:
            span.set_attribute("igris.request_id", exc.request_id)
        if exc.status_code is not None:
            span.set_attribute("http.response.status_code", exc.status_code)
    span.set_status(Status(StatusCode.ERROR, kind))


def _chat_attributes(
    span: Span, id_: str | None, model: str | None, usage: Any, finish_reasons: list[str | None]
) -> None:
    if id_:
        span.set_attribute("gen_ai.response.id", id_)
    if model:
        span.set_attribute("gen_ai.response.model", model)
    if usage is not None:
        span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
        if getattr(usage, "completion_tokens", None) is not None:
            span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
    reasons = [reason for reason in finish_reasons if reason]
    if reasons:
        span.set_attribute("gen_ai.response.finish_reasons", reasons)


def _output_content(span: Span, response: Any) -> None:
    messages = [
        {
            "role": choice.message.role,
            "content": choice.message.content,
            "finish_reason": choice.finish_reason,
        }
        for choice in getattr(response, "choices", [])
    ]
    span.set_attribute("gen_ai.output.messages", json.dumps(messages, default=str))


class GatewayCall:
    """One gateway call, traced or not: a context manager around sending the request.

    Inside it the call's span (when there is one) is the current span, so HTTP-level
    instrumentation nests under it. :attr:`request` is the request to send: with a span, its
    ``traceparent`` names that span, so a gateway that traces joins as its child.
    """

    __slots__ = ("_handed_over", "_span", "_token", "request")

    def __init__(self, request: PreparedRequest, span: Span | None = None) -> None:
        self.request = request
        self._span = span
        self._token: object = None
        self._handed_over = False

    def __enter__(self) -> GatewayCall:
        if self._span is not None:
            from opentelemetry import context
            from opentelemetry.trace import set_span_in_context

            self._token = context.attach(set_span_in_context(self._span))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span = self._span
        if span is None:
            return
        from opentelemetry import context

        context.detach(self._token)  # type: ignore[arg-type]
        if exc is not None:
            _fail(span, exc)
            span.end()
        elif not self._handed_over:
            span.end()

    def done(self, response: T) -> T:
        """Record a whole answer's attributes on the span; returns ``response``."""
        span = self._span
        if span is None:
            return response
        request_id = getattr(response, "igris_request_id", None)
        if request_id:
            span.set_attribute("igris.request_id", request_id)
        choices = getattr(response, "choices", None)
        _chat_attributes(
            span,
            getattr(response, "id", None),
            getattr(response, "model", None),
            getattr(response, "usage", None),
            [choice.finish_reason for choice in choices] if choices else [],
        )
        if choices is not None and _capture_content():
            _output_content(span, response)
        return response

    def for_stream(self) -> StreamTrace | None:
        """Hand the span to the stream being returned, which ends it."""
        if self._span is None:
            return None
        self._handed_over = True
        return StreamTrace(self._span)


def _start_span(tracer: Tracer, operation: str, model: str, request: PreparedRequest) -> Span:
    from opentelemetry.trace import SpanKind

    ref = parse_model(model)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": ref.model,
        "igris.connection": ref.slug,
    }
    headers = request.headers
    user = headers.get(protocol.USER_HEADER)
    if user is not None:
        attributes["igris.user"] = decode_header_value(user)
    trace_id = headers.get(protocol.TRACE_ID_HEADER)
    if trace_id is not None:
        attributes["igris.trace_id"] = decode_header_value(trace_id)
    if _capture_content() and request.content:
        body: Mapping[str, Any] = json.loads(request.content)
        if "messages" in body:
            attributes["gen_ai.input.messages"] = json.dumps(body["messages"], default=str)
    return tracer.start_span(
        f"{operation} {ref.model}", kind=SpanKind.CLIENT, attributes=attributes
    )


def gateway_call(operation: str, model: str, request: PreparedRequest) -> GatewayCall:
    """The :class:`GatewayCall` of a prepared request: with a span (a child of the current
    one) named after the OpenTelemetry GenAI conventions (``"chat gpt-4o"``) when a tracer
    provider is configured, else a no-op around ``request``."""
    otel = _otel()
    if otel is None:
        return GatewayCall(request)
    tracer = _get_tracer(otel)
    if tracer is None:
        return GatewayCall(request)
    span = _start_span(tracer, operation, model, request)
    headers = dict(request.headers)
    current = otel.get_current_span().get_span_context()
    given = headers.get(protocol.TRACEPARENT_HEADER)
    # A traceparent the caller set through extra_headers is theirs to keep.
    if given is None or (current.is_valid and given == _traceparent(current)):
        headers[protocol.TRACEPARENT_HEADER] = _traceparent(span.get_span_context())
    return GatewayCall(replace(request, headers=headers), span)


def wrap_stream_iterator(
    trace: StreamTrace | None, generator: Generator[T, None, None], stream: Any
) -> Generator[T, None, None]:
    """``generator``, ended-span-aware when the stream is traced."""
    return generator if trace is None else trace.wrap(generator, stream)


def wrap_async_stream_iterator(
    trace: StreamTrace | None, generator: AsyncGenerator[T, None], stream: Any
) -> AsyncGenerator[T, None]:
    """Async form of :func:`wrap_stream_iterator`."""
    return generator if trace is None else trace.awrap(generator, stream)
