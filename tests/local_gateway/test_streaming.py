"""Streaming chat completions: SSE framing, word-by-word chunks, usage chunk, tool-call deltas."""

from __future__ import annotations

import json

import httpx
import pytest

from igris_core import protocol
from igris_core.local_gateway import LocalGateway
from igris_core.types import ChatCompletionChunk
from tests.local_gateway.helpers import (
    CHAT,
    WEATHER_TOOL,
    accumulate,
    chat_body,
    sse_chunks,
    sse_payloads,
    stream_chat,
)


def test_stream_is_sse_word_by_word_and_ends_with_done(client: httpx.Client) -> None:
    text = "The  quick brown fox,\njumps!  "
    plain = client.post(CHAT, json=chat_body(text)).json()["choices"][0]["message"]["content"]
    response = stream_chat(client, chat_body(text))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(protocol.SSE_CONTENT_TYPE)
    assert response.headers[protocol.REQUEST_ID_HEADER].startswith("req_")
    payloads = sse_payloads(response.text)
    assert payloads[-1] == protocol.SSE_DONE
    chunks = [ChatCompletionChunk.model_validate(c) for c in sse_chunks(response.text)]
    assert chunks[0].choices[0].delta.role == "assistant"
    words = [c.choices[0].delta.content for c in chunks[1:-1]]
    assert len(words) == len(text.split())  # one chunk per word
    assert "".join(words) == plain == text  # whitespace kept: concatenation is exact
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)  # no usage chunk unless asked
    assert len({c.id for c in chunks}) == 1


def test_include_usage_adds_a_terminal_usage_chunk(gw: LocalGateway, client: httpx.Client) -> None:
    body = chat_body("count these four words", stream_options={"include_usage": True})
    chunks = sse_chunks(stream_chat(client, body).text)
    last = chunks[-1]
    assert last["choices"] == []
    assert last["usage"]["completion_tokens"] == 4
    assert last["usage"]["prompt_tokens"] == 4 + 3
    assert all(c["usage"] is None for c in chunks[:-1])
    entry = gw.audit[-1]
    assert entry.stream is True
    assert entry.usage == {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}


def test_audit_usage_is_computed_when_the_stream_has_none(
    gw: LocalGateway, client: httpx.Client
) -> None:
    stream_chat(client, chat_body("two words"))
    assert gw.audit[-1].usage == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}


def test_streamed_tool_call_deltas(client: httpx.Client) -> None:
    body = chat_body("weather in Rome", tools=[WEATHER_TOOL], tool_choice="required")
    plain = client.post(CHAT, json=body).json()["choices"][0]["message"]["tool_calls"][0]
    chunks = sse_chunks(stream_chat(client, body).text)
    deltas = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls") or []]
    head = deltas[0]
    assert head == {
        "index": 0,
        "id": plain["id"],
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    pieces = [d["function"]["arguments"] for d in deltas[1:]]
    assert len(pieces) >= 2  # arguments arrive in a few pieces
    assert all(set(d) == {"index", "function"} for d in deltas[1:])
    assert "".join(pieces) == plain["function"]["arguments"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_streamed_n_choices(client: httpx.Client) -> None:
    chunks = sse_chunks(stream_chat(client, chat_body("a b", n=2)).text)
    by_choice: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            by_choice[choice["index"]] = by_choice.get(choice["index"], "") + (
                choice["delta"].get("content") or ""
            )
    assert by_choice == {0: "a b", 1: "a b"}


@pytest.mark.parametrize("max_tokens", [1, 2])
def test_stream_honours_max_tokens(client: httpx.Client, max_tokens: int) -> None:
    chunks = sse_chunks(stream_chat(client, chat_body("a b c d", max_tokens=max_tokens)).text)
    answer = accumulate(chunks)
    assert answer["content"] == " ".join("abcd"[:max_tokens])
    assert answer["finish_reason"] == "length"


def test_json_schema_stream_concatenates_to_valid_json(client: httpx.Client) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    answer = accumulate(sse_chunks(stream_chat(client, chat_body("q", response_format=fmt)).text))
    assert json.loads(answer["content"]) == {"a": 1}
