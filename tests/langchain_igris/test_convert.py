"""Messages to the wire: plain, named, tool calls, v1 content blocks, multimodal inputs in
LangChain's standard blocks and in OpenAI's own format (both must give the same wire message)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_igris._convert import messages_to_wire
from tests.langchain_igris.helpers import Recorder, make_chat

B64 = "iVBORw0KGgo="


def test_plain_messages() -> None:
    assert messages_to_wire(
        [
            SystemMessage("sys"),
            HumanMessage("hi", name="alice"),
            AIMessage("hello"),
            SystemMessage("dev", additional_kwargs={"__openai_role__": "developer"}),
            ChatMessage(content="custom", role="critic"),
            FunctionMessage(content="42", name="calc"),
        ]
    ) == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi", "name": "alice"},
        {"role": "assistant", "content": "hello"},
        {"role": "developer", "content": "dev"},
        {"role": "critic", "content": "custom"},
        {"role": "function", "content": "42", "name": "calc"},
    ]


def test_tool_round_trip_messages() -> None:
    call = {"name": "add", "args": {"a": 1}, "id": "call_1", "type": "tool_call"}
    bad = {
        "name": "add",
        "args": "{oops",
        "id": "call_2",
        "error": "bad",
        "type": "invalid_tool_call",
    }
    wire = messages_to_wire(
        [
            AIMessage("", tool_calls=[call], invalid_tool_calls=[bad]),  # type: ignore[list-item]
            ToolMessage("3", tool_call_id="call_1", name="add", status="error"),
        ]
    )
    assert wire == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "type": "function",
                    "id": "call_1",
                    "function": {"name": "add", "arguments": '{"a": 1}'},
                },
                {
                    "type": "function",
                    "id": "call_2",
                    "function": {"name": "add", "arguments": "{oops"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "3"},
    ]


def test_v1_assistant_content_is_made_chat_completions() -> None:
    message = AIMessage(
        content_blocks=[
            {"type": "reasoning", "reasoning": "hmm"},
            {"type": "text", "text": "Sure.", "annotations": [{"type": "citation", "url": "x"}]},
            {"type": "tool_call", "name": "add", "args": {"a": 1}, "id": "call_1"},
        ]
    )
    assert messages_to_wire([message]) == [
        {
            "role": "assistant",
            "content": "Sure.",
            "tool_calls": [
                {
                    "type": "function",
                    "id": "call_1",
                    "function": {"name": "add", "arguments": '{"a": 1}'},
                }
            ],
        }
    ]


def test_anthropic_style_assistant_content() -> None:
    message = AIMessage(
        [
            {"type": "text", "text": "some text"},
            {"type": "tool_use", "id": "abc", "name": "add", "input": {"a": 1}},
        ],
        tool_calls=[{"name": "add", "args": {"a": 1}, "id": "abc", "type": "tool_call"}],
    )
    (wire,) = messages_to_wire([message])
    assert wire["content"] == "some text"
    assert [c["id"] for c in wire["tool_calls"]] == ["abc"]


# Each case: the same input in LangChain's standard (v1) block and in OpenAI's own format.
MULTIMODAL: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "image_url": (
        {"type": "image", "url": "https://example.com/cat.png"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ),
    "image_base64": (
        {"type": "image", "base64": B64, "mime_type": "image/png"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64}"}},
    ),
    "pdf": (
        {"type": "file", "base64": B64, "mime_type": "application/pdf", "filename": "a.pdf"},
        {
            "type": "file",
            "file": {"filename": "a.pdf", "file_data": f"data:application/pdf;base64,{B64}"},
        },
    ),
    "audio": (
        {"type": "audio", "base64": B64, "mime_type": "audio/wav"},
        {"type": "input_audio", "input_audio": {"data": B64, "format": "wav"}},
    ),
}


@pytest.mark.parametrize("kind", sorted(MULTIMODAL))
def test_multimodal_inputs_both_formats(kind: str) -> None:
    standard, openai_format = MULTIMODAL[kind]
    text = {"type": "text", "text": "Describe this."}
    from_standard = messages_to_wire([HumanMessage(content=[text, standard])])
    from_openai = messages_to_wire([HumanMessage(content=[text, openai_format])])
    assert from_standard == from_openai == [{"role": "user", "content": [text, openai_format]}]


def test_v0_and_anthropic_image_blocks() -> None:
    v0 = {"type": "image", "source_type": "base64", "data": B64, "mime_type": "image/png"}
    anthropic = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": B64},
    }
    expected = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64}"}}
    for block in (v0, anthropic):
        assert messages_to_wire([HumanMessage(content=[block])])[0]["content"] == [expected]


def test_pdf_without_filename_gets_a_placeholder() -> None:
    block = {"type": "file", "base64": B64, "mime_type": "application/pdf"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (wire,) = messages_to_wire([HumanMessage(content=[block])])
    assert wire["content"][0]["file"]["filename"]


def test_tool_message_with_list_content() -> None:
    text_only = ToolMessage(
        [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], tool_call_id="1"
    )
    assert messages_to_wire([text_only]) == [
        {"role": "tool", "tool_call_id": "1", "content": "a\nb"}
    ]
    image = ToolMessage(
        [{"type": "image", "base64": B64, "mime_type": "image/png"}], tool_call_id="1"
    )
    assert messages_to_wire([image])[0]["content"] == [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64}"}}
    ]


def test_conversion_on_the_wire() -> None:
    recorder = Recorder()
    make_chat(recorder).invoke(
        [("system", "s"), ("human", [{"type": "text", "text": "t"}, MULTIMODAL["audio"][0]])]
    )
    assert recorder.body["messages"] == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": [{"type": "text", "text": "t"}, MULTIMODAL["audio"][1]]},
    ]
