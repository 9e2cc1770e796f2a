"""JSON schema -> a valid, deterministic instance (tool arguments and structured output)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igris_core.local_gateway._backends.schema_instance import schema_instance

DEFS = {
    "$defs": {
        "Address": {
            "type": "object",
            "properties": {
                "street": {"type": "string"},
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
            },
            "required": ["street", "zip"],
        },
        "Node": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
            },
            "required": ["value", "children"],
        },
    }
}

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {}},
    {"type": "string", "minLength": 40},
    {"type": "string", "maxLength": 3},
    {"type": "string", "enum": ["red", "green"]},
    {"const": {"fixed": [1, 2]}},
    {"type": "string", "format": "date"},
    {"type": "string", "format": "date-time"},
    {"type": "string", "format": "email"},
    {"type": "string", "format": "uri"},
    {"type": "string", "format": "uuid"},
    {"type": "string", "pattern": "^[A-Z]+$"},
    {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}$"},
    {"type": "integer", "minimum": 10, "maximum": 12},
    {"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 7},
    {"type": "integer", "minimum": 3, "multipleOf": 5},
    {"type": "integer", "maximum": -4},
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5},
    {"type": "number", "minimum": 2.5, "multipleOf": 0.5},
    {"type": "number", "maximum": -1.5},
    {"type": "boolean"},
    {"type": "null"},
    {"type": ["null", "integer"], "minimum": 4},
    {"type": "array", "items": {"type": "integer"}, "minItems": 3, "uniqueItems": True},
    {
        "type": "array",
        "items": {"type": "string", "format": "email"},
        "minItems": 2,
        "uniqueItems": True,
    },
    {"type": "array", "maxItems": 0},
    {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
    {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 3, "uniqueItems": True},
    {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 2}]},
    {"oneOf": [{"type": "integer", "minimum": 100}, {"type": "string", "maxLength": 0}]},
    {
        "allOf": [
            {"properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer"}}, "required": ["b"]},
        ]
    },
    {
        "type": "object",
        "properties": {"home": {"$ref": "#/$defs/Address"}, "tree": {"$ref": "#/$defs/Node"}},
        "required": ["home", "tree"],
        **DEFS,
    },
    {
        "type": "object",
        "definitions": {"Color": {"enum": ["cyan", "magenta"]}},
        "properties": {"c": {"$ref": "#/definitions/Color"}},
        "required": ["c"],
    },
    {"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 2},
    {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "maxProperties": 1,
    },
    {
        "type": "object",
        "required": ["only"],
        "additionalProperties": False,
        "properties": {"only": {}},
    },
    {  # a pydantic-style Optional field with a default
        "type": "object",
        "properties": {
            "limit": {
                "anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "null"}],
                "default": None,
            }
        },
    },
    {"properties": {"inferred": {"minimum": 3}}, "required": ["inferred"]},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=[str(i) for i in range(len(SCHEMAS))])
def test_instances_validate(schema: dict[str, Any]) -> None:
    instance = schema_instance(schema, text="What is the weather in Paris today?", name="field")
    jsonschema.validate(instance, schema, cls=jsonschema.Draft202012Validator)
    assert (
        schema_instance(schema, text="What is the weather in Paris today?", name="field")
        == instance
    )


def test_draft4_boolean_exclusive_bounds() -> None:
    schema = {"type": "integer", "minimum": 5, "exclusiveMinimum": True, "maximum": 6}
    instance = schema_instance(schema)
    jsonschema.Draft4Validator(schema).validate(instance)
    assert instance == 6


def test_strings_come_from_the_request_text_else_the_name() -> None:
    schema = {
        "type": "object",
        "properties": {"city_name": {"type": "string"}},
        "required": ["city_name"],
    }
    assert schema_instance(schema, text="weather in Paris")["city_name"] == "weather in Paris"
    assert schema_instance(schema)["city_name"] == "city name"


def test_recursive_schemas_terminate() -> None:
    schema = {"$ref": "#/$defs/Node", **DEFS}
    instance = schema_instance(schema)
    jsonschema.validate(instance, schema)


_leaf = st.one_of(
    st.builds(
        lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
        st.integers(-50, 50),
        st.integers(0, 10),
    ),
    st.builds(
        lambda lo, hi: {"type": "string", "minLength": lo, "maxLength": lo + hi},
        st.integers(0, 20),
        st.integers(0, 20),
    ),
    st.builds(
        lambda values: {"enum": values}, st.lists(st.text(max_size=5), min_size=1, max_size=4)
    ),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.builds(
        lambda m, lo: {"type": "number", "multipleOf": m, "minimum": lo},
        st.sampled_from([0.25, 0.5, 2, 3]),
        st.integers(-10, 10),
    ),
)
_schemas = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.builds(
            lambda props, n: {
                "type": "object",
                "properties": props,
                "required": sorted(props)[:n],
                "additionalProperties": False,
            },
            st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), inner, max_size=4),
            st.integers(0, 4),
        ),
        st.builds(
            lambda items, lo: {"type": "array", "items": items, "minItems": lo},
            inner,
            st.integers(0, 3),
        ),
        st.builds(lambda a, b: {"anyOf": [a, b]}, inner, inner),
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(schema=_schemas, text=st.text(max_size=30))
def test_generated_schemas_get_valid_instances(schema: dict[str, Any], text: str) -> None:
    jsonschema.validate(schema_instance(schema, text=text), schema)
