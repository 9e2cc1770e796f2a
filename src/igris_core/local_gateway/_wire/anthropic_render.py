"""Write an answer in Anthropic's Messages shape: a JSON body, or its typed stream events."""

from __future__ import annotations

import json
from typing import Any

from igris_core.local_gateway._chat.answer import ChatAnswer, ChoiceOut
from igris_core.local_gateway._chat.text import word_pieces
from igris_core.local_gateway._wire.errors import GatewayError
from igris_core.local_gateway._wire.openai_render import split_arguments
from igris_core.local_gateway._wire.sse import SseEvent, json_event

__all__ = ["error_event", "message_body", "message_events"]


def _stop_reason(choice: ChoiceOut) -> str:
    if choice.finish_reason == "length":
        return "max_tokens"
    if choice.finish_reason == "tool_calls":
        return "tool_use"
    return "stop_sequence" if choice.stop_sequence is not None else "end_turn"


def _tool_input(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        return {"arguments": arguments}  # a scripted non-JSON text: keep it visible
    return value if isinstance(value, dict) else {"value": value}


def _blocks(choice: ChoiceOut) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if choice.text or not choice.tool_calls:
        blocks.append({"type": "text", "text": choice.text or ""})
    for call in choice.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": _tool_input(call.arguments),
            }
        )
    return blocks


def message_body(answer: ChatAnswer, message_id: str, model: str) -> dict[str, Any]:
    """The JSON body of a non-streaming Messages answer (its first choice)."""
    choice = answer.choices[0]
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _blocks(choice),
        "stop_reason": _stop_reason(choice),
        "stop_sequence": choice.stop_sequence,
        "usage": {
            "input_tokens": answer.usage.prompt_tokens,
            "output_tokens": answer.usage.completion_tokens,
        },
    }


def message_events(answer: ChatAnswer, message_id: str, model: str) -> list[SseEvent]:
    """The events of a streaming Messages answer, in Anthropic's order."""
    choice = answer.choices[0]

    def event(payload: dict[str, Any]) -> SseEvent:
        return json_event(payload, str(payload["type"]))

    start = message_body(answer, message_id, model)
    start.update(content=[], stop_reason=None, stop_sequence=None)
    start["usage"] = {"input_tokens": answer.usage.prompt_tokens, "output_tokens": 0}
    events = [event({"type": "message_start", "message": start})]
    for index, block in enumerate(_blocks(choice)):
        if block["type"] == "text":
            head: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in word_pieces(block["text"])]
        else:
            head = {**block, "input": {}}
            arguments = choice.tool_calls[index - (1 if choice.text else 0)].arguments
            deltas = [
                {"type": "input_json_delta", "partial_json": p}
                for p in ["", *split_arguments(arguments)]
            ]
        events.append(event({"type": "content_block_start", "index": index, "content_block": head}))
        if index == 0:
            events.append(event({"type": "ping"}))
        events += [
            event({"type": "content_block_delta", "index": index, "delta": d}) for d in deltas
        ]
        events.append(event({"type": "content_block_stop", "index": index}))
    events.append(
        event(
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": _stop_reason(choice),
                    "stop_sequence": choice.stop_sequence,
                },
                "usage": {"output_tokens": answer.usage.completion_tokens},
            }
        )
    )
    events.append(event({"type": "message_stop"}))
    return events


def error_event(error: GatewayError) -> SseEvent:
    """A mid-stream error in Anthropic's form, which also has the protocol's ``error`` member."""
    return json_event({"type": "error", **error.body()}, "error")
