"""Read an Anthropic Messages request (``POST /llm/<slug>/v1/messages``) into a Conversation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from igris_core.local_gateway._chat.conversation import Conversation, Message, ToolSpec
from igris_core.local_gateway._wire.errors import GatewayError

__all__ = ["messages_request_user", "parse_messages_request"]


def _invalid(message: str) -> GatewayError:
    return GatewayError(422, message)


def _block_text(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        return str(block["text"])
    if kind == "tool_use":
        return f"{block.get('name', '')} {json.dumps(block.get('input', {}), ensure_ascii=False)}"
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "\n".join(_block_text(b) for b in content if isinstance(b, Mapping))
    return ""


def _content_text(where: str, content: object) -> tuple[str, bool]:
    """The text of a content field, and whether it held only tool results."""
    if isinstance(content, str):
        return content, False
    if not isinstance(content, list):
        raise _invalid(f"{where}: expected a string or a list of content blocks")
    for i, block in enumerate(content):
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            raise _invalid(f"{where}[{i}]: expected an object with a string 'type'")
    only_results = bool(content) and all(b.get("type") == "tool_result" for b in content)
    return "\n".join(t for t in (_block_text(b) for b in content) if t), only_results


def _tools(body: Mapping[str, Any]) -> tuple[ToolSpec, ...]:
    tools = body.get("tools")
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise _invalid("tools: expected a list")
    specs = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
            raise _invalid(f"tools[{i}]: expected an object with a string 'name'")
        schema = tool.get("input_schema", {"type": "object"})
        if not isinstance(schema, Mapping):
            raise _invalid(f"tools[{i}].input_schema: expected an object")
        specs.append(ToolSpec(tool["name"], schema))
    return tuple(specs)


def _forced_tool(body: Mapping[str, Any], tools: tuple[ToolSpec, ...]) -> str | None:
    choice = body.get("tool_choice")
    if choice is None:
        return None
    if not isinstance(choice, Mapping) or choice.get("type") not in ("auto", "any", "tool", "none"):
        raise _invalid("tool_choice: expected {'type': 'auto' | 'any' | 'tool' | 'none'}")
    kind = choice["type"]
    if kind in ("auto", "none"):
        return None
    if not tools:
        raise GatewayError(400, "tool_choice forces a tool but no tools were given")
    if kind == "any":
        return tools[0].name
    name = choice.get("name")
    if not isinstance(name, str):
        raise _invalid("tool_choice.name: expected a string")
    if not any(t.name == name for t in tools):
        raise GatewayError(400, f"tool_choice names the tool {name!r}, which is not in tools")
    return name


def messages_request_user(body: Mapping[str, Any]) -> str | None:
    """The end user an Anthropic request names (``metadata.user_id``), if any."""
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("user_id"), str):
        return str(metadata["user_id"])
    return None


def parse_messages_request(body: Mapping[str, Any]) -> Conversation:
    """Check the request's shape (422 naming the bad field) and reduce it to a Conversation."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("model: required, a non-empty string")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        raise _invalid("max_tokens: required, an integer >= 0")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise _invalid("messages: required, a non-empty list of messages")
    messages: list[Message] = []
    system = body.get("system")
    if system is not None:
        text, _ = _content_text("system", system)
        messages.append(Message("system", text))
    for i, raw in enumerate(raw_messages):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("role"), str):
            raise _invalid(f"messages[{i}]: expected an object with a string 'role'")
        text, only_results = _content_text(f"messages[{i}].content", raw.get("content", ""))
        messages.append(Message("tool" if only_results else raw["role"], text))
    stops = body.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
    ):
        raise _invalid("stop_sequences: expected a list of strings")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _invalid("stream: expected a boolean")
    tools = _tools(body)
    return Conversation(
        model=model,
        messages=tuple(messages),
        tools=tools,
        forced_tool=_forced_tool(body, tools),
        max_tokens=max_tokens,
        stop=tuple(stops or ()),
        stream=stream,
        include_usage=True,
        tool_id_prefix="toolu_",
    )
