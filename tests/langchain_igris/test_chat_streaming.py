"""ChatIgris streaming without a gateway: text, usage once, callbacks, stream options, errors,
and streamed tool calls in every provider shape igris_core's accumulator normalises."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.messages import AIMessageChunk, BaseMessageChunk

from igris_core import IgrisRateLimitError, IgrisStreamError
from tests.langchain_igris.helpers import (
    USAGE,
    Recorder,
    chunk,
    either,
    make_chat,
    sse_reply,
    text_stream_chunks,
)


def _merge(chunks: list[BaseMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for piece in chunks[1:]:
        full = full + piece
    assert isinstance(full, AIMessageChunk)
    return full


def test_text_stream_and_usage_once() -> None:
    llm = make_chat(Recorder(sse_reply(text_stream_chunks("Hello", " there", "!"))))
    chunks = list(llm.stream("hi"))
    assert [c.content for c in chunks] == ["Hello", " there", "!", ""]
    assert [c.usage_metadata is not None for c in chunks] == [False, False, False, True]
    last = chunks[-1]
    assert last.chunk_position == "last"
    full = _merge(chunks)  # type: ignore[arg-type]
    assert full.content == "Hello there!"
    assert full.usage_metadata == {
        "input_tokens": 10,
        "output_tokens": 3,
        "total_tokens": 13,
        "input_token_details": {"cache_read": 4},
        "output_token_details": {"reasoning": 1},
    }
    meta = full.response_metadata
    assert meta["finish_reason"] == "stop"
    assert meta["model_name"] == "@openai-prod/gpt-4o-2024-08-06"
    assert meta["model_provider"] == "igris"
    assert meta["system_fingerprint"] == "fp_test"
    assert meta["igris_request_id"] == "req_stream"


def test_usage_on_every_chunk_is_reported_once() -> None:
    # Some providers send the cumulative usage on every chunk: the last figures, never a sum.
    events = [
        chunk("a", usage={"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}),
        chunk("b", usage={"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}),
        chunk(
            "c",
            finish_reason="stop",
            usage={"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
        ),
    ]
    full = _merge(list(make_chat(Recorder(sse_reply(events))).stream("hi")))  # type: ignore[arg-type]
    assert full.content == "abc"
    assert full.usage_metadata == {"input_tokens": 10, "output_tokens": 3, "total_tokens": 13}
    assert full.response_metadata["finish_reason"] == "stop"


def test_odd_but_valid_streams() -> None:
    events = [
        chunk(None, role="assistant"),  # content: null
        chunk(no_choices=True),  # empty choices mid-stream
        chunk("Hi", reasoning="Let me think."),  # reasoning in `reasoning`
        chunk(" you", finish_reason="stop"),  # finish_reason beside content
        chunk(no_choices=True, usage=USAGE),
    ]
    full = _merge(list(make_chat(Recorder(sse_reply(events))).stream("hi")))  # type: ignore[arg-type]
    assert full.content == "Hi you"
    assert full.additional_kwargs["reasoning_content"] == "Let me think."
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.content_blocks[0] == {"type": "reasoning", "reasoning": "Let me think."}


def test_v1_output_stream() -> None:
    events = [chunk("", reasoning_content="Hmm."), *text_stream_chunks("Hello", " world")]
    chunks = list(make_chat(Recorder(sse_reply(events)), output_version="v1").stream("hi"))
    full = _merge(chunks)  # type: ignore[arg-type]
    assert [b["type"] for b in full.content_blocks] == ["reasoning", "text"]
    assert next(b for b in full.content_blocks if b["type"] == "text")["text"] == "Hello world"
    assert full.response_metadata["output_version"] == "v1"


def test_stream_usage_options() -> None:
    recorder = Recorder(sse_reply(text_stream_chunks("a", usage=None)))
    list(make_chat(recorder).stream("hi"))
    assert recorder.body["stream"] is True
    assert recorder.body["stream_options"] == {"include_usage": True}
    list(make_chat(recorder, stream_usage=False).stream("hi"))
    assert recorder.body["stream_options"] == {"include_usage": False}
    list(make_chat(recorder, stream_usage=False).stream("hi", stream_usage=True))
    assert recorder.body["stream_options"] == {"include_usage": True}
    llm = make_chat(recorder, model_kwargs={"stream_options": {"include_usage": False}})
    list(llm.stream("hi"))
    assert recorder.body["stream_options"] == {"include_usage": False}
    assert "stream_usage" not in recorder.body


def test_streaming_invoke_and_callbacks() -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    recorder = Recorder(either("Hello", " there"))
    handler = Tokens()
    message = make_chat(recorder, streaming=True).invoke("hi", config={"callbacks": [handler]})
    assert recorder.body["stream"] is True
    assert message.content == "Hello there"
    assert message.usage_metadata is not None and message.usage_metadata["total_tokens"] == 13
    assert message.response_metadata["finish_reason"] == "stop"
    assert handler.tokens == ["Hello", " there", ""]
    # the same through stream()
    handler = Tokens()
    list(make_chat(recorder).stream("hi", config={"callbacks": [handler]}))
    assert handler.tokens == ["Hello", " there", ""]


async def test_async_stream_and_callbacks() -> None:
    class Tokens(AsyncCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        async def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
            self.tokens.append(token)

    recorder = Recorder(either("Hel", "lo"))
    handler = Tokens()
    chunks = [c async for c in make_chat(recorder).astream("hi", config={"callbacks": [handler]})]
    assert _merge(chunks).content == "Hello"  # type: ignore[arg-type]
    assert handler.tokens == ["Hel", "lo", ""]
    message = await make_chat(recorder, streaming=True).ainvoke("hi")
    assert message.content == "Hello"
    assert message.usage_metadata is not None


def test_disable_streaming_uses_invoke() -> None:
    recorder = Recorder(either("whole"))
    chunks = list(make_chat(recorder, disable_streaming=True).stream("hi"))
    assert [c.content for c in chunks] == ["whole"]
    assert "stream" not in recorder.body


def test_mid_stream_error_is_typed() -> None:
    events: list[Any] = [
        chunk("partial"),
        {"error": {"message": "rate limited upstream", "type": "rate_limit_error", "code": "429"}},
    ]
    llm = make_chat(Recorder(sse_reply(events)))
    with pytest.raises(IgrisRateLimitError):
        list(llm.stream("hi"))


def test_stream_cut_short_is_an_error() -> None:
    llm = make_chat(Recorder(sse_reply([chunk("partial")], done=False)))
    with pytest.raises(IgrisStreamError):
        list(llm.stream("hi"))


# --- streamed tool calls in every provider shape ------------------------------------------------

_ARGS_1 = '{"city": "Paris"}'
_ARGS_2 = '{"city": "Tokyo", "days": 2}'
_EXPECTED_TWO = [
    {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_a", "type": "tool_call"},
    {
        "name": "get_forecast",
        "args": {"city": "Tokyo", "days": 2},
        "id": "call_b",
        "type": "tool_call",
    },
]


def _tc(**fields: Any) -> dict[str, Any]:
    return fields


def _fn(name: str | None = None, arguments: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name is not None:
        out["name"] = name
    if arguments is not None:
        out["arguments"] = arguments
    return out


def _split(text: str) -> list[str]:
    return [text[: len(text) // 2], text[len(text) // 2 :]]


def _openai_shape() -> list[dict[str, Any]]:
    events = [chunk(None, role="assistant")]
    for index, (call_id, name, args) in enumerate(
        [("call_a", "get_weather", _ARGS_1), ("call_b", "get_forecast", _ARGS_2)]
    ):
        events.append(
            chunk(
                tool_calls=[_tc(index=index, id=call_id, type="function", function=_fn(name, ""))]
            )
        )
        events += [
            chunk(tool_calls=[_tc(index=index, function=_fn(arguments=p))]) for p in _split(args)
        ]
    return events


def _no_index() -> list[dict[str, Any]]:
    events = []
    for call_id, name, args in [
        ("call_a", "get_weather", _ARGS_1),
        ("call_b", "get_forecast", _ARGS_2),
    ]:
        events.append(chunk(tool_calls=[_tc(id=call_id, type="function", function=_fn(name, ""))]))
        events += [chunk(tool_calls=[_tc(function=_fn(arguments=p))]) for p in _split(args)]
    return events


def _string_index() -> list[dict[str, Any]]:
    events = _openai_shape()
    for event in events:
        for choice in event["choices"]:
            for call in choice["delta"].get("tool_calls", []):
                call["index"] = str(call["index"])
    return events


def _repeated_id() -> list[dict[str, Any]]:
    events = []
    for index, (call_id, name, args) in enumerate(
        [("call_a", "get_weather", _ARGS_1), ("call_b", "get_forecast", _ARGS_2)]
    ):
        events += [
            chunk(tool_calls=[_tc(index=index, id=call_id, type="function", function=_fn(name, p))])
            for p in _split(args)
        ]
    return events


def _interleaved() -> list[dict[str, Any]]:
    a, b = _split(_ARGS_1), _split(_ARGS_2)
    return [
        chunk(
            tool_calls=[_tc(index=0, id="call_a", type="function", function=_fn("get_weather", ""))]
        ),
        chunk(
            tool_calls=[
                _tc(index=1, id="call_b", type="function", function=_fn("get_forecast", ""))
            ]
        ),
        chunk(tool_calls=[_tc(index=0, function=_fn(arguments=a[0]))]),
        chunk(tool_calls=[_tc(index=1, function=_fn(arguments=b[0]))]),
        chunk(tool_calls=[_tc(index=0, function=_fn(arguments=a[1]))]),
        chunk(tool_calls=[_tc(index=1, function=_fn(arguments=b[1]))]),
    ]


def _object_arguments() -> list[dict[str, Any]]:
    return [
        chunk(
            tool_calls=[
                _tc(
                    index=0,
                    id="call_a",
                    type="function",
                    function=_fn("get_weather", {"city": "Paris"}),
                )
            ]
        ),
        chunk(
            tool_calls=[
                _tc(
                    index=1,
                    id="call_b",
                    type="function",
                    function=_fn("get_forecast", {"city": "Tokyo", "days": 2}),
                )
            ]
        ),
    ]


def _no_function_then_function() -> list[dict[str, Any]]:
    events = []
    for index, (call_id, name, args) in enumerate(
        [("call_a", "get_weather", _ARGS_1), ("call_b", "get_forecast", _ARGS_2)]
    ):
        events.append(chunk(tool_calls=[_tc(index=index, id=call_id, type="function")]))
        events.append(chunk(tool_calls=[_tc(index=index, function=_fn(name, args))]))
    return events


def _same_index_new_ids() -> list[dict[str, Any]]:
    # Some providers send index 0 for every parallel call: a new id is a new call.
    return [
        chunk(
            tool_calls=[
                _tc(index=0, id="call_a", type="function", function=_fn("get_weather", _ARGS_1))
            ]
        ),
        chunk(
            tool_calls=[
                _tc(index=0, id="call_b", type="function", function=_fn("get_forecast", _ARGS_2))
            ]
        ),
    ]


SHAPES = {
    "openai": _openai_shape,
    "no_index": _no_index,
    "string_index": _string_index,
    "repeated_id": _repeated_id,
    "interleaved": _interleaved,
    "object_arguments": _object_arguments,
    "no_function": _no_function_then_function,
    "same_index_new_ids": _same_index_new_ids,
}


def _tool_stream(shape: str) -> list[dict[str, Any]]:
    return [
        *SHAPES[shape](),
        chunk(finish_reason="tool_calls"),
        chunk(no_choices=True, usage=USAGE),
    ]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_streamed_tool_calls_merge(shape: str) -> None:
    llm = make_chat(Recorder(sse_reply(_tool_stream(shape))))
    chunks = list(llm.stream("weather?"))
    for c in chunks:
        assert isinstance(c, AIMessageChunk)
        for piece in c.tool_call_chunks:
            assert isinstance(piece["index"], int)
            assert piece["args"] is None or isinstance(piece["args"], str)
    ids = [p["id"] for c in chunks for p in c.tool_call_chunks if p["id"]]  # type: ignore[union-attr]
    assert ids == ["call_a", "call_b"]  # each id once, on its call's first piece
    full = _merge(chunks)  # type: ignore[arg-type]
    assert full.tool_calls == _EXPECTED_TWO
    assert full.invalid_tool_calls == []
    assert full.response_metadata["finish_reason"] == "tool_calls"
    assert full.usage_metadata is not None


@pytest.mark.parametrize("shape", ["openai", "interleaved", "no_index"])
def test_streamed_tool_calls_v1(shape: str) -> None:
    llm = make_chat(Recorder(sse_reply(_tool_stream(shape))), output_version="v1")
    full = _merge(list(llm.stream("weather?")))  # type: ignore[arg-type]
    calls = [b for b in full.content_blocks if b["type"] == "tool_call"]
    assert [(c["name"], c["args"]) for c in calls] == [  # type: ignore[typeddict-item]
        ("get_weather", {"city": "Paris"}),
        ("get_forecast", {"city": "Tokyo", "days": 2}),
    ]


async def test_async_streamed_tool_calls() -> None:
    llm = make_chat(Recorder(sse_reply(_tool_stream("interleaved"))))
    chunks = [c async for c in llm.astream("weather?")]
    assert _merge(chunks).tool_calls == _EXPECTED_TWO  # type: ignore[arg-type]


def test_streamed_invalid_arguments() -> None:
    events = [
        chunk(
            tool_calls=[
                _tc(index=0, id="call_a", type="function", function=_fn("get_weather", "not json"))
            ]
        ),
        chunk(finish_reason="tool_calls"),
    ]
    full = _merge(list(make_chat(Recorder(sse_reply(events))).stream("x")))  # type: ignore[arg-type]
    assert full.tool_calls == []
    assert [(c["name"], c["args"], c["id"]) for c in full.invalid_tool_calls] == [
        ("get_weather", "not json", "call_a")
    ]
    message = make_chat(Recorder(sse_reply(events)), streaming=True).invoke("x")
    assert [c["name"] for c in message.invalid_tool_calls] == ["get_weather"]


def test_streamed_logprobs() -> None:
    def lp(token: str) -> dict[str, Any]:
        return {"content": [{"token": token, "logprob": -0.5, "top_logprobs": []}]}

    events = [chunk("Hi"), chunk(finish_reason="stop")]
    events[0]["choices"][0]["logprobs"] = lp("Hi")
    second = chunk(" there")
    second["choices"][0]["logprobs"] = lp(" there")
    events.insert(1, second)
    recorder = Recorder(sse_reply(events))
    full = _merge(list(make_chat(recorder, logprobs=True).stream("hi")))
    assert recorder.body["logprobs"] is True
    assert [t["token"] for t in full.response_metadata["logprobs"]["content"]] == ["Hi", " there"]


def test_tool_calls_without_ids_get_one() -> None:
    events = [
        chunk(tool_calls=[_tc(type="function", function=_fn("get_weather", '{"city": '))]),
        chunk(tool_calls=[_tc(function=_fn(arguments='"Paris"}'))]),
        chunk(tool_calls=[_tc(index=1, type="function", function=_fn("get_forecast", "{}"))]),
        chunk(finish_reason="tool_calls"),
    ]
    full = _merge(list(make_chat(Recorder(sse_reply(events))).stream("x")))
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_forecast", {}),
    ]
    ids = [c["id"] for c in full.tool_calls]
    assert all(isinstance(i, str) and i.startswith("call_") for i in ids)
    assert len(set(ids)) == 2
