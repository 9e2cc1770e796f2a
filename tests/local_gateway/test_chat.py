"""Chat completions on the echo backend, through real HTTP."""

from __future__ import annotations

import json

import httpx
import jsonschema
import pytest

from igris_core import protocol
from igris_core.local_gateway import LocalGateway
from igris_core.types import ChatCompletionResponse
from tests.local_gateway.helpers import CHAT, TIME_TOOL, WEATHER_TOOL, chat_body


def test_echo_answers_the_last_user_message(client: httpx.Client) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "What is the capital of France?"},
        ],
    }
    response = client.post(CHAT, json=body)
    assert response.status_code == 200
    assert response.headers[protocol.REQUEST_ID_HEADER].startswith("req_")
    answer = ChatCompletionResponse.model_validate(response.json())
    assert answer.object == "chat.completion"
    assert answer.model == "gpt-4o"
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == "What is the capital of France?"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None
    # 2 + 2 + 2 + 6 words, plus 3 per message
    assert answer.usage.prompt_tokens == 12 + 4 * 3
    assert answer.usage.completion_tokens == 6
    assert answer.usage.total_tokens == 12 + 12 + 6
    assert response.json()["usage"]["prompt_tokens_details"] == {"cached_tokens": 0}


def test_echo_is_deterministic(client: httpx.Client) -> None:
    first = client.post(CHAT, json=chat_body("same words")).json()
    second = client.post(CHAT, json=chat_body("same words")).json()
    assert first["choices"] == second["choices"]
    assert first["usage"] == second["usage"]
    assert first["id"] != second["id"]  # ids follow the request id


def test_content_parts_take_the_text_parts(client: httpx.Client) -> None:
    parts = [
        {"type": "text", "text": "look at"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this picture"},
    ]
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": parts}]}
    content = client.post(CHAT, json=body).json()["choices"][0]["message"]["content"]
    assert content == "look at\nthis picture"


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_truncates_with_finish_reason_length(client: httpx.Client, field: str) -> None:
    answer = client.post(CHAT, json=chat_body("one two three four five", **{field: 3})).json()
    assert answer["choices"][0]["message"]["content"] == "one two three"
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == 3


def test_max_tokens_not_reached_keeps_stop(client: httpx.Client) -> None:
    answer = client.post(CHAT, json=chat_body("one two", max_tokens=5)).json()
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["choices"][0]["message"]["content"] == "one two"


@pytest.mark.parametrize(
    ("stop", "expected"),
    [("three", "one two "), (["four", "two"], "one "), (["absent"], "one two three four")],
)
def test_stop_cuts_before_the_first_stop_string(
    client: httpx.Client, stop: object, expected: str
) -> None:
    answer = client.post(CHAT, json=chat_body("one two three four", stop=stop)).json()
    assert answer["choices"][0]["message"]["content"] == expected
    assert answer["choices"][0]["finish_reason"] == "stop"


def test_n_gives_n_choices(client: httpx.Client) -> None:
    answer = client.post(CHAT, json=chat_body("hi there", n=3)).json()
    assert [c["index"] for c in answer["choices"]] == [0, 1, 2]
    assert {c["message"]["content"] for c in answer["choices"]} == {"hi there"}
    assert answer["usage"]["completion_tokens"] == 6


def test_required_tool_choice_calls_the_first_tool_with_valid_arguments(
    client: httpx.Client,
) -> None:
    body = chat_body(
        "What is the weather in Paris?", tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="required"
    )
    answer = client.post(CHAT, json=body).json()
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["id"].startswith("call_") and len(call["id"]) > len("call_")
    assert call["function"]["name"] == "get_weather"
    arguments = json.loads(call["function"]["arguments"])
    jsonschema.validate(arguments, WEATHER_TOOL["function"]["parameters"])
    assert "Paris" in arguments["city"]  # strings come from the user's words
    again = client.post(CHAT, json=body).json()["choices"][0]["message"]["tool_calls"][0]
    assert again == call  # same request, same call and id


def test_named_tool_choice_calls_that_tool(client: httpx.Client) -> None:
    choice = {"type": "function", "function": {"name": "get_time"}}
    body = chat_body("time?", tools=[WEATHER_TOOL, TIME_TOOL], tool_choice=choice)
    call = client.post(CHAT, json=body).json()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_time"
    jsonschema.validate(
        json.loads(call["function"]["arguments"]), TIME_TOOL["function"]["parameters"]
    )


@pytest.mark.parametrize("tool_choice", [None, "auto", "none"])
def test_unforced_tools_get_a_text_answer(client: httpx.Client, tool_choice: str | None) -> None:
    extra = {"tool_choice": tool_choice} if tool_choice else {}
    body = chat_body("weather in Paris?", tools=[WEATHER_TOOL], **extra)
    choice = client.post(CHAT, json=body).json()["choices"][0]
    assert choice["message"]["content"] == "weather in Paris?"
    assert "tool_calls" not in choice["message"]
    assert choice["finish_reason"] == "stop"


@pytest.mark.parametrize(
    "body",
    [
        chat_body(
            "x",
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "nope"}},
        ),
        chat_body("x", tool_choice="required"),
    ],
)
def test_forcing_a_tool_that_is_not_offered_is_400(client: httpx.Client, body: dict) -> None:
    response = client.post(CHAT, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_json_schema_response_format_is_schema_valid(client: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 10},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "kind": {"enum": ["a", "b"]},
        },
        "required": ["title", "tags", "score", "kind"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "summary", "schema": schema}}
    content = client.post(CHAT, json=chat_body("summarise this text", response_format=fmt)).json()
    jsonschema.validate(json.loads(content["choices"][0]["message"]["content"]), schema)


def test_json_object_response_format_is_an_object(client: httpx.Client) -> None:
    fmt = {"type": "json_object"}
    answer = client.post(CHAT, json=chat_body("hello json", response_format=fmt)).json()
    assert json.loads(answer["choices"][0]["message"]["content"]) == {"answer": "hello json"}


def test_unknown_connection_is_404(client: httpx.Client) -> None:
    response = client.post(protocol.chat_completions_path("nope"), json=chat_body())
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "not_found_error"
    assert "nope" in error["message"]


def test_every_default_connection_serves_chat(client: httpx.Client) -> None:
    for slug in ("openai-prod", "anthropic-prod", "google-prod"):
        response = client.post(protocol.chat_completions_path(slug), json=chat_body("hi"))
        assert response.status_code == 200, slug


def test_added_connection_serves_right_away(gw: LocalGateway, client: httpx.Client) -> None:
    connection = gw.add_connection("mistral-dev", provider="mistral")
    assert connection.backend == "echo"
    response = client.post(protocol.chat_completions_path("mistral-dev"), json=chat_body("bonjour"))
    assert response.json()["choices"][0]["message"]["content"] == "bonjour"
    assert gw.audit[-1].connection == "mistral-dev"


def test_tool_results_conversation_echoes_the_user(client: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "weather in Oslo"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "cold"},
    ]
    body = {"model": "gpt-4o", "messages": messages, "tools": [WEATHER_TOOL]}
    answer = client.post(CHAT, json=body).json()
    assert answer["choices"][0]["message"]["content"] == "weather in Oslo"
