"""Write an answer in OpenAI's chat-completions shape: a JSON body, or the chunks of a stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from igris_core.local_gateway._chat.answer import ChatAnswer, ChoiceOut, ToolCallOut, Usage
from igris_core.local_gateway._chat.text import word_pieces

__all__ = [
    "SYSTEM_FINGERPRINT",
    "ChatIds",
    "ChunkWriter",
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


class ChunkWriter:
    """Writes the chunk objects of one streaming answer, one at a time (for answers produced
    incrementally, such as a local model's tokens as they come)."""

    def __init__(self, ids: ChatIds, *, include_usage: bool) -> None:
        self.include_usage = include_usage
        self._base: dict[str, Any] = {
            "id": ids.completion_id,
            "object": "chat.completion.chunk",
            "created": ids.created,
            "model": ids.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }

    def chunk(self, index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        """A chunk of choice ``index`` carrying ``delta`` (and its ``finish_reason``)."""
        out = {
            **self._base,
            "choices": [
                {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
            ],
        }
        if self.include_usage:
            out["usage"] = None  # OpenAI's way: null on every chunk but the last
        return out

    def role(self, index: int, *, text: bool = True) -> dict[str, Any]:
        """The opening chunk of choice ``index``."""
        return self.chunk(index, {"role": "assistant", "content": "" if text else None})

    def usage(self, usage: Usage) -> dict[str, Any]:
        """The terminal usage chunk (only sent when ``include_usage``)."""
        return {**self._base, "choices": [], "usage": usage.to_openai()}


def completion_chunks(
    answer: ChatAnswer, ids: ChatIds, *, include_usage: bool
) -> list[dict[str, Any]]:
    """The chunks of a streaming answer, in order: per choice a role chunk, one chunk per word
    (or per tool-call delta), a finish chunk; then the usage chunk when ``include_usage``."""
    writer = ChunkWriter(ids, include_usage=include_usage)
    chunks: list[dict[str, Any]] = []
    for i, choice in enumerate(answer.choices):
        chunks.append(writer.role(i, text=choice.text is not None))
        for piece in word_pieces(choice.text or ""):
            chunks.append(writer.chunk(i, {"content": piece}))
        for k, call in enumerate(choice.tool_calls):
            for delta in _tool_call_deltas(k, call):
                chunks.append(writer.chunk(i, {"tool_calls": [delta]}))
        chunks.append(writer.chunk(i, {}, choice.finish_reason))
    if include_usage:
        chunks.append(writer.usage(answer.usage))
    return chunks
