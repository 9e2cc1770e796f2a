"""Streams: [DONE], cuts, error events, malformed events, early close, retries (sync and async)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from igris_core import (
    AsyncIgris,
    Igris,
    IgrisDecodeError,
    IgrisError,
    IgrisPolicyDeniedError,
    IgrisRateLimitError,
    IgrisStreamError,
    IgrisTimeoutError,
)
from tests.conftest import Delay
from tests.igris_core.helpers import Recorder, sse

MSGS = [{"role": "user", "content": "Hello"}]
Make = Callable[..., tuple[Igris, Recorder]]
MakeAsync = Callable[..., tuple[AsyncIgris, Recorder]]


def chunk(content: str | None = None, **delta: Any) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {"id": "c1", "model": "gpt-4o", "choices": [{"index": 0, "delta": delta}]}


USAGE = {
    "id": "c1",
    "choices": [],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent in pieces; can fail after them; records whether it was closed."""

    def __init__(self, pieces: list[bytes], fail: Exception | None = None) -> None:
        self.pieces = pieces
        self.fail = fail
        self.sent = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.sent += 1
            yield piece
        if self.fail:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            self.sent += 1
            yield piece
        if self.fail:
            raise self.fail

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def events(*items: Any, done: bool = True) -> list[bytes]:
    pieces = [sse(item, done=False) for item in items]
    if done:
        pieces.append(b"data: [DONE]\n\n")
    return pieces


def streaming(body: Body, request_id: str = "req_s") -> Callable[[httpx.Request], httpx.Response]:
    return lambda r: httpx.Response(
        200,
        stream=body,
        headers={"content-type": "text/event-stream", "X-Igris-Request-Id": request_id},
    )


def test_stream_to_the_end(make_client: Make) -> None:
    body = Body(events(chunk("Hel", role="assistant"), chunk("lo"), USAGE))
    client, _ = make_client(streaming(body))
    stream = client.chat.completions.create(model="@p/m", messages=MSGS, stream=True)
    texts = [c.choices[0].delta.content for c in stream if c.choices]
    assert texts == ["Hel", "lo"]
    final = stream.get_final_response()
    assert final.choices[0].message.content == "Hello"
    assert final.usage is not None
    assert final.usage.total_tokens == 7
    assert final.igris_request_id == stream.request_id == "req_s"
    assert body.closed


def test_final_response_needs_the_whole_stream(make_client: Make) -> None:
    client, _ = make_client(streaming(Body(events(chunk("a"), chunk("b")))))
    stream = client.chat.completions.create(model="@p/m", messages=MSGS, stream=True)
    next(stream)  # next() keeps the stream open, unlike a for loop that breaks
    with pytest.raises(IgrisStreamError, match="not been read to its end"):
        stream.get_final_response()
    assert stream.until_done().choices[0].message.content == "ab"


def test_clean_end_without_done_is_an_error(make_client: Make) -> None:
    client, _ = make_client(streaming(Body(events(chunk("partial"), done=False))))
    seen: list[str] = []
    with pytest.raises(IgrisStreamError, match="without \\[DONE\\]") as info:
        for c in client.chat.completions.create(model="@p/m", messages=MSGS, stream=True):
            seen.append(c.choices[0].delta.content or "")
    assert seen == ["partial"]
    assert info.value.request_id == "req_s"


def test_broken_connection_mid_stream_is_an_error(make_client: Make, delays: list[Delay]) -> None:
    body = Body(events(chunk("a"), done=False), fail=httpx.RemoteProtocolError("peer closed"))
    client, rec = make_client(streaming(body))
    with pytest.raises(IgrisStreamError, match="broken after 1 events"):
        list(client.chat.completions.create(model="@p/m", messages=MSGS, stream=True))
    assert len(rec.requests) == 1  # never retried once events reached the caller
    assert body.closed


def test_read_timeout_mid_stream(make_client: Make) -> None:
    body = Body(events(chunk("a"), done=False), fail=httpx.ReadTimeout("slow"))
    client, _ = make_client(streaming(body))
    with pytest.raises(IgrisTimeoutError):
        list(client.chat.completions.create(model="@p/m", messages=MSGS, stream=True))


@pytest.mark.parametrize(
    ("error", "cls", "status"),
    [
        ({"message": "slow down", "type": "rate_limit_error"}, IgrisRateLimitError, 429),
        ({"message": "denied", "code": 403}, IgrisPolicyDeniedError, 403),
        ({"message": "denied", "type": "x", "code": "403"}, IgrisPolicyDeniedError, 403),
        ({"message": "weird", "type": "strange"}, IgrisError, None),
        ("a plain string error", IgrisError, None),
    ],
)
def test_error_event_raises_the_typed_error(
    make_client: Make, delays: list[Delay], error: Any, cls: type[IgrisError], status: int | None
) -> None:
    client, rec = make_client(streaming(Body(events(chunk("a"), {"error": error}, chunk("b")))))
    seen = []
    with pytest.raises(cls) as info:
        for c in client.chat.completions.create(model="@p/m", messages=MSGS, stream=True):
            seen.append(c)
    assert len(seen) == 1
    assert type(info.value) is cls
    assert info.value.status_code == status
    assert info.value.request_id == "req_s"
    assert len(rec.requests) == 1


def test_anthropic_style_error_event(make_client: Make) -> None:
    body = Body(
        [
            b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
            b'"message": "Overloaded"}}\n\n'
        ]
    )
    client, _ = make_client(streaming(body))
    with pytest.raises(IgrisError, match="Overloaded") as info:
        list(client.chat.completions.create(model="@p/m", messages=MSGS, stream=True))
    assert info.value.status_code == 503


def test_the_word_error_in_content_is_not_an_error(make_client: Make) -> None:
    client, _ = make_client(
        streaming(
            Body(
                events(
                    chunk('say "error": no'),
                    {"id": "c1", "choices": [], "error": None, "usage": USAGE["usage"]},
                )
            )
        )
    )
    stream = client.chat.completions.create(model="@p/m", messages=MSGS, stream=True)
    assert stream.until_done().choices[0].message.content == 'say "error": no'


def test_malformed_event_keeps_the_raw_text(make_client: Make) -> None:
    client, _ = make_client(streaming(Body([b'data: {"id": "c1", "choices": [\n\n'])))
    with pytest.raises(IgrisDecodeError) as info:
        list(client.chat.completions.create(model="@p/m", messages=MSGS, stream=True))
    assert info.value.body == '{"id": "c1", "choices": ['


def test_early_break_closes_the_response(make_client: Make) -> None:
    body = Body(events(*[chunk(str(i)) for i in range(50)]))
    client, _ = make_client(streaming(body))
    stream = client.chat.completions.create(model="@p/m", messages=MSGS, stream=True)
    for _ in stream:  # the caller keeps `stream`, yet breaking out closes the response
        break
    assert body.closed
    assert body.sent < 50
    with pytest.raises(IgrisStreamError, match="closed before its end"):
        list(stream)

    body2 = Body(events(*[chunk(str(i)) for i in range(50)]))
    client2, _ = make_client(streaming(body2))
    with client2.chat.completions.create(model="@p/m", messages=MSGS, stream=True) as stream:
        next(iter(stream))
    assert body2.closed


def test_error_status_before_the_stream_is_retried(make_client: Make, delays: list[Delay]) -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "0"}, json={"error": {"message": "x"}}),
        httpx.Response(
            200, content=sse(chunk("ok")), headers={"content-type": "text/event-stream"}
        ),
    ]
    client, rec = make_client(lambda r: answers.pop(0))
    stream = client.chat.completions.create(model="@p/m", messages=MSGS, stream=True)
    assert stream.until_done().choices[0].message.content == "ok"
    assert len(rec.requests) == 2


async def test_async_stream(make_async_client: MakeAsync, delays: list[Delay]) -> None:
    body = Body(events(chunk("Hel", role="assistant"), chunk("lo"), USAGE))
    client, _ = make_async_client(streaming(body))
    stream = await client.chat.completions.create(model="@p/m", messages=MSGS, stream=True)
    got = [c.choices[0].delta.content async for c in stream if c.choices]
    assert got == ["Hel", "lo"]
    assert stream.get_final_response().usage is not None
    assert body.closed

    cut = Body(events(chunk("a"), done=False), fail=httpx.RemoteProtocolError("peer closed"))
    client2, _ = make_async_client(streaming(cut))
    with pytest.raises(IgrisStreamError):
        s = await client2.chat.completions.create(model="@p/m", messages=MSGS, stream=True)
        async for _ in s:
            pass

    ended = Body(events(chunk("a"), done=False))
    client3, _ = make_async_client(streaming(ended))
    s3 = await client3.chat.completions.create(model="@p/m", messages=MSGS, stream=True)
    with pytest.raises(IgrisStreamError, match="without"):
        await s3.until_done()

    err = Body(events(chunk("a"), {"error": {"message": "nope", "type": "policy_denied"}}))
    client4, _ = make_async_client(streaming(err))
    s4 = await client4.chat.completions.create(model="@p/m", messages=MSGS, stream=True)
    with pytest.raises(IgrisPolicyDeniedError):
        await s4.until_done()

    many = Body(events(*[chunk(str(i)) for i in range(50)]))
    client5, _ = make_async_client(streaming(many))
    async with await client5.chat.completions.create(
        model="@p/m", messages=MSGS, stream=True
    ) as s5:
        async for _ in s5:
            break
    assert many.closed


def test_cr_only_line_ends(make_client: Make) -> None:
    raw = ("data: " + json.dumps(chunk("x")) + "\r\rdata: [DONE]\r\r").encode()
    client, _ = make_client(streaming(Body([raw])))
    stream = client.chat.completions.create(model="@p/m", messages=MSGS, stream=True)
    assert stream.until_done().choices[0].message.content == "x"
