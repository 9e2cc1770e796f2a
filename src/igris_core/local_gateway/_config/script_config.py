"""Scripted replies written in the TOML configuration (``[[connections.script]]`` tables).

Each table holds exactly one of::

    text = "It is sunny in Paris."
    tool_call = { name = "get_weather", arguments = { city = "Paris" }, id = "call_1" }
    tool_calls = [{ name = "get_weather", arguments = { city = "Paris" } }, { name = "get_time" }]
    error = { status = 503, message = "overloaded", type = "server_error", retry_after = 1 }

``id``, ``arguments`` (an object, or a JSON text sent as is), ``type`` and ``retry_after`` are
optional.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from igris_core.local_gateway._backends.scripted import ScriptedReply

__all__ = ["scripted_reply_from_table"]

_KINDS = ("text", "tool_call", "tool_calls", "error")
_CALL_FIELDS = {"name", "arguments", "id"}
_ERROR_FIELDS = {"status", "message", "type", "retry_after"}


def _fields(where: str, value: object, allowed: set[str], required: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a table, got {value!r}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}")
    missing = sorted(required - set(value))
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
    return value


def _call(where: str, value: object) -> tuple[str, Mapping[str, Any] | str, str | None]:
    table = _fields(where, value, _CALL_FIELDS, {"name"})
    name, arguments, call_id = table["name"], table.get("arguments", {}), table.get("id")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: name must be a non-empty string")
    if not isinstance(arguments, Mapping | str):
        raise ValueError(f"{where}: arguments must be a table or a JSON text")
    if call_id is not None and not isinstance(call_id, str):
        raise ValueError(f"{where}: id must be a string")
    return name, arguments, call_id


def scripted_reply_from_table(where: str, table: object) -> ScriptedReply:
    """The reply one ``[[connections.script]]`` table describes; ``ValueError`` names ``where``."""
    if not isinstance(table, Mapping):
        raise ValueError(f"{where}: expected a table, got {table!r}")
    kinds = [k for k in _KINDS if k in table]
    if len(kinds) != 1 or len(table) != 1:
        got = ", ".join(table) or "none"
        raise ValueError(f"{where}: expected exactly one of {', '.join(_KINDS)}, got {got}")
    kind, value = kinds[0], table[kinds[0]]
    try:
        if kind == "text":
            if not isinstance(value, str):
                raise ValueError(f"text must be a string, got {value!r}")
            return ScriptedReply.text(value)
        if kind == "tool_call":
            name, arguments, call_id = _call(f"{where}.tool_call", value)
            return ScriptedReply.tool_call(name, arguments, id=call_id)
        if kind == "tool_calls":
            if not isinstance(value, list):
                raise ValueError("tool_calls must be an array of tables")
            calls = [_call(f"{where}.tool_calls[{i}]", c) for i, c in enumerate(value)]
            return ScriptedReply.tool_calls(
                (name, args, call_id) if call_id else (name, args) for name, args, call_id in calls
            )
        error = _fields(f"{where}.error", value, _ERROR_FIELDS, {"status", "message"})
        status, message = error["status"], error["message"]
        if isinstance(status, bool) or not isinstance(status, int) or not isinstance(message, str):
            raise ValueError("error needs an integer status and a string message")
        return ScriptedReply.error(
            status, message, type=error.get("type"), retry_after=error.get("retry_after")
        )
    except ValueError as exc:
        if str(exc).startswith(where):
            raise
        raise ValueError(f"{where}: {exc}") from None
