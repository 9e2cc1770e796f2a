"""ChatIgris and IgrisEmbeddings over real HTTP against the local gateway (its audit trail is the
witness of what went on the wire)."""

from __future__ import annotations

import asyncio
import json
import pickle
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import OutputParserException
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessageChunk, HumanMessage
from pydantic import BaseModel

from igris_core import (
    IgrisPolicyDeniedError,
    IgrisRateLimitError,
    IgrisServerError,
    IgrisStreamError,
    igris_context,
)
from igris_core.local_gateway import STREAM_SHAPES, Fault, LocalGateway, ScriptedReply
from langchain_igris import ChatIgris, IgrisEmbeddings

MODEL = "@openai-prod/gpt-4o"


def _merge(chunks: list[Any]) -> AIMessageChunk:
    full = chunks[0]
    for piece in chunks[1:]:
        full = full + piece
    return full  # type: ignore[no-any-return]


def _chat(**kwargs: Any) -> ChatIgris:
    return ChatIgris(model=MODEL, max_retries=0, **kwargs)


# --- the basic calls ---------------------------------------------------------------------------


def test_invoke_stream_batch(gw: LocalGateway) -> None:
    llm = _chat()
    message = llm.invoke("The capital of France is Paris")
    assert message.content == "The capital of France is Paris"
    assert message.usage_metadata is not None and message.usage_metadata["output_tokens"] == 6
    assert message.response_metadata["igris_request_id"] == gw.audit[-1].request_id
    chunks = list(llm.stream("one two three four"))
    assert len(chunks) >= 5  # word by word, then the closing chunk
    full = _merge(chunks)
    assert full.content == "one two three four"
    assert full.usage_metadata is not None and full.usage_metadata["output_tokens"] == 4
    assert [m.content for m in llm.batch(["alpha", "beta gamma"])] == ["alpha", "beta gamma"]
    audit = gw.audit
    assert [e.stream for e in audit] == [False, True, False, False]
    assert all(e.status == 200 and e.connection == "openai-prod" for e in audit)
    assert full.usage_metadata["input_tokens"] == audit[1].usage["prompt_tokens"]  # type: ignore[index]
    assert full.usage_metadata["total_tokens"] == audit[1].usage["total_tokens"]  # type: ignore[index]


async def test_async_calls(gw: LocalGateway) -> None:
    llm = _chat()
    assert (await llm.ainvoke("async hello")).content == "async hello"
    chunks = [c async for c in llm.astream("streamed async hello")]
    assert _merge(chunks).content == "streamed async hello"
    answers = await llm.abatch(["a b", "c d e"])
    assert [m.content for m in answers] == ["a b", "c d e"]
    assert len(gw.audit) == 4


def test_streaming_invoke_callbacks(gw: LocalGateway) -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    handler = Tokens()
    message = _chat(streaming=True).invoke("red green blue", config={"callbacks": [handler]})
    assert message.content == "red green blue"
    assert "".join(handler.tokens) == "red green blue"
    assert len(handler.tokens) >= 3
    assert gw.audit[-1].stream is True


def test_parameters_reach_the_provider(gw: LocalGateway) -> None:
    llm = _chat(max_tokens=2)
    assert llm.invoke("one two three four").content == "one two"
    assert (
        llm.invoke("hello how are you", stop=["are"], max_tokens=10).content.strip() == "hello how"
    )
    result = _chat(n=2).generate([[HumanMessage("same answer")]])
    assert [g.text for g in result.generations[0]] == ["same answer", "same answer"]
    with_override = llm.invoke("x", model="@google-prod/gemini-1.5-pro")
    assert with_override.response_metadata["model_name"] == "@google-prod/gemini-1.5-pro"
    assert gw.audit[-1].connection == "google-prod"


# --- tools ---------------------------------------------------------------------------------


class GetWeather(BaseModel):
    """Get the weather in a city."""

    city: str


class GetTime(BaseModel):
    """Get the time in a time zone."""

    zone: str


def test_scripted_tool_calls(gw: LocalGateway) -> None:
    llm = _chat().bind_tools([GetWeather, GetTime])
    gw.script("openai-prod", ScriptedReply.tool_call("GetWeather", {"city": "Paris"}, id="call_1"))
    message = llm.invoke("weather in Paris?")
    assert message.tool_calls == [
        {"name": "GetWeather", "args": {"city": "Paris"}, "id": "call_1", "type": "tool_call"}
    ]
    gw.script(
        "openai-prod",
        ScriptedReply.tool_calls([("GetWeather", {"city": "Paris"}), ("GetTime", {"zone": "CET"})]),
    )
    full = _merge(list(llm.stream("both?")))
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [
        ("GetWeather", {"city": "Paris"}),
        ("GetTime", {"zone": "CET"}),
    ]
    gw.script("openai-prod", ScriptedReply.tool_call("GetWeather", '{"city": '))
    broken = llm.invoke("bad arguments")
    assert broken.tool_calls == [] and broken.invalid_tool_calls[0]["args"] == '{"city": '


def test_forced_tool_choice(gw: LocalGateway) -> None:
    message = _chat().bind_tools([GetWeather, GetTime], tool_choice="GetTime").invoke("what time")
    assert [c["name"] for c in message.tool_calls] == ["GetTime"]
    assert isinstance(message.tool_calls[0]["args"]["zone"], str)


@pytest.mark.parametrize("shape", sorted(STREAM_SHAPES))
def test_streamed_tool_calls_in_every_provider_shape(gw: LocalGateway, shape: str) -> None:
    gw.inject_fault("openai-prod", Fault(stream_shape=shape))  # type: ignore[arg-type]
    gw.script(
        "openai-prod",
        ScriptedReply.tool_calls(
            [("GetWeather", {"city": "Paris"}, "call_a"), ("GetTime", {"zone": "CET"}, "call_b")]
        ),
    )
    chunks = list(_chat().bind_tools([GetWeather, GetTime]).stream("both?"))
    full = _merge(chunks)
    assert full.tool_calls == [
        {"name": "GetWeather", "args": {"city": "Paris"}, "id": "call_a", "type": "tool_call"},
        {"name": "GetTime", "args": {"zone": "CET"}, "id": "call_b", "type": "tool_call"},
    ]
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert full.usage_metadata is not None and full.usage_metadata["total_tokens"] > 0
    assert full.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    "shape", ["reasoning", "reasoning_content", "usage_every_chunk", "null_content"]
)
def test_text_streams_in_provider_shapes(gw: LocalGateway, shape: str) -> None:
    gw.inject_fault("openai-prod", Fault(stream_shape=shape))  # type: ignore[arg-type]
    chunks = list(_chat().stream("just some words"))
    full = _merge(chunks)
    assert full.content == "just some words"
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert full.usage_metadata is not None
    assert full.usage_metadata["output_tokens"] == 3
    assert full.usage_metadata["total_tokens"] == gw.audit[-1].usage["total_tokens"]  # type: ignore[index]
    if shape.startswith("reasoning"):
        assert full.additional_kwargs["reasoning_content"]
        assert full.content_blocks[0]["type"] == "reasoning"


# --- structured output --------------------------------------------------------------------


class City(BaseModel):
    """A city."""

    name: str
    population: int


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_structured_output(gw: LocalGateway, method: str) -> None:
    structured = _chat().with_structured_output(City, method=method)  # type: ignore[arg-type]
    city = structured.invoke("Paris has 2 million people")
    assert isinstance(city, City)
    streamed = list(structured.stream("Paris"))
    assert isinstance(streamed[-1], City)
    as_dict = _chat().with_structured_output(City.model_json_schema(), method=method).invoke("x")  # type: ignore[arg-type]
    assert set(as_dict) == {"name", "population"}  # type: ignore[arg-type]


def test_structured_output_json_mode(gw: LocalGateway) -> None:
    gw.script("openai-prod", ScriptedReply.text(json.dumps({"name": "Paris", "population": 2})))
    city = _chat().with_structured_output(City, method="json_mode").invoke("Paris as JSON")
    assert city == City(name="Paris", population=2)
    gw.script("openai-prod", ScriptedReply.text("not json"))
    raw = _chat().with_structured_output(City, method="json_mode", include_raw=True).invoke("x")
    assert raw["parsed"] is None and raw["parsing_error"] is not None  # type: ignore[index]


# --- identity in the audit trail -----------------------------------------------------------


def test_identity_layers_in_the_audit(gw: LocalGateway) -> None:
    llm = _chat(
        igris_user="instance", igris_trace_id="t-instance", igris_metadata={"app": "a", "team": "i"}
    )
    llm.invoke("1")
    with igris_context(user="context", metadata={"team": "c"}):
        llm.invoke("2")
        llm.invoke(
            "3", config={"metadata": {"igris_user": "config", "igris_metadata": {"team": "r"}}}
        )
        llm.bind(igris_user="bound", igris_metadata={"Call": "yes"}).invoke(
            "4", config={"metadata": {"igris_user": "config"}}
        )
    audit = gw.audit
    assert [(e.user, e.trace_id, dict(e.metadata)) for e in audit] == [
        ("instance", "t-instance", {"app": "a", "team": "i"}),
        ("context", "t-instance", {"app": "a", "team": "c"}),
        ("config", "t-instance", {"app": "a", "team": "r"}),
        ("bound", "t-instance", {"app": "a", "team": "c", "call": "yes"}),
    ]


def test_non_ascii_identity(gw: LocalGateway) -> None:
    _chat().invoke("x", igris_user="Zoë Ünal", igris_metadata={"city": "Zürich"})
    assert (gw.audit[-1].user, gw.audit[-1].metadata["city"]) == ("Zoë Ünal", "Zürich")


# --- errors ---------------------------------------------------------------------------------


def test_policy_denied(gw: LocalGateway) -> None:
    gw.deny("no-secrets", pattern=r"(?i)password")
    with pytest.raises(IgrisPolicyDeniedError) as err:
        _chat().invoke("my password is hunter2")
    assert err.value.status_code == 403
    assert err.value.request_id == gw.audit[-1].request_id
    with pytest.raises(IgrisPolicyDeniedError):
        list(_chat().stream("password please"))


def test_rate_limit_falls_back(gw: LocalGateway) -> None:
    gw.inject_fault("openai-prod", Fault(status=429, times=1, retry_after=0))
    primary = _chat()
    backup = ChatIgris(model="@google-prod/gemini-1.5-pro", max_retries=0)
    chain = primary.with_fallbacks([backup], exceptions_to_handle=(IgrisRateLimitError,))
    assert chain.invoke("hello fallback").content == "hello fallback"
    assert [(e.connection, e.status) for e in gw.audit] == [
        ("openai-prod", 429),
        ("google-prod", 200),
    ]
    # with retries on, the core retries the 429 (Retry-After: 0) and the call succeeds
    gw.inject_fault("openai-prod", Fault(status=429, times=1, retry_after=0))
    assert ChatIgris(model=MODEL, max_retries=1).invoke("retried").content == "retried"


def test_broken_streams_are_errors(gw: LocalGateway) -> None:
    gw.inject_fault("openai-prod", Fault(cut_after=2, times=1))
    with pytest.raises(IgrisStreamError):
        list(_chat().stream("one two three four five"))
    gw.inject_fault("openai-prod", Fault(error_event_after=2, status=429, times=1))
    with pytest.raises(IgrisRateLimitError):
        list(_chat().stream("one two three four five"))


# --- pickling and serialisation ---------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_pickle_and_load_then_call(gw: LocalGateway) -> None:
    llm = _chat(temperature=0, igris_user="pickled")
    clone = pickle.loads(pickle.dumps(llm))
    assert clone.invoke("after pickling").content == "after pickling"
    loaded = loads(
        dumps(llm),
        secrets_map={"IGRIS_API_KEY": gw.api_key},
        valid_namespaces=["langchain_igris"],
        allowed_objects=[ChatIgris],
    )
    assert isinstance(loaded, ChatIgris)
    assert loaded.invoke("after loading").content == "after loading"
    assert [e.user for e in gw.audit] == ["pickled", "pickled"]


# --- embeddings -----------------------------------------------------------------------------

EMBED_MODEL = "@openai-prod/text-embedding-3-small"
TEXTS = [f"document {i} about {'cats' if i % 2 else 'dogs'}" for i in range(25)]


def test_embeddings_order_and_chunking(gw: LocalGateway) -> None:
    emb = IgrisEmbeddings(model=EMBED_MODEL, chunk_size=10, max_retries=0)
    vectors = emb.embed_documents(TEXTS)
    assert len(vectors) == 25 and all(len(v) == 256 for v in vectors)
    assert [e.route for e in gw.audit] == ["embeddings"] * 3
    singles = [emb.embed_query(t) for t in (TEXTS[0], TEXTS[13], TEXTS[24])]
    assert singles == [vectors[0], vectors[13], vectors[24]]
    assert asyncio.run(emb.aembed_documents(TEXTS)) == vectors
    assert IgrisEmbeddings(model=EMBED_MODEL, dimensions=64).embed_query("x").__len__() == 64


async def test_embeddings_concurrency_is_bounded(gw: LocalGateway) -> None:
    gw.inject_fault("openai-prod", Fault(latency=0.1, routes=("embeddings",)))
    emb = IgrisEmbeddings(model=EMBED_MODEL, chunk_size=2, max_concurrency=3, max_retries=0)
    vectors = await emb.aembed_documents(TEXTS[:12])  # 6 batches
    assert len(vectors) == 12
    spans = [(e.time, e.time + e.duration_ms / 1000) for e in gw.audit]  # time: arrival
    peak = max(sum(1 for s, t in spans if s <= point < t) for point, _ in spans)
    assert len(spans) == 6 and 1 < peak <= 3


async def test_embeddings_failing_batch(gw: LocalGateway) -> None:
    gw.inject_fault("openai-prod", Fault(status=500, times=1, routes=("embeddings",)))
    emb = IgrisEmbeddings(model=EMBED_MODEL, chunk_size=5, max_retries=0, igris_user="indexer")
    with pytest.raises(IgrisServerError):
        await emb.aembed_documents(TEXTS)
    assert 500 in [e.status for e in gw.audit]
    assert all(e.user == "indexer" for e in gw.audit)
    with igris_context(trace_id="reindex-1"):
        assert len(await emb.aembed_documents(TEXTS)) == 25
    traced = [e for e in gw.audit if e.trace_id == "reindex-1"]
    assert len(traced) == 5 and all(e.status == 200 for e in traced)


class Name(BaseModel):
    """Only a name: a cut answer still parses as JSON once its string is closed."""

    name: str


@pytest.mark.parametrize(("method", "schema"), [("json_schema", Name), ("json_mode", None)])
def test_structured_output_cut_by_max_tokens_is_an_error(
    gw: LocalGateway, method: str, schema: type[Name] | None
) -> None:
    # '{"name": "Paris' (json_schema) or '{"answer": "Paris' (json_mode: the echo backend's
    # answer) would parse, since LangChain's JSON parser closes open strings: a short answer
    # must not pass for a whole one.
    def structured(**kwargs: Any) -> Any:
        return _chat(max_tokens=2).with_structured_output(schema, method=method, **kwargs)  # type: ignore[arg-type]

    with pytest.raises(OutputParserException, match="max_tokens"):
        structured().invoke("Paris has 2 million people")
    with pytest.raises(OutputParserException, match="max_tokens"):
        list(structured().stream("Paris has 2 million people"))
    raw = structured(include_raw=True).invoke("Paris has 2 million people")
    assert raw["parsed"] is None
    assert "max_tokens" in str(raw["parsing_error"])
    whole = _chat(max_tokens=50).with_structured_output(schema, method=method)  # type: ignore[arg-type]
    assert isinstance(whole.invoke("Paris"), Name if schema else dict)  # a whole answer parses
