"""Faults injected by the local gateway, over real HTTP, for every client class and call shape
(PROTOCOL.md, "Errors", "Retries", "Streaming"; issue 8, "Faults").

Each test counts the attempts the gateway saw (its audit trail: one entry per HTTP attempt) and
the waits the client chose between them (``delays``: ``retry_delay`` patched to record and not
sleep).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from igris_core import (
    AsyncIgris,
    Igris,
    IgrisAuthError,
    IgrisBadRequestError,
    IgrisConflictError,
    IgrisConnectionError,
    IgrisDecodeError,
    IgrisError,
    IgrisNotFoundError,
    IgrisPayloadTooLargeError,
    IgrisPolicyDeniedError,
    IgrisRateLimitError,
    IgrisServerError,
    IgrisStreamError,
    IgrisTimeoutError,
    IgrisValidationError,
)
from igris_core.local_gateway import Fault, LocalGateway
from tests.conftest import Delay
from tests.reliability.helpers import Seen, audit_after, dropping_server, statuses, tiny_server
from tests.reliability.targets import (
    ALL_TARGETS,
    CHAT_MODEL,
    EXPECTED_TEXT,
    MESSAGES,
    STREAM_TARGETS,
    Conn,
    Target,
    aigris_chat,
    igris_chat,
    igris_stream,
)

SLUG = "openai-prod"
EMBEDDING_DIMENSIONS = 256

all_targets = pytest.mark.parametrize("target", ALL_TARGETS, ids=repr)
stream_targets = pytest.mark.parametrize("target", STREAM_TARGETS, ids=repr)


@pytest.fixture
def conn(gw: LocalGateway) -> Conn:
    return Conn(gw.base_url, gw.api_key)


def is_typed(error: BaseException, cls: type[BaseException]) -> bool:
    """``error`` is exactly ``cls``, or (raised by langchain_igris) its subclass of the same name
    that is also the matching langchain_core model error."""
    return type(error) is cls or (isinstance(error, cls) and type(error).__name__ == cls.__name__)


def check_answer(target: Target, result: Any) -> None:
    """The whole answer came back: the full text, or a whole vector."""
    if target.kind == "embed":
        assert isinstance(result, list) and len(result) == EMBEDDING_DIMENSIONS
        assert all(isinstance(x, float) and math.isfinite(x) for x in result)
        assert any(x != 0.0 for x in result)
    else:
        assert result == EXPECTED_TEXT


def on_route(entries: list[Any], target: Target) -> None:
    assert {e.route for e in entries} == {target.route}, entries


# --- 429 with Retry-After --------------------------------------------------------------------
@all_targets
def test_429_retry_after_is_honoured_then_success(
    gw: LocalGateway, conn: Conn, delays: list[Delay], target: Target, record_case: Any
) -> None:
    gw.inject_fault(SLUG, Fault(status=429, times=1, retry_after=1))
    check_answer(target, target(conn.but(max_retries=2)))
    entries = audit_after(gw, 2)  # a stream is closed at [DONE], maybe before the audit entry
    record_case("429 Retry-After, then success", len(entries))
    assert statuses(entries) == [429, 200]
    on_route(entries, target)
    # The wait before the retry is the server's Retry-After, not the client's own backoff.
    assert delays == [Delay(0, 1.0, 1.0)]


@pytest.mark.parametrize("client", ["sync", "async"])
def test_429_retry_after_is_really_waited(gw: LocalGateway, conn: Conn, client: str) -> None:
    """Without the patched delay: the retry comes no sooner than the Retry-After asked (whole
    seconds: RFC 9110 has no fractions, and a fraction is ignored for the client's backoff)."""
    gw.inject_fault(SLUG, Fault(status=429, times=1, retry_after=1))
    call = igris_chat if client == "sync" else aigris_chat
    started = time.monotonic()
    assert call(conn) == EXPECTED_TEXT
    entries = gw.audit
    assert statuses(entries) == [429, 200]
    assert entries[1].time - entries[0].time >= 0.99
    assert time.monotonic() - started >= 1.0


@all_targets
def test_429_out_of_retries_raises_with_retry_after(
    gw: LocalGateway, conn: Conn, delays: list[Delay], target: Target, record_case: Any
) -> None:
    gw.inject_fault(SLUG, Fault(status=429, retry_after=2))
    with pytest.raises(IgrisRateLimitError) as info:
        target(conn.but(max_retries=1))
    entries = gw.audit
    record_case("429 Retry-After, out of retries", len(entries))
    assert statuses(entries) == [429, 429]
    assert info.value.status_code == 429
    assert info.value.retry_after == 2.0
    assert info.value.request_id == entries[-1].request_id
    assert delays == [Delay(0, 2.0, 2.0)]


@pytest.mark.parametrize("client", ["sync", "async"])
def test_real_rate_limit_429(
    gw: LocalGateway, conn: Conn, client: str, delays: list[Delay]
) -> None:
    """The gateway's own rate limiter (not an injected fault): 429 with a whole-second
    Retry-After and the rule's name as the error code."""
    gw.rate_limit("per-key", limit=1, window=60)
    call = igris_chat if client == "sync" else aigris_chat
    assert call(conn) == EXPECTED_TEXT
    with pytest.raises(IgrisRateLimitError) as info:
        call(conn.but(max_retries=2))
    assert statuses(gw.audit) == [200, 429, 429, 429]
    assert info.value.code == "per-key"
    assert info.value.retry_after is not None and info.value.retry_after >= 1
    assert [d.retry_after for d in delays] == [info.value.retry_after] * 2


# --- 5xx (and 408) for the first N calls -----------------------------------------------------
@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
@all_targets
def test_5xx_for_the_first_calls_is_retried_then_success(
    gw: LocalGateway,
    conn: Conn,
    delays: list[Delay],
    target: Target,
    status: int,
    record_case: Any,
) -> None:
    gw.inject_fault(SLUG, Fault(status=status, times=2))
    check_answer(target, target(conn.but(max_retries=2)))
    # A stream is closed at [DONE], maybe before the gateway has written its audit entry.
    entries = audit_after(gw, 3)
    record_case(f"{status} x2, then success", len(entries))
    assert statuses(entries) == [status, status, 200]
    on_route(entries, target)
    # Exponential backoff with jitter (no Retry-After): 0.5 s then 1 s, each minus up to 25 %.
    assert [(d.attempt, d.retry_after) for d in delays] == [(0, None), (1, None)]
    assert 0.375 <= delays[0].wait <= 0.5 and 0.75 <= delays[1].wait <= 1.0


@pytest.mark.parametrize("max_retries", [0, 2])
@all_targets
def test_5xx_out_of_retries_raises(
    gw: LocalGateway,
    conn: Conn,
    delays: list[Delay],
    target: Target,
    max_retries: int,
    record_case: Any,
) -> None:
    gw.inject_fault(SLUG, Fault(status=503))
    with pytest.raises(IgrisServerError) as info:
        target(conn.but(max_retries=max_retries))
    entries = gw.audit
    record_case("503 always, out of retries", len(entries))
    assert statuses(entries) == [503] * (max_retries + 1)
    assert info.value.status_code == 503
    assert info.value.type == "service_unavailable"
    assert info.value.code == "fault_injected"
    assert len(delays) == max_retries


# --- every 4xx: never retried ----------------------------------------------------------------
CLIENT_ERRORS: dict[int, type[IgrisError]] = {
    400: IgrisBadRequestError,
    401: IgrisAuthError,
    403: IgrisPolicyDeniedError,
    404: IgrisNotFoundError,
    405: IgrisError,
    409: IgrisConflictError,
    410: IgrisError,
    413: IgrisPayloadTooLargeError,
    418: IgrisError,
    422: IgrisValidationError,
}


@pytest.mark.parametrize("status", list(CLIENT_ERRORS))
@all_targets
def test_4xx_is_never_retried(
    gw: LocalGateway,
    conn: Conn,
    delays: list[Delay],
    target: Target,
    status: int,
    record_case: Any,
) -> None:
    # A Retry-After on a 4xx must not tempt the client into a retry either.
    gw.inject_fault(SLUG, Fault(status=status, retry_after=0))
    with pytest.raises(IgrisError) as info:
        target(conn.but(max_retries=3))
    entries = gw.audit
    record_case(f"{status} never retried", len(entries))
    assert is_typed(info.value, CLIENT_ERRORS[status])
    assert info.value.status_code == status
    assert info.value.request_id == entries[0].request_id
    assert statuses(entries) == [status]
    assert delays == []


@all_targets
def test_wrong_key_401_is_never_retried(
    gw: LocalGateway, conn: Conn, delays: list[Delay], target: Target, record_case: Any
) -> None:
    with pytest.raises(IgrisAuthError) as info:
        target(conn.but(api_key="ig_not_a_key_this_gateway_knows", max_retries=3))
    entries = gw.audit
    record_case("real 401 (unknown key)", len(entries))
    assert statuses(entries) == [401]
    assert info.value.code == "invalid_api_key"
    assert delays == []


@all_targets
def test_policy_deny_403_is_never_retried(
    gw: LocalGateway, conn: Conn, delays: list[Delay], target: Target, record_case: Any
) -> None:
    gw.deny("no-counting", pattern=r"(?i)\bcount\b")
    with pytest.raises(IgrisPolicyDeniedError) as info:
        target(conn.but(max_retries=3))
    entries = gw.audit
    record_case("real 403 (deny rule)", len(entries))
    assert statuses(entries) == [403]
    assert entries[0].rule == "no-counting"
    assert info.value.code == "no-counting"
    assert delays == []


# --- broken streams: an error, never a short answer --------------------------------------------
@pytest.mark.parametrize("cut_after", [0, 3])
@stream_targets
def test_stream_cut_midway_raises(
    gw: LocalGateway,
    conn: Conn,
    delays: list[Delay],
    target: Target,
    cut_after: int,
    record_case: Any,
) -> None:
    gw.inject_fault(SLUG, Fault(cut_after=cut_after))
    with pytest.raises(IgrisStreamError):
        target(conn.but(max_retries=2))  # returns the text only for a whole answer
    entries = gw.audit
    record_case("stream cut (TCP drop)", len(entries))
    assert len(entries) == 1 and entries[0].error_type == "stream_aborted"
    assert delays == []  # an answer had begun: never retried (it would duplicate output)


@pytest.mark.parametrize("end_after", [0, 3])
@stream_targets
def test_stream_ending_without_done_raises(
    gw: LocalGateway,
    conn: Conn,
    delays: list[Delay],
    target: Target,
    end_after: int,
    record_case: Any,
) -> None:
    gw.inject_fault(SLUG, Fault(end_after=end_after))
    with pytest.raises(IgrisStreamError, match="without \\[DONE\\]"):
        target(conn.but(max_retries=2))
    entries = gw.audit
    record_case("stream ends without [DONE]", len(entries))
    assert statuses(entries) == [200]
    assert delays == []


def test_a_broken_stream_gives_no_final_answer(gw: LocalGateway, conn: Conn) -> None:
    """The chunks that did arrive are never assembled into an answer."""
    gw.inject_fault(SLUG, Fault(cut_after=4))
    with Igris(conn.api_key, base_url=conn.base_url) as client:
        stream = client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES, stream=True)
        seen = []
        with pytest.raises(IgrisStreamError, match="after 4 events"):
            for chunk in stream:
                seen.append(chunk)
        assert len(seen) == 4
        with pytest.raises(IgrisStreamError):
            stream.get_final_response()
        with pytest.raises(IgrisStreamError):
            list(stream)  # a broken stream cannot be read again as if whole


ERROR_EVENTS: dict[int, type[IgrisError]] = {
    400: IgrisBadRequestError,
    403: IgrisPolicyDeniedError,
    429: IgrisRateLimitError,
    500: IgrisServerError,
    503: IgrisServerError,
}


@pytest.mark.parametrize("status", list(ERROR_EVENTS))
@stream_targets
def test_error_event_midstream_raises_the_typed_error(
    gw: LocalGateway,
    conn: Conn,
    delays: list[Delay],
    target: Target,
    status: int,
    record_case: Any,
) -> None:
    gw.inject_fault(SLUG, Fault(error_event_after=2, status=status))
    with pytest.raises(IgrisError) as info:
        target(conn.but(max_retries=2))
    # The client stops at the error event, maybe before the gateway has written its entry.
    entries = audit_after(gw, 1)
    record_case("error event mid-stream", len(entries))
    assert is_typed(info.value, ERROR_EVENTS[status])
    assert info.value.status_code == status
    assert info.value.code == "fault_injected"
    assert info.value.request_id == entries[0].request_id
    assert len(entries) == 1
    assert delays == []


# --- malformed JSON ----------------------------------------------------------------------------
@all_targets
def test_malformed_json_raises_and_keeps_the_raw_text(
    gw: LocalGateway, conn: Conn, delays: list[Delay], target: Target, record_case: Any
) -> None:
    gw.inject_fault(SLUG, Fault(malformed_json=True))
    with pytest.raises(IgrisDecodeError) as info:
        target(conn.but(max_retries=2))
    entries = audit_after(gw, 1)  # a stream stops at its first event, maybe before the entry
    record_case("malformed JSON", len(entries))
    body = info.value.body
    assert body is not None and body.startswith("{") and len(body) > 10
    with pytest.raises(ValueError):
        json.loads(body)  # the raw text as received: half of a JSON text
    assert body[:40] in str(info.value) or repr(body[:40])[1:-1] in str(info.value)
    assert info.value.status_code == 200
    assert statuses(entries) == [200]
    assert delays == []


# --- timeouts -----------------------------------------------------------------------------------
# Margins wide enough for a loaded 2-core CI machine: a normal answer must fit in TIMEOUT.
SLOW, TIMEOUT = 1.2, 0.4


@all_targets
def test_slow_answer_past_the_timeout_raises_timeout_error(
    gw: LocalGateway, conn: Conn, target: Target, record_case: Any
) -> None:
    gw.inject_fault(SLUG, Fault(latency=SLOW))
    started = time.monotonic()
    with pytest.raises(IgrisTimeoutError):
        target(conn.but(max_retries=0, timeout=TIMEOUT))
    assert time.monotonic() - started < SLOW  # it gave up at its timeout, not the answer's end
    entries = audit_after(gw, 1)
    record_case("timeout, no retries", len(entries))
    assert len(entries) == 1


@all_targets
def test_timeout_is_retried(
    gw: LocalGateway, conn: Conn, delays: list[Delay], target: Target, record_case: Any
) -> None:
    gw.inject_fault(SLUG, Fault(latency=SLOW, times=1))
    check_answer(target, target(conn.but(max_retries=1, timeout=TIMEOUT)))
    entries = audit_after(gw, 2)
    record_case("timeout, retried, then success", len(entries))
    assert len(entries) == 2
    assert [(d.attempt, d.retry_after) for d in delays] == [(0, None)]


@pytest.mark.parametrize("client", ["sync", "async"])
def test_retry_after_is_capped(
    gw: LocalGateway, conn: Conn, delays: list[Delay], client: str
) -> None:
    """A Retry-After of two minutes is honoured only up to the cap (docs/protocol.md: 60 s);
    the parsed value itself is capped like the wait."""
    gw.inject_fault(SLUG, Fault(status=503, times=1, retry_after=120))
    call = igris_chat if client == "sync" else aigris_chat
    assert call(conn) == EXPECTED_TEXT
    assert delays == [Delay(0, 60.0, 60.0)]


def _stalling_stream(handler: BaseHTTPRequestHandler, seen: Seen) -> None:
    """One chunk, then silence past the client's read timeout."""
    chunk = {
        "id": "chatcmpl-stall",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Count"}}],
    }
    try:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        handler.wfile.flush()
        time.sleep(SLOW)
        handler.wfile.write(b"data: [DONE]\n\n")
    except OSError:
        pass  # the client gave up


@stream_targets
def test_stream_stalling_midway_times_out_without_retry(
    delays: list[Delay], target: Target, record_case: Any
) -> None:
    with tiny_server(_stalling_stream) as (url, seen):
        with pytest.raises(IgrisTimeoutError, match="after 1 events"):
            target(Conn(url, "ig_test_key", max_retries=2, timeout=TIMEOUT))
        record_case("stream stalls mid-way (server saw)", len(seen.requests))
        assert len(seen.requests) == 1  # an event had reached the caller: never retried
        assert delays == []


# --- no answer at all ---------------------------------------------------------------------------
@all_targets
def test_refused_connection_raises_connection_error(
    gw: LocalGateway,
    conn: Conn,
    delays: list[Delay],
    target: Target,
    closed_port: int,
    record_case: Any,
) -> None:
    with pytest.raises(IgrisConnectionError) as info:
        target(conn.but(base_url=f"http://127.0.0.1:{closed_port}", max_retries=2))
    assert not isinstance(info.value, IgrisTimeoutError)
    assert info.value.status_code is None
    # Three attempts (the first and two retries), each after a backoff wait.
    assert [(d.attempt, d.retry_after) for d in delays] == [(0, None), (1, None)]
    record_case("refused connection (client attempts)", len(delays) + 1)
    assert gw.audit == []


@all_targets
def test_dropped_connection_is_retried_then_raises(
    delays: list[Delay], target: Target, record_case: Any
) -> None:
    with dropping_server() as (url, seen):
        with pytest.raises(IgrisConnectionError) as info:
            target(Conn(url, "ig_test_key", max_retries=2))
        assert not isinstance(info.value, IgrisTimeoutError)
        record_case("dropped connection (server saw)", len(seen.requests))
        assert len(seen.requests) == 3
        assert len(delays) == 2


# --- chaos: random faults, nothing lost ---------------------------------------------------------
async def test_random_5xx_under_concurrency_loses_nothing(
    gw: LocalGateway, conn: Conn, delays: list[Delay], record_case: Any
) -> None:
    calls = 60
    gw.inject_fault(SLUG, Fault(status=503, probability=0.3, seed=7))
    async with AsyncIgris(conn.api_key, base_url=conn.base_url, max_retries=8) as client:
        answers = await asyncio.gather(
            *(
                client.chat.completions.create(
                    model=CHAT_MODEL, messages=[{"role": "user", "content": f"call {i}"}]
                )
                for i in range(calls)
            )
        )
    assert [a.choices[0].message.content for a in answers] == [f"call {i}" for i in range(calls)]
    entries = gw.audit
    record_case("random 503 x concurrency", len(entries))
    failed = statuses(entries).count(503)
    assert statuses(entries).count(200) == calls
    assert failed > 0 and len(entries) == calls + failed == calls + len(delays)


async def test_random_stream_cuts_never_give_short_answers(
    gw: LocalGateway, conn: Conn, record_case: Any
) -> None:
    calls = 40
    gw.inject_fault(SLUG, Fault(cut_after=3, probability=0.4, seed=11))
    async with AsyncIgris(conn.api_key, base_url=conn.base_url) as client:

        async def one(i: int) -> str | BaseException:
            try:
                stream = await client.chat.completions.create(
                    model=CHAT_MODEL,
                    messages=[{"role": "user", "content": f"stream number {i} of many"}],
                    stream=True,
                )
                async with stream:
                    answer = await stream.until_done()
                return answer.choices[0].message.content or ""
            except IgrisStreamError as exc:
                return exc

        outcomes = await asyncio.gather(*(one(i) for i in range(calls)))
    entries = gw.audit
    record_case("random stream cuts x concurrency", len(entries))
    cut = [o for o in outcomes if isinstance(o, IgrisStreamError)]
    whole = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, str)]
    assert all(o == f"stream number {i} of many" for i, o in whole)
    assert 0 < len(cut) < calls
    assert len(cut) == sum(e.error_type == "stream_aborted" for e in entries)
    assert len(entries) == calls


def test_sync_stream_after_a_cut_the_client_still_works(gw: LocalGateway, conn: Conn) -> None:
    """A broken stream leaves the pool usable: the next call on the same client succeeds."""
    gw.inject_fault(SLUG, Fault(cut_after=2, times=1))
    with pytest.raises(IgrisStreamError):
        igris_stream(conn)
    with Igris(conn.api_key, base_url=conn.base_url) as client:
        gw.inject_fault(SLUG, Fault(cut_after=2, times=1))
        with pytest.raises(IgrisStreamError):
            client.chat.completions.create(
                model=CHAT_MODEL, messages=MESSAGES, stream=True
            ).until_done()
        answer = client.chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)
        assert answer.choices[0].message.content == EXPECTED_TEXT
