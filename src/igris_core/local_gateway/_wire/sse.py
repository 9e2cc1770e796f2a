"""Server-sent events on the gateway side: writing events, reading an upstream byte stream (with
the client's own decoder), and playing a stream out under a fault plan (cut, early end, error
event, bad JSON)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass

from igris_core import IgrisStreamError, protocol
from igris_core._sse import SSEDecoder
from igris_core.local_gateway._policy.faults import StreamPlan
from igris_core.local_gateway._wire.errors import StreamAbort

__all__ = [
    "DONE_EVENT",
    "SseEvent",
    "UpstreamEvents",
    "ends_stream",
    "json_event",
    "play_stream",
]


@dataclass(frozen=True)
class SseEvent:
    """One event: its ``data`` text and optional ``event`` name."""

    data: str
    event: str | None = None

    def encode(self) -> bytes:
        """The event on the wire, blank line included."""
        lines = [f"event: {self.event}"] if self.event is not None else []
        lines += [f"data: {line}" for line in self.data.split("\n")]
        return ("\n".join(lines) + "\n\n").encode("utf-8")

    @property
    def is_done(self) -> bool:
        """True for the ``data: [DONE]`` terminator."""
        return self.data == protocol.SSE_DONE


DONE_EVENT = SseEvent(protocol.SSE_DONE)


# Lines that start a stream's last event: clients stop reading there (docs/protocol.md,
# "Streaming"). A model's text cannot forge them: inside JSON a newline is escaped.
_TERMINAL_LINES = (
    b"data: " + protocol.SSE_DONE.encode(),
    b'data: {"error"',
    b"event: error",
    b"event: message_stop",
)


def ends_stream(chunk: bytes) -> bool:
    """Whether ``chunk`` (bytes of an SSE answer) holds a line that starts a terminal event:
    ``[DONE]``, an error event, or Anthropic's ``message_stop``."""
    return any(chunk.startswith(line) or b"\n" + line in chunk for line in _TERMINAL_LINES)


def json_event(payload: object, event: str | None = None) -> SseEvent:
    """An event whose data is ``payload`` as compact JSON."""
    return SseEvent(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), event)


class UpstreamEvents:
    """Read an upstream's event stream, fed in chunks of any size (CR, LF or CRLF line ends).

    Decoding is the client's :class:`~igris_core._sse.SSEDecoder`, so what the gateway relays is
    read exactly as a client reads it, and memory stays bounded: an event larger than
    ``max_event_bytes`` raises :class:`StreamAbort` (the stream is cut, never buffered on).
    """

    def __init__(self, max_event_bytes: int = protocol.DEFAULT_MAX_EVENT_BYTES) -> None:
        self._decoder = SSEDecoder(max_event_bytes)

    def feed(self, data: bytes) -> list[SseEvent]:
        """Add bytes; return the events completed by them."""
        try:
            decoded = self._decoder.feed(data)
        except IgrisStreamError as exc:
            raise StreamAbort(f"upstream stream unreadable: {exc}") from None
        # "message" is the name of an unnamed event: written back, it stays unnamed.
        return [SseEvent(e.data, None if e.event == "message" else e.event) for e in decoded]


async def _aiter(events: Iterable[SseEvent]) -> AsyncIterator[SseEvent]:
    for event in events:
        yield event


def _broken(event: SseEvent) -> SseEvent:
    # Half of a JSON text is never valid JSON (an object or array loses its closing bracket).
    return SseEvent(event.data[: max(1, len(event.data) // 2)], event.event)


async def play_stream(
    events: Iterable[SseEvent] | AsyncIterable[SseEvent],
    plan: StreamPlan,
    *,
    error_event: SseEvent,
    done: SseEvent | None,
) -> AsyncIterator[bytes]:
    """Write ``events`` as bytes under ``plan``.

    Without a plan this is every event then ``done``. ``cut_after`` K raises
    :class:`StreamAbort` after K events (the connection drops, no ``done``); ``error_event_after``
    K writes ``error_event`` after K events and ends; ``end_after`` K ends cleanly after K events
    without ``done``; ``malformed_json`` breaks the first event's JSON.
    """
    source = events if isinstance(events, AsyncIterable) else _aiter(events)
    limits = [v for v in (plan.cut_after, plan.error_event_after, plan.end_after) if v is not None]
    limit = min(limits) if limits else None
    sent = 0
    async for event in source:
        if limit is not None and sent >= limit:
            break
        yield (_broken(event) if plan.malformed_json and sent == 0 else event).encode()
        sent += 1
    if plan.cut_after is not None and plan.cut_after == limit:
        raise StreamAbort(f"stream cut after {sent} events (injected fault)")
    if plan.error_event_after is not None and plan.error_event_after == limit:
        yield error_event.encode()
        return
    if plan.end_after is not None:
        return
    if done is not None:
        yield done.encode()
