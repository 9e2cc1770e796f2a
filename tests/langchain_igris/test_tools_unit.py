"""bind_tools and with_structured_output without a gateway: what goes on the wire, and how the
answers are parsed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from igris_core import IgrisInputError
from tests.langchain_igris.helpers import Recorder, chat_body, json_reply, make_chat


class GetWeather(BaseModel):
    """Get the current weather in a given location."""

    location: str = Field(..., description="The city, e.g. Paris")


@tool
def get_time(zone: str) -> str:
    """Get the time in a time zone."""
    return "noon"


def _call(name: str, args: Any, call_id: str = "call_1") -> dict[str, Any]:
    arguments = args if isinstance(args, str) else json.dumps(args)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_bind_tools_converts_once_and_sends_tools() -> None:
    recorder = Recorder()
    bound = make_chat(recorder).bind_tools(
        [GetWeather, get_time], strict=True, parallel_tool_calls=False
    )
    bound.invoke("hi")
    bound.invoke("again")
    body = recorder.body
    assert [t["function"]["name"] for t in body["tools"]] == ["GetWeather", "get_time"]
    assert all(t["function"]["strict"] is True for t in body["tools"])
    assert body["parallel_tool_calls"] is False
    assert "tool_choice" not in body
    assert recorder.bodies[0]["tools"] == recorder.bodies[1]["tools"]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("any", "required"),
        ("get_time", {"type": "function", "function": {"name": "get_time"}}),
        (
            {"type": "function", "function": {"name": "GetWeather"}},
            {"type": "function", "function": {"name": "GetWeather"}},
        ),
        (True, "required"),
        (None, None),
        (False, None),
    ],
)
def test_tool_choice_forms(choice: Any, wire: Any) -> None:
    recorder = Recorder()
    make_chat(recorder).bind_tools([GetWeather, get_time], tool_choice=choice).invoke("hi")
    assert recorder.body.get("tool_choice") == wire


def test_tool_choice_true_with_one_tool_forces_it() -> None:
    recorder = Recorder()
    make_chat(recorder).bind_tools([GetWeather], tool_choice=True).invoke("hi")
    assert recorder.body["tool_choice"] == {"type": "function", "function": {"name": "GetWeather"}}


@pytest.mark.parametrize(
    ("choice", "shown"),
    [
        ("get_weather", "'get_weather'"),  # wrong case
        ({"type": "function", "function": {"name": "nope"}}, "'nope'"),
        (3, "3"),
    ],
)
def test_bad_tool_choice_is_refused_before_any_request(choice: Any, shown: str) -> None:
    recorder = Recorder()
    with pytest.raises(IgrisInputError, match=shown) as err:
        make_chat(recorder).bind_tools([GetWeather, get_time], tool_choice=choice)
    assert "GetWeather" in str(err.value)
    assert recorder.requests == []


def test_tool_calls_are_parsed() -> None:
    body = chat_body(
        None,
        tool_calls=[
            _call("GetWeather", {"location": "Paris"}, "call_1"),
            _call("get_time", "{not json", "call_2"),
            _call("get_time", "[1, 2]", "call_3"),
            _call("get_time", "", "call_4"),
        ],
        finish_reason="tool_calls",
    )
    message = make_chat(Recorder(json_reply(body))).bind_tools([GetWeather, get_time]).invoke("hi")
    assert isinstance(message, AIMessage)
    assert message.tool_calls == [
        {"name": "GetWeather", "args": {"location": "Paris"}, "id": "call_1", "type": "tool_call"},
        {"name": "get_time", "args": {}, "id": "call_4", "type": "tool_call"},
    ]
    assert [(c["id"], c["args"]) for c in message.invalid_tool_calls] == [
        ("call_2", "{not json"),
        ("call_3", "[1, 2]"),
    ]
    assert all(c["error"] for c in message.invalid_tool_calls)
    assert message.response_metadata["finish_reason"] == "tool_calls"


def test_bind_tools_response_format() -> None:
    recorder = Recorder()
    make_chat(recorder).bind_tools([get_time], response_format=GetWeather, strict=True).invoke("hi")
    response_format = recorder.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "GetWeather"
    assert response_format["json_schema"]["strict"] is True
    passthrough = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "object"}},
    }
    make_chat(recorder).bind_tools([], response_format=passthrough).invoke("hi")
    assert recorder.body["response_format"] == passthrough


class Person(BaseModel):
    """A person."""

    name: str
    age: int


class PersonDict(TypedDict):
    """A person."""

    name: str
    age: int


PERSON_SCHEMA = {
    "title": "Person",
    "description": "A person.",
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
_ADA = {"name": "Ada", "age": 36}


@pytest.mark.parametrize(
    "schema", [Person, PersonDict, PERSON_SCHEMA], ids=["pydantic", "typeddict", "json"]
)
def test_structured_output_function_calling(schema: Any) -> None:
    recorder = Recorder(
        json_reply(
            chat_body(
                None,
                tool_calls=[_call("Person" if schema is not PersonDict else "PersonDict", _ADA)],
            )
        )
    )
    result = make_chat(recorder).with_structured_output(schema, strict=True).invoke("Ada, 36")
    body = recorder.body
    name = body["tools"][0]["function"]["name"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": name}}
    assert body["parallel_tool_calls"] is False
    assert body["tools"][0]["function"]["strict"] is True
    assert "ls_structured_output_format" not in body
    assert result == (Person(**_ADA) if schema is Person else _ADA)


@pytest.mark.parametrize(
    "schema", [Person, PersonDict, PERSON_SCHEMA], ids=["pydantic", "typeddict", "json"]
)
def test_structured_output_json_schema(schema: Any) -> None:
    recorder = Recorder(json_reply(chat_body(json.dumps(_ADA))))
    result = (
        make_chat(recorder)
        .with_structured_output(schema, method="json_schema", strict=True)
        .invoke("Ada")
    )
    response_format = recorder.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    assert set(response_format["json_schema"]["schema"]["properties"]) == {"name", "age"}
    assert "tools" not in recorder.body
    assert result == (Person(**_ADA) if schema is Person else _ADA)


@pytest.mark.parametrize("schema", [Person, None], ids=["pydantic", "none"])
def test_structured_output_json_mode(schema: Any) -> None:
    recorder = Recorder(json_reply(chat_body(json.dumps(_ADA))))
    result = make_chat(recorder).with_structured_output(schema, method="json_mode").invoke("Ada")
    assert recorder.body["response_format"] == {"type": "json_object"}
    assert result == (Person(**_ADA) if schema is Person else _ADA)
    with pytest.raises(ValueError, match="strict"):
        make_chat(recorder).with_structured_output(schema, method="json_mode", strict=True)


def test_structured_output_include_raw() -> None:
    good = Recorder(json_reply(chat_body(json.dumps(_ADA))))
    out = (
        make_chat(good)
        .with_structured_output(Person, method="json_schema", include_raw=True)
        .invoke("x")
    )
    assert out["parsed"] == Person(**_ADA) and out["parsing_error"] is None
    assert isinstance(out["raw"], AIMessage)
    bad = Recorder(json_reply(chat_body('{"name": "Ada"}')))
    out = (
        make_chat(bad)
        .with_structured_output(Person, method="json_schema", include_raw=True)
        .invoke("x")
    )
    assert out["parsed"] is None and out["parsing_error"] is not None
    assert out["raw"].content == '{"name": "Ada"}'


def test_structured_output_refusal() -> None:
    from langchain_core import exceptions

    # ModelRefusalError from langchain-core 1.7.5; before it, its base OutputParserException.
    expected = getattr(exceptions, "ModelRefusalError", exceptions.OutputParserException)
    refusal = Recorder(json_reply(chat_body(None, refusal="I can't do that.")))
    with pytest.raises(expected, match="can't do that") as info:
        make_chat(refusal).with_structured_output(Person, method="json_schema").invoke("x")
    assert type(info.value) is expected


def test_structured_output_streams() -> None:
    from tests.langchain_igris.helpers import chunk, sse_reply

    events = [chunk('{"name": '), chunk('"Ada", "age": 36}'), chunk(finish_reason="stop")]
    parsed = list(
        make_chat(Recorder(sse_reply(events)))
        .with_structured_output(PersonDict, method="json_schema")
        .stream("x")
    )
    assert parsed[-1] == _ADA


def test_structured_output_bad_method() -> None:
    with pytest.raises(ValueError, match="'xml'"):
        make_chat().with_structured_output(Person, method="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="schema is required"):
        make_chat().with_structured_output(None)


def test_tool_calls_without_ids_get_one() -> None:
    calls = [{"type": "function", "function": {"name": "get_time", "arguments": '{"zone": "CET"}'}}]
    message = make_chat(Recorder(json_reply(chat_body(None, tool_calls=calls)))).invoke("x")
    (call,) = message.tool_calls
    assert call["id"] is not None and call["id"].startswith("call_")
    assert call["args"] == {"zone": "CET"}


def test_object_arguments_in_a_whole_answer() -> None:
    # Some providers send the arguments as a JSON object, not a JSON text.
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": "ü"}}}]
    message = make_chat(Recorder(json_reply(chat_body(None, tool_calls=calls)))).invoke("x")
    assert message.tool_calls == [
        {"name": "f", "args": {"a": "ü"}, "id": "c1", "type": "tool_call"}
    ]
