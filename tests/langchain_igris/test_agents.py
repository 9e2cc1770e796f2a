"""Identity set once at the top of a multi-step LCEL chain and of a LangGraph agent reaches
every model call inside it (checked in the gateway's audit trail)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnableParallel
from langchain_core.tools import tool

from igris_core import igris_context
from igris_core.local_gateway import LocalGateway, ScriptedReply
from langchain_igris import ChatIgris
from tests.langchain_igris.helpers import ASYNC_AGENT_CONFIG_NEEDS_PY311

RUN_IDENTITY: dict[str, Any] = {
    "igris_user": "alice@corp.com",
    "igris_trace_id": "ticket-981",
    "igris_metadata": {"team": "support", "channel": "chat"},
}


def _identities(gw: LocalGateway) -> list[tuple[str | None, str | None, dict[str, str]]]:
    return [(e.user, e.trace_id, dict(e.metadata)) for e in gw.audit if e.route == "chat"]


def _chain(llm: ChatIgris, second: ChatIgris) -> Any:
    draft = (
        ChatPromptTemplate.from_messages([("human", "Draft about {topic}")])
        | llm
        | StrOutputParser()
    )
    polish = (
        ChatPromptTemplate.from_messages([("human", "Polish: {draft}")])
        | second
        | StrOutputParser()
    )
    return (
        RunnableParallel(draft=draft, topic=lambda x: x["topic"])
        | RunnableLambda(lambda x: {"draft": x["draft"].upper()})
        | polish
    )


def test_config_metadata_reaches_every_call_of_a_chain(gw: LocalGateway) -> None:
    llm = ChatIgris(model="@openai-prod/gpt-4o", igris_metadata={"app": "writer"})
    second = ChatIgris(model="@google-prod/gemini-1.5-pro", igris_user="second-default")
    chain = _chain(llm, second)
    out = chain.invoke({"topic": "owls"}, config={"metadata": RUN_IDENTITY})
    assert out == "Polish: DRAFT ABOUT OWLS"
    assert _identities(gw) == [
        ("alice@corp.com", "ticket-981", {"app": "writer", "team": "support", "channel": "chat"}),
        ("alice@corp.com", "ticket-981", {"team": "support", "channel": "chat"}),
    ]
    # streaming the chain streams both models; batch runs it in threads: same identity
    list(chain.stream({"topic": "cats"}, config={"metadata": RUN_IDENTITY}))
    chain.batch([{"topic": "a"}, {"topic": "b"}], config={"metadata": RUN_IDENTITY})
    assert {i[:2] for i in _identities(gw)} == {("alice@corp.com", "ticket-981")}
    assert len(_identities(gw)) == 8
    # no run identity: each model's own defaults
    chain.invoke({"topic": "dogs"})
    assert [i[0] for i in _identities(gw)[-2:]] == [None, "second-default"]


async def test_config_metadata_async_chain(gw: LocalGateway) -> None:
    chain = _chain(ChatIgris(model="@openai-prod/gpt-4o"), ChatIgris(model="@openai-prod/gpt-4o"))
    await chain.ainvoke({"topic": "owls"}, config={"metadata": RUN_IDENTITY})
    [c async for c in chain.astream({"topic": "owls"}, config={"metadata": RUN_IDENTITY})]
    events = [
        e async for e in chain.astream_events({"topic": "x"}, config={"metadata": RUN_IDENTITY})
    ]
    assert any(e["event"] == "on_chat_model_stream" for e in events)
    assert {i[:2] for i in _identities(gw)} == {("alice@corp.com", "ticket-981")}
    assert len(_identities(gw)) == 6


@tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"It is sunny in {city}."


def _script_agent(gw: LocalGateway) -> None:
    gw.script(
        "openai-prod",
        ScriptedReply.tool_call("get_weather", {"city": "Paris"}, id="call_w1"),
        ScriptedReply.text("It is sunny in Paris."),
    )


@pytest.mark.parametrize("mode", ["invoke", "stream_messages"])
def test_langgraph_agent_identity(gw: LocalGateway, mode: str) -> None:
    agent = create_agent(ChatIgris(model="@openai-prod/gpt-4o"), tools=[get_weather])
    _script_agent(gw)
    config: Any = {"metadata": RUN_IDENTITY}
    question = {"messages": [("human", "What is the weather in Paris?")]}
    if mode == "invoke":
        state = agent.invoke(question, config=config)
        messages = state["messages"]
    else:
        streamed = list(agent.stream(question, config=config, stream_mode="values"))
        messages = streamed[-1]["messages"]
        tokens = list(agent.stream(question, config=config, stream_mode="messages"))
        assert tokens  # the model's chunks came through LangGraph's messages stream
    assert isinstance(messages[1], AIMessage)
    assert messages[1].tool_calls[0]["args"] == {"city": "Paris"}
    assert isinstance(messages[2], ToolMessage) and messages[2].content == "It is sunny in Paris."
    assert messages[-1].content == "It is sunny in Paris."
    identities = _identities(gw)
    assert len(identities) >= 2
    assert all(
        i == ("alice@corp.com", "ticket-981", {"team": "support", "channel": "chat"})
        for i in identities
    )


@ASYNC_AGENT_CONFIG_NEEDS_PY311
async def test_langgraph_agent_async_with_context(gw: LocalGateway) -> None:
    agent = create_agent(
        ChatIgris(model="@openai-prod/gpt-4o", igris_user="agent-default"), tools=[get_weather]
    )
    _script_agent(gw)
    with igris_context(trace_id="ctx-trace", metadata={"team": "ctx"}):
        state = await agent.ainvoke(
            {"messages": [("human", "weather?")]},
            config={"metadata": {"igris_metadata": {"channel": "voice"}}},
        )
    assert state["messages"][-1].content == "It is sunny in Paris."
    assert (
        _identities(gw) == [("agent-default", "ctx-trace", {"team": "ctx", "channel": "voice"})] * 2
    )
