"""Automatic trace ids in LangChain: one per root run (chains, LangGraph agents, batch items),
the OpenTelemetry span's when there is one, explicit values first; the gateway request id on
every answer, streams included."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from igris_core import igris_context
from igris_core.local_gateway import LocalGateway, ScriptedReply
from langchain_igris import ChatIgris
from tests.langchain_igris.helpers import ASYNC_AGENT_CONFIG_NEEDS_PY311
from tests.tracing_helpers import hex_trace_id, recording_spans


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with recording_spans() as exporter:
        yield exporter


def _trace_ids(gw: LocalGateway) -> list[str | None]:
    return [e.trace_id for e in gw.audit if e.route == "chat"]


def _two_call_chain() -> Any:
    first = ChatIgris(model="@openai-prod/gpt-4o")
    second = ChatIgris(model="@openai-prod/gpt-4o-mini")
    return (
        ChatPromptTemplate.from_messages([("human", "Draft about {topic}")])
        | first
        | StrOutputParser()
        | RunnableLambda(lambda draft: {"draft": draft})
        | ChatPromptTemplate.from_messages([("human", "Polish: {draft}")])
        | second
        | StrOutputParser()
    )


def test_two_runs_of_a_chain_get_two_ids_each_shared_by_its_calls(gw: LocalGateway) -> None:
    chain = _two_call_chain()
    runs = [uuid.uuid4(), uuid.uuid4()]
    for run_id in runs:
        assert chain.invoke({"topic": "owls"}, config={"run_id": run_id}) == (
            "Polish: Draft about owls"
        )
    assert _trace_ids(gw) == [str(runs[0])] * 2 + [str(runs[1])] * 2
    # without a run id given, LangChain makes one per run: still two distinct, shared ids
    gw.reset()
    chain.invoke({"topic": "a"})
    chain.invoke({"topic": "b"})
    ids = _trace_ids(gw)
    assert ids[0] == ids[1] != ids[2] == ids[3]
    assert all(i is not None for i in ids)


def test_streamed_chain_and_batch_items(gw: LocalGateway) -> None:
    chain = _two_call_chain()
    run_id = uuid.uuid4()
    assert (
        "".join(chain.stream({"topic": "x"}, config={"run_id": run_id})) == "Polish: Draft about x"
    )
    assert _trace_ids(gw) == [str(run_id)] * 2
    gw.reset()
    chain.batch([{"topic": "a"}, {"topic": "b"}, {"topic": "c"}])
    ids = _trace_ids(gw)
    assert len(ids) == 6 and len(set(ids)) == 3  # one id per item, shared by its two calls
    assert all(ids.count(i) == 2 for i in ids)


async def test_async_chain_and_model_alone(gw: LocalGateway) -> None:
    chain = _two_call_chain()
    run_id = uuid.uuid4()
    await chain.ainvoke({"topic": "x"}, config={"run_id": run_id})
    assert _trace_ids(gw) == [str(run_id)] * 2
    llm = ChatIgris(model="@openai-prod/gpt-4o")
    alone = [uuid.uuid4(), uuid.uuid4()]
    await llm.ainvoke("hi", config={"run_id": alone[0]})
    [c async for c in llm.astream("hi", config={"run_id": alone[1]})]
    llm.invoke("hi")
    llm.invoke("hi")
    ids = _trace_ids(gw)[2:]
    assert ids[:2] == [str(alone[0]), str(alone[1])]
    assert ids[2] != ids[3] and None not in ids  # a model on its own is its own root run


@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"It is sunny in {city}."


@pytest.mark.parametrize(
    "mode", ["invoke", "stream", pytest.param("ainvoke", marks=ASYNC_AGENT_CONFIG_NEEDS_PY311)]
)
async def test_langgraph_agent_run_shares_one_id(gw: LocalGateway, mode: str) -> None:
    agent = create_agent(ChatIgris(model="@openai-prod/gpt-4o"), tools=[get_weather])
    for _ in range(2):
        gw.script(
            "openai-prod",
            ScriptedReply.tool_call("get_weather", {"city": "Paris"}, id="call_w1"),
            ScriptedReply.text("It is sunny in Paris."),
        )
    question: Any = {"messages": [("human", "Weather in Paris?")]}
    runs = [uuid.uuid4(), uuid.uuid4()]
    for run_id in runs:
        config: Any = {"run_id": run_id}
        if mode == "invoke":
            agent.invoke(question, config=config)
        elif mode == "stream":
            list(agent.stream(question, config=config, stream_mode="messages"))
        else:
            await agent.ainvoke(question, config=config)
    assert _trace_ids(gw) == [str(runs[0])] * 2 + [str(runs[1])] * 2


def test_explicit_ids_win_over_the_run(gw: LocalGateway) -> None:
    chain = _two_call_chain()
    chain.invoke({"topic": "x"}, config={"metadata": {"igris_trace_id": "ticket-1"}})
    with igris_context(trace_id="ctx-2"):
        chain.invoke({"topic": "x"})
    defaults = ChatIgris(model="@openai-prod/gpt-4o", igris_trace_id="default-3")
    defaults.invoke("hi")
    assert _trace_ids(gw) == ["ticket-1", "ticket-1", "ctx-2", "ctx-2", "default-3"]


def test_the_open_telemetry_span_wins_over_the_run(
    gw: LocalGateway, spans: InMemorySpanExporter
) -> None:
    chain = _two_call_chain()
    with trace.get_tracer("app").start_as_current_span("request") as app_span:
        chain.invoke({"topic": "x"}, config={"run_id": uuid.uuid4()})
    assert _trace_ids(gw) == [hex_trace_id(app_span)] * 2
    entries = [e for e in gw.audit if e.route == "chat"]
    calls = [s for s in spans.get_finished_spans() if s.name.startswith("chat ")]
    assert {s.parent.span_id for s in calls} == {app_span.get_span_context().span_id}  # type: ignore[union-attr]
    assert [e.request_id for e in entries] == [s.attributes["igris.request_id"] for s in calls]
    assert {s.attributes["gen_ai.request.model"] for s in calls} == {"gpt-4o", "gpt-4o-mini"}


def test_request_id_on_every_answer(gw: LocalGateway) -> None:
    llm = ChatIgris(model="@openai-prod/gpt-4o")
    answers: list[AIMessage] = [llm.invoke("hi"), *llm.batch(["a", "b"])]
    merged: AIMessageChunk | None = None
    for part in llm.stream("hi"):
        merged = part if merged is None else merged + part
    assert merged is not None
    answers.append(merged)
    ids = [a.response_metadata["igris_request_id"] for a in answers]
    assert ids == [e.request_id for e in gw.audit if e.route == "chat"]
    assert all(i and i.startswith("req_") for i in ids)


async def test_request_id_on_every_async_and_agent_answer(gw: LocalGateway) -> None:
    llm = ChatIgris(model="@openai-prod/gpt-4o")
    answers: list[Any] = [await llm.ainvoke("hi")]
    merged: Any = None
    async for part in llm.astream("hi"):
        merged = part if merged is None else merged + part
    answers.append(merged)
    gw.script(
        "openai-prod",
        ScriptedReply.tool_call("get_weather", {"city": "Paris"}, id="call_w1"),
        ScriptedReply.text("It is sunny in Paris."),
    )
    agent = create_agent(ChatIgris(model="@openai-prod/gpt-4o", streaming=True), [get_weather])
    state = await agent.ainvoke({"messages": [("human", "Weather?")]})
    answers += [m for m in state["messages"] if isinstance(m, AIMessage)]
    ids = [a.response_metadata.get("igris_request_id") for a in answers]
    assert ids == [e.request_id for e in gw.audit if e.route == "chat"]
    assert len(ids) == 4


@pytest.mark.parametrize("use_async", [False, True])
async def test_a_retrieval_chain_embedding_and_chat_share_the_run_id(
    gw: LocalGateway, use_async: bool
) -> None:
    from langchain_core.vectorstores import InMemoryVectorStore

    from langchain_igris import IgrisEmbeddings

    store = InMemoryVectorStore.from_texts(
        ["Paris has the Eiffel Tower.", "Octopuses have three hearts."],
        IgrisEmbeddings(model="@openai-prod/text-embedding-3-small"),
    )
    gw.reset()
    chain = (
        store.as_retriever(search_kwargs={"k": 1})
        | RunnableLambda(lambda docs: {"context": docs[0].page_content})
        | ChatPromptTemplate.from_messages([("human", "Answer from: {context}")])
        | ChatIgris(model="@openai-prod/gpt-4o")
    )
    run_id = uuid.uuid4()
    if use_async:
        await chain.ainvoke("Which tower is in Paris?", config={"run_id": run_id})
    else:
        chain.invoke("Which tower is in Paris?", config={"run_id": run_id})
    assert [(e.route, e.trace_id) for e in gw.audit] == [
        ("embeddings", str(run_id)),
        ("chat", str(run_id)),
    ]
