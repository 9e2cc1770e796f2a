"""Your own ``httpx.AsyncClient`` across event loops: LlamaIndex's async engines, and scripts,
call ``asyncio.run(...)`` once per question, so one client sees a fresh loop each time. Every
call must answer, and the gateway must receive each request exactly once."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from llama_index.core import Document, SummaryIndex
from llama_index.core.prompts import PromptTemplate
from llama_index.core.query_engine import RouterQueryEngine, SubQuestionQueryEngine
from llama_index.core.question_gen import LLMQuestionGenerator
from llama_index.core.selectors import LLMSingleSelector
from llama_index.core.tools import FunctionTool, QueryEngineTool
from pydantic import BaseModel

from igris_core.local_gateway import LocalGateway, ScriptedReply
from llama_index_igris import IgrisEmbedding, IgrisLLM

RUNS = 3


@pytest.fixture
def own_client() -> httpx.AsyncClient:
    """The caller's own async client, used across several ``asyncio.run`` calls."""
    return httpx.AsyncClient()


@pytest.fixture
def own_llm(gw: LocalGateway, own_client: httpx.AsyncClient) -> IgrisLLM:
    """An IgrisLLM on the caller's async client (max_retries=0: a resend would hide a failure)."""
    return IgrisLLM(
        model="@openai-prod/gpt-4o",
        api_key=gw.api_key,
        base_url=gw.base_url,
        async_http_client=own_client,
        max_retries=0,
    )


def _engines(llm: IgrisLLM) -> list[QueryEngineTool]:
    docs = {
        "paris": "Paris is the capital of France.",
        "rome": "Rome is the capital of Italy.",
    }
    return [
        QueryEngineTool.from_defaults(
            SummaryIndex.from_documents([Document(text=text)]).as_query_engine(llm=llm),
            name=name,
            description=f"Facts about {name}.",
        )
        for name, text in docs.items()
    ]


def test_acomplete_answers_on_every_loop(gw: LocalGateway, own_llm: IgrisLLM) -> None:
    answers = [asyncio.run(own_llm.acomplete(f"question {i}")).text for i in range(RUNS)]
    assert all(f"question {i}" in answer for i, answer in enumerate(answers))
    assert len(gw.audit) == RUNS


def test_router_query_engine_on_every_loop(gw: LocalGateway, own_llm: IgrisLLM) -> None:
    router = RouterQueryEngine(
        selector=LLMSingleSelector.from_defaults(llm=own_llm),
        query_engine_tools=_engines(own_llm),
        llm=own_llm,
    )
    for i in range(RUNS):
        gw.script(
            "openai-prod",
            ScriptedReply.text(json.dumps([{"choice": 1, "reason": "about Paris"}])),
            ScriptedReply.text(f"Paris, run {i}."),
        )
        assert str(asyncio.run(router.aquery("What is the capital of France?"))) == (
            f"Paris, run {i}."
        )
    assert len(gw.audit) == 2 * RUNS


def test_sub_question_query_engine_on_every_loop(gw: LocalGateway, own_llm: IgrisLLM) -> None:
    engine = SubQuestionQueryEngine.from_defaults(
        query_engine_tools=_engines(own_llm),
        question_gen=LLMQuestionGenerator.from_defaults(llm=own_llm),
        llm=own_llm,
        use_async=True,
    )
    plan = {"items": [{"sub_question": "Capital of France?", "tool_name": "paris"}]}
    for i in range(RUNS):
        gw.script(
            "openai-prod",
            ScriptedReply.text(f"```json\n{json.dumps(plan)}\n```"),
            ScriptedReply.text("Paris."),
            ScriptedReply.text(f"The capital is Paris ({i})."),
        )
        answer = asyncio.run(engine.aquery("Capitals of France?"))
        assert str(answer) == f"The capital is Paris ({i})."
    assert len(gw.audit) == 3 * RUNS


class City(BaseModel):
    """A city."""

    name: str


def test_astream_structured_predict_on_every_loop(gw: LocalGateway, own_llm: IgrisLLM) -> None:
    async def last_city() -> object:
        stream = await own_llm.astream_structured_predict(
            City, PromptTemplate("Name a city in {country}."), country="France"
        )
        results = [result async for result in stream]
        return results[-1]

    for i in range(RUNS):
        gw.script("openai-prod", ScriptedReply.tool_call("City", {"name": f"Paris {i}"}))
        result = asyncio.run(last_city())
        assert isinstance(result, City) and result.name == f"Paris {i}"
    assert len(gw.audit) == RUNS


def test_apredict_and_call_on_every_loop(gw: LocalGateway, own_llm: IgrisLLM) -> None:
    def double(x: int) -> int:
        """Double a number."""
        return 2 * x

    tool = FunctionTool.from_defaults(double)
    for i in range(RUNS):
        gw.script("openai-prod", ScriptedReply.tool_call("double", {"x": i}))
        response = asyncio.run(own_llm.apredict_and_call([tool], "Double it."))
        assert response.response == str(2 * i)
    assert len(gw.audit) == RUNS


def test_embedding_on_every_loop(gw: LocalGateway, own_client: httpx.AsyncClient) -> None:
    model = IgrisEmbedding(
        model="@openai-prod/text-embedding-3-small",
        api_key=gw.api_key,
        base_url=gw.base_url,
        async_http_client=own_client,
        max_retries=0,
    )
    vectors = [asyncio.run(model.aget_query_embedding(f"text {i}")) for i in range(RUNS)]
    assert all(len(vector) > 0 for vector in vectors)
    assert len(gw.audit) == RUNS
