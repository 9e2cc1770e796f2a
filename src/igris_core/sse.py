"""An incremental Server-Sent Events decoder (the WHATWG event-stream format) over bytes.

Fed the body of a ``text/event-stream`` answer in chunks of any size, it yields the same events
whatever the chunk boundaries (CR, LF and CRLF line ends; comments; multi-line ``data``). It works
on bytes and splits lines before decoding UTF-8, so a multi-byte character cut across two chunks
is decoded whole. Small and allocation-light because it sits on the per-chunk streaming path.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SSEDecoder", "ServerSentEvent"]


class ServerSentEvent(NamedTuple):
    """One dispatched event: ``event`` is ``"message"`` unless the stream named it."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turn chunks of an event stream into :class:`ServerSentEvent` objects.

    Example::

        decoder = SSEDecoder()
        for chunk in response.iter_bytes():
            for event in decoder.feed(chunk):
                handle(event.data)
        for event in decoder.close():  # the end of the body may complete one last event
            handle(event.data)
    """

    __slots__ = ("_buffer", "_data", "_event", "_id", "_retry", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None
        self._started = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume a chunk; return the events it completes (possibly none)."""
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started and buffer:
            if len(buffer) < 3 and b"\xef\xbb\xbf".startswith(buffer):
                self._buffer = buffer  # maybe a BOM cut short: wait for more
                return []
            self._started = True
            if buffer.startswith(b"\xef\xbb\xbf"):
                buffer = buffer[3:]
        if b"\r" in buffer:
            # A CR at the very end may be the first half of a CRLF: keep it for the next chunk.
            held = b"\r" if buffer.endswith(b"\r") else b""
            if held:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            lines = buffer.split(b"\n")
            self._buffer = lines.pop() + held
        else:
            lines = buffer.split(b"\n")
            self._buffer = lines.pop()
        events: list[ServerSentEvent] = []
        for line in lines:
            if not line:
                if self._data:
                    events.append(
                        ServerSentEvent(
                            "\n".join(self._data), self._event or "message", self._id, self._retry
                        )
                    )
                self._data = []
                self._event = None
                continue
            self._field(line)
        return events

    def _field(self, line: bytes) -> None:
        if line[:5] == b"data:":  # the hot path: one data line per event
            value = line[6:] if line[5:6] == b" " else line[5:]
            self._data.append(value.decode("utf-8", "replace"))
            return
        if line[:1] == b":":
            return  # a comment (keep-alive)
        name, sep, raw = line.partition(b":")
        if sep and raw[:1] == b" ":
            raw = raw[1:]
        text = raw.decode("utf-8", "replace")
        if name == b"data":
            self._data.append(text)
        elif name == b"event":
            self._event = text
        elif name == b"id":
            if "\x00" not in text:
                self._id = text
        elif name == b"retry" and text.isdigit():
            self._retry = int(text)

    @property
    def pending(self) -> bool:
        """True when bytes or fields of an unfinished event are buffered."""
        return bool(self._buffer or self._data)

    def close(self) -> list[ServerSentEvent]:
        """End of stream: return what a CR held back at the very end completes (it could not be
        known to be a line end before); an event not closed by a blank line is discarded, as
        the spec says."""
        events = self.feed(b"\n") if self._buffer.endswith(b"\r") else []
        self._buffer = b""
        self._data = []
        self._event = None
        return events
