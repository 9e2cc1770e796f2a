"""Write an answer in OpenAI's chat-completions shape: a JSON body, or the chunks of a stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from igris_core.local_gateway.answer import ChatAnswer, ChoiceOut, ToolCallOut
from igris_core.local_gateway.text import word_pieces

__all__ = [
    "SYSTEM_FINGERPRINT",
    "ChatIds",
    "completion_body",
    "completion_chunks",
    "split_arguments",
]

SYSTEM_FINGERPRINT = "fp_igris_local"
_ARGUMENT_PIECES = 3


@dataclass(frozen=True)
class ChatIds:
    """The identifiers every object of one answer repeats."""

    completion_id: str
    created: int
    model: str


def _message(choice: ChoiceOut) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": choice.text, "refusal": None}
    if choice.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in choice.tool_calls
        ]
    return message


def completion_body(answer: ChatAnswer, ids: ChatIds) -> dict[str, Any]:
    """The JSON body of a non-streaming answer."""
    return {
        "id": ids.completion_id,
        "object": "chat.completion",
        "created": ids.created,
        "model": ids.model,
        "choices": [
            {
                "index": i,
                "message": _message(choice),
                "logprobs": None,
                "finish_reason": choice.finish_reason,
            }
            for i, choice in enumerate(answer.choices)
        ],
        "usage": answer.usage.to_openai(),
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def split_arguments(arguments: str, pieces: int = _ARGUMENT_PIECES) -> list[str]:
    """Cut a JSON text into a few pieces, as providers stream tool arguments."""
    if not arguments:
        return []
    size = max(1, -(-len(arguments) // pieces))
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]


def _tool_call_deltas(index: int, call: ToolCallOut) -> list[dict[str, Any]]:
    head = {
        "index": index,
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": ""},
    }
    rest = [{"index": index, "function": {"arguments": p}} for p in split_arguments(call.arguments)]
    return [head, *rest]


def completion_chunks(
    answer: ChatAnswer, ids: ChatIds, *, include_usage: bool
) -> list[dict[str, Any]]:
    """The chunks of a streaming answer, in order: per choice a role chunk, one chunk per word
    (or per tool-call delta), a finish chunk; then the usage chunk when ``include_usage``."""
    base: dict[str, Any] = {
        "id": ids.completion_id,
        "object": "chat.completion.chunk",
        "created": ids.created,
        "model": ids.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        out = {
            **base,
            "choices": [
                {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
            ],
        }
        if include_usage:
            out["usage"] = None  # OpenAI's way: null on every chunk but the last
        return out

    chunks: list[dict[str, Any]] = []
    for i, choice in enumerate(answer.choices):
        chunks.append(
            chunk(i, {"role": "assistant", "content": "" if choice.text is not None else None})
        )
        for piece in word_pieces(choice.text or ""):
            chunks.append(chunk(i, {"content": piece}))
        for k, call in enumerate(choice.tool_calls):
            for delta in _tool_call_deltas(k, call):
                chunks.append(chunk(i, {"tool_calls": [delta]}))
        chunks.append(chunk(i, {}, choice.finish_reason))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": answer.usage.to_openai()})
    return chunks
