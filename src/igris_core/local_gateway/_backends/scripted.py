"""Canned answers queued per connection with :meth:`LocalGateway.script`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ScriptedReply", "ScriptedToolCall"]


@dataclass(frozen=True)
class ScriptedToolCall:
    """One tool call of a scripted answer. ``arguments`` is a mapping (sent as JSON) or a JSON
    text sent as is (so a client's handling of bad arguments can be tested too)."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON text a chat answer carries."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), ensure_ascii=False)


@dataclass(frozen=True)
class ScriptedReply:
    """A canned answer: text, one or several (parallel) tool calls, or an error.

    Build one with the class methods::

        ScriptedReply.text("Paris.")
        ScriptedReply.tool_call("get_weather", {"city": "Paris"})
        ScriptedReply.tool_calls([("get_weather", {"city": "Paris"}), ("get_time", {})])
        ScriptedReply.error(503, "upstream overloaded", retry_after=1)
    """

    kind: Literal["text", "tool_calls", "error"]
    content: str = ""
    calls: tuple[ScriptedToolCall, ...] = ()
    status: int = 200
    message: str = ""
    error_type: str | None = None
    retry_after: float | None = None

    @classmethod
    def text(cls, content: str) -> ScriptedReply:
        """An assistant answer with this text."""
        if not isinstance(content, str):
            raise TypeError(f"ScriptedReply.text expects a string, got {content!r}")
        return cls(kind="text", content=content)

    @classmethod
    def tool_call(
        cls, name: str, arguments: Mapping[str, Any] | str, *, id: str | None = None
    ) -> ScriptedReply:
        """An assistant answer calling one tool."""
        return cls(kind="tool_calls", calls=(ScriptedToolCall(name, arguments, id),))

    @classmethod
    def tool_calls(
        cls,
        calls: Iterable[
            tuple[str, Mapping[str, Any] | str] | tuple[str, Mapping[str, Any] | str, str]
        ],
    ) -> ScriptedReply:
        """An assistant answer calling several tools at once (parallel tool calls).

        Each item is ``(name, arguments)`` or ``(name, arguments, id)``.
        """
        built = tuple(ScriptedToolCall(*call) for call in calls)
        if not built:
            raise ValueError("ScriptedReply.tool_calls needs at least one call")
        return cls(kind="tool_calls", calls=built)

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        type: str | None = None,  # mirrors the wire field name
        retry_after: float | None = None,
    ) -> ScriptedReply:
        """An error answer: ``status`` with the protocol's error body (and ``Retry-After``
        when ``retry_after`` is given). ``type`` defaults to the gateway's type for the status."""
        if not 400 <= status <= 599:
            raise ValueError(f"ScriptedReply.error needs a 4xx or 5xx status, got {status}")
        return cls(
            kind="error", status=status, message=message, error_type=type, retry_after=retry_after
        )
