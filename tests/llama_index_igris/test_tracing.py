"""Automatic trace ids in LlamaIndex: one per top-level query, chat or agent run (its
instrumentation's root span), the OpenTelemetry span's when there is one, explicit values first;
the gateway request id on every answer, streams included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from igris_core import igris_context
from igris_core.local_gateway import LocalGateway, ScriptedReply
from llama_index_igris import IgrisEmbedding, IgrisLLM
from tests.tracing_helpers import hex_trace_id, recording_spans

DOCS = [
    "The Eiffel Tower is a wrought iron lattice tower in Paris.",
    "Octopuses have three hearts and eight arms lined with suckers.",
    "Saturn is famous for its bright rings of ice particles.",
]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with recording_spans() as exporter:
        yield exporter


def _index(embed_model: IgrisEmbedding, gw: LocalGateway) -> VectorStoreIndex:
    index = VectorStoreIndex.from_documents(
        [Document(text=t) for t in DOCS], embed_model=embed_model
    )
    gw.reset()  # the indexing calls are not part of the queries below
    return index


def _calls(gw: LocalGateway) -> list[tuple[str, str | None]]:
    return [(e.route, e.trace_id) for e in gw.audit]


def test_a_query_engine_calls_share_one_id_and_the_next_query_gets_another(
    gw: LocalGateway, llm: IgrisLLM, embed_model: IgrisEmbedding
) -> None:
    engine = _index(embed_model, gw).as_query_engine(llm=llm)
    for question in ("Which tower is in Paris?", "How many hearts has an octopus?"):
        engine.query(question)
    calls = _calls(gw)
    assert [route for route, _ in calls] == ["embeddings", "chat"] * 2
    first, second = calls[0][1], calls[2][1]
    assert first is not None and second is not None and first != second
    assert calls[1][1] == first and calls[3][1] == second
    assert "query" in first  # the id of LlamaIndex's own top-level span


def test_a_streamed_query_synthesis_is_its_own_top_level_span(
    gw: LocalGateway, llm: IgrisLLM, embed_model: IgrisEmbedding
) -> None:
    # LlamaIndex starts the streamed answer's LLM call when the caller reads it, after the
    # query span has closed: its instrumentation makes that call a top-level span of its own.
    engine = _index(embed_model, gw).as_query_engine(llm=llm, streaming=True)
    answer: Any = engine.query("Which tower is in Paris?")
    "".join(answer.response_gen)
    (_, retrieval), (_, synthesis) = _calls(gw)
    assert retrieval is not None and "query" in retrieval
    assert synthesis is not None and synthesis.startswith("IgrisLLM.stream")


async def test_async_query_shares_one_id(
    gw: LocalGateway, llm: IgrisLLM, embed_model: IgrisEmbedding
) -> None:
    engine = _index(embed_model, gw).as_query_engine(llm=llm)
    await engine.aquery("Which tower is in Paris?")
    await engine.aquery("Which planet has rings?")
    ids = [trace_id for _, trace_id in _calls(gw)]
    assert len(ids) == 4 and ids[0] == ids[1] != ids[2] == ids[3]


async def test_an_agent_run_shares_one_id(gw: LocalGateway, llm: IgrisLLM) -> None:
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    agent = FunctionAgent(tools=[FunctionTool.from_defaults(multiply)], llm=llm)
    for _ in range(2):
        gw.script(
            "openai-prod",
            ScriptedReply.tool_call("multiply", {"a": 6, "b": 7}),
            ScriptedReply.text("42."),
        )
        await agent.run(user_msg="What is 6 times 7?")
    ids = [trace_id for _, trace_id in _calls(gw)]
    assert len(ids) == 4 and ids[0] == ids[1] != ids[2] == ids[3]
    assert None not in ids


def test_explicit_ids_and_the_open_telemetry_span_win(
    gw: LocalGateway,
    llm: IgrisLLM,
    embed_model: IgrisEmbedding,
    spans: InMemorySpanExporter,
) -> None:
    engine = _index(embed_model, gw).as_query_engine(llm=llm)
    spans.clear()
    with igris_context(trace_id="ticket-9"):
        engine.query("Which tower is in Paris?")
    with trace.get_tracer("app").start_as_current_span("request") as app_span:
        engine.query("Which tower is in Paris?")
    llm.chat([ChatMessage(role="user", content="hi")], igris_trace_id="call-1")
    ids = [trace_id for _, trace_id in _calls(gw)]
    assert ids == ["ticket-9", "ticket-9", hex_trace_id(app_span), hex_trace_id(app_span), "call-1"]
    kinds = sorted(
        str((s.attributes or {})["gen_ai.operation.name"])
        for s in spans.get_finished_spans()
        if s.name.startswith(("chat ", "embeddings "))
    )
    assert kinds == ["chat", "chat", "chat", "embeddings", "embeddings"]


async def test_request_id_on_every_answer(gw: LocalGateway, llm: IgrisLLM) -> None:
    messages = [ChatMessage(role="user", content="hi")]
    answers: list[Any] = [llm.chat(messages), llm.complete("hi"), await llm.achat(messages)]
    answers.append(list(llm.stream_chat(messages))[-1])
    answers.append(list(llm.stream_complete("hi"))[-1])
    answers.append([r async for r in await llm.astream_chat(messages)][-1])
    answers.append([r async for r in await llm.astream_complete("hi")][-1])
    ids = [a.additional_kwargs.get("igris_request_id") for a in answers]
    assert ids == [e.request_id for e in gw.audit]
    assert len(ids) == 7
