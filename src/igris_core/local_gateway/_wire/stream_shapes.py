"""Reshape an OpenAI chat stream the way real non-OpenAI providers write theirs.

Each shape is a pure function over the list of chunk objects of one stream (the terminal usage
chunk included). They let clients be tested over HTTP against the variations seen in the wild:

- ``no_index``: tool-call deltas without ``index``.
- ``string_index``: ``index`` sent as a string (``"0"``).
- ``no_function``: a tool-call delta with ``id``/``type`` but no ``function``; the function
  (name, arguments) follows in the next delta.
- ``whole_arguments``: each call's arguments whole in one delta.
- ``object_arguments``: arguments as a JSON object instead of a JSON text.
- ``repeated_id``: the call's ``id``, ``type`` and name repeated on every delta of the call.
- ``interleaved``: the deltas of two or more parallel calls alternate.
- ``usage_every_chunk``: cumulative ``usage`` on every chunk, not only on the last.
- ``finish_with_content``: ``finish_reason`` on the chunk carrying the last content.
- ``empty_choices``: extra chunks with ``choices: []`` in the middle of the stream.
- ``null_content``: ``content: null`` deltas.
- ``reasoning_content`` / ``reasoning``: reasoning deltas in that field before the content.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Iterator
from typing import Any, Literal

from igris_core.local_gateway._chat.answer import Usage
from igris_core.local_gateway._chat.text import count_words, word_pieces

__all__ = ["STREAM_SHAPES", "StreamShape", "apply_stream_shape"]

StreamShape = Literal[
    "no_index",
    "string_index",
    "no_function",
    "whole_arguments",
    "object_arguments",
    "repeated_id",
    "interleaved",
    "usage_every_chunk",
    "finish_with_content",
    "empty_choices",
    "null_content",
    "reasoning_content",
    "reasoning",
]

Chunk = dict[str, Any]

_REASONING_TEXT = "Reading the request first, then writing the answer."


def _choices(chunk: Chunk) -> list[dict[str, Any]]:
    choices = chunk.get("choices")
    return choices if isinstance(choices, list) else []


def _delta(choice: dict[str, Any]) -> dict[str, Any]:
    delta = choice.get("delta")
    return delta if isinstance(delta, dict) else {}


def _tool_deltas(chunk: Chunk) -> Iterator[tuple[int, dict[str, Any]]]:
    for choice in _choices(chunk):
        for call in _delta(choice).get("tool_calls") or []:
            if isinstance(call, dict):
                yield choice.get("index", 0), call


def _bare(chunk: Chunk) -> Chunk:
    """A chunk with the stream's id fields and nothing else."""
    return {k: v for k, v in chunk.items() if k not in ("choices", "usage")}


def _call_key(choice_index: int, call: dict[str, Any]) -> tuple[int, object]:
    return choice_index, call.get("index", 0)


def _no_index(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    for chunk in chunks:
        for _, call in _tool_deltas(chunk):
            call.pop("index", None)
    return chunks


def _string_index(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    for chunk in chunks:
        for _, call in _tool_deltas(chunk):
            if "index" in call:
                call["index"] = str(call["index"])
    return chunks


def _no_function(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    out: list[Chunk] = []
    for chunk in chunks:
        heads = [c for _, c in _tool_deltas(chunk) if "id" in c and "function" in c]
        if not heads:
            out.append(chunk)
            continue
        follow = _bare(chunk)
        follow["choices"] = [
            {
                "index": _choices(chunk)[0].get("index", 0),
                "delta": {
                    "tool_calls": [
                        {"index": c.get("index", 0), "function": c["function"]} for c in heads
                    ]
                },
                "logprobs": None,
                "finish_reason": None,
            }
        ]
        if "usage" in chunk:
            follow["usage"] = None
        for call in heads:
            del call["function"]
        out += [chunk, follow]
    return out


def _merged_arguments(chunks: list[Chunk]) -> dict[tuple[int, object], str]:
    merged: dict[tuple[int, object], str] = {}
    for chunk in chunks:
        for choice_index, call in _tool_deltas(chunk):
            args = (call.get("function") or {}).get("arguments")
            if isinstance(args, str):
                key = _call_key(choice_index, call)
                merged[key] = merged.get(key, "") + args
    return merged


def _whole(chunks: list[Chunk], as_object: bool) -> list[Chunk]:
    merged = _merged_arguments(chunks)
    seen: set[tuple[int, object]] = set()
    out: list[Chunk] = []
    for chunk in chunks:
        for choice in _choices(chunk):
            delta = _delta(choice)
            kept = []
            for call in delta.get("tool_calls") or []:
                key = _call_key(choice.get("index", 0), call)
                function = call.get("function")
                if key not in seen:
                    seen.add(key)
                    whole: Any = merged.get(key, "")
                    if as_object:
                        # Not JSON: keep the text, as such a provider would.
                        with contextlib.suppress(ValueError):
                            whole = json.loads(whole) if whole else {}
                    call.setdefault("function", {})["arguments"] = whole
                    kept.append(call)
                elif isinstance(function, dict):
                    function.pop("arguments", None)
                    if function or "id" in call:
                        kept.append(call)
            if "tool_calls" in delta:
                if kept:
                    delta["tool_calls"] = kept
                else:
                    del delta["tool_calls"]
        empty = all(not _delta(c) and c.get("finish_reason") is None for c in _choices(chunk))
        if _choices(chunk) and empty and chunk.get("usage") is None:
            continue  # only emptied argument pieces were left in it
        out.append(chunk)
    return out


def _whole_arguments(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    return _whole(chunks, as_object=False)


def _object_arguments(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    return _whole(chunks, as_object=True)


def _repeated_id(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    first: dict[tuple[int, object], dict[str, Any]] = {}
    for chunk in chunks:
        for choice_index, call in _tool_deltas(chunk):
            key = _call_key(choice_index, call)
            if key not in first and "id" in call:
                first[key] = call
                continue
            head = first.get(key)
            if head is not None:
                call["id"] = head["id"]
                call["type"] = head.get("type", "function")
                name = (head.get("function") or {}).get("name")
                if name is not None:
                    call.setdefault("function", {})["name"] = name
    return chunks


def _interleaved(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    positions = [
        i
        for i, chunk in enumerate(chunks)
        if len(_choices(chunk)) == 1 and set(_delta(_choices(chunk)[0])) == {"tool_calls"}
    ]
    groups: dict[tuple[int, object], list[Chunk]] = {}
    for i in positions:
        calls = list(_tool_deltas(chunks[i]))
        key = _call_key(*calls[0]) if len(calls) == 1 else (-1, i)
        groups.setdefault(key, []).append(chunks[i])
    if len(groups) < 2:
        return chunks
    order: list[Chunk] = []
    queues = list(groups.values())
    while any(queues):
        for queue in queues:
            if queue:
                order.append(queue.pop(0))
    out = list(chunks)
    for position, chunk in zip(positions, order, strict=True):
        out[position] = chunk
    return out


def _usage_every_chunk(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    final = usage or Usage(0, 0)
    produced = 0
    for chunk in chunks:
        for choice in _choices(chunk):
            delta = _delta(choice)
            if isinstance(delta.get("content"), str):
                produced += count_words(delta["content"])
            for call in delta.get("tool_calls") or []:
                function = call.get("function") or {}
                for part in (function.get("name"), function.get("arguments")):
                    if isinstance(part, str):
                        produced += count_words(part)
        done = min(produced, final.completion_tokens)
        ended = any(c.get("finish_reason") is not None for c in _choices(chunk))
        if ended or not _choices(chunk):
            done = final.completion_tokens
        chunk["usage"] = Usage(final.prompt_tokens, done).to_audit()
    return chunks


def _finish_with_content(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    out: list[Chunk] = []
    last_with_delta: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        choices = _choices(chunk)
        if len(choices) == 1:
            choice = choices[0]
            index = choice.get("index", 0)
            if choice.get("finish_reason") is not None and not _delta(choice):
                target = last_with_delta.get(index)
                if target is not None:
                    target["finish_reason"] = choice["finish_reason"]
                    continue  # the finish now rides on the last content chunk
            elif _delta(choice):
                last_with_delta[index] = choice
        out.append(chunk)
    return out


def _empty_choices(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    if not chunks:
        return chunks
    empty = _bare(chunks[0])
    empty["choices"] = []
    out = [chunks[0], copy.deepcopy(empty), *chunks[1:]]
    last_choice = max(i for i, c in enumerate(out) if _choices(c) or i == 0)
    out.insert(last_choice, copy.deepcopy(empty))
    return out


def _null_content(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    out: list[Chunk] = []
    for chunk in chunks:
        choices = _choices(chunk)
        if len(choices) == 1 and choices[0].get("finish_reason") is not None:
            nulled = copy.deepcopy(chunk)
            nulled["choices"][0]["delta"] = {"content": None}
            nulled["choices"][0]["finish_reason"] = None
            out.append(nulled)
        if len(choices) == 1 and _delta(choices[0]).get("role") == "assistant":
            choices[0]["delta"]["content"] = None
        out.append(chunk)
    return out


def _reasoning(field: str) -> Callable[[list[Chunk], Usage | None], list[Chunk]]:
    def shape(chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
        out: list[Chunk] = []
        for chunk in chunks:
            out.append(chunk)
            choices = _choices(chunk)
            if len(choices) == 1 and _delta(choices[0]).get("role") == "assistant":
                for piece in word_pieces(_REASONING_TEXT):
                    thought = copy.deepcopy(chunk)
                    thought["choices"][0]["delta"] = {field: piece}
                    thought["choices"][0]["finish_reason"] = None
                    out.append(thought)
        return out

    return shape


_SHAPES: dict[str, Callable[[list[Chunk], Usage | None], list[Chunk]]] = {
    "no_index": _no_index,
    "string_index": _string_index,
    "no_function": _no_function,
    "whole_arguments": _whole_arguments,
    "object_arguments": _object_arguments,
    "repeated_id": _repeated_id,
    "interleaved": _interleaved,
    "usage_every_chunk": _usage_every_chunk,
    "finish_with_content": _finish_with_content,
    "empty_choices": _empty_choices,
    "null_content": _null_content,
    "reasoning_content": _reasoning("reasoning_content"),
    "reasoning": _reasoning("reasoning"),
}
STREAM_SHAPES: frozenset[str] = frozenset(_SHAPES)


def apply_stream_shape(shape: str, chunks: list[Chunk], usage: Usage | None) -> list[Chunk]:
    """Rewrite the chunks of one chat stream in ``shape``; ``usage`` is the call's final usage."""
    return _SHAPES[shape](chunks, usage)
