"""The SSE decoder: same events whatever the chunk boundaries (property-based)."""

from __future__ import annotations

from typing import Literal

from hypothesis import given
from hypothesis import strategies as st

from igris_core._sse import ServerSentEvent, SSEDecoder

STREAM = (
    b"\xef\xbb\xbf: keep-alive\r\n"
    b'data: {"a": 1}\r\n\r\n'
    b"event: update\ndata: line one\ndata: line two\nid: 7\nretry: 1500\n\n"
    b"data: \xc3\xa9t\xc3\xa9 \xe2\x82\xac\r\r"
    b"data\n\n"
    b"unknown: field\ndata:no-space\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    ServerSentEvent('{"a": 1}'),
    ServerSentEvent("line one\nline two", "update", "7", 1500),
    # id and retry are stream-level settings: they persist (WHATWG spec)
    ServerSentEvent("été €", "message", "7", 1500),
    ServerSentEvent("", "message", "7", 1500),
    ServerSentEvent("no-space", "message", "7", 1500),
    ServerSentEvent("[DONE]", "message", "7", 1500),
]


def feed_all(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def test_whole_stream() -> None:
    assert feed_all([STREAM]) == EXPECTED


def test_byte_by_byte() -> None:
    assert feed_all([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=40))
def test_any_chunk_boundaries_give_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert feed_all(chunks) == EXPECTED


_NO_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)  # lone surrogates cannot be UTF-8 encoded
_line_text = st.text(
    alphabet=st.characters(exclude_categories=_NO_SURROGATES, exclude_characters="\r\n"),
    max_size=30,
)


@given(
    st.lists(st.lists(_line_text, min_size=1, max_size=3), min_size=1, max_size=8),
    st.sampled_from([b"\n", b"\r\n", b"\r"]),
    st.data(),
)
def test_generated_streams_round_trip(
    events: list[list[str]], newline: bytes, data: st.DataObject
) -> None:
    body = b"".join(
        b"".join(b"data: " + line.encode() + newline for line in lines) + newline
        for lines in events
    )
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(body)), max_size=20))))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    assert [e.data for e in feed_all(chunks)] == ["\n".join(lines) for lines in events]


def test_unterminated_event_is_not_dispatched() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: partial") == []
    assert decoder.pending
    assert decoder.close() == []
    assert not decoder.pending
