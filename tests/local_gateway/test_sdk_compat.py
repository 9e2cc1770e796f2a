"""The real ``openai`` and ``anthropic`` SDKs parse the gateway's answers, plain and streamed."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from igris_core import protocol
from igris_core._identity import encode_header_value
from igris_core.local_gateway import Fault, LocalGateway
from tests.local_gateway.helpers import WEATHER_TOOL


@pytest.fixture
def oai(gw: LocalGateway) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gw.base_url}/llm/openai-prod/v1",
        api_key=gw.api_key,
        default_headers={protocol.USER_HEADER: encode_header_value("Ana María")},
        max_retries=0,
    )


@pytest.fixture
def claude(gw: LocalGateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{gw.base_url}/llm/anthropic-prod", api_key=gw.api_key, max_retries=0
    )


def test_openai_chat(oai: openai.OpenAI, gw: LocalGateway) -> None:
    answer = oai.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hello from the SDK"}]
    )
    assert answer.choices[0].message.content == "Hello from the SDK"
    assert answer.usage is not None and answer.usage.completion_tokens == 4
    assert gw.audit[-1].user == "Ana María"


def test_openai_stream_with_usage(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "stream these words"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == "stream these words"
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 6 + 3


def test_openai_tool_call(oai: openai.OpenAI) -> None:
    answer = oai.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "weather in Paris"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        tool_choice="required",
    )
    call = answer.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments)["unit"] in ("celsius", "fahrenheit")  # type: ignore[union-attr]


def test_openai_stream_helper_accumulates_tool_calls(oai: openai.OpenAI) -> None:
    with oai.chat.completions.stream(
        model="gpt-4o",
        messages=[{"role": "user", "content": "weather in Paris"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        tool_choice="required",
    ) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert json.loads(call.function.arguments)["city"]  # type: ignore[union-attr]


def test_openai_embeddings_float_and_default_base64(oai: openai.OpenAI) -> None:
    # The SDK asks for base64 when no format is given, and decodes it itself.
    default = oai.embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
    floats = oai.embeddings.create(
        model="text-embedding-3-small", input=["a b", "c"], encoding_format="float"
    )
    assert [len(d.embedding) for d in default.data] == [256, 256]
    assert default.data[0].embedding == pytest.approx(floats.data[0].embedding, abs=1e-6)
    sized = oai.embeddings.create(model="m", input="x", dimensions=12)
    assert len(sized.data[0].embedding) == 12


def test_openai_sdk_sees_typed_errors(oai: openai.OpenAI, gw: LocalGateway) -> None:
    gw.deny("no", pattern="forbidden")
    with pytest.raises(openai.PermissionDeniedError) as denied:
        oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "forbidden"}])
    assert denied.value.status_code == 403
    gw.inject_fault("openai-prod", Fault(status=429, times=1, retry_after=1))
    with pytest.raises(openai.RateLimitError):
        oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])


def test_anthropic_create(claude: anthropic.Anthropic, gw: LocalGateway) -> None:
    message = claude.messages.create(
        model="claude-local-test",
        max_tokens=64,
        messages=[{"role": "user", "content": "Hello Claude"}],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello Claude"
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 2
    assert gw.audit[-1].key_id == "default"  # the SDK authenticated with x-api-key


def test_anthropic_stream(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model="claude-local-test",
        max_tokens=64,
        messages=[{"role": "user", "content": "stream me please"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "stream me please"
    assert final.content[0].text == "stream me please"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3


def test_anthropic_forced_tool_use_plain_and_streamed(claude: anthropic.Anthropic) -> None:
    tool = {
        "name": "get_weather",
        "description": "Weather",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
    kwargs = {
        "model": "claude-local-test",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "weather in Oslo"}],
        "tools": [tool],
        "tool_choice": {"type": "any"},
    }
    message = claude.messages.create(**kwargs)  # type: ignore[call-overload]
    block = message.content[0]
    assert block.type == "tool_use" and block.input["city"]
    with claude.messages.stream(**kwargs) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    assert final.content[0].input == block.input  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use"


def test_anthropic_sdk_sees_typed_errors(claude: anthropic.Anthropic, gw: LocalGateway) -> None:
    gw.inject_fault("anthropic-prod", Fault(status=503, times=1))
    with pytest.raises(anthropic.InternalServerError):
        claude.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
