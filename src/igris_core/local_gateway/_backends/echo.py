"""The echo backend: deterministic answers derived from the request alone.

The answer text is the last user message's text. ``stop`` cuts it before the first stop string,
``max_tokens`` (``max_completion_tokens``) keeps that many words (finish_reason ``length``), ``n``
repeats the choice. A forced tool (``tool_choice`` ``required`` or a named function) gets a call
whose arguments are a valid instance of the tool's schema; ``response_format`` ``json_schema``
gets a schema-valid JSON document, ``json_object`` the object ``{"answer": <text>}``. With tools
offered but not forced, the answer is text: the backend does not guess when a model would call.
"""

from __future__ import annotations

import json
from typing import Any

from igris_core.local_gateway._backends.schema_instance import SchemaInstanceError, schema_instance
from igris_core.local_gateway._chat.answer import ChatAnswer, ChoiceOut, ToolCallOut, Usage
from igris_core.local_gateway._chat.conversation import Conversation
from igris_core.local_gateway._chat.text import count_words, cut_at_stop, hex_digest, word_pieces
from igris_core.local_gateway._wire.errors import GatewayError

__all__ = ["completion_tokens", "echo_answer", "needs_schema_work", "tool_call_id", "usage_for"]


def tool_call_id(conversation: Conversation, name: str, arguments: str, position: int) -> str:
    """A stable id for a tool call of this conversation (same request, same id)."""
    digest = hex_digest(name, arguments, str(position), str(len(conversation.messages)))
    return conversation.tool_id_prefix + digest


def completion_tokens(choice: ChoiceOut) -> int:
    """Words of the text plus words of each call's name and arguments."""
    words = count_words(choice.text or "")
    return words + sum(count_words(c.name) + count_words(c.arguments) for c in choice.tool_calls)


def usage_for(conversation: Conversation, choices: tuple[ChoiceOut, ...]) -> Usage:
    """The deterministic usage of an answer to ``conversation``."""
    return Usage(conversation.prompt_tokens(), sum(completion_tokens(c) for c in choices))


def _text_choice(conversation: Conversation, text: str) -> ChoiceOut:
    kept, matched = cut_at_stop(text, conversation.stop)
    limit = conversation.max_tokens
    if limit is not None and count_words(kept) > limit:
        return ChoiceOut("".join(word_pieces(kept)[:limit]), finish_reason="length")
    return ChoiceOut(kept, finish_reason="stop", stop_sequence=matched)


def _instance_json(schema: Any, text: str, name: str, where: str) -> str:
    try:
        return json.dumps(schema_instance(schema, text=text, name=name), ensure_ascii=False)
    except SchemaInstanceError as exc:
        raise GatewayError(400, f"{where}: {exc}", code="schema_too_large") from None


def needs_schema_work(conversation: Conversation) -> bool:
    """Whether the echo answer is built from a JSON schema (work that may take a while)."""
    fmt = conversation.response_format
    return conversation.forced_tool is not None or (fmt is not None and fmt.kind == "json_schema")


def _forced_call(conversation: Conversation, name: str) -> ChoiceOut:
    tool = conversation.tool(name)
    schema = tool.parameters if tool is not None else {"type": "object"}
    arguments = _instance_json(
        schema, conversation.last_user_text(), name, f"tool {name!r} parameters"
    )
    call = ToolCallOut(tool_call_id(conversation, name, arguments, 0), name, arguments)
    return ChoiceOut(None, (call,), finish_reason="tool_calls")


def echo_answer(conversation: Conversation) -> ChatAnswer:
    """The echo backend's answer to ``conversation``."""
    if conversation.forced_tool is not None:
        choice = _forced_call(conversation, conversation.forced_tool)
    else:
        text = conversation.last_user_text()
        fmt = conversation.response_format
        if fmt is not None and fmt.kind == "json_schema":
            text = _instance_json(fmt.schema, text, "value", "response_format schema")
        elif fmt is not None:
            text = json.dumps({"answer": text}, ensure_ascii=False)
        choice = _text_choice(conversation, text)
    choices = (choice,) * conversation.n
    return ChatAnswer(choices, usage_for(conversation, choices))
