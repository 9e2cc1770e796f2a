"""Scripted replies: queued per connection, served before the backend, on every backend."""

from __future__ import annotations

import json

import httpx
import pytest

from igris_core import protocol
from igris_core.local_gateway import LocalGateway, ScriptedReply
from tests.local_gateway.helpers import (
    CHAT,
    MESSAGES,
    accumulate,
    chat_body,
    sse_chunks,
    sse_named_events,
    stream_chat,
)

SCRIPTED = protocol.chat_completions_path("agent")


@pytest.fixture
def agent(gw: LocalGateway) -> LocalGateway:
    gw.add_connection("agent", backend="script")
    return gw


def test_replies_are_served_in_order_then_exhausted(
    agent: LocalGateway, client: httpx.Client
) -> None:
    agent.script(
        "agent",
        ScriptedReply.tool_call("search", {"query": "igris"}, id="call_custom"),
        ScriptedReply.text("Igris is a gateway."),
    )
    first = client.post(SCRIPTED, json=chat_body("what is igris?")).json()
    (call,) = first["choices"][0]["message"]["tool_calls"]
    assert call == {
        "id": "call_custom",
        "type": "function",
        "function": {"name": "search", "arguments": json.dumps({"query": "igris"})},
    }
    assert first["choices"][0]["finish_reason"] == "tool_calls"
    second = client.post(SCRIPTED, json=chat_body("what is igris?")).json()
    assert second["choices"][0]["message"]["content"] == "Igris is a gateway."
    assert second["usage"] == {
        "prompt_tokens": 3 + 3,
        "completion_tokens": 4,
        "total_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    third = client.post(SCRIPTED, json=chat_body())
    assert third.status_code == 400
    assert third.json()["error"]["type"] == "script_exhausted"
    assert agent.audit[-1].error_type == "script_exhausted"


def test_parallel_tool_calls(agent: LocalGateway, client: httpx.Client) -> None:
    agent.script("agent", ScriptedReply.tool_calls([("a", {"x": 1}), ("b", {"y": 2})]))
    calls = client.post(SCRIPTED, json=chat_body()).json()["choices"][0]["message"]["tool_calls"]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("a", {"x": 1}),
        ("b", {"y": 2}),
    ]
    assert len({c["id"] for c in calls}) == 2
    assert all(c["id"].startswith("call_") for c in calls)


def test_scripted_errors(agent: LocalGateway, client: httpx.Client) -> None:
    agent.script(
        "agent",
        ScriptedReply.error(429, "slow down", retry_after=0.5),
        ScriptedReply.error(400, "context too long", type="context_length_exceeded"),
    )
    limited = client.post(SCRIPTED, json=chat_body())
    assert limited.status_code == 429
    assert limited.headers[protocol.RETRY_AFTER_HEADER] == "0.5"
    assert limited.json()["error"] == {
        "message": "slow down",
        "type": "rate_limit_error",
        "code": "scripted",
    }
    bad = client.post(SCRIPTED, json=chat_body())
    assert (bad.status_code, bad.json()["error"]["type"]) == (400, "context_length_exceeded")
    with pytest.raises(ValueError):
        ScriptedReply.error(200, "not an error")


def test_scripted_replies_come_first_on_the_echo_backend(
    gw: LocalGateway, client: httpx.Client
) -> None:
    gw.script("openai-prod", ScriptedReply.text("canned"))
    assert (
        client.post(CHAT, json=chat_body("live")).json()["choices"][0]["message"]["content"]
        == "canned"
    )
    assert (
        client.post(CHAT, json=chat_body("live")).json()["choices"][0]["message"]["content"]
        == "live"
    )


def test_scripted_answers_stream_like_echo(agent: LocalGateway, client: httpx.Client) -> None:
    agent.script(
        "agent",
        ScriptedReply.text("streamed canned words"),
        ScriptedReply.tool_call("lookup", {"id": 7}),
    )
    text = accumulate(sse_chunks(stream_chat(client, chat_body(), SCRIPTED).text))
    assert text["content"] == "streamed canned words"
    tool = accumulate(sse_chunks(stream_chat(client, chat_body(), SCRIPTED).text))
    assert tool["tool_calls"][0]["name"] == "lookup"
    assert json.loads(tool["tool_calls"][0]["arguments"]) == {"id": 7}
    assert tool["finish_reason"] == "tool_calls"


def test_scripted_replies_on_the_messages_route(gw: LocalGateway, client: httpx.Client) -> None:
    gw.script(
        "anthropic-prod",
        ScriptedReply.tool_call("lookup", {"id": 7}),
        ScriptedReply.text("done"),
        ScriptedReply.error(529, "overloaded", type="overloaded_error"),
    )
    body = {"model": "claude", "max_tokens": 50, "messages": [{"role": "user", "content": "go"}]}
    tool = client.post(MESSAGES, json=body).json()
    assert tool["content"][0]["type"] == "tool_use"
    assert tool["content"][0]["input"] == {"id": 7}
    assert tool["content"][0]["id"].startswith("toolu_")
    events = sse_named_events(client.post(MESSAGES, json={**body, "stream": True}).text)
    assert (
        "".join(d["delta"].get("text", "") for n, d in events if n == "content_block_delta")
        == "done"
    )
    error = client.post(MESSAGES, json=body)
    assert (error.status_code, error.json()["error"]["type"]) == (529, "overloaded_error")


def test_raw_argument_text_is_sent_as_is(agent: LocalGateway, client: httpx.Client) -> None:
    agent.script("agent", ScriptedReply.tool_call("broken", '{"unterminated": '))
    call = client.post(SCRIPTED, json=chat_body()).json()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["arguments"] == '{"unterminated": '


def test_script_on_unknown_connection_is_refused(gw: LocalGateway) -> None:
    with pytest.raises(ValueError, match="unknown connection"):
        gw.script("nope", ScriptedReply.text("x"))
    with pytest.raises(ValueError):
        ScriptedReply.tool_calls([])
