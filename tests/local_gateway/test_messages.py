"""Anthropic-style ``/v1/messages`` on an Anthropic connection, JSON and SSE."""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest

from igris_core import protocol
from igris_core.local_gateway import LocalGateway
from tests.local_gateway.helpers import MESSAGES, sse_named_events

WEATHER = {
    "name": "get_weather",
    "description": "Weather of a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city", "days"],
    },
}


def messages_body(text: str = "Hello Claude", **extra: object) -> dict[str, object]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


@pytest.fixture
def anthropic_client(gw: LocalGateway) -> httpx.Client:
    # The Anthropic SDK sends its key in x-api-key, not Authorization.
    return httpx.Client(base_url=gw.base_url, headers={protocol.API_KEY_HEADER: gw.api_key})


def test_message_json(anthropic_client: httpx.Client, gw: LocalGateway) -> None:
    body = messages_body("Hello there Claude", system="Be nice.")
    response = anthropic_client.post(MESSAGES, json=body)
    assert response.status_code == 200
    message = response.json()
    assert message["id"].startswith("msg_")
    assert message["type"] == "message"
    assert message["role"] == "assistant"
    assert message["model"] == "claude-sonnet-4-5"
    assert message["content"] == [{"type": "text", "text": "Hello there Claude"}]
    assert message["stop_reason"] == "end_turn"
    assert message["stop_sequence"] is None
    assert message["usage"] == {"input_tokens": 2 + 3 + 3 + 3, "output_tokens": 3}
    entry = gw.audit[-1]
    assert (entry.route, entry.connection, entry.model) == (
        "messages",
        "anthropic-prod",
        "claude-sonnet-4-5",
    )
    assert entry.usage == {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}


def test_content_blocks_and_metadata_user(anthropic_client: httpx.Client, gw: LocalGateway) -> None:
    content = [{"type": "text", "text": "block one"}, {"type": "text", "text": "block two"}]
    body = messages_body(metadata={"user_id": "user-42"})
    body["messages"] = [{"role": "user", "content": content}]
    message = anthropic_client.post(MESSAGES, json=body).json()
    assert message["content"][0]["text"] == "block one\nblock two"
    assert gw.audit[-1].user == "user-42"


def test_stop_sequences_and_max_tokens(anthropic_client: httpx.Client) -> None:
    stopped = anthropic_client.post(
        MESSAGES, json=messages_body("one two STOP three", stop_sequences=["STOP"])
    ).json()
    assert stopped["content"][0]["text"] == "one two "
    assert stopped["stop_reason"] == "stop_sequence"
    assert stopped["stop_sequence"] == "STOP"
    body = messages_body("one two three")
    body["max_tokens"] = 2
    cut = anthropic_client.post(MESSAGES, json=body).json()
    assert cut["content"][0]["text"] == "one two"
    assert cut["stop_reason"] == "max_tokens"


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "get_weather"}])
def test_forced_tool_use(anthropic_client: httpx.Client, choice: dict[str, str]) -> None:
    other = {"name": "other", "input_schema": {"type": "object"}}
    tools = [WEATHER, other] if choice["type"] == "any" else [other, WEATHER]
    body = messages_body("weather in Lima", tools=tools, tool_choice=choice)
    message = anthropic_client.post(MESSAGES, json=body).json()
    assert message["stop_reason"] == "tool_use"
    (block,) = message["content"]
    assert block["type"] == "tool_use"
    assert block["id"].startswith("toolu_")
    assert block["name"] == "get_weather"
    jsonschema.validate(block["input"], WEATHER["input_schema"])


def test_auto_tool_choice_answers_text(anthropic_client: httpx.Client) -> None:
    body = messages_body("just chat", tools=[WEATHER], tool_choice={"type": "auto"})
    message = anthropic_client.post(MESSAGES, json=body).json()
    assert message["content"] == [{"type": "text", "text": "just chat"}]


def test_message_stream_events(anthropic_client: httpx.Client) -> None:
    response = anthropic_client.post(MESSAGES, json=messages_body("Hi there you", stream=True))
    assert response.headers["content-type"].startswith(protocol.SSE_CONTENT_TYPE)
    events = sse_named_events(response.text)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert all(name == data["type"] for name, data in events)
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "Hi there you"
    start = events[0][1]["message"]
    assert start["content"] == [] and start["usage"]["input_tokens"] == 6
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == 3


def test_tool_use_stream_sends_input_json_deltas(anthropic_client: httpx.Client) -> None:
    body = messages_body("weather", tools=[WEATHER], tool_choice={"type": "any"}, stream=True)
    events = sse_named_events(anthropic_client.post(MESSAGES, json=body).text)
    starts = [d for n, d in events if n == "content_block_start"]
    assert starts[0]["content_block"]["type"] == "tool_use"
    assert starts[0]["content_block"]["input"] == {}
    partial = "".join(
        d["delta"]["partial_json"]
        for n, d in events
        if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"
    )
    non_stream = anthropic_client.post(MESSAGES, json={**body, "stream": False}).json()

    assert json.loads(partial) == non_stream["content"][0]["input"]
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_messages_is_404_on_a_non_anthropic_connection(anthropic_client: httpx.Client) -> None:
    response = anthropic_client.post(protocol.messages_path("openai-prod"), json=messages_body())
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"
    assert response.headers[protocol.REQUEST_ID_HEADER]


@pytest.mark.parametrize(
    "change",
    [
        {"max_tokens": None},
        {"model": 5},
        {"messages": "hello"},
        {"messages": [{"content": "no role"}]},
        {"messages": [{"role": "user", "content": 7}]},
        {"stream": "yes"},
        {"tool_choice": {"type": "sometimes"}},
    ],
)
def test_malformed_messages_requests_are_422(
    anthropic_client: httpx.Client, change: dict[str, object]
) -> None:
    body = {**messages_body(), **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = anthropic_client.post(MESSAGES, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "validation_error"


def test_tool_result_turn_echoes_the_user_question(anthropic_client: httpx.Client) -> None:
    body = messages_body(tools=[WEATHER])
    body["messages"] = [
        {"role": "user", "content": "weather in Lima?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}],
        },
    ]
    message = anthropic_client.post(MESSAGES, json=body).json()
    assert message["content"][0]["text"] == "weather in Lima?"
