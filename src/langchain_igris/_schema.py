"""JSON schemas in the form OpenAI's strict structured outputs require, and back.

Strict mode (``response_format`` of type ``json_schema`` with ``strict: true``) accepts only
schemas where every object lists all its properties in ``required`` and sets
``additionalProperties: false``, and it refuses keywords such as ``default``. An optional
property therefore becomes a required one that may be ``null`` (OpenAI's documented way to
express "optional"). :func:`strict_schema` rewrites a schema that way; :func:`drop_added_nulls`
undoes it on the answer, removing the ``null`` of a property that was optional and not
nullable, so a pydantic class fills in its default and a dict schema gets the key left out, as
the original schema means.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["drop_added_nulls", "strict_schema"]

_NULL = {"type": "null"}
_LIST_KEYWORDS = ("anyOf", "oneOf", "allOf", "prefixItems")
_DEFS_KEYWORDS = ("$defs", "definitions")


def _nullable(schema: Any) -> bool:
    """True when ``schema`` already accepts ``null`` (or anything)."""
    if not isinstance(schema, Mapping) or not schema:
        return True
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_nullable(member) for member in schema.get("anyOf", ()) if member)


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    description = schema.pop("description", None)
    wrapped: dict[str, Any] = {"anyOf": [schema, dict(_NULL)]}
    if description is not None:
        wrapped["description"] = description
    return wrapped


def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` that OpenAI's strict mode accepts, with the same meaning: every
    object's properties all required (the optional ones nullable), ``additionalProperties:
    false`` on every object, no ``default`` keywords. Nested objects, arrays, unions and
    ``$defs`` included."""
    out: dict[str, Any] = {key: value for key, value in schema.items() if key != "default"}
    for key in _DEFS_KEYWORDS:
        if isinstance(out.get(key), Mapping):
            out[key] = {name: strict_schema(sub) for name, sub in out[key].items()}
    properties = out.get("properties")
    if isinstance(properties, Mapping):
        required = set(out.get("required") or ())
        strict_properties = {}
        for name, sub in properties.items():
            converted = strict_schema(sub) if isinstance(sub, Mapping) else sub
            if name not in required and not _nullable(converted):
                converted = _or_null(converted)
            strict_properties[name] = converted
        out["properties"] = strict_properties
        out["required"] = list(strict_properties)
        out["additionalProperties"] = False
    elif out.get("type") == "object":
        out["additionalProperties"] = False
    if isinstance(out.get("items"), Mapping):
        out["items"] = strict_schema(out["items"])
    for key in _LIST_KEYWORDS:
        if isinstance(out.get(key), list):
            out[key] = [strict_schema(sub) if isinstance(sub, Mapping) else sub for sub in out[key]]
    return out


def _deref(schema: Any, defs: Mapping[str, Any]) -> Any:
    """``schema`` with local ``$ref`` links (``#/$defs/Name``) followed."""
    for _ in range(32):  # a bound, in case of a reference cycle
        ref = schema.get("$ref") if isinstance(schema, Mapping) else None
        if not (isinstance(ref, str) and ref.startswith("#/")):
            return schema
        schema = defs.get(ref.rsplit("/", 1)[-1], {})
    return schema


def _resolve(schema: Any, defs: Mapping[str, Any]) -> Any:
    """``schema`` dereferenced, and a union with ``null`` narrowed to its only other member."""
    schema = _deref(schema, defs)
    if isinstance(schema, Mapping) and "anyOf" in schema:
        members = [member for member in schema["anyOf"] if member != _NULL]
        if len(members) == 1:
            return _deref(members[0], defs)
    return schema


def drop_added_nulls(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` (an answer to :func:`strict_schema` of ``schema``) with the ``null`` of every
    property that ``schema`` has optional and not nullable removed, at every depth."""
    defs: dict[str, Any] = {}
    for key in _DEFS_KEYWORDS:
        if isinstance(schema.get(key), Mapping):
            defs.update(schema[key])
    return _drop(value, schema, defs)


def _drop(value: Any, schema: Any, defs: Mapping[str, Any]) -> Any:
    schema = _resolve(schema, defs)
    if not isinstance(schema, Mapping):
        return value
    if isinstance(value, dict) and isinstance(schema.get("properties"), Mapping):
        required = set(schema.get("required") or ())
        for name, sub in schema["properties"].items():
            if name not in value:
                continue
            if value[name] is None and name not in required and not _nullable(_deref(sub, defs)):
                del value[name]
            else:
                value[name] = _drop(value[name], sub, defs)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_drop(item, schema["items"], defs) for item in value]
    return value
