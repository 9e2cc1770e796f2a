"""Helpers of the langchain_igris tests: a recording ``httpx.MockTransport`` and canned answers
(JSON bodies and SSE streams) shaped like the gateway's."""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from langchain_igris import ChatIgris, IgrisEmbeddings

API_KEY = "ig_test_key_123456"
BASE_URL = "http://gateway.test"
MODEL = "@openai-prod/gpt-4o"

Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]

# A LangGraph agent's async run hands its config (metadata, run id) to the model's call through a
# context variable, which asyncio tasks inherit only from Python 3.11 on; on 3.10 LangChain asks
# for the config to be passed on by hand, which create_agent's model node does not do.
ASYNC_AGENT_CONFIG_NEEDS_PY311 = pytest.mark.xfail(
    sys.version_info < (3, 11),
    reason="Python 3.10: an async agent's config does not reach its model's call",
    strict=True,
)


def chat_body(
    content: str | None = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    usage: dict[str, Any] | None = None,
    model: str = "gpt-4o-2024-08-06",
    choices: list[dict[str, Any]] | None = None,
    **message_fields: Any,
) -> dict[str, Any]:
    """A chat-completion answer."""
    message: dict[str, Any] = {"role": "assistant", "content": content, **message_fields}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "system_fingerprint": "fp_test",
        "choices": choices
        or [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
        "usage": usage
        if usage is not None
        else {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def json_reply(body: dict[str, Any], status: int = 200, **headers: str) -> httpx.Response:
    """A JSON answer with the gateway's request id."""
    return httpx.Response(status, json=body, headers={"x-igris-request-id": "req_test", **headers})


def error_reply(status: int, message: str = "nope", **headers: str) -> httpx.Response:
    """An error answer in the protocol's shape."""
    return json_reply(
        {"error": {"message": message, "type": "test_error", "code": None}}, status, **headers
    )


def chunk(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = None,
    no_choices: bool = False,
    index: int = 0,
    **delta_fields: Any,
) -> dict[str, Any]:
    """One stream chunk."""
    delta: dict[str, Any] = dict(delta_fields)
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_test",
        "choices": []
        if no_choices
        else [{"index": index, "delta": delta, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


USAGE = {
    "prompt_tokens": 10,
    "completion_tokens": 3,
    "total_tokens": 13,
    "prompt_tokens_details": {"cached_tokens": 4},
    "completion_tokens_details": {"reasoning_tokens": 1},
}


def text_stream_chunks(*pieces: str, usage: dict[str, Any] | None = USAGE) -> list[dict[str, Any]]:
    """The chunks of a plain text stream: role, pieces, finish, usage."""
    chunks = [chunk("", role="assistant")]
    chunks += [chunk(piece) for piece in pieces]
    chunks.append(chunk(finish_reason="stop"))
    if usage is not None:
        chunks.append(chunk(no_choices=True, usage=usage))
    return chunks


def sse_reply(events: list[dict[str, Any] | str], *, done: bool = True) -> httpx.Response:
    """An SSE answer: each event as ``data: <json>``, then ``[DONE]``."""
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    if done:
        lines.append("data: [DONE]\n\n")
    return httpx.Response(
        200,
        content="".join(lines).encode(),
        headers={"content-type": "text/event-stream", "x-igris-request-id": "req_stream"},
    )


class Recorder:
    """A MockTransport handler: records each request and answers from a queue of replies
    (the last reply is repeated once the queue is down to one)."""

    def __init__(self, *replies: Reply) -> None:
        self.requests: list[httpx.Request] = []
        self.replies: deque[Reply] = deque(replies or [json_reply(chat_body())])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.popleft() if len(self.replies) > 1 else self.replies[0]
        return reply(request) if callable(reply) else _copy(reply)

    def queue(self, *replies: Reply) -> None:
        """Replace the queued replies."""
        self.replies = deque(replies)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of the requests so far."""
        return [json.loads(r.content) for r in self.requests]

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body of the last request."""
        return self.bodies[-1]

    @property
    def headers(self) -> httpx.Headers:
        """The headers of the last request."""
        return self.requests[-1].headers


def _copy(response: httpx.Response) -> httpx.Response:
    # A Response's stream can be read once: hand out a fresh one each time.
    return httpx.Response(response.status_code, content=response.content, headers=response.headers)


def make_chat(recorder: Recorder | None = None, **kwargs: Any) -> ChatIgris:
    """A ChatIgris whose sync and async clients answer through ``recorder``."""
    recorder = recorder or Recorder()
    transport = httpx.MockTransport(recorder)
    params: dict[str, Any] = {
        "model": MODEL,
        "api_key": API_KEY,
        "base_url": BASE_URL,
        "max_retries": 0,
        "http_client": httpx.Client(transport=transport),
        "http_async_client": httpx.AsyncClient(transport=transport),
    }
    params.update(kwargs)
    return ChatIgris(**params)


def make_embeddings(recorder: Recorder, **kwargs: Any) -> IgrisEmbeddings:
    """An IgrisEmbeddings whose clients answer through ``recorder``."""
    transport = httpx.MockTransport(recorder)
    params: dict[str, Any] = {
        "model": "@openai-prod/text-embedding-3-small",
        "api_key": API_KEY,
        "base_url": BASE_URL,
        "max_retries": 0,
        "http_client": httpx.Client(transport=transport),
        "http_async_client": httpx.AsyncClient(transport=transport),
    }
    params.update(kwargs)
    return IgrisEmbeddings(**params)


def either(*pieces: str) -> Callable[[httpx.Request], httpx.Response]:
    """A reply that streams ``pieces`` when the request streams, else answers them joined."""

    def reply(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            return sse_reply(text_stream_chunks(*pieces))
        return json_reply(chat_body("".join(pieces)))

    return reply
