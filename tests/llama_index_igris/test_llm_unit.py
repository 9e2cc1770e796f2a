"""IgrisLLM against a mock transport: fields, request shape, answers, streams, errors, secrets,
instrumentation, identity headers."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    TextBlock,
    ThinkingBlock,
)
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionStartEvent,
)
from llama_index.core.instrumentation.span_handlers import SimpleSpanHandler
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.tools import FunctionTool
from pydantic import SecretStr

from igris_core import (
    IgrisAuthError,
    IgrisInputError,
    IgrisPolicyDeniedError,
    IgrisRateLimitError,
    IgrisStreamError,
    igris_context,
)
from llama_index_igris import IgrisLLM
from tests.llama_index_igris.helpers import (
    SECRET,
    Recorder,
    answer,
    chat_body,
    chunk,
    sse,
    text_stream,
)

MakeLLM = Callable[..., tuple[IgrisLLM, Recorder]]
USER = [ChatMessage(role="user", content="What is the capital of France?")]


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def ok(_: httpx.Request) -> httpx.Response:
    return answer()


# --- construction ----------------------------------------------------------------------------


def test_is_a_function_calling_llm_with_truthful_metadata() -> None:
    llm = IgrisLLM(
        model="@openai-prod/gpt-4o",
        api_key=SECRET,
        context_window=128000,
        max_tokens=512,
        is_function_calling_model=False,
    )
    assert isinstance(llm, FunctionCallingLLM)
    meta = llm.metadata
    assert (meta.model_name, meta.context_window, meta.num_output) == (
        "@openai-prod/gpt-4o",
        128000,
        512,
    )
    assert meta.is_chat_model is True
    assert meta.is_function_calling_model is False
    assert IgrisLLM(model="@a/b", api_key=SECRET).metadata.is_function_calling_model is False
    assert IgrisLLM(model="@a/b", api_key=SECRET).metadata.num_output == -1
    assert IgrisLLM.class_name() == "IgrisLLM"


@pytest.mark.parametrize(
    "model", ["gpt-4o", "openai-prod/gpt-4o", "@/gpt-4o", "@openai-prod/", "@bad slug/x"]
)
def test_bad_model_is_refused_with_the_expected_form(model: str) -> None:
    with pytest.raises(IgrisInputError, match="@<connection-slug>/<model>"):
        IgrisLLM(model=model, api_key=SECRET)


def test_key_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(IgrisInputError, match="IGRIS_API_KEY"):
        IgrisLLM(model="@openai-prod/gpt-4o")
    monkeypatch.setenv("IGRIS_API_KEY", "ig_env_key")
    monkeypatch.setenv("IGRIS_BASE_URL", "https://env.gw.test/")
    rec = Recorder(ok)
    llm = IgrisLLM(
        model="@openai-prod/gpt-4o", http_client=httpx.Client(transport=httpx.MockTransport(rec))
    )
    llm.chat(USER)
    assert str(rec.requests[0].url) == "https://env.gw.test/llm/openai-prod/v1/chat/completions"
    assert rec.headers["authorization"] == "Bearer ig_env_key"


def test_bad_identity_is_refused_at_construction() -> None:
    with pytest.raises(IgrisInputError, match="control characters"):
        IgrisLLM(model="@openai-prod/gpt-4o", api_key=SECRET, igris_user="alice\r\nX-Evil: 1")
    with pytest.raises(IgrisInputError, match="metadata key"):
        IgrisLLM(model="@openai-prod/gpt-4o", api_key=SECRET, igris_metadata={"bad key": "v"})


# --- the API key never shows -----------------------------------------------------------------


def test_api_key_never_shows(mock_llm: MakeLLM, caplog: pytest.LogCaptureFixture) -> None:
    llm, _ = mock_llm(lambda r: answer({"error": {"message": "bad key", "type": "auth"}}, 401))
    assert SECRET not in repr(llm)
    assert SECRET not in str(llm)
    assert SECRET not in json.dumps(llm.to_dict())
    assert SECRET not in llm.to_json()
    assert SECRET not in llm.model_dump_json()
    assert "api_key" not in llm.to_dict()
    assert SECRET not in json.dumps(llm.to_payload())
    assert llm.api_key is not None and llm.api_key.get_secret_value() == SECRET
    caplog.set_level(logging.DEBUG)
    events = _Events(seen=[])
    get_dispatcher().add_event_handler(events)
    try:
        with pytest.raises(IgrisAuthError) as info:
            llm.chat(USER)
    finally:
        get_dispatcher().event_handlers.remove(events)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert SECRET not in caplog.text
    assert all(SECRET not in e.model_dump_json() for e in events.seen)


def test_pickles_without_its_clients_and_keeps_working(
    mock_llm: MakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm, _ = mock_llm(ok, igris_user="alice", max_tokens=20)
    blob = pickle.dumps(llm)
    assert SECRET not in blob.decode("latin-1")  # pickles carry no key
    monkeypatch.setenv("IGRIS_API_KEY", SECRET)  # where an unpickled model finds its key
    clone = pickle.loads(blob)
    assert (clone.model, clone.igris_user, clone.max_tokens) == (llm.model, "alice", 20)
    assert clone.client.base_url == "https://gw.test"
    assert clone.client.api_key.get_secret_value() == SECRET


def test_serialisation_round_trip_takes_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IGRIS_API_KEY", "ig_other")
    llm = IgrisLLM(
        model="@openai-prod/gpt-4o", api_key=SECRET, temperature=0.3, igris_metadata={"team": "a"}
    )
    clone = IgrisLLM.from_dict(llm.to_dict())
    assert (clone.model, clone.temperature, clone.igris_metadata) == (
        "@openai-prod/gpt-4o",
        0.3,
        {"team": "a"},
    )
    assert clone.api_key is not None and clone.api_key.get_secret_value() == "ig_other"


# --- requests --------------------------------------------------------------------------------


def test_request_body_and_route(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(
        ok, max_tokens=64, temperature=0.2, additional_kwargs={"seed": 7, "top_p": 0.9}
    )
    llm.chat(
        [ChatMessage(role="system", content="Be brief."), *USER],
        top_p=0.5,
        stream_options={"include_usage": True},  # dropped: only valid on streams
    )
    request = rec.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://gw.test/llm/openai-prod/v1/chat/completions"
    assert rec.body == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        "temperature": 0.2,
        "max_tokens": 64,
        "seed": 7,
        "top_p": 0.5,
    }


def test_temperature_none_is_omitted_and_logprobs_asked(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(ok, temperature=None, logprobs=True, top_logprobs=2)
    llm.chat(USER)
    assert "temperature" not in rec.body
    assert (rec.body["logprobs"], rec.body["top_logprobs"]) == (True, 2)


def test_images_reach_the_wire(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(ok)
    llm.chat(
        [
            ChatMessage(
                role="user",
                blocks=[TextBlock(text="What is it?"), ImageBlock(url="https://x.test/a.png")],
            )
        ]
    )
    assert rec.body["messages"][0]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "https://x.test/a.png"},
    }


def test_chat_answer(mock_llm: MakeLLM) -> None:
    llm, _ = mock_llm(lambda r: answer(chat_body("Paris.", reasoning_content="It is Paris.")))
    response = llm.chat(USER)
    assert response.message.role == "assistant"
    assert response.message.content == "Paris."
    assert isinstance(response.message.blocks[0], ThinkingBlock)
    assert response.raw.igris_request_id == "req_test_1"
    assert response.raw.usage.total_tokens == 18
    assert response.additional_kwargs == {
        "prompt_tokens": 11,
        "completion_tokens": 7,
        "total_tokens": 18,
        "igris_request_id": "req_test_1",
    }
    assert str(response) == "assistant: Paris."


def test_complete_is_one_user_message(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(ok, completion_to_prompt=lambda p: f"Q: {p}")
    result = llm.complete("capital?")
    assert rec.body["messages"] == [{"role": "user", "content": "Q: capital?"}]
    assert result.text == "Hello!"
    assert result.additional_kwargs["total_tokens"] == 18
    assert result.raw.igris_request_id == "req_test_1"
    llm.complete("raw", formatted=True)
    assert rec.body["messages"] == [{"role": "user", "content": "raw"}]


def test_stream_chat(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(lambda r: text_stream("Par", "is", "."))
    responses = list(llm.stream_chat(USER))
    assert rec.body["stream"] is True
    assert rec.body["stream_options"] == {"include_usage": True}
    assert [r.delta for r in responses] == ["Par", "is", ".", ""]
    assert [r.message.content for r in responses] == ["Par", "Paris", "Paris.", "Paris."]
    assert responses[-1].additional_kwargs["total_tokens"] == 8
    assert all(r.additional_kwargs["igris_request_id"] == "req_stream_1" for r in responses)


def test_stream_complete(mock_llm: MakeLLM) -> None:
    llm, _ = mock_llm(lambda r: text_stream("a", "b"))
    parts = list(llm.stream_complete("x"))
    assert [p.delta for p in parts] == ["a", "b", ""]
    assert parts[-1].text == "ab"
    assert parts[-1].additional_kwargs["completion_tokens"] == 2


def test_a_stream_is_sent_when_first_read(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(lambda r: text_stream("a"))
    gen = llm.stream_chat(USER)
    assert rec.requests == []
    next(gen)
    assert len(rec.requests) == 1
    gen.close()


def test_empty_stream_gives_one_empty_response(mock_llm: MakeLLM) -> None:
    llm, _ = mock_llm(lambda r: sse([chunk({"role": "assistant"}), chunk({}, finish="stop")]))
    (only,) = list(llm.stream_chat(USER))
    assert (only.delta, only.message.content) == ("", "")


def test_stream_cut_short_is_an_error(mock_llm: MakeLLM) -> None:
    llm, _ = mock_llm(lambda r: sse([chunk({"content": "Par"})], done=False))
    with pytest.raises(IgrisStreamError):
        list(llm.stream_chat(USER))


def test_streamed_tool_calls_are_assembled_by_the_core(mock_llm: MakeLLM) -> None:
    events = [
        chunk({"role": "assistant", "content": None}),
        # no index, the same id on every delta, then arguments as an object
        chunk(
            {
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "multiply", "arguments": '{"a": 6'},
                    }
                ]
            }
        ),
        chunk(
            {
                "tool_calls": [
                    {"id": "call_1", "function": {"name": "multiply", "arguments": ', "b": 7}'}}
                ]
            }
        ),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": "1",
                        "id": "call_2",
                        "function": {"name": "multiply", "arguments": {"a": 1, "b": 2}},
                    }
                ]
            }
        ),
        chunk({}, finish="tool_calls"),
    ]
    llm, rec = mock_llm(lambda r: sse(events))
    tool = FunctionTool.from_defaults(multiply)
    responses = list(
        llm.stream_chat_with_tools([tool], user_msg="6 times 7?", allow_parallel_tool_calls=True)
    )
    assert rec.body["tools"][0]["function"]["name"] == "multiply"
    calls = llm.get_tool_calls_from_response(responses[-1])
    assert [(c.tool_id, c.tool_name, c.tool_kwargs) for c in calls] == [
        ("call_1", "multiply", {"a": 6, "b": 7}),
        ("call_2", "multiply", {"a": 1, "b": 2}),
    ]
    assert llm.get_tool_calls_from_response(responses[0])[0].tool_kwargs == {"a": 6}


# --- tools -----------------------------------------------------------------------------------


def _tool_answer(*names: str) -> Callable[[httpx.Request], httpx.Response]:
    calls = [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": n, "arguments": '{"a": 6, "b": 7}'},
        }
        for i, n in enumerate(names)
    ]
    return lambda r: answer(chat_body(None, tool_calls=calls))


def test_chat_with_tools_request(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(_tool_answer("multiply"))
    tool = FunctionTool.from_defaults(multiply)
    history = [ChatMessage(role="system", content="Use tools.")]
    response = llm.chat_with_tools([tool], user_msg="6 times 7?", chat_history=history)
    assert len(history) == 1  # the caller's list is left alone
    body = rec.body
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["tool_choice"] == "auto"
    assert body["parallel_tool_calls"] is False
    assert "strict" not in body["tools"][0]["function"]
    (call,) = llm.get_tool_calls_from_response(response)
    assert (call.tool_name, call.tool_kwargs) == ("multiply", {"a": 6, "b": 7})
    llm.chat_with_tools([tool], user_msg="x", tool_required=True)
    assert rec.body["tool_choice"] == "required"
    llm.chat_with_tools([tool], user_msg="x", tool_choice="multiply", strict=True)
    assert rec.body["tool_choice"] == {"type": "function", "function": {"name": "multiply"}}
    assert rec.body["tools"][0]["function"]["strict"] is True
    llm.chat_with_tools([], user_msg="no tools")
    assert "tools" not in rec.body and "tool_choice" not in rec.body


def test_strict_field_applies_to_tools(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(_tool_answer("multiply"), strict=True)
    llm.chat_with_tools([FunctionTool.from_defaults(multiply)], user_msg="x")
    assert rec.body["tools"][0]["function"]["strict"] is True


def test_parallel_tool_calls(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(_tool_answer("multiply", "multiply"))
    tool = FunctionTool.from_defaults(multiply)
    single = llm.chat_with_tools([tool], user_msg="x")
    assert len(llm.get_tool_calls_from_response(single)) == 1
    both = llm.chat_with_tools([tool], user_msg="x", allow_parallel_tool_calls=True)
    assert rec.body["parallel_tool_calls"] is True
    assert len(llm.get_tool_calls_from_response(both)) == 2


def test_predict_and_call(mock_llm: MakeLLM) -> None:
    llm, _ = mock_llm(_tool_answer("multiply"))
    result = llm.predict_and_call([FunctionTool.from_defaults(multiply)], user_msg="6 times 7?")
    assert result.response == "42"
    assert result.sources[0].tool_name == "multiply"


def test_get_tool_calls_without_any(mock_llm: MakeLLM) -> None:
    llm, _ = mock_llm(ok)
    response = llm.chat(USER)
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="at least one tool call"):
        llm.get_tool_calls_from_response(response)


def test_tool_round_trip_on_the_wire(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(_tool_answer("multiply"))
    first = llm.chat_with_tools([FunctionTool.from_defaults(multiply)], user_msg="6 times 7?")
    history = [
        *USER,
        first.message,
        ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "call_0"}),
    ]
    llm.chat(history)
    assert rec.body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_0",
                    "type": "function",
                    "function": {"name": "multiply", "arguments": '{"a": 6, "b": 7}'},
                }
            ],
        },
        {"role": "tool", "content": "42", "tool_call_id": "call_0"},
    ]


# --- errors ----------------------------------------------------------------------------------


def _denied(_: httpx.Request) -> httpx.Response:
    return answer(
        {
            "error": {
                "message": "denied by rule no-secrets",
                "type": "policy_denied",
                "code": "no-secrets",
            }
        },
        403,
    )


async def test_typed_errors_propagate_unchanged(mock_llm: MakeLLM) -> None:
    llm, _ = mock_llm(_denied)
    for call in (
        lambda: llm.chat(USER),
        lambda: llm.complete("x"),
        lambda: list(llm.stream_chat(USER)),
    ):
        with pytest.raises(IgrisPolicyDeniedError) as info:
            call()
        assert type(info.value) is IgrisPolicyDeniedError
        assert info.value.status_code == 403 and info.value.code == "no-secrets"
    with pytest.raises(IgrisPolicyDeniedError):
        await llm.achat(USER)
    with pytest.raises(IgrisPolicyDeniedError):
        async for _ in await llm.astream_chat(USER):
            pass


def test_rate_limit_after_retries(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(
        lambda r: answer(
            {"error": {"message": "slow down", "type": "rate_limit_error"}},
            429,
            **{"retry-after": "0"},
        ),
        max_retries=1,
    )
    with pytest.raises(IgrisRateLimitError) as info:
        llm.chat(USER)
    assert info.value.retry_after == 0
    assert len(rec.requests) == 2  # retried once by the core, then raised


def test_error_event_mid_stream_is_typed(mock_llm: MakeLLM) -> None:
    events = [
        chunk({"content": "Par"}),
        {"error": {"message": "limit", "type": "rate_limit_error"}},
    ]
    llm, _ = mock_llm(lambda r: sse(events))
    seen = []
    with pytest.raises(IgrisRateLimitError):
        for response in llm.stream_chat(USER):
            seen.append(response.delta)
    assert seen == ["Par"]


# --- async -----------------------------------------------------------------------------------


async def test_async_methods(mock_llm: MakeLLM) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return (
            text_stream("Pa", "ris")
            if json.loads(request.content).get("stream")
            else answer(chat_body("Paris."))
        )

    llm, rec = mock_llm(handler)
    assert (await llm.achat(USER)).message.content == "Paris."
    assert (await llm.acomplete("x")).text == "Paris."
    assert [r.delta async for r in await llm.astream_chat(USER)] == ["Pa", "ris", ""]
    parts = [p async for p in await llm.astream_complete("x")]
    assert parts[-1].text == "Paris" and parts[-1].additional_kwargs["total_tokens"] == 7
    tool = FunctionTool.from_defaults(multiply)
    await llm.achat_with_tools([tool], user_msg="x", tool_required=True)
    assert rec.body["tool_choice"] == "required"
    async for _ in await llm.astream_chat_with_tools([tool], user_msg="x"):
        pass
    assert rec.body["stream"] is True and rec.body["tools"]


def test_one_model_across_event_loops(gw: Any, llm: IgrisLLM) -> None:
    """Each asyncio.run has its own loop; the model keeps one async client per loop, so
    pooled connections of a closed loop are never reused."""
    for _ in range(3):
        assert asyncio.run(llm.achat(USER)).message.content


# --- identity --------------------------------------------------------------------------------


def test_identity_headers(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(
        ok,
        igris_user="default-user",
        igris_trace_id="t-default",
        igris_metadata={"team": "a", "env": "dev"},
    )
    llm.chat(USER)
    h = rec.headers
    assert (h["x-igris-user"], h["x-igris-trace-id"]) == ("default-user", "t-default")
    assert (h["x-igris-metadata-team"], h["x-igris-metadata-env"]) == ("a", "dev")
    with igris_context(user="ctx-user", metadata={"team": "b", "job": "nightly"}):
        llm.chat(USER)
        assert (rec.headers["x-igris-user"], rec.headers["x-igris-trace-id"]) == (
            "ctx-user",
            "t-default",
        )
        assert rec.headers["x-igris-metadata-team"] == "b"
        llm.complete("x", igris_user="call-user", igris_metadata={"job": "adhoc"})
        h = rec.headers
        assert h["x-igris-user"] == "call-user"
        assert (
            h["x-igris-metadata-team"],
            h["x-igris-metadata-env"],
            h["x-igris-metadata-job"],
        ) == ("b", "dev", "adhoc")
    assert "igris_user" not in rec.body and "igris_metadata" not in rec.body


def test_stream_keeps_the_scope_it_was_asked_in(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(lambda r: text_stream("a"))
    with igris_context(user="scoped", trace_id="t-1"):
        gen = llm.stream_chat(USER, igris_trace_id="t-call")
    list(gen)  # read after the scope closed
    assert (rec.headers["x-igris-user"], rec.headers["x-igris-trace-id"]) == ("scoped", "t-call")


def test_assigning_identity_fields_rebuilds_the_client(mock_llm: MakeLLM) -> None:
    llm, rec = mock_llm(ok)
    llm.igris_user = "bob"
    llm.chat(USER)
    assert rec.headers["x-igris-user"] == "bob"
    with pytest.raises(IgrisInputError):
        llm.igris_user = "bad\nuser"
    assert llm.igris_user == "bob"  # a refused value is not kept
    llm.chat(USER)
    assert rec.headers["x-igris-user"] == "bob"
    llm.api_key = "ig_rotated"
    llm.chat(USER)
    assert rec.headers["authorization"] == "Bearer ig_rotated"
    assert isinstance(llm.api_key, SecretStr)
    with pytest.raises(IgrisInputError):
        llm.model = "no-slug"
    assert llm.model == "@openai-prod/gpt-4o"


# --- instrumentation and callbacks -----------------------------------------------------------


class _Events(BaseEventHandler):
    seen: list[BaseEvent]

    @classmethod
    def class_name(cls) -> str:
        return "_Events"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.seen.append(event)


@pytest.fixture
def events() -> Any:
    handler = _Events(seen=[])
    spans = SimpleSpanHandler()
    root = get_dispatcher()
    root.add_event_handler(handler)
    root.add_span_handler(spans)
    yield handler, spans
    root.event_handlers.remove(handler)
    root.span_handlers.remove(spans)


def _kinds(seen: list[BaseEvent]) -> list[type]:
    return [type(e) for e in seen if type(e).__module__.endswith("events.llm")]


async def test_instrumentation_events_and_spans(mock_llm: MakeLLM, events: Any) -> None:
    handler, spans = events

    def reply(request: httpx.Request) -> httpx.Response:
        return text_stream("a", "b") if json.loads(request.content).get("stream") else answer()

    llm, _ = mock_llm(reply)
    llm.chat(USER)
    assert _kinds(handler.seen) == [LLMChatStartEvent, LLMChatEndEvent]
    start = handler.seen[0]
    assert (
        isinstance(start, LLMChatStartEvent)
        and start.model_dict["model_name"] == "@openai-prod/gpt-4o"
    )
    end = handler.seen[-1]
    assert (
        isinstance(end, LLMChatEndEvent)
        and end.response is not None
        and end.response.message.content == "Hello!"
    )
    handler.seen.clear()
    list(llm.stream_chat(USER))
    assert _kinds(handler.seen) == [LLMChatStartEvent] + [LLMChatInProgressEvent] * 3 + [
        LLMChatEndEvent
    ]
    handler.seen.clear()
    llm.complete("x")
    assert _kinds(handler.seen) == [LLMCompletionStartEvent, LLMCompletionEndEvent]
    handler.seen.clear()
    await llm.achat(USER)
    async for _ in await llm.astream_chat(USER):
        pass
    kinds = _kinds(handler.seen)
    assert kinds[:2] == [LLMChatStartEvent, LLMChatEndEvent] and kinds[-1] is LLMChatEndEvent
    names = {s.id_.split("-")[0] for s in spans.completed_spans}
    assert {
        "IgrisLLM.chat",
        "IgrisLLM.stream_chat",
        "IgrisLLM.complete",
        "IgrisLLM.achat",
        "IgrisLLM.astream_chat",
    } <= names


def test_token_counting_callback(mock_llm: MakeLLM) -> None:
    counter = TokenCountingHandler(tokenizer=lambda text: text.split())
    llm, _ = mock_llm(
        lambda r: text_stream("a", "b") if json.loads(r.content).get("stream") else answer()
    )
    llm.callback_manager = CallbackManager([counter])
    llm.chat(USER)
    list(llm.stream_chat(USER))
    assert [(e.prompt_token_count, e.completion_token_count) for e in counter.llm_token_counts] == [
        (11, 7),
        (5, 2),
    ]


def test_per_call_model_identity_object_and_stray_stream(mock_llm: MakeLLM) -> None:
    from igris_core import Identity

    llm, rec = mock_llm(ok, igris_user="default")
    llm.chat(USER, model="@anthropic-prod/claude-sonnet", stream=True)  # stream: the method decides
    assert str(rec.requests[0].url).endswith("/llm/anthropic-prod/v1/chat/completions")
    assert rec.body["model"] == "claude-sonnet" and "stream" not in rec.body
    llm.chat(USER, identity=Identity(user="obj-user", trace_id="t-obj"), igris_trace_id="t-kw")
    assert (rec.headers["x-igris-user"], rec.headers["x-igris-trace-id"]) == ("obj-user", "t-kw")
    with pytest.raises(IgrisInputError, match="'gpt 4o'"):
        llm.chat(USER, model="gpt 4o")
    assert len(rec.requests) == 2


def test_structured_predict_errors_are_typed(mock_llm: MakeLLM) -> None:
    from llama_index.core.prompts import PromptTemplate
    from pydantic import BaseModel

    class Answer(BaseModel):
        value: int

    llm, _ = mock_llm(_denied)
    with pytest.raises(IgrisPolicyDeniedError):
        llm.structured_predict(Answer, PromptTemplate("x"))
