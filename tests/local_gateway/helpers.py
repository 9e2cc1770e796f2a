"""Helpers shared by the local gateway tests (plain HTTP, no SDK client)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from igris_core import protocol

CHAT = protocol.chat_completions_path("openai-prod")
EMBEDDINGS = protocol.embeddings_path("openai-prod")
MESSAGES = protocol.messages_path("anthropic-prod")

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 2},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"timezone": {"type": "string", "format": "uri"}},
            "required": ["timezone"],
        },
    },
}


def chat_body(text: str = "Hello there, gateway", **extra: Any) -> dict[str, Any]:
    """A chat request with one user message."""
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], **extra}


def sse_payloads(text: str) -> list[str]:
    """The data of each event of an SSE body, in order."""
    payloads = []
    for block in text.split("\n\n"):
        data = [line[len("data: ") :] for line in block.split("\n") if line.startswith("data: ")]
        if data:
            payloads.append("\n".join(data))
    return payloads


def sse_chunks(text: str) -> list[dict[str, Any]]:
    """The JSON chunks of an OpenAI-style SSE body (the [DONE] terminator left out)."""
    return [json.loads(p) for p in sse_payloads(text) if p != protocol.SSE_DONE]


def sse_named_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``(event name, JSON data)`` of each event of an Anthropic-style SSE body."""
    events = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        names = [line[len("event: ") :] for line in lines if line.startswith("event: ")]
        data = [line[len("data: ") :] for line in lines if line.startswith("data: ")]
        if names and data:
            events.append((names[0], json.loads("\n".join(data))))
    return events


def stream_chat(client: httpx.Client, body: dict[str, Any], path: str = CHAT) -> httpx.Response:
    """POST a streaming chat request and read the whole answer."""
    return client.post(path, json={**body, "stream": True})


def accumulate(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Rebuild an answer from chunks, tolerating every provider variation the gateway can
    produce (missing or string index, function in a later delta, whole or object arguments,
    repeated ids, interleaving, usage on every chunk, empty choices, null content, reasoning)."""
    content = ""
    reasoning = ""
    calls: list[dict[str, Any]] = []
    by_index: dict[int, dict[str, Any]] = {}
    finish = None
    usage = None
    for chunk in chunks:
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            content += delta.get("content") or ""
            reasoning += delta.get("reasoning_content") or delta.get("reasoning") or ""
            for part in delta.get("tool_calls") or []:
                index = part.get("index")
                call = None
                if index is not None:
                    call = by_index.get(int(index))
                elif part.get("id") and not any(c["id"] == part["id"] for c in calls):
                    call = None
                elif part.get("id"):
                    call = next(c for c in calls if c["id"] == part["id"])
                elif calls:
                    call = calls[-1]
                if call is None:
                    call = {"id": part.get("id"), "name": "", "arguments": ""}
                    calls.append(call)
                    if index is not None:
                        by_index[int(index)] = call
                function = part.get("function") or {}
                if function.get("name") and not call["name"]:
                    call["name"] = function["name"]
                args = function.get("arguments")
                if isinstance(args, dict):
                    call["arguments"] += json.dumps(args)
                elif args:
                    call["arguments"] += args
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
    return {
        "content": content,
        "reasoning": reasoning,
        "tool_calls": calls,
        "finish_reason": finish,
        "usage": usage,
    }
