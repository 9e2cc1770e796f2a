"""Scripted answers written in the configuration file: an agent runs against the CLI gateway."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool

from igris_core._errors import IgrisBadRequestError, IgrisServerError
from igris_core.local_gateway import (
    ConnectionConfig,
    GatewayConfig,
    LocalGateway,
    ScriptedReply,
    load_config,
)
from langchain_igris import ChatIgris

AGENT_CONFIG = """
[keys]
default = "ig_local_agent"

[[connections]]
slug = "agent"
backend = "script"
script_loop = true

[[connections.script]]
tool_call = { name = "get_weather", arguments = { city = "Paris" } }

[[connections.script]]
text = "It is sunny in Paris."

[[connections.script]]
error = { status = 503, message = "overloaded" }
"""


@tool
def get_weather(city: str) -> str:
    """The weather of a city."""
    return f"sunny in {city}"


def test_an_agent_runs_on_scripted_answers_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(AGENT_CONFIG, encoding="utf-8")
    config = load_config(path)
    (connection,) = config.connections
    assert connection.script == (
        ScriptedReply.tool_call("get_weather", {"city": "Paris"}),
        ScriptedReply.text("It is sunny in Paris."),
        ScriptedReply.error(503, "overloaded"),
    )
    with LocalGateway(config) as gw:
        llm = ChatIgris(
            model="@agent/scripted", base_url=gw.base_url, api_key=gw.api_key, max_retries=0
        )
        agent = create_agent(llm, tools=[get_weather])
        result = agent.invoke({"messages": [("user", "Weather in Paris?")]})
        assert result["messages"][-1].content == "It is sunny in Paris."
        assert result["messages"][2].content == "sunny in Paris"  # the tool really ran
        with pytest.raises(IgrisServerError, match="overloaded"):
            llm.invoke("next")
        again = agent.invoke({"messages": [("user", "And now?")]})  # looped to the start
        assert again["messages"][-1].content == "It is sunny in Paris."
        gw.reset()  # back to the configured script, from its first reply
        assert llm.invoke("x").tool_calls[0]["name"] == "get_weather"


def test_a_script_without_loop_is_exhausted() -> None:
    config = ConnectionConfig("once", backend="script", script=(ScriptedReply.text("only"),))
    with LocalGateway(GatewayConfig(connections=(config,))) as gw:
        llm = ChatIgris(model="@once/m", base_url=gw.base_url, api_key=gw.api_key, max_retries=0)
        assert llm.invoke("a").content == "only"
        with pytest.raises(IgrisBadRequestError, match="queue of scripted replies is empty"):
            llm.invoke("b")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("text = 1", "text"),
        ('text = "a"\ntool_call = { name = "t" }', "exactly one of"),
        ("nothing = 1", "exactly one of"),
        ("tool_call = { arguments = {} }", "name"),
        ('error = { status = 200, message = "x" }', "4xx or 5xx"),
    ],
)
def test_bad_script_entries_are_named(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        f'[[connections]]\nslug = "a"\n[[connections.script]]\n{table}\n', encoding="utf-8"
    )
    with pytest.raises(ValueError, match=message) as info:
        load_config(path)
    assert "connections[0].script[0]" in str(info.value)
