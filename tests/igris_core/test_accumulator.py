"""The stream accumulator against what providers behind the gateway really send."""

from __future__ import annotations

import json
from typing import Any

import pytest

from igris_core import ChatCompletionChunk, StreamAccumulator


def run(*chunks: dict[str, Any]) -> tuple[StreamAccumulator, list[ChatCompletionChunk]]:
    acc = StreamAccumulator()
    out = [acc.add(ChatCompletionChunk.model_validate(c)) for c in chunks]
    return acc, out


def tc(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"tool_calls": [fields]}}]}


def calls(acc: StreamAccumulator) -> list[tuple[str, str, Any]]:
    return [(c.id, c.function.name, json.loads(c.function.arguments)) for c in acc.tool_calls()]


def emitted(out: list[ChatCompletionChunk]) -> list[dict[str, Any]]:
    return [
        t.model_dump(exclude_none=True)
        for c in out
        for ch in c.choices
        for t in ch.delta.tool_calls or []
    ]


def test_openai_shape() -> None:
    acc, out = run(
        tc(index=0, id="call_a", type="function", function={"name": "f", "arguments": ""}),
        tc(index=0, function={"arguments": '{"x":'}),
        tc(index=0, function={"arguments": " 1}"}),
    )
    assert calls(acc) == [("call_a", "f", {"x": 1})]
    assert emitted(out)[0] == {
        "index": 0,
        "id": "call_a",
        "type": "function",
        "function": {"name": "f", "arguments": ""},
    }
    assert emitted(out)[1] == {"index": 0, "function": {"arguments": '{"x":'}}


def test_deltas_without_index() -> None:
    acc, out = run(
        tc(id="call_a", type="function", function={"name": "f", "arguments": '{"x"'}),
        tc(function={"arguments": ": 1}"}),
        tc(id="call_b", type="function", function={"name": "g", "arguments": "{}"}),
    )
    assert calls(acc) == [("call_a", "f", {"x": 1}), ("call_b", "g", {})]
    assert [e["index"] for e in emitted(out)] == [0, 0, 1]


def test_index_as_string() -> None:
    acc, out = run(
        tc(index="0", id="a", function={"name": "f", "arguments": "{"}),
        tc(index="0", function={"arguments": "}"}),
        tc(index="1", id="b", function={"name": "g", "arguments": "{}"}),
    )
    assert calls(acc) == [("a", "f", {}), ("b", "g", {})]
    assert all(isinstance(e["index"], int) for e in emitted(out))


def test_delta_without_function() -> None:
    acc, out = run(
        tc(index=0, id="a", type="function"),
        tc(index=0, function={"name": "f"}),
        tc(index=0, function={"arguments": '{"q": "x"}'}),
    )
    assert calls(acc) == [("a", "f", {"q": "x"})]
    assert [e.get("id") for e in emitted(out)] == ["a", None, None]


def test_arguments_whole_or_as_object() -> None:
    acc, _ = run(tc(index=0, id="a", function={"name": "f", "arguments": '{"x": 1, "y": [2]}'}))
    assert calls(acc) == [("a", "f", {"x": 1, "y": [2]})]
    acc2, out2 = run(tc(index=0, id="a", function={"name": "f", "arguments": {"city": "Zürich"}}))
    assert calls(acc2) == [("a", "f", {"city": "Zürich"})]
    assert isinstance(emitted(out2)[0]["function"]["arguments"], str)


def test_same_id_and_name_repeated_on_every_delta() -> None:
    acc, out = run(
        tc(index=0, id="a", type="function", function={"name": "f", "arguments": '{"x":'}),
        tc(index=0, id="a", type="function", function={"name": "f", "arguments": "1"}),
        tc(index=0, id="a", type="function", function={"name": "f", "arguments": "}"}),
    )
    assert calls(acc) == [("a", "f", {"x": 1})]
    em = emitted(out)
    assert [e.get("id") for e in em] == ["a", None, None]
    assert [e["function"].get("name") for e in em] == ["f", None, None]


def test_same_id_repeated_without_index() -> None:
    acc, _ = run(
        tc(id="a", function={"name": "f", "arguments": '{"x":'}),
        tc(id="a", function={"name": "f", "arguments": "1}"}),
        tc(id="b", function={"name": "g", "arguments": "{}"}),
        tc(id="b", function={"name": "g", "arguments": ""}),
    )
    assert calls(acc) == [("a", "f", {"x": 1}), ("b", "g", {})]


def test_interleaved_calls() -> None:
    acc, out = run(
        tc(index=0, id="a", function={"name": "f", "arguments": '{"x":'}),
        tc(index=1, id="b", function={"name": "g", "arguments": '{"y":'}),
        tc(index=0, function={"arguments": " 1}"}),
        tc(index=1, function={"arguments": " 2}"}),
    )
    assert calls(acc) == [("a", "f", {"x": 1}), ("b", "g", {"y": 2})]
    assert [e["index"] for e in emitted(out)] == [0, 1, 0, 1]


def test_interleaved_by_id_only() -> None:
    acc, _ = run(
        tc(id="a", function={"name": "f", "arguments": '{"x":'}),
        tc(id="b", function={"name": "g", "arguments": '{"y":'}),
        tc(id="a", function={"arguments": " 1}"}),
        tc(id="b", function={"arguments": " 2}"}),
    )
    assert calls(acc) == [("a", "f", {"x": 1}), ("b", "g", {"y": 2})]


def test_every_parallel_call_at_index_zero() -> None:
    acc, out = run(
        tc(index=0, id="a", function={"name": "f", "arguments": "{}"}),
        tc(index=0, id="b", function={"name": "g", "arguments": '{"z": 3}'}),
    )
    assert calls(acc) == [("a", "f", {}), ("b", "g", {"z": 3})]
    assert [e["index"] for e in emitted(out)] == [0, 1]


def test_two_calls_in_one_delta() -> None:
    acc, _ = run(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}},
                            {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}},
                        ]
                    },
                }
            ]
        }
    )
    assert [c[0] for c in calls(acc)] == ["a", "b"]


def test_usage_on_every_chunk_takes_the_last_figures() -> None:
    def u(p: int, c: int) -> dict[str, int]:
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    acc, _ = run(
        {"choices": [{"index": 0, "delta": {"content": "a"}}], "usage": u(5, 1)},
        {"choices": [{"index": 0, "delta": {"content": "b"}}], "usage": u(5, 2)},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": u(5, 3)},
    )
    assert acc.usage is not None
    assert (acc.usage.prompt_tokens, acc.usage.completion_tokens, acc.usage.total_tokens) == (
        5,
        3,
        8,
    )


def test_finish_reason_with_content_empty_choices_and_null_content() -> None:
    acc, _ = run(
        {"choices": []},
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]},
        {"choices": [{"index": 0, "delta": {"content": "Hello"}}]},
        {"choices": []},
        {"choices": [{"index": 0, "delta": {"content": " world"}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}},
    )
    response = acc.response()
    assert response.choices[0].message.content == "Hello world"
    assert response.choices[0].finish_reason == "stop"
    assert response.usage is not None


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_fields(field: str) -> None:
    acc, out = run(
        {"choices": [{"index": 0, "delta": {field: "Let me "}}]},
        {"choices": [{"index": 0, "delta": {field: "think."}}]},
        {"choices": [{"index": 0, "delta": {"content": "42"}}]},
    )
    assert acc.reasoning() == "Let me think."
    assert acc.text() == "42"
    assert out[0].choices[0].delta.reasoning_content == "Let me "
    assert acc.response().choices[0].message.reasoning_content == "Let me think."


def test_multiple_choices_and_logprobs() -> None:
    acc, _ = run(
        {
            "choices": [
                {"index": 0, "delta": {"content": "a"}, "logprobs": {"content": [{"token": "a"}]}},
                {"index": 1, "delta": {"content": "b"}},
            ]
        },
        {"choices": [{"index": 1, "delta": {"content": "c"}, "finish_reason": "length"}]},
    )
    response = acc.response()
    assert [c.message.content for c in response.choices] == ["a", "bc"]
    assert response.choices[1].finish_reason == "length"
    assert response.choices[0].logprobs == {"content": [{"token": "a"}]}


def test_tool_call_message_has_no_empty_text() -> None:
    acc, _ = run(tc(index=0, id="a", function={"name": "f", "arguments": "{}"}))
    message = acc.response().choices[0].message
    assert message.content is None
    assert message.tool_calls is not None
