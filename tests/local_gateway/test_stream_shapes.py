"""Streams shaped like non-OpenAI providers, over HTTP: each shape shows its quirk, and the answer
can still be rebuilt from it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from igris_core.local_gateway import STREAM_SHAPES, Fault, LocalGateway, ScriptedReply
from tests.local_gateway.helpers import (
    WEATHER_TOOL,
    accumulate,
    chat_body,
    sse_chunks,
    stream_chat,
)

TEXT = "shaped stream of words"
TOOL_BODY = chat_body("weather in Paris", tools=[WEATHER_TOOL], tool_choice="required")


def tool_deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        d
        for c in chunks
        for ch in c.get("choices") or []
        for d in ch["delta"].get("tool_calls") or []
    ]


def shaped(
    gw: LocalGateway, client: httpx.Client, shape: str, body: dict[str, Any]
) -> list[dict[str, Any]]:
    gw.inject_fault("openai-prod", Fault(stream_shape=shape, times=1))  # type: ignore[arg-type]
    return sse_chunks(stream_chat(client, body).text)


def reference(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    return accumulate(sse_chunks(stream_chat(client, body).text))


@pytest.mark.parametrize("shape", sorted(STREAM_SHAPES))
@pytest.mark.parametrize("kind", ["text", "tool"])
def test_every_shape_keeps_the_answer_recoverable(
    gw: LocalGateway, client: httpx.Client, shape: str, kind: str
) -> None:
    body = chat_body(TEXT, stream_options={"include_usage": True}) if kind == "text" else TOOL_BODY
    expected = reference(client, body)
    got = accumulate(shaped(gw, client, shape, body))
    assert got["content"] == expected["content"]
    assert got["finish_reason"] == expected["finish_reason"]
    assert [(c["name"], json.loads(c["arguments"])) for c in got["tool_calls"]] == [
        (c["name"], json.loads(c["arguments"])) for c in expected["tool_calls"]
    ]


def test_no_index(gw: LocalGateway, client: httpx.Client) -> None:
    deltas = tool_deltas(shaped(gw, client, "no_index", TOOL_BODY))
    assert deltas and all("index" not in d for d in deltas)


def test_string_index(gw: LocalGateway, client: httpx.Client) -> None:
    deltas = tool_deltas(shaped(gw, client, "string_index", TOOL_BODY))
    assert {d["index"] for d in deltas} == {"0"}


def test_no_function(gw: LocalGateway, client: httpx.Client) -> None:
    deltas = tool_deltas(shaped(gw, client, "no_function", TOOL_BODY))
    assert set(deltas[0]) == {"index", "id", "type"}
    assert deltas[1]["function"]["name"] == "get_weather"


@pytest.mark.parametrize("shape", ["whole_arguments", "object_arguments"])
def test_whole_and_object_arguments(gw: LocalGateway, client: httpx.Client, shape: str) -> None:
    deltas = tool_deltas(shaped(gw, client, shape, TOOL_BODY))
    with_args = [d for d in deltas if "arguments" in (d.get("function") or {})]
    assert len(with_args) == 1
    arguments = with_args[0]["function"]["arguments"]
    if shape == "object_arguments":
        assert isinstance(arguments, dict) and arguments["unit"] in ("celsius", "fahrenheit")
    else:
        assert isinstance(arguments, str) and json.loads(arguments)["unit"]


def test_repeated_id(gw: LocalGateway, client: httpx.Client) -> None:
    deltas = tool_deltas(shaped(gw, client, "repeated_id", TOOL_BODY))
    assert len(deltas) > 2
    assert len({d["id"] for d in deltas}) == 1
    assert {d["function"]["name"] for d in deltas} == {"get_weather"}


def test_interleaved_parallel_calls(gw: LocalGateway, client: httpx.Client) -> None:
    calls = [
        ("get_weather", {"city": "Paris", "unit": "celsius"}),
        ("get_time", {"timezone": "Europe/Paris"}),
    ]
    gw.script("openai-prod", ScriptedReply.tool_calls(calls), ScriptedReply.tool_calls(calls))
    expected = reference(client, chat_body())
    chunks = shaped(gw, client, "interleaved", chat_body())
    order = [d["index"] for d in tool_deltas(chunks)]
    assert order[:4] == [0, 1, 0, 1]
    got = accumulate(chunks)
    assert [(c["name"], json.loads(c["arguments"])) for c in got["tool_calls"]] == [
        (name, args) for name, args in calls
    ]
    assert [c["name"] for c in expected["tool_calls"]] == ["get_weather", "get_time"]


def test_usage_every_chunk_is_cumulative(gw: LocalGateway, client: httpx.Client) -> None:
    chunks = shaped(gw, client, "usage_every_chunk", chat_body("one two three"))
    completions = [c["usage"]["completion_tokens"] for c in chunks]
    assert all(c["usage"]["prompt_tokens"] == 6 for c in chunks)
    assert completions == sorted(completions)
    assert completions[-1] == 3
    assert gw.audit[-1].usage == {"prompt_tokens": 6, "completion_tokens": 3, "total_tokens": 9}


def test_finish_with_content(gw: LocalGateway, client: httpx.Client) -> None:
    chunks = shaped(gw, client, "finish_with_content", chat_body("one two"))
    last = chunks[-1]["choices"][0]
    assert last["finish_reason"] == "stop"
    assert last["delta"]["content"] == " two"


def test_empty_choices(gw: LocalGateway, client: httpx.Client) -> None:
    chunks = shaped(gw, client, "empty_choices", chat_body("one two"))
    empties = [i for i, c in enumerate(chunks) if c["choices"] == [] and "usage" not in c]
    assert len(empties) >= 2 and 0 < empties[0] < len(chunks) - 1


def test_null_content(gw: LocalGateway, client: httpx.Client) -> None:
    chunks = shaped(gw, client, "null_content", chat_body("one two"))
    nulls = [
        c
        for c in chunks
        if "content" in c["choices"][0]["delta"] and c["choices"][0]["delta"]["content"] is None
    ]
    assert len(nulls) >= 2


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_deltas_come_before_content(
    gw: LocalGateway, client: httpx.Client, field: str
) -> None:
    chunks = shaped(gw, client, field, chat_body("the answer"))
    fields = [next(iter(c["choices"][0]["delta"]), None) for c in chunks]
    first_reasoning = fields.index(field)
    first_content = next(i for i, c in enumerate(chunks) if c["choices"][0]["delta"].get("content"))
    assert first_reasoning < first_content
    assert accumulate(chunks)["reasoning"].strip()
