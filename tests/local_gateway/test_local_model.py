"""The ``local`` connection: a real small instruct model (SmolLM2-135M-Instruct through
llama.cpp) answering over the wire. The model is loaded once per process and shared by every
gateway, so these tests use the session's gateway."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx
import jsonschema
import pytest

from igris_core import protocol
from igris_core.local_gateway import ConnectionConfig, GatewayConfig, LocalGateway

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.real_model

LOCAL = protocol.chat_completions_path("local")
MODEL = "smollm2-135m-instruct"
# Generous: two CPU cores shared with other work can make a small model slow.
TIMEOUT = 600.0
CITY_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def _ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture
def http(gw: LocalGateway) -> Any:
    with httpx.Client(
        base_url=gw.base_url, headers={"Authorization": f"Bearer {gw.api_key}"}, timeout=TIMEOUT
    ) as client:
        yield client


def _sse_data(response: httpx.Response) -> list[str]:
    return [line[6:] for line in response.iter_lines() if line.startswith("data: ")]


def test_answers_a_fact(gw: LocalGateway, http: httpx.Client) -> None:
    body = http.post(LOCAL, json=_ask("What is the capital of France?", max_tokens=40)).json()
    choice = body["choices"][0]
    assert "Paris" in choice["message"]["content"]
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 5 and 0 < usage["completion_tokens"] < 40
    entry = gw.audit[-1]
    assert (entry.connection, entry.model, entry.status) == ("local", MODEL, 200)
    assert entry.usage == {
        k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")
    }


def test_streams_tokens_and_usage_on_the_terminal_chunk(http: httpx.Client) -> None:
    request = _ask(
        "What is the capital of France?",
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=40,
    )
    with http.stream("POST", LOCAL, json=request) as response:
        assert response.status_code == 200
        data = _sse_data(response)
    assert data[-1] == protocol.SSE_DONE
    chunks = [json.loads(d) for d in data[:-1]]
    pieces = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    text = "".join(p for p in pieces if p)
    assert "Paris" in text
    assert sum(1 for p in pieces if p) >= 3  # token by token, not one block
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] > 0
    assert all(c["usage"] is None for c in chunks[:-1])


def test_answers_from_the_retrieved_text(http: httpx.Client) -> None:
    retrieved = (
        "Lost devices: report a lost or stolen laptop to the IT service desk within one hour."
    )
    request = _ask(
        f"Context: {retrieved}\n\nQuestion: How quickly must I report a lost laptop?",
        max_tokens=60,
    )
    answer = http.post(LOCAL, json=request).json()["choices"][0]["message"]["content"]
    assert "within one hour" in answer


def test_forced_tool_call_has_schema_valid_arguments(http: httpx.Client) -> None:
    request = _ask(
        "What is the weather like in Paris today?",
        tools=[CITY_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=60,
    )
    choice = http.post(LOCAL, json=request).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    arguments = json.loads(call["function"]["arguments"])
    jsonschema.validate(arguments, CITY_TOOL["function"]["parameters"])  # type: ignore[index]
    assert arguments["city"] == "Paris"


def test_structured_output_matches_the_schema(http: httpx.Client) -> None:
    request = _ask(
        "Alice is 30 years old. Give her name and age.",
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": PERSON_SCHEMA},
        },
        max_tokens=60,
    )
    content = http.post(LOCAL, json=request).json()["choices"][0]["message"]["content"]
    person = json.loads(content)
    jsonschema.validate(person, PERSON_SCHEMA)
    assert person == {"name": "Alice", "age": 30}


def test_json_object_is_json(http: httpx.Client) -> None:
    request = _ask(
        "Give the capital of France as JSON.",
        response_format={"type": "json_object"},
        max_tokens=40,
    )
    choice = http.post(LOCAL, json=request).json()["choices"][0]
    assert isinstance(json.loads(choice["message"]["content"]), dict)


def test_stop_and_max_tokens(http: httpx.Client) -> None:
    cut = http.post(LOCAL, json=_ask("Count from 1 to 20.", max_tokens=5)).json()
    assert cut["choices"][0]["finish_reason"] == "length"
    assert cut["usage"]["completion_tokens"] <= 6
    stopped = http.post(
        LOCAL, json=_ask("What is the capital of France?", stop=["Paris"], max_tokens=40)
    ).json()
    assert "Paris" not in stopped["choices"][0]["message"]["content"]
    assert stopped["choices"][0]["finish_reason"] == "stop"


async def test_four_concurrent_callers_get_their_own_answers(gw: LocalGateway) -> None:
    questions = [
        "What is the capital of France?",
        "What color is the sky?",
        "Name a fruit that is yellow.",
        "Context: Passwords must be at least 14 characters long.\n\nQuestion: How long must a "
        "password be?",
    ]
    async with httpx.AsyncClient(
        base_url=gw.base_url, headers={"Authorization": f"Bearer {gw.api_key}"}, timeout=TIMEOUT
    ) as client:

        async def ask(question: str) -> str:
            response = await client.post(LOCAL, json=_ask(question, max_tokens=24))
            assert response.status_code == 200, response.text
            return str(response.json()["choices"][0]["message"]["content"])

        together = await asyncio.gather(*(ask(q) for q in questions))
        alone = [await ask(q) for q in questions]
    # Greedy decoding: each caller gets exactly the answer its question gets on its own.
    assert together == alone
    assert "Paris" in together[0] and "14" in together[3]


def test_beyond_the_queue_bound_answers_503_with_retry_after() -> None:
    config = GatewayConfig(
        connections=(
            ConnectionConfig(
                "one-at-a-time", provider="llamacpp", backend="llama-cpp", max_queued=1
            ),
        )
    )
    with (
        LocalGateway(config) as gw,
        httpx.Client(
            base_url=gw.base_url, headers={"Authorization": f"Bearer {gw.api_key}"}, timeout=TIMEOUT
        ) as client,
    ):
        path = protocol.chat_completions_path("one-at-a-time")
        long = _ask("Write a long story about a cat.", stream=True, max_tokens=200)
        with client.stream("POST", path, json=long) as running:
            assert running.status_code == 200
            lines = running.iter_lines()  # kept: dropping it would close the stream
            next(lines)  # the first piece is out: the model is busy
            refused = client.post(path, json=_ask("Hello"))
        assert refused.status_code == 503
        assert refused.headers[protocol.RETRY_AFTER_HEADER] == "1"
        assert refused.json()["error"]["code"] == "model_busy"
        # Once the running answer is done (or abandoned), a caller that honours Retry-After is
        # served: the abandoned generation stops at its next token, which may take a moment.
        deadline = time.monotonic() + 60
        served = client.post(path, json=_ask("What is the capital of France?", max_tokens=20))
        while served.status_code == 503 and time.monotonic() < deadline:
            time.sleep(float(served.headers[protocol.RETRY_AFTER_HEADER]))
            served = client.post(path, json=_ask("What is the capital of France?", max_tokens=20))
        assert served.status_code == 200


def test_without_the_extra_the_error_names_it(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp now fails
    response = http.post(LOCAL, json=_ask("Hello"))
    assert response.status_code == 501
    message = response.json()["error"]["message"]
    assert "local-model" in message and "pip install" in message
