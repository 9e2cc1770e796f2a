"""Done means: agents from llama_index.core.agent.workflow call a tool through IgrisLLM (scripted
answers on the offline gateway) and then answer."""

from __future__ import annotations

import pytest
from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ReActAgent, ToolCallResult
from llama_index.core.tools import FunctionTool

from igris_core import IgrisPolicyDeniedError, igris_context
from igris_core.local_gateway import LocalGateway, ScriptedReply
from llama_index_igris import IgrisLLM


def _tools(calls: list[tuple[int, int]]) -> list[FunctionTool]:
    def multiply(a: int, b: int) -> int:
        """Multiply two integers and return the product."""
        calls.append((a, b))
        return a * b

    return [FunctionTool.from_defaults(multiply)]


@pytest.mark.parametrize("streaming", [True, False])
async def test_function_agent(gw: LocalGateway, llm: IgrisLLM, streaming: bool) -> None:
    calls: list[tuple[int, int]] = []
    gw.script(
        "openai-prod",
        ScriptedReply.tool_call("multiply", {"a": 6, "b": 7}),
        ScriptedReply.text("6 times 7 is 42."),
    )
    agent = FunctionAgent(
        tools=_tools(calls), llm=llm, streaming=streaming, system_prompt="Use tools."
    )
    with igris_context(user="alice@corp.com", trace_id="agent-run-1"):
        handler = agent.run(user_msg="What is 6 times 7?")
        results, deltas = [], []
        async for event in handler.stream_events():
            if isinstance(event, ToolCallResult):
                results.append(event)
            elif isinstance(event, AgentStream):
                deltas.append(event.delta)
        response = await handler
    assert calls == [(6, 7)]
    assert [(r.tool_name, r.tool_kwargs, r.tool_output.content) for r in results] == [
        ("multiply", {"a": 6, "b": 7}, "42")
    ]
    assert str(response) == "6 times 7 is 42."
    assert response.response.content == "6 times 7 is 42."
    if streaming:
        assert "".join(deltas) == "6 times 7 is 42."
    assert [(e.route, e.status, e.stream, e.user, e.trace_id) for e in gw.audit] == [
        ("chat", 200, streaming, "alice@corp.com", "agent-run-1")
    ] * 2


async def test_function_agent_tool_result_goes_back_to_the_model(
    gw: LocalGateway, llm: IgrisLLM
) -> None:
    """The second turn carries the assistant's tool call and the tool's result: the echo
    backend (no script) answers with the last user message, and a malformed history would be
    refused with a 400."""
    calls: list[tuple[int, int]] = []
    gw.script("openai-prod", ScriptedReply.tool_call("multiply", {"a": 3, "b": 4}))
    agent = FunctionAgent(tools=_tools(calls), llm=llm)
    response = await agent.run(user_msg="three times four please")
    assert calls == [(3, 4)]
    assert str(response) == "three times four please"
    assert [e.status for e in gw.audit] == [200, 200]
    assert (
        gw.audit[1].usage is not None
        and gw.audit[1].usage["prompt_tokens"] > gw.audit[0].usage["prompt_tokens"]
    )  # type: ignore[index]


@pytest.mark.parametrize("streaming", [True, False])
async def test_react_agent(gw: LocalGateway, llm: IgrisLLM, streaming: bool) -> None:
    calls: list[tuple[int, int]] = []
    gw.script(
        "openai-prod",
        ScriptedReply.text(
            "Thought: I need to multiply the numbers.\n"
            "Action: multiply\n"
            'Action Input: {"a": 6, "b": 7}'
        ),
        ScriptedReply.text(
            "Thought: I can answer without using any more tools.\nAnswer: 6 times 7 is 42."
        ),
    )
    agent = ReActAgent(tools=_tools(calls), llm=llm, streaming=streaming)
    handler = agent.run(user_msg="What is 6 times 7?")
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    response = await handler
    assert calls == [(6, 7)]
    assert results[0].tool_output.content == "42"
    assert str(response) == "6 times 7 is 42."
    assert [(e.route, e.status, e.stream) for e in gw.audit] == [("chat", 200, streaming)] * 2


async def test_typed_errors_reach_the_agent_caller(gw: LocalGateway, llm: IgrisLLM) -> None:
    gw.deny("no-secrets", pattern=r"(?i)password")
    agent = FunctionAgent(tools=_tools([]), llm=llm)
    with pytest.raises(IgrisPolicyDeniedError) as info:
        await agent.run(user_msg="what is the admin password?")
    assert info.value.code == "no-secrets"
