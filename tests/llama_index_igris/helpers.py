"""Helpers for llama_index_igris unit tests: a recording mock transport and canned answers."""

from __future__ import annotations

import base64
import json
from array import array
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]

SECRET = "ig_test_secret_key"


class Recorder:
    """Records every request a mock transport receives and answers through a handler."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> Any:
        self.requests.append(request)
        return self.handler(request)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) if r.content else {} for r in self.requests]

    @property
    def body(self) -> dict[str, Any]:
        return self.bodies[-1]

    @property
    def headers(self) -> httpx.Headers:
        return self.requests[-1].headers


def chat_body(
    content: str | None = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    usage: dict[str, int] | None = None,
    **message: Any,
) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content, **message}
    if tool_calls is not None:
        msg["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}],
        "usage": usage or {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def answer(body: dict[str, Any] | None = None, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        json=body if body is not None else chat_body(),
        headers={"x-igris-request-id": "req_test_1", **headers},
    )


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o",
        "choices": choices,
        **extra,
    }


def sse(events: Iterable[dict[str, Any] | str], done: bool = True) -> httpx.Response:
    text = "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events) + (
        "data: [DONE]\n\n" if done else ""
    )
    return httpx.Response(
        200,
        content=text.encode(),
        headers={"content-type": "text/event-stream", "x-igris-request-id": "req_stream_1"},
    )


def text_stream(*pieces: str, usage: bool = True) -> httpx.Response:
    events: list[dict[str, Any]] = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": p}) for p in pieces]
    events.append(chunk({}, finish="stop"))
    if usage:
        events.append(
            chunk(
                None,
                usage={
                    "prompt_tokens": 5,
                    "completion_tokens": len(pieces),
                    "total_tokens": 5 + len(pieces),
                },
            )
        )
    return sse(events)


def b64_vector(values: list[float]) -> str:
    return base64.b64encode(array("f", values).tobytes()).decode()


def embeddings_answer(request: httpx.Request, dims: int = 4) -> httpx.Response:
    body = json.loads(request.content)
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": b64_vector([float(len(t)), float(i), 0.5, -1.0][:dims]),
        }
        for i, t in enumerate(inputs)
    ]
    return httpx.Response(
        200,
        json={
            "object": "list",
            "model": body["model"],
            "data": data,
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        },
        headers={"x-igris-request-id": "req_emb_1"},
    )
