"""ChatIgris and IgrisEmbeddings under LangChain's own machinery, as ChatOpenAI behaves there:
agent middleware, caches, model profiles, configurable fields, errors."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import ModelRetryMiddleware, SummarizationMiddleware
from langchain_core.caches import InMemoryCache
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
)
from langchain_core.globals import set_llm_cache
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately, trim_messages
from langchain_core.runnables import ConfigurableField
from pydantic import BaseModel, Field

from igris_core import (
    IgrisBadRequestError,
    IgrisConnectionError,
    IgrisInputError,
    IgrisPayloadTooLargeError,
    IgrisPolicyDeniedError,
    IgrisRateLimitError,
    IgrisServerError,
    igris_context,
)
from igris_core.local_gateway import LocalGateway
from langchain_igris import ChatIgris, IgrisEmbeddings, _tokens
from tests.langchain_igris.helpers import (
    API_KEY,
    BASE_URL,
    Recorder,
    chat_body,
    error_reply,
    json_reply,
    make_chat,
    make_embeddings,
    sse_reply,
    text_stream_chunks,
)


@pytest.fixture
def llm_cache() -> Iterator[InMemoryCache]:
    cache = InMemoryCache()
    set_llm_cache(cache)
    try:
        yield cache
    finally:
        set_llm_cache(None)


# --- errors are LangChain's standard model errors too ----------------------------------------


def test_policy_denial_is_not_retried_by_agent_middleware(gw: LocalGateway) -> None:
    gw.deny("no-secrets", pattern=r"(?i)password")
    agent = create_agent(
        ChatIgris(model="@openai-prod/gpt-4o"),
        tools=[],
        middleware=[ModelRetryMiddleware(max_retries=2, initial_delay=0)],
    )
    with pytest.raises(IgrisPolicyDeniedError) as err:
        agent.invoke({"messages": [("human", "what is the admin password?")]})
    assert isinstance(err.value, ModelPermissionDeniedError)
    assert err.value.status_code == 403 and err.value.code == "no-secrets"
    assert len([e for e in gw.audit if e.route == "chat"]) == 1  # sent once


@pytest.mark.parametrize(
    ("reply", "igris_class", "langchain_class"),
    [
        (error_reply(403), IgrisPolicyDeniedError, ModelPermissionDeniedError),
        (error_reply(429, **{"retry-after": "0"}), IgrisRateLimitError, ModelRateLimitError),
        (error_reply(503), IgrisServerError, ModelAPIError),
        (error_reply(400, "bad"), IgrisBadRequestError, ModelInvalidRequestError),
        (
            json_reply(
                {"error": {"message": "too long", "type": "x", "code": "context_length_exceeded"}},
                400,
            ),
            IgrisBadRequestError,
            ContextOverflowError,
        ),
        (
            json_reply(
                {"error": {"message": "This model's maximum context length is 8192", "type": "x"}},
                413,
            ),
            IgrisPayloadTooLargeError,
            ContextOverflowError,
        ),
    ],
)
@pytest.mark.parametrize("path", ["invoke", "stream", "embed"])
def test_errors_are_both_igris_and_langchain_classes(
    reply: Any, igris_class: type, langchain_class: type, path: str
) -> None:
    recorder = Recorder(reply)
    with pytest.raises(igris_class) as err:
        if path == "invoke":
            make_chat(recorder).invoke("hi")
        elif path == "stream":
            list(make_chat(recorder).stream("hi"))
        else:
            make_embeddings(recorder).embed_query("hi")
    assert isinstance(err.value, langchain_class)
    assert err.value.request_id == "req_test"
    clone = pickle.loads(pickle.dumps(err.value))
    assert type(clone) is type(err.value) and clone.status_code == err.value.status_code


async def test_async_errors_and_cut_streams_are_langchain_classes() -> None:
    with pytest.raises(IgrisPolicyDeniedError) as err:
        await make_chat(Recorder(error_reply(403))).ainvoke("hi")
    assert isinstance(err.value, ModelPermissionDeniedError)
    cut = sse_reply(text_stream_chunks("a", "b"), done=False)
    with pytest.raises(IgrisConnectionError) as cut_err:
        [c async for c in make_chat(Recorder(cut)).astream("hi")]
    assert isinstance(cut_err.value, ModelConnectionError)
    with pytest.raises(IgrisPolicyDeniedError) as emb:
        await make_embeddings(Recorder(error_reply(403))).aembed_documents(["x"])
    assert isinstance(emb.value, ModelPermissionDeniedError)


def test_bad_call_input_is_an_invalid_request() -> None:
    recorder = Recorder()
    with pytest.raises(IgrisInputError) as err:
        make_chat(recorder).invoke("hi", igris_user=7)
    assert isinstance(err.value, ModelInvalidRequestError)
    assert recorder.requests == []


# --- caches: the identity is part of the key ---------------------------------------------------


def test_cache_key_includes_the_resolved_identity(
    gw: LocalGateway, llm_cache: InMemoryCache
) -> None:
    gw.deny("no-mallory", user="mallory")
    llm = ChatIgris(model="@openai-prod/gpt-4o")
    answer = llm.invoke("hello", config={"metadata": {"igris_user": "alice"}})
    again = llm.invoke("hello", config={"metadata": {"igris_user": "alice"}})
    assert again.content == answer.content and len(gw.audit) == 1  # served from the cache
    with pytest.raises(IgrisPolicyDeniedError):
        llm.invoke("hello", config={"metadata": {"igris_user": "mallory"}})
    with igris_context(user="mallory"), pytest.raises(IgrisPolicyDeniedError):
        llm.invoke("hello")
    with pytest.raises(IgrisPolicyDeniedError):
        llm.invoke("hello", igris_user="mallory")
    with pytest.raises(IgrisPolicyDeniedError):
        ChatIgris(model="@openai-prod/gpt-4o", igris_user="mallory").invoke("hello")
    users = [e.user for e in gw.audit if e.route == "chat"]
    assert users == ["alice", "mallory", "mallory", "mallory", "mallory"]


# --- profiles ---------------------------------------------------------------------------------


def test_profile_from_the_shared_table() -> None:
    llm = ChatIgris(model="@openai-prod/gpt-4o", api_key=API_KEY, base_url=BASE_URL)
    assert llm.profile is not None
    assert llm.profile["max_input_tokens"] == 128_000
    assert llm.profile["tool_calling"] is True and llm.profile["image_inputs"] is True
    own = ChatIgris(model="@openai-prod/gpt-4o", api_key=API_KEY, profile={"max_input_tokens": 9})
    assert own.profile == {"max_input_tokens": 9}
    assert ChatIgris(model="@ollama/my-finetune", api_key=API_KEY).profile is None


def test_summarization_middleware_accepts_fractions(gw: LocalGateway) -> None:
    llm = ChatIgris(model="@openai-prod/gpt-4o")
    agent = create_agent(
        llm, tools=[], middleware=[SummarizationMiddleware(model=llm, trigger=("fraction", 0.8))]
    )
    state = agent.invoke({"messages": [("human", "hello there")]})
    assert state["messages"][-1].content


# --- construction: bad models are IgrisInputError; model_name is configurable ----------------


@pytest.mark.parametrize("cls", [ChatIgris, IgrisEmbeddings])
def test_bad_model_string_is_an_igris_input_error(cls: type) -> None:
    with pytest.raises(IgrisInputError, match="gpt-4o"):
        cls(model="gpt-4o", api_key=API_KEY, base_url=BASE_URL)


@pytest.mark.parametrize("name", ["model", "model_name"])
def test_configurable_model_field(name: str) -> None:
    recorder = Recorder()
    llm = make_chat(recorder).configurable_fields(**{name: ConfigurableField(id="which")})
    llm.invoke("hi", config={"configurable": {"which": "@other/gpt-4o-mini"}})
    assert recorder.requests[-1].url.path == "/llm/other/v1/chat/completions"
    assert recorder.body["model"] == "gpt-4o-mini"


# --- identity of a lazy stream is captured when it is created ---------------------------------


def test_stream_created_in_a_scope_keeps_its_identity() -> None:
    recorder = Recorder(sse_reply(text_stream_chunks("a", "b")))
    llm = make_chat(recorder)
    with igris_context(user="alice", trace_id="t-1"):
        chunks = llm.stream("hi")
    with igris_context(user="bob"):  # consumed in another scope: the creation scope wins
        assert "".join(str(c.content) for c in chunks) == "ab"
    assert recorder.headers["x-igris-user"] == "alice"
    assert recorder.headers["x-igris-trace-id"] == "t-1"


async def test_astream_created_in_a_scope_keeps_its_identity() -> None:
    recorder = Recorder(sse_reply(text_stream_chunks("a", "b")))
    llm = make_chat(recorder)
    with igris_context(user="alice"):
        chunks = llm.astream("hi")
    assert "".join([str(c.content) async for c in chunks]) == "ab"
    assert recorder.headers["x-igris-user"] == "alice"


# --- messages ---------------------------------------------------------------------------------


def test_bad_tool_message_is_refused_before_sending() -> None:
    recorder = Recorder()
    message = ToolMessage(content=[{"a": 1}], tool_call_id="call_1")  # type: ignore[list-item]
    with pytest.raises(IgrisInputError, match="ToolMessage") as err:
        make_chat(recorder).invoke([HumanMessage("hi"), message])
    assert "position 1" in str(err.value)
    assert recorder.requests == []


def test_legacy_function_call_is_replayed() -> None:
    recorder = Recorder()
    call = {"name": "lookup", "arguments": '{"q": "x"}'}
    history = [
        HumanMessage("hi"),
        AIMessage(content="", additional_kwargs={"function_call": call}),
    ]
    make_chat(recorder).invoke(history)
    assert recorder.body["messages"][1]["function_call"] == call


def test_responses_style_tool_choice_is_accepted() -> None:
    recorder = Recorder()

    def lookup(q: str) -> str:
        """Look something up."""
        return q

    llm = make_chat(recorder).bind_tools(
        [lookup], tool_choice={"type": "function", "name": "lookup"}
    )
    llm.invoke("hi")
    assert recorder.body["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}


def test_response_metadata_keys_match_chat_openai() -> None:
    message = make_chat(Recorder(json_reply(chat_body()))).invoke("hi")
    assert "logprobs" in message.response_metadata
    assert message.response_metadata["logprobs"] is None
    chunks = list(make_chat(Recorder(sse_reply(text_stream_chunks("a", "b")))).stream("hi"))
    assert all(c.response_metadata.get("model_provider") == "igris" for c in chunks)


def test_list_content_is_sent_as_blocks_with_cache_control() -> None:
    recorder = Recorder()
    cached = {"type": "text", "text": "long policy text", "cache_control": {"type": "ephemeral"}}
    make_chat(recorder).invoke(
        [
            SystemMessage(content=[cached]),
            HumanMessage(
                content=[
                    "plain",
                    {
                        "type": "image",
                        "url": "https://x.test/a.png",
                        "cache_control": {"type": "ephemeral"},
                    },
                ]
            ),
            HumanMessage("a string stays a string"),
        ]
    )
    system, user, last = recorder.body["messages"]
    assert system == {"role": "system", "content": [cached]}
    assert user["content"] == [
        {"type": "text", "text": "plain"},
        {
            "type": "image_url",
            "image_url": {"url": "https://x.test/a.png"},
            "cache_control": {"type": "ephemeral"},
        },
    ]
    assert last == {"role": "user", "content": "a string stays a string"}


# --- token counting works offline, without transformers --------------------------------------


@pytest.mark.disable_socket
def test_token_counting_offline_approximation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # nothing cached: no exact encoding
    llm = make_chat()
    assert llm.get_num_tokens("x" * 40) == 10  # about 4 characters per token
    history = [
        SystemMessage("be brief"),
        HumanMessage("a " * 200),
        AIMessage("ok"),
        HumanMessage("last"),
    ]
    assert llm.get_num_tokens_from_messages(history) == count_tokens_approximately(history)
    trimmed = trim_messages(
        history, max_tokens=60, token_counter=llm, strategy="last", include_system=True
    )
    assert trimmed[0].content == "be brief" and trimmed[-1].content == "last" and len(trimmed) < 4
    with pytest.raises(NotImplementedError, match="custom_get_token_ids"):
        llm.get_token_ids("hello")
    assert make_chat(custom_get_token_ids=lambda text: [1] * len(text)).get_num_tokens("abc") == 3


@pytest.mark.disable_socket
def test_a_damaged_cached_encoding_is_not_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import hashlib

    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    (tmp_path / hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()).write_bytes(
        b"not the encoding"
    )
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    _tokens._encoding.cache_clear()
    try:
        assert make_chat().get_num_tokens("x" * 8) == 2  # approximated; tiktoken never called
    finally:
        _tokens._encoding.cache_clear()


def test_token_counting_exact_with_a_local_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken

    # A byte-level encoding built in memory stands for tiktoken's cached o200k_base.
    encoding = tiktoken.Encoding(
        name="bytes",
        pat_str=r"\S+|\s+",
        mergeable_ranks={bytes([i]): i for i in range(256)},
        special_tokens={},
    )
    monkeypatch.setattr(
        _tokens,
        "_encoding",
        lambda name: encoding if name in ("o200k_base", "cl100k_base") else None,
    )
    llm = make_chat()
    assert llm.get_num_tokens("héllo") == 6  # bytes
    assert llm.get_token_ids("ab") == [97, 98]
    # 3 for the answer's primer, then per message 3 + its role and content
    assert llm.get_num_tokens_from_messages([HumanMessage("abc")]) == 3 + 3 + len("user") + 3
    pieces = _tokens.split_texts("@openai-prod/text-embedding-3-small", ["abcdef", ""], 4)
    assert (pieces.texts, pieces.owners, pieces.weights) == (
        ["abcd", "ef", ""],
        [0, 0, 1],
        [4, 2, 0],
    )
    claude = make_chat(model="@anthropic-prod/claude-3-5-sonnet-20241022")
    assert claude.get_num_tokens("x" * 8) == 2  # no tiktoken encoding: approximated


# --- ChatOpenAI / OpenAIEmbeddings arguments: honoured or refused, never sent -------------------


def test_include_response_headers(recwarn: pytest.WarningsRecorder) -> None:
    recorder = Recorder(json_reply(chat_body(), **{"x-custom": "yes"}))
    llm = make_chat(recorder, include_response_headers=True)
    message = llm.invoke("hi")
    assert message.response_metadata["headers"]["x-igris-request-id"] == "req_test"
    assert message.response_metadata["headers"]["x-custom"] == "yes"
    recorder.queue(sse_reply(text_stream_chunks("a", "b")))
    chunks = list(llm.stream("hi"))
    assert chunks[0].response_metadata["headers"]["x-igris-request-id"] == "req_stream"
    assert sum("headers" in c.response_metadata for c in chunks) == 1
    assert "include_response_headers" not in recorder.body
    assert "headers" not in make_chat(Recorder()).invoke("hi").response_metadata  # off by default
    assert not [w for w in recwarn if "model_kwargs" in str(w.message)]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("use_responses_api", True),
        ("use_previous_response_id", True),
        ("openai_proxy", "http://p"),
        ("openai_api_key", "sk-provider-secret"),
        ("truncation", "auto"),
    ],
)
def test_chat_openai_only_arguments_are_refused(name: str, value: Any) -> None:
    with pytest.raises(IgrisInputError, match=name) as err:
        make_chat(**{name: value})
    assert "sk-provider-secret" not in str(err.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("openai_api_key", "sk-provider-secret"), ("deployment", "d"), ("skip_empty", True)],
)
def test_openai_embeddings_only_arguments_are_refused(name: str, value: Any) -> None:
    with pytest.raises(IgrisInputError, match=name) as err:
        make_embeddings(Recorder(), **{name: value})
    assert "sk-provider-secret" not in str(err.value)


def test_chat_openai_only_arguments_that_change_nothing_are_accepted(
    recwarn: pytest.WarningsRecorder,
) -> None:
    recorder = Recorder()
    make_chat(recorder, use_responses_api=False).invoke("hi")
    assert "use_responses_api" not in recorder.body
    assert not [w for w in recwarn if "model_kwargs" in str(w.message)]


def test_embedding_context_length_is_checked(recwarn: pytest.WarningsRecorder) -> None:
    def reply(request: Any) -> Any:
        import json

        inputs = json.loads(request.content)["input"]
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(text)), 0.0]}
            for i, text in enumerate(inputs)
        ]
        return json_reply({"object": "list", "data": data, "model": "m", "usage": {}})

    recorder = Recorder(reply)
    embeddings = make_embeddings(recorder, check_embedding_ctx_length=True, embedding_ctx_length=10)
    long_text = "word " * 40  # 200 characters: longer than 10 tokens by any count
    vectors = embeddings.embed_documents(["short", long_text])
    sent = recorder.body["input"]
    assert sent[0] == "short" and len(sent) > 2 and "".join(sent[1:]) == long_text
    assert vectors[0] == [5.0, 0.0]
    assert vectors[1] == pytest.approx([1.0, 0.0])  # the pieces' mean, normalised
    assert "check_embedding_ctx_length" not in recorder.body
    assert not [w for w in recwarn if "model_kwargs" in str(w.message)]
    plain = make_embeddings(Recorder(reply), check_embedding_ctx_length=False)
    assert plain.embed_documents([long_text]) == [[200.0, 0.0]]  # sent whole


# --- strict structured output -----------------------------------------------------------------


class Address(BaseModel):
    city: str
    zip_code: str | None = None


class Person(BaseModel):
    """A person."""

    name: str = Field(description="The full name")
    age: int = 30
    tags: list[str] = []
    home: Address
    work: Address | None = None


def _walk(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for key, value in schema.items():
            if key == "properties":
                for sub in value.values():
                    yield from _walk(sub)
            else:
                yield from _walk(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _walk(item)


@pytest.mark.parametrize(
    "schema",
    [
        Person,
        {"name": "Person", "schema": Person.model_json_schema()},
        Person.model_json_schema(),
    ],
)
def test_strict_json_schema_is_what_strict_mode_requires(schema: Any) -> None:
    answer = {
        "name": "Ada",
        "age": None,
        "tags": None,
        "home": {"city": "Paris", "zip_code": None},
        "work": None,
    }
    recorder = Recorder(json_reply(chat_body(json.dumps(answer))))
    structured = make_chat(recorder).with_structured_output(
        schema, method="json_schema", strict=True
    )
    result = structured.invoke("who?")
    spec = recorder.body["response_format"]["json_schema"]
    assert spec["strict"] is True
    objects = [node for node in _walk(spec["schema"]) if "properties" in node]
    assert len(objects) >= 2  # the person and its address (inline or in $defs)
    for node in objects:
        assert node["required"] == list(node["properties"])
        assert node["additionalProperties"] is False
    assert not [node for node in _walk(spec["schema"]) if "default" in node]
    age = spec["schema"]["properties"]["age"]
    assert {"type": "null"} in age["anyOf"]  # optional: may be null instead of absent
    # the nulls strict mode forced are removed again: the class's defaults apply
    expected = {"name": "Ada", "home": {"city": "Paris", "zip_code": None}, "work": None}
    if schema is Person:
        assert result == Person(name="Ada", home=Address(city="Paris"))
    else:
        assert result == expected


def test_summarization_middleware_overflow_path() -> None:
    overflow = json_reply(
        {"error": {"message": "prompt too big", "type": "x", "code": "context_length_exceeded"}},
        400,
    )
    summarizer_calls = Recorder(overflow, json_reply(chat_body("A short summary.")))
    summarizer = make_chat(summarizer_calls)
    agent_calls = Recorder(json_reply(chat_body("Final answer.")))
    agent = create_agent(
        make_chat(agent_calls),
        tools=[],
        middleware=[
            SummarizationMiddleware(model=summarizer, trigger=("messages", 4), keep=("messages", 2))
        ],
    )
    history = [("human", f"message {i} " + "filler " * 50) for i in range(6)]
    state = agent.invoke({"messages": history})
    assert state["messages"][-1].content == "Final answer."
    assert len(summarizer_calls.requests) == 2  # overflowed, then retried with less history
    assert len(summarizer_calls.bodies[1]["messages"][0]["content"]) < len(
        summarizer_calls.bodies[0]["messages"][0]["content"]
    )
    assert "A short summary." in json.dumps(agent_calls.body["messages"])
