"""Helpers for the adapter tests: recording mock transports (``httpx`` for openai; for anthropic,
the HTTP library its installed version runs on: ``httpx2`` from anthropic 2.x, ``httpx`` before)
and canned provider answers."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import openai

from igris_core import protocol

#: The HTTP library (``httpx2`` or ``httpx``) the installed Anthropic SDK builds its clients on.
anthropic_http: Any = importlib.import_module(
    anthropic.DefaultHttpxClient.__mro__[1].__module__.partition(".")[0]
)

IGRIS_KEY = "ig_test_secret_key_0123456789"
GATEWAY = "https://gw.test"
OPENAI_SECRET = "sk-openai-real-secret"
ANTHROPIC_SECRET = "sk-ant-real-secret"

IDENTITY_NAMES = (protocol.USER_HEADER, protocol.TRACE_ID_HEADER)


def chat_answer(text: str = "hi") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


def message_answer(text: str = "hi") -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-sonnet-20241022",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }


def _answer(path: str) -> dict[str, Any]:
    if path.endswith(protocol.MESSAGES_SUFFIX):
        return message_answer()
    if path.endswith(protocol.EMBEDDINGS_SUFFIX):
        return {
            "object": "list",
            "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
    if path.endswith(protocol.CHAT_COMPLETIONS_SUFFIX):
        return chat_answer()
    return {}


class Recorder:
    """Answers every request with a canned 200 (or what ``status`` says) and records it."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        body = _answer(request.url.path) if self.status < 400 else {"error": {"message": "x"}}
        module = anthropic_http if isinstance(request, anthropic_http.Request) else httpx
        return module.Response(self.status, json=body)

    @property
    def last(self) -> Any:
        return self.requests[-1]

    def identity(self, index: int = -1) -> dict[str, str]:
        """The X-Igris-* headers of one recorded request (names lowercased, as httpx lists them)."""
        request = self.requests[index]
        return {
            name: value
            for name, value in request.headers.multi_items()
            if name.lower().startswith("x-igris-")
        }


def openai_client(rec: Recorder, *, async_: bool = False, **kwargs: Any) -> Any:
    kwargs.setdefault("api_key", OPENAI_SECRET)
    kwargs.setdefault("max_retries", 0)
    if async_:
        return openai.AsyncOpenAI(
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(rec)), **kwargs
        )
    return openai.OpenAI(http_client=httpx.Client(transport=httpx.MockTransport(rec)), **kwargs)


def anthropic_client(rec: Recorder, *, async_: bool = False, **kwargs: Any) -> Any:
    if not any(k in kwargs for k in ("api_key", "auth_token")):
        kwargs["api_key"] = ANTHROPIC_SECRET
    kwargs.setdefault("max_retries", 0)
    if async_:
        transport = anthropic_http.MockTransport(rec)
        return anthropic.AsyncAnthropic(
            http_client=anthropic_http.AsyncClient(transport=transport), **kwargs
        )
    return anthropic.Anthropic(
        http_client=anthropic_http.Client(transport=anthropic_http.MockTransport(rec)), **kwargs
    )


def chat(client: Any, **kwargs: Any) -> Any:
    return client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}], **kwargs
    )


def message(client: Any, **kwargs: Any) -> Any:
    return client.messages.create(
        model="claude-3-5-sonnet-20241022",
        max_tokens=64,
        messages=[{"role": "user", "content": "Hi"}],
        **kwargs,
    )


MakeClient = Callable[..., Any]
