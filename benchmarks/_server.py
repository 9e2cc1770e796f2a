"""A small, fast OpenAI-shaped HTTP/1.1 server for client benchmarks, run in its own process.

It answers the gateway's routes with canned bodies so that what a benchmark measures in the
client process is the client's own CPU: ``POST /llm/{slug}/v1/chat/completions`` (JSON, or SSE
with one chunk per word when ``stream`` is true; words = the request's ``max_tokens``, default
16), ``POST /llm/{slug}/v1/embeddings`` (vectors of ``dimensions``, default 256, base64 or float
as asked) and ``GET /llm/providers``. Usage: ``with BenchServer() as srv: srv.base_url``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
from array import array
from types import TracebackType
from typing import Any

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")


def _chat_body(model: str, words: int) -> bytes:
    text = " ".join(WORDS[i % len(WORDS)] for i in range(words))
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "system_fingerprint": "fp_bench",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": words,
                "total_tokens": 12 + words,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
        }
    ).encode()


def _sse_events(model: str, words: int, usage: bool) -> list[bytes]:
    base = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "system_fingerprint": "fp_bench",
    }

    def event(choices: list[Any], extra: dict[str, Any] | None = None) -> bytes:
        return (
            b"data: " + json.dumps({**base, "choices": choices, **(extra or {})}).encode() + b"\n\n"
        )

    events = [
        event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
    ]
    for i in range(words):
        piece = ("" if i == 0 else " ") + WORDS[i % len(WORDS)]
        events.append(event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}]))
    events.append(event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    if usage:
        events.append(
            event(
                [],
                {
                    "usage": {
                        "prompt_tokens": 12,
                        "completion_tokens": words,
                        "total_tokens": 12 + words,
                    }
                },
            )
        )
    events.append(b"data: [DONE]\n\n")
    return events


def _vector(dims: int) -> list[float]:
    return [((i * 7919) % 1000) / 1000.0 - 0.5 for i in range(dims)]


class _Handler:
    def __init__(self) -> None:
        self.b64: dict[int, str] = {}
        self.floats: dict[int, list[float]] = {}

    def embedding(self, dims: int, fmt: str) -> Any:
        if fmt == "base64":
            if dims not in self.b64:
                self.b64[dims] = base64.b64encode(array("f", _vector(dims)).tobytes()).decode()
            return self.b64[dims]
        if dims not in self.floats:
            self.floats[dims] = _vector(dims)
        return self.floats[dims]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    if line[:15].lower() == "content-length:":
                        length = int(line[15:].strip())
                body = await reader.readexactly(length) if length else b""
                await self.respond(method, path, body, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def respond(
        self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter
    ) -> None:
        req = json.loads(body) if body else {}
        if path.endswith("/chat/completions"):
            words = int(req.get("max_tokens") or req.get("max_completion_tokens") or 16)
            model = str(req.get("model", "bench"))
            if req.get("stream"):
                usage = bool((req.get("stream_options") or {}).get("include_usage"))
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"x-igris-request-id: req_bench\r\ntransfer-encoding: chunked\r\n\r\n"
                )
                for ev in _sse_events(model, words, usage):
                    writer.write(b"%x\r\n%s\r\n" % (len(ev), ev))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
                return
            payload = _chat_body(model, words)
        elif path.endswith("/embeddings"):
            inputs = req.get("input")
            items = [inputs] if isinstance(inputs, str) else list(inputs or [])
            dims = int(req.get("dimensions") or 256)
            fmt = req.get("encoding_format") or "float"
            vec = self.embedding(dims, fmt)
            payload = json.dumps(
                {
                    "object": "list",
                    "model": str(req.get("model", "bench")),
                    "data": [
                        {"object": "embedding", "index": i, "embedding": vec}
                        for i in range(len(items))
                    ],
                    "usage": {"prompt_tokens": len(items), "total_tokens": len(items)},
                }
            ).encode()
        elif path.endswith("/llm/providers"):
            payload = json.dumps(
                [
                    {
                        "slug": "openai",
                        "name": "OpenAI",
                        "baseUrl": "https://api.openai.com/v1",
                        "authStyle": "bearer",
                        "supportedEndpoints": ["chat", "embeddings"],
                    }
                ]
            ).encode()
        else:
            payload = (
                b'{"error": {"message": "not found", "type": "not_found_error", "code": null}}'
            )
            writer.write(
                b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(payload), payload)
            )
            await writer.drain()
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"x-igris-request-id: req_bench\r\ncontent-length: %d\r\n\r\n%s"
            % (len(payload), payload)
        )
        await writer.drain()


async def _main(port: int) -> None:
    handler = _Handler()
    server = await asyncio.start_server(handler.serve, "127.0.0.1", port, limit=2**24)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BenchServer:
    """Start the server in a child process; ``base_url`` is its address."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> BenchServer:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._server", str(self.port)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        assert self._proc.stdout is not None
        self._proc.stdout.readline()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
