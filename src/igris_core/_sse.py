"""An incremental Server-Sent Events decoder (the WHATWG event-stream format) over bytes.

Fed the body of a ``text/event-stream`` answer in chunks of any size, it yields the same events
whatever the chunk boundaries (CR, LF and CRLF line ends; comments; multi-line ``data``). It works
on bytes and splits lines before decoding UTF-8, so a multi-byte character cut across two chunks
is decoded whole. Each byte is scanned and copied a bounded number of times, so decoding is linear
in the input however long a line is; a line or an event's data longer than ``max_event_bytes``
raises :class:`~igris_core.IgrisStreamError` instead of growing a buffer without bound.
"""

from __future__ import annotations

from typing import NamedTuple

from igris_core import protocol
from igris_core._errors import IgrisStreamError

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"


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

    __slots__ = (
        "_after_cr",
        "_data",
        "_data_size",
        "_event",
        "_id",
        "_max",
        "_partial",
        "_partial_size",
        "_retry",
        "_started",
    )

    def __init__(self, max_event_bytes: int = protocol.DEFAULT_MAX_EVENT_BYTES) -> None:
        self._max = max_event_bytes
        self._partial: list[bytes] = []  # the pieces of a line not ended yet
        self._partial_size = 0
        self._after_cr = False  # the last byte seen was a CR: a LF right after it is its pair
        self._data: list[str] = []
        self._data_size = 0
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None
        self._started = False

    def _too_large(self, what: str) -> IgrisStreamError:
        return IgrisStreamError(
            f"stream {what} exceeds max_event_bytes={self._max}: reading stopped (raise "
            "max_event_bytes on the client if such events are expected)"
        )

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume a chunk; return the events it completes (possibly none)."""
        if not self._started:
            if not chunk:
                return []
            held = b"".join(self._partial) + chunk
            if len(held) < 3 and _BOM.startswith(held):
                self._partial, self._partial_size = [held], len(held)  # maybe a BOM cut short
                return []
            self._started = True
            self._partial, self._partial_size = [], 0
            chunk = held[3:] if held.startswith(_BOM) else held
        if self._after_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        if not chunk:
            return []
        self._after_cr = chunk[-1:] == b"\r"
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        rest = lines.pop()  # the start of a line not ended yet (b"" when the chunk ends one)
        events: list[ServerSentEvent] = []
        if lines:
            if self._partial:
                self._partial.append(lines[0])
                lines[0] = b"".join(self._partial)
                self._partial, self._partial_size = [], 0
            for line in lines:
                if len(line) > self._max:
                    raise self._too_large("line")
                if line:
                    self._field(line)
                elif self._data:
                    events.append(
                        ServerSentEvent(
                            "\n".join(self._data), self._event or "message", self._id, self._retry
                        )
                    )
                    self._data, self._data_size, self._event = [], 0, None
                else:
                    self._event = None
        if rest:
            self._partial_size += len(rest)
            if self._partial_size > self._max:
                raise self._too_large("line")
            self._partial.append(rest)
        return events

    def _field(self, line: bytes) -> None:
        if line[:5] == b"data:":  # the hot path: one data line per event
            value = line[6:] if line[5:6] == b" " else line[5:]
            self._add_data(value)
            return
        if line[:1] == b":":
            return  # a comment (keep-alive)
        name, sep, raw = line.partition(b":")
        if sep and raw[:1] == b" ":
            raw = raw[1:]
        if name == b"data":
            self._add_data(raw)
            return
        text = raw.decode("utf-8", "replace")
        if name == b"event":
            self._event = text
        elif name == b"id":
            if "\x00" not in text:
                self._id = text
        elif name == b"retry" and text.isascii() and text.isdigit():
            self._retry = int(text)

    def _add_data(self, value: bytes) -> None:
        self._data_size += len(value) + 1
        if self._data_size > self._max:
            raise self._too_large("event")
        self._data.append(value.decode("utf-8", "replace"))

    @property
    def pending(self) -> bool:
        """True when bytes or fields of an unfinished event are buffered."""
        return bool(self._partial or self._data)

    def close(self) -> list[ServerSentEvent]:
        """End of stream. An event not closed by a blank line is discarded, as the spec says;
        a line end is dispatched as soon as it is seen, so nothing else can be pending."""
        self._partial, self._partial_size = [], 0
        self._data, self._data_size = [], 0
        self._event = None
        return []
