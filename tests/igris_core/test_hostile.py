"""igris_core against a hostile or broken gateway (docs/protocol.md, "Errors", "Retries",
"Limits on the client"): no key in any form, bounded memory and time, typed errors only.

Each case runs its own small server on 127.0.0.1 (tests/igris_core/hostile_server.py); memory
cases run in a subprocess under an address-space limit, so a regression fails the test and
not the machine.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import httpx
import pytest

from igris_core import (
    AsyncIgris,
    Igris,
    IgrisAuthError,
    IgrisConnectionError,
    IgrisDecodeError,
    IgrisError,
    IgrisInputError,
    IgrisRateLimitError,
    IgrisServerError,
    IgrisStreamError,
    IgrisTimeoutError,
)
from tests.conftest import Delay
from tests.igris_core.helpers import chat_answer
from tests.igris_core.hostile_server import (
    Request,
    Server,
    head,
    hold_open,
    hostile_server,
    respond,
    sse_head,
    trickle,
)

MODEL = "@openai-prod/gpt-4o"
MSGS = [{"role": "user", "content": "hi"}]
# A key with a "/" so that a JSON "\/" echo is possible.
KEY = "ig_live/" + "0123456789abcdef" * 3
ROOT = Path(__file__).resolve().parents[2]


def pieces(secret: str, size: int = 12) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def leaked(text: str, secret: str = KEY) -> list[str]:
    """Every 12-character piece of the key found in ``text``."""
    return sorted(p for p in pieces(secret) if p in text)


def everything_of(err: BaseException) -> str:
    """All an error shows: str, repr, args, attributes, formatted traceback with its chain,
    and its pickle."""
    parts = [str(err), repr(err), *map(str, err.args)]
    for name in ("message", "body", "response", "request_id", "code", "type"):
        value = getattr(err, name, None)
        if value is not None:
            parts.append(value if isinstance(value, str) else json.dumps(value, default=repr))
    parts.append("".join(traceback.format_exception(err)))
    parts.append(pickle.dumps(err).decode("latin-1"))
    return "\n".join(parts)


def escaped(text: str) -> str:
    return "".join(f"\\u{ord(ch):04x}" for ch in text)


# --- 1. the key echoed in any form ------------------------------------------------------------
ECHOES = {
    "json \\u escapes": escaped(KEY),
    "json \\/": KEY.replace("/", "\\/"),
    "first 32 characters": KEY[:32],
    "mixed escapes": KEY[:10] + escaped(KEY[10:20]) + KEY[20:].replace("/", "\\/"),
}


@pytest.mark.parametrize("form", list(ECHOES))
def test_key_echoed_in_any_form_never_leaks(form: str) -> None:
    echo = ECHOES[form]
    error_body = (
        f'{{"error": {{"message": "bad key {echo}", "type": "auth {echo}", "code": "{echo}"}}}}'
    )

    def script(conn: socket.socket, request: Request, server: Server) -> None:
        if request.path.endswith("/embeddings"):  # a 200 the parser rejects, quoting the key
            respond(conn, 200, f'{{"data": "{echo}", "object": 5}}'.encode())
        elif json.loads(request.body).get("stream"):
            event = f'data: {{"error": {{"message": "{echo}", "code": "{echo}"}}}}\n\n'
            conn.sendall(sse_head() + event.encode())
        else:
            respond(conn, 401, error_body.encode())

    with hostile_server(script) as server, Igris(KEY, base_url=server.base_url) as client:
        errors: list[IgrisError] = []
        with pytest.raises(IgrisAuthError) as auth:
            client.chat.completions.create(model=MODEL, messages=MSGS)
        errors.append(auth.value)
        with pytest.raises(IgrisError) as mid_stream:
            for _ in client.chat.completions.create(model=MODEL, messages=MSGS, stream=True):
                pass
        errors.append(mid_stream.value)
        with pytest.raises(IgrisDecodeError) as decode:
            client.embeddings.create(model="@openai-prod/e", input="x")
        errors.append(decode.value)
    for err in errors:
        assert leaked(everything_of(err)) == [], f"{type(err).__name__}: {everything_of(err)}"
    assert "bad key ***" in auth.value.message


# --- 2. bounded answers -----------------------------------------------------------------------
MEMORY_CASES = r"""
import gzip, resource, socket, sys, threading, zlib
import zstandard
sys.path.insert(0, sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))
from igris_core import (Igris, IgrisDecodeError, IgrisResponseTooLargeError, IgrisServerError)
from tests.igris_core.hostile_server import head, hostile_server

MIB = 2**20
MSGS = [{"role": "user", "content": "x"}]
zeros = bytes(MIB)
z = zstandard.ZstdCompressor().compressobj()
zstd_bomb = b"".join(z.compress(zeros) for _ in range(1024)) + z.flush()  # 1 GiB inflated
g = zlib.compressobj(9, zlib.DEFLATED, 31)
gzip_bomb = b"".join(g.compress(zeros) for _ in range(512)) + g.flush()  # 512 MiB inflated
print("bombs", len(zstd_bomb), len(gzip_bomb), flush=True)

def script(conn, request, server):
    if request.path.startswith("/zstd"):
        conn.sendall(head(200, len(zstd_bomb), Content_Encoding="zstd") + zstd_bomb)
    elif request.path.startswith("/gzip"):
        conn.sendall(head(503, len(gzip_bomb), Content_Encoding="gzip") + gzip_bomb)
    else:  # 400 MB of plain JSON
        total = 400 * MIB
        conn.sendall(head(200, total) + b'{"id": "' )
        chunk = b"a" * MIB
        sent = 9
        while sent + MIB < total and not server.stop.is_set():
            conn.sendall(chunk)
            sent += MIB

with hostile_server(script) as server:
    cases = [
        ("/zstd", IgrisDecodeError),
        ("/gzip", IgrisServerError),
        ("/big", IgrisResponseTooLargeError),
    ]
    for path, expected in cases:
        client = Igris("ig_test_key_123456", base_url=server.base_url + path, timeout=30)
        try:
            client.chat.completions.create(model="@p/m", messages=MSGS)
        except expected as err:
            assert len(err.body or "") <= 64 * 1024, (path, len(err.body))
            print(path, type(err).__name__, flush=True)
        finally:
            client.close()
    print("gzip attempts", sum(r.path.startswith("/gzip") for r in server.requests))
print("peak_rss_mib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def test_answers_are_bounded_in_memory(tmp_path: Path) -> None:
    """A zstd bomb, a gzip bomb on a retried 503 and a 400 MB plain body: typed errors, each
    error keeping a bounded prefix, and peak RSS under 512 MB (under a 1.5 GB address-space
    limit)."""
    script = tmp_path / "memory_cases.py"
    script.write_text(MEMORY_CASES)
    done = subprocess.run(
        [sys.executable, str(script), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["/zstd"] == "IgrisDecodeError"
    assert lines["/gzip"] == "IgrisServerError"
    assert lines["/big"] == "IgrisResponseTooLargeError"
    assert lines["gzip"] == "attempts 3"  # retried, each attempt bounded
    assert int(lines["peak_rss_mib"]) < 512, done.stdout


# --- 3. SSE lines and events are bounded ------------------------------------------------------
def test_sse_line_longer_than_the_limit_raises_stream_error() -> None:
    def script(conn: socket.socket, request: Request, server: Server) -> None:
        conn.sendall(sse_head() + b"data: ")
        piece = b"x" * 65536
        for _ in range(1024):  # 64 MiB, never a line end
            if server.stop.is_set():
                return
            conn.sendall(piece)
        hold_open(server)

    with hostile_server(script) as server:
        client = Igris(KEY, base_url=server.base_url, max_event_bytes=2**20, timeout=20)
        with pytest.raises(IgrisStreamError, match="max_event_bytes=1048576"):
            for _ in client.chat.completions.create(model=MODEL, messages=MSGS, stream=True):
                pass
        client.close()


def test_sse_event_of_many_lines_is_bounded() -> None:
    def script(conn: socket.socket, request: Request, server: Server) -> None:
        conn.sendall(sse_head())
        for _ in range(100_000):  # 100 data lines per 10 KB, never a blank line
            if server.stop.is_set():
                return
            conn.sendall(b"data: " + b"y" * 100 + b"\n")
        hold_open(server)

    with hostile_server(script) as server:
        client = Igris(KEY, base_url=server.base_url, max_event_bytes=2**20, timeout=20)
        with pytest.raises(IgrisStreamError, match="event exceeds max_event_bytes"):
            for _ in client.chat.completions.create(model=MODEL, messages=MSGS, stream=True):
                pass
        client.close()


# --- 4. deadlines a trickling server cannot stretch ----------------------------------------
BODY = json.dumps(chat_answer("slow")).encode()


def _trickled_body(conn: socket.socket, request: Request, server: Server) -> None:
    conn.sendall(head(200, len(BODY)))
    trickle(conn, BODY, 0.25, server)


def _trickled_headers(conn: socket.socket, request: Request, server: Server) -> None:
    trickle(conn, head(200, len(BODY)) + BODY, 0.25, server)


def _keepalive_stream(conn: socket.socket, request: Request, server: Server) -> None:
    conn.sendall(sse_head())
    while not server.stop.wait(0.2):
        conn.sendall(b": keep-alive\n\n")


def _call(client: Igris, stream: bool) -> None:
    if stream:
        for _ in client.chat.completions.create(model=MODEL, messages=MSGS, stream=True):
            pass
    else:
        client.chat.completions.create(model=MODEL, messages=MSGS)


async def _acall(client: AsyncIgris, stream: bool) -> None:
    if stream:
        async for _ in await client.chat.completions.create(
            model=MODEL, messages=MSGS, stream=True
        ):
            pass
    else:
        await client.chat.completions.create(model=MODEL, messages=MSGS)


TRICKLES = {
    "trickled body": (_trickled_body, False),
    "trickled headers": (_trickled_headers, False),
    "keep-alive comments, no event": (_keepalive_stream, True),
}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("case", list(TRICKLES))
def test_a_trickling_server_cannot_stretch_the_deadline(case: str, mode: str) -> None:
    """timeout=1 bounds the whole attempt (and the wait for each stream event): a server that
    would take a minute is cut off after about a second (10 s allows for a loaded machine)."""
    script, stream = TRICKLES[case]
    with hostile_server(script) as server:
        started = time.monotonic()
        with pytest.raises(IgrisTimeoutError):
            if mode == "sync":
                with Igris(KEY, base_url=server.base_url, timeout=1, max_retries=0) as client:
                    _call(client, stream)
            else:
                aclient = AsyncIgris(KEY, base_url=server.base_url, timeout=1, max_retries=0)
                asyncio.run(_acall(aclient, stream))
        assert time.monotonic() - started < 10


def test_stream_timeout_bounds_a_stream_that_keeps_sending() -> None:
    chunk = json.dumps({"choices": [{"index": 0, "delta": {"content": "x"}}]})

    def script(conn: socket.socket, request: Request, server: Server) -> None:
        conn.sendall(sse_head())
        while not server.stop.wait(0.1):
            conn.sendall(f"data: {chunk}\n\n".encode())

    with hostile_server(script) as server:
        client = Igris(KEY, base_url=server.base_url, timeout=5, stream_timeout=1)
        started = time.monotonic()
        with pytest.raises(IgrisTimeoutError):
            for _ in client.chat.completions.create(model=MODEL, messages=MSGS, stream=True):
                pass
        assert time.monotonic() - started < 10
        client.close()


# --- 5. only IgrisError leaves the client ---------------------------------------------------
def test_only_igris_errors_leave_the_client() -> None:
    deep = b"[" * 1100 + b"]" * 1100
    deep_event = b'data: {"error": ' + b"[" * 1100 + b"]" * 1100 + b"}\n\n"

    def script(conn: socket.socket, request: Request, server: Server) -> None:
        if json.loads(request.body).get("stream"):
            conn.sendall(sse_head() + deep_event)
        else:
            respond(conn, 500, deep)

    with hostile_server(script) as server:
        client = Igris(KEY, base_url=server.base_url, max_retries=0)
        with pytest.raises(IgrisServerError):
            client.chat.completions.create(model=MODEL, messages=MSGS)
        with pytest.raises(IgrisError):
            for _ in client.chat.completions.create(model=MODEL, messages=MSGS, stream=True):
                pass
        seen = len(server.requests)
        with pytest.raises(IgrisInputError):
            client.chat.completions.create(model=MODEL, messages=MSGS, igris_user="a\udc80b")
        with pytest.raises(IgrisInputError, match="extra_headers"):
            client.chat.completions.create(
                model=MODEL, messages=MSGS, extra_headers={"X-A": "b\r\nX-Injected: 1"}
            )
        with pytest.raises(IgrisInputError, match="extra_headers"):
            client.chat.completions.create(model=MODEL, messages=MSGS, extra_headers={"X-A": "é"})
        assert len(server.requests) == seen  # refused before anything was sent
        client.close()
        with pytest.raises(IgrisConnectionError, match="closed"):
            client.chat.completions.create(model=MODEL, messages=MSGS)
    with pytest.raises(IgrisInputError, match="default_headers"):
        Igris(KEY, default_headers={"X-Team": "équipe"})


async def test_async_client_after_close_raises_an_igris_error() -> None:
    client = AsyncIgris(KEY, base_url="http://127.0.0.1:9")
    await client.aclose()
    with pytest.raises(IgrisConnectionError, match="closed"):
        await client.chat.completions.create(model=MODEL, messages=MSGS)


# --- 6. an answer must have its route's shape ----------------------------------------------
def test_answers_without_their_shape_are_decode_errors() -> None:
    answers: dict[str, Any] = {}

    def script(conn: socket.socket, request: Request, server: Server) -> None:
        respond(conn, 200, answers[request.path.rsplit("/", 1)[-1]])

    vector = [0.5, 0.5]
    with hostile_server(script) as server, Igris(KEY, base_url=server.base_url) as client:
        answers["completions"] = {}
        with pytest.raises(IgrisDecodeError, match="no choice"):
            client.chat.completions.create(model=MODEL, messages=MSGS)
        for data in (
            [],
            [{"index": 0, "embedding": vector}],
            [{"index": 0, "embedding": vector}, {"index": 0, "embedding": vector}],
            [{"index": 0, "embedding": vector}, {"index": 2, "embedding": vector}],
        ):
            answers["embeddings"] = {"object": "list", "data": data}
            with pytest.raises(IgrisDecodeError, match="indices"):
                client.embeddings.create(model="@openai-prod/e", input=["a", "b"])
        answers["embeddings"] = {
            "data": [{"index": 1, "embedding": vector}, {"index": 0, "embedding": [1.0, 0.0]}]
        }
        result = client.embeddings.create(model="@openai-prod/e", input=["a", "b"])
        assert [item.index for item in result.data] == [0, 1]


# --- 7. [DONE] ends a stream at once ----------------------------------------------------------
def _done_then_chatter(conn: socket.socket, request: Request, server: Server) -> None:
    chunk = json.dumps({"choices": [{"index": 0, "delta": {"content": "hi"}}]})
    conn.sendall(sse_head() + f"data: {chunk}\n\ndata: [DONE]\n\n".encode())
    while not server.stop.wait(0.1):  # comments after [DONE], connection kept open
        conn.sendall(b": still here\n\n")


def test_done_ends_a_sync_stream_at_once() -> None:
    with hostile_server(_done_then_chatter) as server:
        client = Igris(KEY, base_url=server.base_url, timeout=30)
        started = time.monotonic()
        stream = client.chat.completions.create(model=MODEL, messages=MSGS, stream=True)
        assert stream.until_done().choices[0].message.content == "hi"
        assert time.monotonic() - started < 10  # not the 30 s timeout, not the server's close
        assert stream.response.is_closed
        client.close()


async def test_done_ends_an_async_stream_at_once_and_leaves_no_task() -> None:
    with hostile_server(_done_then_chatter) as server:
        client = AsyncIgris(KEY, base_url=server.base_url, timeout=30)
        before = asyncio.all_tasks()
        started = time.monotonic()
        stream = await client.chat.completions.create(model=MODEL, messages=MSGS, stream=True)
        answer = await stream.until_done()
        assert answer.choices[0].message.content == "hi"
        assert time.monotonic() - started < 10
        assert stream.response.is_closed
        for _ in range(10):  # finalisers of httpx's own generators may take a loop turn
            await asyncio.sleep(0)
        assert asyncio.all_tasks() == before
        await client.aclose()


# --- 9. Retry-After edge cases ----------------------------------------------------------------
NOT_RFC_9110 = ["nan", "-5", "inf", "2.3e9", "1_0", "0x10", "Wed, 21 Oct 2015 07:28:00 GMT"]


@pytest.mark.parametrize("value", NOT_RFC_9110)
def test_retry_after_outside_rfc_9110_is_ignored_for_backoff(
    value: str, delays: list[Delay]
) -> None:
    def script(conn: socket.socket, request: Request, server: Server) -> None:
        respond(conn, 429, {"error": {"message": "slow"}}, Retry_After=value)

    with (
        hostile_server(script) as server,
        Igris(KEY, base_url=server.base_url) as client,
        pytest.raises(IgrisRateLimitError) as info,
    ):
        client.chat.completions.create(model=MODEL, messages=MSGS)
    assert info.value.retry_after is None
    assert len(delays) == 2 and all(0.25 <= d.wait <= 1.0 for d in delays), delays  # backoff


def test_retry_after_is_finite_and_capped(delays: list[Delay]) -> None:
    def script(conn: socket.socket, request: Request, server: Server) -> None:
        respond(conn, 429, {"error": {"message": "slow"}}, Retry_After="9" * 400)

    with (
        hostile_server(script) as server,
        Igris(KEY, base_url=server.base_url) as client,
        pytest.raises(IgrisRateLimitError) as info,
    ):
        client.chat.completions.create(model=MODEL, messages=MSGS)
    assert info.value.retry_after == 60.0
    assert [d.wait for d in delays] == [60.0, 60.0]


# --- messages that say what to do -------------------------------------------------------------
def test_connection_error_names_the_host_it_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IGRIS_BASE_URL", raising=False)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    client = Igris(KEY, http_client=httpx.Client(transport=httpx.MockTransport(refuse)))
    with pytest.raises(IgrisConnectionError, match=r"https://api\.igrisecurity\.com/llm/"):
        client.chat.completions.create(model=MODEL, messages=MSGS, max_retries=0)


def test_long_retry_wait_is_logged_as_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)  # the client's wait, not made
    calls = []

    def script(conn: socket.socket, request: Request, server: Server) -> None:
        calls.append(1)
        if len(calls) == 1:
            body = {"error": {"message": "limited", "type": "rate_limit_error", "code": "per-user"}}
            respond(conn, 429, body, Retry_After="59")
        else:
            respond(conn, 200, chat_answer())

    with (
        hostile_server(script) as server,
        Igris(KEY, base_url=server.base_url) as client,
        caplog.at_level(logging.WARNING, logger="igris_core"),
    ):
        client.chat.completions.create(model=MODEL, messages=MSGS)
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    text = record.getMessage()
    assert "HTTP 429" in text and "59.0 s" in text and "Retry-After" in text, text
    assert "'per-user'" in text and KEY not in text
    # time.sleep is patched process-wide, so other threads' short sleeps may be recorded too.
    assert waits.count(59.0) == 1


def test_unset_and_empty_key_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IGRIS_API_KEY", raising=False)
    with pytest.raises(IgrisInputError, match="IGRIS_API_KEY environment variable is not set"):
        Igris()
    monkeypatch.setenv("IGRIS_API_KEY", "")
    with pytest.raises(IgrisInputError, match="IGRIS_API_KEY environment variable is empty"):
        Igris()


def test_retry_waits_are_not_logged_when_short(
    delays: list[Delay], caplog: pytest.LogCaptureFixture
) -> None:
    def script(conn: socket.socket, request: Request, server: Server) -> None:
        respond(conn, 503, {"error": {"message": "busy"}})

    with (
        hostile_server(script) as server,
        Igris(KEY, base_url=server.base_url) as client,
        caplog.at_level(logging.WARNING, logger="igris_core"),
        pytest.raises(IgrisServerError),
    ):
        client.chat.completions.create(model=MODEL, messages=MSGS)
    assert [r for r in caplog.records if r.levelno == logging.WARNING] == []
