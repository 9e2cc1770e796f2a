"""Streams of server-sent events: :class:`Stream` (sync) and :class:`AsyncStream`.

Rules (docs/protocol.md, "Streaming" and "Limits on the client"): ``data: [DONE]`` ends a stream
and closes its response at once, whatever the server sends after it; an event whose JSON object
has an ``error`` member raises the typed error (any echoed key redacted); a connection that ends
or breaks before ``[DONE]`` raises :class:`~igris_core.IgrisStreamError`, never a silently short
answer. No wait for the next event outlasts the client's timeout (keep-alive comments do not
count), nor the whole stream its ``stream_timeout``; a line or event over ``max_event_bytes`` is
an ``IgrisStreamError``. Breaking out of the loop, ``close()`` or leaving the ``with`` block
closes the HTTP response.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
from pydantic import ValidationError
from typing_extensions import Self

from igris_core import protocol
from igris_core._accumulator import StreamAccumulator
from igris_core._answer import BodyDecoder, Redactor, loads_or_none, raw_body, raw_body_async
from igris_core._deadline import Deadline, read_async, read_sync
from igris_core._errors import (
    IgrisDecodeError,
    IgrisError,
    IgrisStreamError,
    IgrisTimeoutError,
)
from igris_core._sse import ServerSentEvent, SSEDecoder
from igris_core._tracing import StreamTrace, wrap_async_stream_iterator, wrap_stream_iterator
from igris_core._transport import secret_from_request
from igris_core.types._chat import ChatCompletionChunk, ChatCompletionResponse

if TYPE_CHECKING:
    from igris_core._config import ClientOptions
    from igris_core._transport import OpenedStream

__all__ = [
    "AsyncChatCompletionStream",
    "AsyncStream",
    "ChatCompletionStream",
    "Stream",
    "StreamSettings",
]

T = TypeVar("T")
_SHOWN = 200  # characters of an event quoted in an error message
_KEPT = protocol.ERROR_BODY_MAX_BYTES  # characters of an event an error keeps


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """How a stream is read: who redacts its errors, the largest line or event, the longest
    wait for the first event and between events (``event_timeout``), and an optional total
    (``total_timeout``), both counted from ``started`` (``time.monotonic``)."""

    redact: Redactor
    max_event_bytes: int = protocol.DEFAULT_MAX_EVENT_BYTES
    event_timeout: float | None = None
    total_timeout: float | None = None
    started: float = 0.0

    @classmethod
    def of(cls, options: ClientOptions, opened: OpenedStream) -> StreamSettings:
        """The settings of a stream opened by a client with ``options``."""
        return cls(
            options.redact,
            options.max_event_bytes,
            options.attempt_seconds,
            options.stream_timeout,
            opened.started,
        )


def _error_event(payload: Any, request_id: str | None) -> IgrisError:
    error = payload.get("error") if isinstance(payload, dict) else payload
    status = protocol.status_of_stream_error(error)
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message:
        message = f"error event in stream: {str(error)[:_SHOWN]}"
    cls = protocol.error_class_for_status(status) if status is not None else IgrisError
    type_ = error.get("type") if isinstance(error, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return cls(
        message[:2000],
        status_code=status,
        request_id=request_id,
        response=payload,
        type=type_[:_SHOWN] if isinstance(type_, str) else None,
        code=None if code is None else str(code)[:_SHOWN],
    )


def _check_event(event: ServerSentEvent, request_id: str | None, redact: Redactor) -> None:
    """Raise the typed error if the event is an error event (any echoed API key redacted
    before the event is decoded)."""
    data = event.data
    if event.event != "error" and '"error"' not in data:
        return
    data = redact(data[:_KEPT])
    payload = loads_or_none(data)
    if payload is None:
        if event.event == "error":
            raise IgrisError(f"error event in stream: {data[:_SHOWN]}", request_id=request_id)
        return  # not JSON at all (or cut to its prefix): the parser reports it
    if event.event == "error" or (isinstance(payload, dict) and payload.get("error")):
        raise _error_event(payload, request_id)


def _stream_broken(exc: httpx.HTTPError, events: int, request_id: str | None) -> IgrisError:
    if isinstance(exc, httpx.TimeoutException):
        return IgrisTimeoutError(
            f"stream timed out after {events} events (no event within the client's timeout, "
            f"or past its stream_timeout): {exc}",
            request_id=request_id,
        )
    return IgrisStreamError(
        f"stream broken after {events} events, before [DONE]: {exc or type(exc).__name__}",
        request_id=request_id,
    )


def _stream_ended(events: int, request_id: str | None) -> IgrisStreamError:
    return IgrisStreamError(
        f"stream ended after {events} events without [DONE]: the answer is incomplete",
        request_id=request_id,
    )


class _StreamBase(Generic[T]):
    def __init__(
        self,
        response: httpx.Response,
        parse: Callable[[str], T],
        settings: StreamSettings | None = None,
        trace: StreamTrace | None = None,
    ) -> None:
        self.response = response
        self._trace = trace  # the call's span, ended with the stream
        self.request_id: str | None = response.headers.get(protocol.REQUEST_ID_HEADER)
        self.completed = False
        self._parse = parse
        self._events = 0
        if settings is None:  # a stream built by hand: redact the key its request carried
            settings = StreamSettings(Redactor(secret_from_request(response)), started=0.0)
        self._settings = settings
        started = settings.started or time.monotonic()
        total = settings.total_timeout
        self._total_at = None if total is None else started + total
        self._deadline = Deadline(None)
        self._deadline.at = self._next_at(started)

    def _next_at(self, now: float) -> float | None:
        """When the next event must have arrived."""
        gap = self._settings.event_timeout
        at = None if gap is None else now + gap
        if self._total_at is None:
            return at
        return self._total_at if at is None else min(at, self._total_at)

    def _event_seen(self) -> None:
        self._deadline.at = self._next_at(time.monotonic())

    def _decoders(self, content_encoding: str | None) -> tuple[BodyDecoder, SSEDecoder]:
        try:
            body = BodyDecoder(content_encoding)
        except ValueError as exc:
            raise IgrisDecodeError(
                str(exc), status_code=self.response.status_code, request_id=self.request_id
            ) from None
        return body, SSEDecoder(self._settings.max_event_bytes)

    def _item(self, event: ServerSentEvent) -> T:
        _check_event(event, self.request_id, self._settings.redact)
        try:
            item = self._parse(event.data)
        except (ValidationError, ValueError, RecursionError):
            data = self._settings.redact(event.data[:_KEPT])  # never an echoed API key
            # Not chained: the parser's error quotes the event (pydantic's input_value=...).
            raise IgrisDecodeError(
                f"malformed stream event after {self._events} events: {data[:_SHOWN]!r}",
                request_id=self.request_id,
                body=data,
                status_code=self.response.status_code,
            ) from None
        self._events += 1
        return item


class Stream(_StreamBase[T]):
    """An iterable of parsed stream events; also a context manager.

    Example::

        with client.chat.completions.create(model=..., messages=..., stream=True) as stream:
            for chunk in stream:
                print(chunk.choices[0].delta.content or "", end="")
    """

    # The live generator is held weakly: a `for` loop that breaks early drops the last strong
    # reference, and CPython then finalises it at once, which closes the response.
    def __init__(
        self,
        response: httpx.Response,
        parse: Callable[[str], T],
        settings: StreamSettings | None = None,
        trace: StreamTrace | None = None,
    ) -> None:
        super().__init__(response, parse, settings, trace)
        self._generator: weakref.ref[Generator[T, None, None]] | None = None
        self._held: Generator[T, None, None] | None = None

    def _iterate(self) -> Generator[T, None, None]:
        raw_chunks, encoding = raw_body(self.response)
        body, decoder = self._decoders(encoding)
        try:
            for raw in read_sync(raw_chunks, self._deadline):
                for piece in body.decode(raw):
                    events = decoder.feed(piece)
                    for event in events:
                        if event.data == protocol.SSE_DONE:
                            # Done: whatever the server sends after it is not read.
                            self.completed = True
                            return
                        yield self._item(event)
                    if events:  # the caller asked for more: the wait for the next starts
                        self._event_seen()
            for event in decoder.close():
                if event.data == protocol.SSE_DONE:
                    self.completed = True
                    return
                yield self._item(event)
        except httpx.HTTPError as exc:
            raise _stream_broken(exc, self._events, self.request_id) from exc
        except ValueError as exc:  # a corrupt compressed body
            raise IgrisStreamError(str(exc), request_id=self.request_id) from None
        finally:
            self.response.close()
        raise _stream_ended(self._events, self.request_id)

    def __iter__(self) -> Iterator[T]:
        generator = self._generator() if self._generator is not None else None
        if generator is None:
            if self._generator is not None and not self.completed:
                raise IgrisStreamError(
                    "the stream was closed before its end", request_id=self.request_id
                )
            generator = wrap_stream_iterator(self._trace, self._iterate(), self)
            self._generator = weakref.ref(generator)
        return generator

    def __next__(self) -> T:
        if self._held is None:
            self._held = self.__iter__()  # type: ignore[assignment]
        assert self._held is not None
        return next(self._held)

    def close(self) -> None:
        """Stop reading and release the connection."""
        generator = self._generator() if self._generator is not None else None
        if generator is not None:
            generator.close()
        self.response.close()
        if self._trace is not None:
            self._trace.end(self, None)  # closed before it was read

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncStream(_StreamBase[T]):
    """An async iterable of parsed stream events; also an async context manager.

    Example::

        async with await client.chat.completions.create(..., stream=True) as stream:
            async for chunk in stream:
                ...
    """

    def __init__(
        self,
        response: httpx.Response,
        parse: Callable[[str], T],
        settings: StreamSettings | None = None,
        trace: StreamTrace | None = None,
    ) -> None:
        super().__init__(response, parse, settings, trace)
        self._generator: weakref.ref[AsyncGenerator[T, None]] | None = None
        self._held: AsyncGenerator[T, None] | None = None

    async def _iterate(self) -> AsyncGenerator[T, None]:
        raw_chunks, encoding = raw_body_async(self.response)
        body, decoder = self._decoders(encoding)
        chunks = read_async(raw_chunks, self._deadline)
        try:
            async for raw in chunks:
                for piece in body.decode(raw):
                    events = decoder.feed(piece)
                    for event in events:
                        if event.data == protocol.SSE_DONE:
                            # Done: whatever the server sends after it is not read.
                            self.completed = True
                            return
                        yield self._item(event)
                    if events:  # the caller asked for more: the wait for the next starts
                        self._event_seen()
            for event in decoder.close():
                if event.data == protocol.SSE_DONE:
                    self.completed = True
                    return
                yield self._item(event)
        except httpx.HTTPError as exc:
            raise _stream_broken(exc, self._events, self.request_id) from exc
        except ValueError as exc:  # a corrupt compressed body
            raise IgrisStreamError(str(exc), request_id=self.request_id) from None
        finally:
            await chunks.aclose()
            await self.response.aclose()
        raise _stream_ended(self._events, self.request_id)

    def __aiter__(self) -> AsyncIterator[T]:
        generator = self._generator() if self._generator is not None else None
        if generator is None:
            if self._generator is not None and not self.completed:
                raise IgrisStreamError(
                    "the stream was closed before its end", request_id=self.request_id
                )
            generator = wrap_async_stream_iterator(self._trace, self._iterate(), self)
            self._generator = weakref.ref(generator)
        return generator

    async def __anext__(self) -> T:
        if self._held is None:
            self._held = self.__aiter__()  # type: ignore[assignment]
        assert self._held is not None
        return await self._held.__anext__()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        generator = self._generator() if self._generator is not None else None
        if generator is not None:
            await generator.aclose()
        await self.response.aclose()
        if self._trace is not None:
            self._trace.end(self, None)  # closed before it was read

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _chat_parser(accumulator: StreamAccumulator) -> Callable[[str], ChatCompletionChunk]:
    validate = ChatCompletionChunk.model_validate_json
    add = accumulator.add

    def parse(data: str) -> ChatCompletionChunk:
        return add(validate(data))

    return parse


def _final(stream: _StreamBase[Any], accumulator: StreamAccumulator) -> ChatCompletionResponse:
    if not stream.completed:
        raise IgrisStreamError(
            "the stream has not been read to its end: iterate it fully first",
            request_id=stream.request_id,
        )
    response = accumulator.response()
    response._igris_request_id = stream.request_id
    return response


class ChatCompletionStream(Stream[ChatCompletionChunk]):
    """A chat-completion stream. Chunks are normalised by a :class:`StreamAccumulator` as they
    arrive; :meth:`get_final_response` gives the assembled answer once the stream is read."""

    def __init__(
        self,
        response: httpx.Response,
        settings: StreamSettings | None = None,
        trace: StreamTrace | None = None,
    ) -> None:
        self.accumulator = StreamAccumulator()
        super().__init__(response, _chat_parser(self.accumulator), settings, trace)

    def get_final_response(self) -> ChatCompletionResponse:
        """The whole answer (text, tool calls, usage), after the stream reached ``[DONE]``."""
        return _final(self, self.accumulator)

    def until_done(self) -> ChatCompletionResponse:
        """Read the rest of the stream and return the assembled answer."""
        for _ in self:
            pass
        return self.get_final_response()


class AsyncChatCompletionStream(AsyncStream[ChatCompletionChunk]):
    """The async form of :class:`ChatCompletionStream`."""

    def __init__(
        self,
        response: httpx.Response,
        settings: StreamSettings | None = None,
        trace: StreamTrace | None = None,
    ) -> None:
        self.accumulator = StreamAccumulator()
        super().__init__(response, _chat_parser(self.accumulator), settings, trace)

    def get_final_response(self) -> ChatCompletionResponse:
        """The whole answer (text, tool calls, usage), after the stream reached ``[DONE]``."""
        return _final(self, self.accumulator)

    async def until_done(self) -> ChatCompletionResponse:
        """Read the rest of the stream and return the assembled answer."""
        async for _ in self:
            pass
        return self.get_final_response()
