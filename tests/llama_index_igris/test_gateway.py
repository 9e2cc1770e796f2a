"""IgrisLLM and IgrisEmbedding through the offline gateway over real HTTP: every method sync
and async, tool calling, structured outputs, provider stream shapes, identity in the audit
trail, typed errors."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, TextBlock
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from igris_core import IgrisPolicyDeniedError, IgrisRateLimitError, igris_context
from igris_core.local_gateway import STREAM_SHAPES, Fault, LocalGateway, ScriptedReply
from llama_index_igris import IgrisEmbedding, IgrisLLM

QUESTION = "the quick brown fox jumps"
USER = [ChatMessage(role="user", content=QUESTION)]


class City(BaseModel):
    """A city and the country it is in."""

    name: str
    country: str
    population: int


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


MULTIPLY = FunctionTool.from_defaults(multiply)


def _usage_ok(kwargs: dict[str, Any]) -> None:
    assert kwargs["total_tokens"] == kwargs["prompt_tokens"] + kwargs["completion_tokens"] > 0
    assert kwargs["igris_request_id"].startswith("req_")


def test_sync_methods(gw: LocalGateway, llm: IgrisLLM) -> None:
    chat = llm.chat(USER)
    assert chat.message.content == QUESTION
    _usage_ok(chat.additional_kwargs)
    assert chat.raw.igris_request_id == gw.audit[-1].request_id
    assert gw.audit[-1].usage == {
        k: chat.additional_kwargs[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")
    }

    streamed = list(llm.stream_chat(USER))
    assert "".join(r.delta or "" for r in streamed) == QUESTION
    assert streamed[-1].message.content == QUESTION
    _usage_ok(streamed[-1].additional_kwargs)
    assert gw.audit[-1].stream is True

    assert llm.complete(QUESTION).text == QUESTION
    parts = list(llm.stream_complete(QUESTION))
    assert parts[-1].text == QUESTION and "".join(p.delta or "" for p in parts) == QUESTION
    assert [e.status for e in gw.audit] == [200] * 4


async def test_async_methods(gw: LocalGateway, llm: IgrisLLM) -> None:
    chat = await llm.achat(USER)
    assert chat.message.content == QUESTION
    _usage_ok(chat.additional_kwargs)
    streamed = [r async for r in await llm.astream_chat(USER)]
    assert streamed[-1].message.content == QUESTION
    _usage_ok(streamed[-1].additional_kwargs)
    assert (await llm.acomplete(QUESTION)).text == QUESTION
    parts = [p async for p in await llm.astream_complete(QUESTION)]
    assert parts[-1].text == QUESTION
    assert [(e.status, e.stream) for e in gw.audit] == [
        (200, False),
        (200, True),
        (200, False),
        (200, True),
    ]


def test_max_tokens_and_additional_kwargs_reach_the_backend(gw: LocalGateway) -> None:
    llm = IgrisLLM(
        model="@openai-prod/gpt-4o", api_key=gw.api_key, base_url=gw.base_url, max_tokens=2
    )
    assert llm.chat(USER).message.content == "the quick"
    assert llm.complete(QUESTION, stop=["brown"]).text.strip() == "the quick"


def test_image_message(llm: IgrisLLM, gw: LocalGateway) -> None:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    message = ChatMessage(
        role="user", blocks=[TextBlock(text="describe this"), ImageBlock(image=png)]
    )
    assert llm.chat([message]).message.content == "describe this"
    assert gw.audit[-1].status == 200


def test_tools_sync(gw: LocalGateway, llm: IgrisLLM) -> None:
    gw.script("openai-prod", ScriptedReply.tool_call("multiply", {"a": 6, "b": 7}))
    response = llm.chat_with_tools([MULTIPLY], user_msg="What is 6 times 7?")
    (call,) = llm.get_tool_calls_from_response(response)
    assert (call.tool_name, call.tool_kwargs) == ("multiply", {"a": 6, "b": 7})
    # the echo backend answers a required tool call with schema-valid arguments
    forced = llm.chat_with_tools([MULTIPLY], user_msg="anything", tool_required=True)
    (call,) = llm.get_tool_calls_from_response(forced)
    assert call.tool_name == "multiply" and set(call.tool_kwargs) == {"a", "b"}
    streamed = list(llm.stream_chat_with_tools([MULTIPLY], user_msg="x", tool_required=True))
    (call,) = llm.get_tool_calls_from_response(streamed[-1])
    assert isinstance(call.tool_kwargs["a"], int)
    gw.script("openai-prod", ScriptedReply.tool_call("multiply", {"a": 6, "b": 7}))
    assert llm.predict_and_call([MULTIPLY], user_msg="6 times 7?").response == "42"


async def test_tools_async(gw: LocalGateway, llm: IgrisLLM) -> None:
    gw.script(
        "openai-prod",
        ScriptedReply.tool_calls([("multiply", {"a": 2, "b": 3}), ("multiply", {"a": 4, "b": 5})]),
        ScriptedReply.tool_calls([("multiply", {"a": 2, "b": 3}), ("multiply", {"a": 4, "b": 5})]),
        ScriptedReply.tool_call("multiply", {"a": 6, "b": 7}),
    )
    response = await llm.achat_with_tools([MULTIPLY], user_msg="x", allow_parallel_tool_calls=True)
    assert [c.tool_kwargs for c in llm.get_tool_calls_from_response(response)] == [
        {"a": 2, "b": 3},
        {"a": 4, "b": 5},
    ]
    stream = await llm.astream_chat_with_tools(
        [MULTIPLY], user_msg="x", allow_parallel_tool_calls=True
    )
    streamed = [r async for r in stream]
    assert [c.tool_kwargs for c in llm.get_tool_calls_from_response(streamed[-1])] == [
        {"a": 2, "b": 3},
        {"a": 4, "b": 5},
    ]
    assert (await llm.apredict_and_call([MULTIPLY], user_msg="6 times 7?")).response == "42"


@pytest.mark.parametrize("shape", sorted(STREAM_SHAPES))
def test_stream_shapes_of_other_providers(gw: LocalGateway, llm: IgrisLLM, shape: str) -> None:
    """Every provider variation the core's accumulator handles works in LlamaIndex too."""
    gw.inject_fault("openai-prod", Fault(stream_shape=shape))  # type: ignore[arg-type]
    gw.script(
        "openai-prod",
        ScriptedReply.tool_calls(
            [("multiply", {"a": 2, "b": 3}), ("multiply", {"a": 40, "b": 50})]
        ),
    )
    responses = list(
        llm.stream_chat_with_tools([MULTIPLY], user_msg="x", allow_parallel_tool_calls=True)
    )
    calls = llm.get_tool_calls_from_response(responses[-1])
    assert [(c.tool_name, c.tool_kwargs) for c in calls] == [
        ("multiply", {"a": 2, "b": 3}),
        ("multiply", {"a": 40, "b": 50}),
    ]
    assert len({c.tool_id for c in calls}) == 2
    text = list(llm.stream_chat(USER))
    assert text[-1].message.content == QUESTION
    assert text[-1].additional_kwargs["total_tokens"] == gw.audit[-1].usage["total_tokens"]  # type: ignore[index]


def test_structured_outputs(llm: IgrisLLM) -> None:
    prompt = PromptTemplate("Describe the city of {city}.")
    city = llm.structured_predict(City, prompt, city="Paris")
    assert isinstance(city, City)
    partials = list(llm.stream_structured_predict(City, prompt, city="Paris"))
    assert isinstance(partials[-1], City)
    structured = llm.as_structured_llm(City)
    response = structured.chat([ChatMessage(role="user", content="Describe Paris.")])
    assert isinstance(response.raw, City)
    assert City.model_validate_json(response.message.content or "") == response.raw
    streamed = list(structured.stream_chat([ChatMessage(role="user", content="Describe Paris.")]))
    assert isinstance(streamed[-1].raw, City)


async def test_structured_outputs_async(llm: IgrisLLM) -> None:
    prompt = PromptTemplate("Describe the city of {city}.")
    assert isinstance(await llm.astructured_predict(City, prompt, city="Paris"), City)
    partials = [p async for p in await llm.astream_structured_predict(City, prompt, city="Paris")]
    assert isinstance(partials[-1], City)
    response = await llm.as_structured_llm(City).achat([ChatMessage(role="user", content="Paris")])
    assert isinstance(response.raw, City)


# --- identity ----------------------------------------------------------------------------------


def test_identity_precedence_in_the_audit_trail(gw: LocalGateway) -> None:
    llm = IgrisLLM(
        model="@openai-prod/gpt-4o",
        api_key=gw.api_key,
        base_url=gw.base_url,
        igris_user="service-account",
        igris_trace_id="trace-default",
        igris_metadata={"team": "search", "env": "test"},
    )
    llm.chat(USER)
    with igris_context(user="alice@corp.com", metadata={"env": "staging", "ticket": "981"}):
        llm.chat(USER)
        list(llm.stream_chat(USER, igris_user="bob@corp.com", igris_metadata={"ticket": "982"}))
    entries = [(e.user, e.trace_id, dict(e.metadata)) for e in gw.audit]
    assert entries == [
        ("service-account", "trace-default", {"team": "search", "env": "test"}),
        ("alice@corp.com", "trace-default", {"team": "search", "env": "staging", "ticket": "981"}),
        ("bob@corp.com", "trace-default", {"team": "search", "env": "staging", "ticket": "982"}),
    ]


async def test_identity_per_call_on_every_async_method(gw: LocalGateway, llm: IgrisLLM) -> None:
    ids: dict[str, Any] = {
        "igris_user": "carol",
        "igris_trace_id": "t-async",
        "igris_metadata": {"step": "1"},
    }
    await llm.achat(USER, **ids)
    async for _ in await llm.astream_chat(USER, **ids):
        pass
    await llm.acomplete("x", **ids)
    async for _ in await llm.astream_complete("x", **ids):
        pass
    await llm.achat_with_tools([MULTIPLY], user_msg="x", tool_required=True, **ids)
    assert [(e.user, e.trace_id, dict(e.metadata)) for e in gw.audit] == [
        ("carol", "t-async", {"step": "1"})
    ] * 5


def test_embedding_identity(gw: LocalGateway) -> None:
    model = IgrisEmbedding(
        model="@openai-prod/text-embedding-3-small",
        api_key=gw.api_key,
        base_url=gw.base_url,
        igris_user="indexer",
        igris_metadata={"job": "ingest"},
    )
    model.get_text_embedding("x")
    with igris_context(trace_id="t-emb", metadata={"job": "query"}):
        model.get_query_embedding("y")
    first, second = gw.audit
    assert (second.route, second.user, second.trace_id, dict(second.metadata)) == (
        "embeddings",
        "indexer",
        "t-emb",
        {"job": "query"},
    )
    assert (first.user, dict(first.metadata)) == ("indexer", {"job": "ingest"})
    # no trace id set: the call's own top-level LlamaIndex span names it
    assert (first.trace_id or "").startswith("IgrisEmbedding.get_text_embedding-")


# --- embeddings --------------------------------------------------------------------------------


async def test_embeddings(gw: LocalGateway, embed_model: IgrisEmbedding) -> None:
    query = embed_model.get_query_embedding("paris bridges")
    assert len(query) == 256
    texts = embed_model.get_text_embedding_batch(["paris bridges", "tokyo sushi"])
    assert texts[0] == pytest.approx(query)
    assert embed_model.similarity(query, texts[0]) > embed_model.similarity(query, texts[1])
    assert (await embed_model.aget_query_embedding("paris bridges")) == pytest.approx(query)
    batch = await embed_model.aget_text_embedding_batch(["a b", "c d", "e f"])
    assert len(batch) == 3
    small = IgrisEmbedding(
        model="@openai-prod/text-embedding-3-small",
        api_key=gw.api_key,
        base_url=gw.base_url,
        dimensions=32,
    )
    assert len(small.get_text_embedding("x")) == 32
    assert all(e.status == 200 and e.route == "embeddings" for e in gw.audit)


# --- errors ------------------------------------------------------------------------------------


async def test_policy_denied(gw: LocalGateway, llm: IgrisLLM, embed_model: IgrisEmbedding) -> None:
    gw.deny("no-secrets", pattern=r"(?i)password")
    secret = [ChatMessage(role="user", content="my password is hunter2")]
    with pytest.raises(IgrisPolicyDeniedError) as info:
        llm.chat(secret)
    assert info.value.code == "no-secrets" and info.value.request_id == gw.audit[-1].request_id
    with pytest.raises(IgrisPolicyDeniedError):
        list(llm.stream_chat(secret))
    with pytest.raises(IgrisPolicyDeniedError):
        await llm.acomplete("password?")
    with pytest.raises(IgrisPolicyDeniedError):
        async for _ in await llm.astream_chat(secret):
            pass
    assert [e.status for e in gw.audit] == [403] * 4
    assert llm.chat(USER).message.content == QUESTION


def test_rate_limited(gw: LocalGateway) -> None:
    strict = IgrisLLM(
        model="@openai-prod/gpt-4o", api_key=gw.api_key, base_url=gw.base_url, max_retries=0
    )
    gw.inject_fault("openai-prod", Fault(status=429, times=1, retry_after=0))
    with pytest.raises(IgrisRateLimitError) as info:
        strict.chat(USER)
    assert info.value.retry_after == 0
    patient = IgrisLLM(model="@openai-prod/gpt-4o", api_key=gw.api_key, base_url=gw.base_url)
    gw.inject_fault("openai-prod", Fault(status=429, times=1, retry_after=0))
    assert patient.chat(USER).message.content == QUESTION
    assert [e.status for e in gw.audit] == [429, 429, 200]
