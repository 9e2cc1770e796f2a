"""LlamaIndex messages, tools and answers <-> the wire format (no I/O)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ChatResponse,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.tools import FunctionTool

from igris_core._accumulator import StreamAccumulator
from igris_core.types._chat import ChatCompletionChunk, ChatCompletionResponse, ToolCall
from llama_index_igris._convert import (
    ChatStreamConverter,
    chat_response,
    force_single_tool_call,
    resolve_tool_choice,
    to_wire_message,
    to_wire_tools,
    tool_selections,
)
from tests.llama_index_igris.helpers import chat_body, chunk

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def test_plain_text_message() -> None:
    assert to_wire_message(ChatMessage(role="user", content="Hi")) == {
        "role": "user",
        "content": "Hi",
    }
    assert to_wire_message(ChatMessage(role="system", content="Be brief.")) == {
        "role": "system",
        "content": "Be brief.",
    }


def test_chatbot_and_model_roles_are_assistant() -> None:
    assert (
        to_wire_message(ChatMessage(role=MessageRole.CHATBOT, content="x"))["role"] == "assistant"
    )
    assert to_wire_message(ChatMessage(role=MessageRole.MODEL, content="x"))["role"] == "assistant"


def test_image_by_url_becomes_image_url_part() -> None:
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="What is this?"),
            ImageBlock(url="https://example.com/cat.png", detail="low"),
        ],
    )
    assert to_wire_message(message) == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {
                "type": "image_url",
                "image_url": {"url": "https://example.com/cat.png", "detail": "low"},
            },
        ],
    }


def test_image_by_path_and_by_bytes_become_data_urls(tmp_path: Path) -> None:
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG)
    expected = "data:image/png;base64," + base64.b64encode(PNG).decode()
    for block in (
        ImageBlock(path=path),
        ImageBlock(image=PNG),
        ImageBlock(image=base64.b64encode(PNG)),
    ):
        wire = to_wire_message(ChatMessage(role="user", blocks=[TextBlock(text="see"), block]))
        assert wire["content"][1] == {"type": "image_url", "image_url": {"url": expected}}


def test_image_without_known_type_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "pixel"  # no suffix: the type comes from the bytes
    path.write_bytes(PNG)
    wire = to_wire_message(ChatMessage(role="user", blocks=[ImageBlock(path=path)]))
    assert wire["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_assistant_tool_calls_and_tool_results() -> None:
    assistant = ChatMessage(
        role="assistant",
        blocks=[
            ThinkingBlock(content="let me think"),
            ToolCallBlock(
                tool_call_id="call_1", tool_name="multiply", tool_kwargs={"a": 2, "b": 3}
            ),
            ToolCallBlock(
                tool_call_id="call_2", tool_name="multiply", tool_kwargs='{"a": 4, "b": 5}'
            ),
        ],
    )
    assert to_wire_message(assistant) == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "multiply", "arguments": '{"a": 2, "b": 3}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "multiply", "arguments": '{"a": 4, "b": 5}'},
            },
        ],
    }
    result = ChatMessage(role="tool", content="6", additional_kwargs={"tool_call_id": "call_1"})
    assert to_wire_message(result) == {"role": "tool", "content": "6", "tool_call_id": "call_1"}


def test_legacy_tool_calls_in_additional_kwargs() -> None:
    call = ToolCall(id="call_9", function={"name": "f", "arguments": "{}"})  # type: ignore[arg-type]
    message = ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [call]})
    wire = to_wire_message(message)
    assert wire["content"] is None
    assert wire["tool_calls"] == [
        {"id": "call_9", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    ]


def test_unsupported_block_is_a_clear_error() -> None:
    message = ChatMessage(role="user", blocks=[VideoBlock(url="https://example.com/v.mp4")])
    with pytest.raises(ValueError, match="unsupported content block VideoBlock"):
        to_wire_message(message)


def test_tools_and_strict() -> None:
    tool = FunctionTool.from_defaults(multiply)
    (spec,) = to_wire_tools([tool], strict=False)
    assert spec["type"] == "function"
    assert spec["function"]["name"] == "multiply"
    assert "strict" not in spec["function"]
    assert set(spec["function"]["parameters"]["properties"]) == {"a", "b"}
    (strict,) = to_wire_tools([tool], strict=True)
    assert strict["function"]["strict"] is True
    assert strict["function"]["parameters"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("choice", "required", "expected"),
    [
        (None, False, "auto"),
        (None, True, "required"),
        ("none", False, "none"),
        ("multiply", False, {"type": "function", "function": {"name": "multiply"}}),
        (
            {"type": "function", "function": {"name": "x"}},
            True,
            {"type": "function", "function": {"name": "x"}},
        ),
    ],
)
def test_tool_choice(choice: object, required: bool, expected: object) -> None:
    assert resolve_tool_choice(choice, required) == expected  # type: ignore[arg-type]


def test_answer_with_reasoning_tool_calls_usage_and_request_id() -> None:
    body = chat_body(
        "",
        reasoning_content="thinking...",
        tool_calls=[
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "multiply", "arguments": '{"a": 6, "b": 7}'},
            }
        ],
    )
    wire = ChatCompletionResponse.model_validate(body)
    wire._igris_request_id = "req_42"
    response = chat_response(wire)
    blocks = response.message.blocks
    assert isinstance(blocks[0], ThinkingBlock) and blocks[0].content == "thinking..."
    assert isinstance(blocks[1], ToolCallBlock) and blocks[1].tool_name == "multiply"
    assert response.message.content is None
    assert response.raw is wire
    assert response.additional_kwargs == {
        "prompt_tokens": 11,
        "completion_tokens": 7,
        "total_tokens": 18,
        "igris_request_id": "req_42",
    }
    (selection,) = tool_selections(response, error_on_no_tool_call=True)
    assert (selection.tool_id, selection.tool_name, selection.tool_kwargs) == (
        "call_1",
        "multiply",
        {"a": 6, "b": 7},
    )
    # The message goes back on the wire as the model sent it.
    assert (
        to_wire_message(response.message)["tool_calls"][0]["function"]["arguments"]
        == '{"a": 6, "b": 7}'
    )
    # and it survives LlamaIndex's own serialisation (memory, chat stores)
    restored = ChatMessage.model_validate_json(response.message.model_dump_json())
    assert restored.blocks[1] == blocks[1]


def test_logprobs() -> None:
    body = chat_body("Hi")
    body["choices"][0]["logprobs"] = {
        "content": [
            {
                "token": "Hi",
                "logprob": -0.1,
                "top_logprobs": [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105]}],
            }
        ]
    }
    response = chat_response(ChatCompletionResponse.model_validate(body))
    assert response.logprobs is not None
    assert response.logprobs[0][0].token == "Hi"
    assert response.logprobs[0][0].bytes == [72, 105]


def test_no_tool_calls() -> None:
    response = chat_response(ChatCompletionResponse.model_validate(chat_body("plain")))
    assert tool_selections(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="at least one tool call"):
        tool_selections(response, error_on_no_tool_call=True)


def test_bad_or_partial_arguments() -> None:
    message = ChatMessage(
        role="assistant",
        blocks=[
            ToolCallBlock(tool_call_id="a", tool_name="f", tool_kwargs='{"x": 1, "y": "te'),
            ToolCallBlock(tool_call_id="b", tool_name="g", tool_kwargs="not json"),
            ToolCallBlock(tool_call_id="c", tool_name="h", tool_kwargs=""),
        ],
    )
    selections = tool_selections(ChatResponse(message=message), error_on_no_tool_call=True)
    assert selections[0].tool_kwargs["x"] == 1  # parsed as far as LlamaIndex's partial parser goes
    assert selections[1].tool_kwargs == {}
    assert selections[2].tool_kwargs == {}


def test_force_single_tool_call() -> None:
    body = chat_body(
        None,
        tool_calls=[
            {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "2", "type": "function", "function": {"name": "g", "arguments": "{}"}},
        ],
    )
    response = chat_response(ChatCompletionResponse.model_validate(body))
    force_single_tool_call(response)
    assert [s.tool_name for s in tool_selections(response, True)] == ["f"]
    assert len(response.message.additional_kwargs["tool_calls"]) == 1


def _feed(raw_chunks: list[dict[str, object]]) -> list[ChatResponse]:
    acc = StreamAccumulator()
    converter = ChatStreamConverter(acc, "req_s")
    out = []
    for raw in raw_chunks:
        response = converter.feed(acc.add(ChatCompletionChunk.model_validate(raw)))
        if response is not None:
            out.append(response)
    return out


def test_stream_text_reasoning_and_usage() -> None:
    responses = _feed(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"reasoning": "hmm"}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo"}),
            chunk({}, finish="stop"),
            chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}),
        ]
    )
    assert [r.delta for r in responses] == ["", "Hel", "lo", ""]  # bare role/finish chunks skipped
    assert responses[0].additional_kwargs["thinking_delta"] == "hmm"
    assert responses[-1].message.content == "Hello"
    assert isinstance(responses[-1].message.blocks[0], ThinkingBlock)
    assert responses[-1].additional_kwargs == {
        "prompt_tokens": 3,
        "completion_tokens": 2,
        "total_tokens": 5,
        "igris_request_id": "req_s",
    }
    assert responses[1].additional_kwargs == {"igris_request_id": "req_s"}


def test_stream_tool_calls_in_provider_variations() -> None:
    """Calls without index, with the id repeated on every delta, arguments as an object, two
    parallel calls both at index 0: the core's accumulator sorts them out."""
    responses = _feed(
        [
            chunk(
                {
                    "tool_calls": [
                        {
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "multiply", "arguments": ""},
                        }
                    ]
                }
            ),
            chunk({"tool_calls": [{"id": "call_a", "function": {"arguments": '{"a": 2,'}}]}),
            chunk({"tool_calls": [{"id": "call_a", "function": {"arguments": ' "b": 3}'}}]}),
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_b",
                            "function": {"name": "add", "arguments": {"x": 1}},
                        }
                    ]
                }
            ),
            chunk({}, finish="tool_calls"),
        ]
    )
    partial = tool_selections(responses[1], error_on_no_tool_call=True)
    assert partial[0].tool_kwargs == {"a": 2}
    final = tool_selections(responses[-1], error_on_no_tool_call=True)
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in final] == [
        ("call_a", "multiply", {"a": 2, "b": 3}),
        ("call_b", "add", {"x": 1}),
    ]
    assert json.loads(
        to_wire_message(responses[-1].message)["tool_calls"][1]["function"]["arguments"]
    ) == {"x": 1}


def test_document_and_audio_parts() -> None:
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="read this"),
            DocumentBlock(data=b"%PDF-1.4 hello", title="a.pdf"),
            AudioBlock(audio=b"RIFF0000WAVEfmt ", format="wav"),
        ],
    )
    parts = to_wire_message(message)["content"]
    assert parts[1] == {
        "type": "file",
        "file": {
            "file_data": "data:application/pdf;base64,"
            + base64.b64encode(b"%PDF-1.4 hello").decode(),
            "filename": "a.pdf",
        },
    }
    assert parts[2]["type"] == "input_audio" and parts[2]["input_audio"]["format"] == "wav"
    assert base64.b64decode(parts[2]["input_audio"]["data"]) == b"RIFF0000WAVEfmt "
