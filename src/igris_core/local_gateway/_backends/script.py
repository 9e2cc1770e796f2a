"""Scripted answers: replies queued with :meth:`LocalGateway.script`, served before any backend.

A ``script`` connection whose queue is empty answers 400 ``script_exhausted``; other backends
answer normally once the queue is empty. Scripted text is served as written (``max_tokens`` and
``stop`` do not cut it); usage is counted as the echo backend counts it.
"""

from __future__ import annotations

from igris_core import protocol
from igris_core.local_gateway._backends.echo import tool_call_id, usage_for
from igris_core.local_gateway._backends.scripted import ScriptedReply
from igris_core.local_gateway._chat.answer import ChatAnswer, ChoiceOut, ToolCallOut
from igris_core.local_gateway._chat.conversation import Conversation
from igris_core.local_gateway._wire.errors import GatewayError, error_type_for, format_retry_after

__all__ = ["exhausted_error", "scripted_answer"]


def scripted_answer(reply: ScriptedReply, conversation: Conversation) -> ChatAnswer:
    """The answer a scripted reply makes; raises the error of an error reply."""
    if reply.kind == "error":
        headers = {}
        if reply.retry_after is not None:
            headers[protocol.RETRY_AFTER_HEADER] = format_retry_after(reply.retry_after)
        raise GatewayError(
            reply.status,
            reply.message,
            type=reply.error_type or error_type_for(reply.status),
            code="scripted",
            headers=headers,
        )
    if reply.kind == "text":
        choice = ChoiceOut(reply.content, finish_reason="stop")
    else:
        calls = tuple(
            ToolCallOut(
                call.id or tool_call_id(conversation, call.name, call.arguments_json, position),
                call.name,
                call.arguments_json,
            )
            for position, call in enumerate(reply.calls)
        )
        choice = ChoiceOut(None, calls, finish_reason="tool_calls")
    choices = (choice,) * conversation.n
    return ChatAnswer(choices, usage_for(conversation, choices))


def exhausted_error(slug: str) -> GatewayError:
    """The answer of a ``script`` connection with nothing left to say."""
    return GatewayError(
        400,
        f"connection {slug!r} uses the script backend and its queue of scripted replies is empty",
        type="script_exhausted",
        code="script_exhausted",
    )
