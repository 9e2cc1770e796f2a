"""Conversion between LangChain objects and the gateway's (OpenAI-shaped) wire format.

Outbound: messages (:func:`messages_to_wire`), ``tool_choice`` (:func:`tool_choice_to_wire`)
and ``response_format`` (:func:`response_format_to_wire`). Inbound: a whole answer
(:func:`chat_result`), stream chunks (:class:`StreamConverter`) and token usage
(:func:`usage_to_metadata`).

langchain-core's own converters do the heavy lifting (``convert_to_openai_messages`` for content
blocks of every format, ``convert_to_openai_function``/``convert_to_openai_tool``,
``parse_tool_call``); this module adds what chat completions need on top of them and keeps the
common cases (plain text messages, text stream chunks) on a short path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.output_parsers.openai_tools import make_invalid_tool_call, parse_tool_call
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_function

from igris_core import IgrisInputError, StreamAccumulator, parse_model
from igris_core.types import (
    ChatCompletionChunk,
    ChatCompletionResponse,
    ChatCompletionUsage,
    ChatMessage,
)
from langchain_igris._schema import strict_schema

__all__ = [
    "MODEL_PROVIDER",
    "StreamConverter",
    "chat_result",
    "json_schema_of",
    "message_to_wire",
    "messages_to_wire",
    "new_tool_call_id",
    "qualified_model_name",
    "response_format_to_wire",
    "tool_choice_to_wire",
    "tool_names",
    "usage_to_metadata",
]

MODEL_PROVIDER = "igris"
"""``response_metadata["model_provider"]`` of every message this package returns."""

# --------------------------------------------------------------------------------------------
# Outbound: messages
# --------------------------------------------------------------------------------------------

_PLAIN_ROLES: dict[type, str] = {
    HumanMessage: "user",
    SystemMessage: "system",
    AIMessage: "assistant",
}
# Blocks of an assistant message that chat completions cannot take back as content: reasoning
# is never replayed, and tool calls travel in ``tool_calls`` (as langchain-openai does).
_NOT_REPLAYED = frozenset(
    {
        "reasoning",
        "reasoning_content",
        "thinking",
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "tool_use",
        "function_call",
        "code_interpreter_call",
    }
)


def _assistant_content(content: list[Any]) -> list[Any]:
    """An assistant message's list content in chat-completions form (v1 blocks included)."""
    out: list[Any] = []
    for block in content:
        if isinstance(block, dict):
            kind = block.get("type")
            if kind in _NOT_REPLAYED:
                continue
            if kind == "text":
                block = {"type": "text", "text": block.get("text", "")}  # drop annotations
            elif kind == "refusal" and not block.get("refusal"):
                continue
        out.append(block)
    return out


def _invalid_call_to_wire(call: InvalidToolCall) -> dict[str, Any]:
    return {
        "type": "function",
        "id": call.get("id"),
        "function": {"name": call.get("name") or "", "arguments": call.get("args") or ""},
    }


def message_to_wire(message: BaseMessage) -> dict[str, Any]:
    """One LangChain message as a chat-completions message dict.

    Content blocks in LangChain's standard (v1) format and in OpenAI's own format are both
    accepted (images by URL or base64, files/PDF, audio), through langchain-core's
    ``convert_to_openai_messages``.
    """
    role = _PLAIN_ROLES.get(type(message))
    content = message.content
    if (
        role is not None
        and isinstance(content, str)
        and not message.name
        and not message.additional_kwargs
        and (role != "assistant" or not (message.tool_calls or message.invalid_tool_calls))  # type: ignore[attr-defined]
    ):
        return {"role": role, "content": content}
    if isinstance(message, AIMessage):
        return _assistant_to_wire(message)
    if role is not None and isinstance(content, list):
        wire = convert_to_openai_messages(message.model_copy(update={"content": ""}))
        wire["content"] = [_block_to_wire(message, block) for block in content]
        return wire
    wire = convert_to_openai_messages(message)
    if isinstance(message, ToolMessage):
        # Chat completions' tool messages carry no name.
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": wire["content"]}
    return wire


def _assistant_to_wire(message: AIMessage) -> dict[str, Any]:
    source = message
    if isinstance(message.content, list):
        source = message.model_copy(update={"content": _assistant_content(message.content)})
    wire = convert_to_openai_messages(source)
    if message.invalid_tool_calls:
        wire["tool_calls"] = wire.get("tool_calls", []) + [
            _invalid_call_to_wire(call) for call in message.invalid_tool_calls
        ]
    if wire.get("tool_calls") and not wire.get("content"):
        wire["content"] = None
    function_call = message.additional_kwargs.get("function_call")
    if isinstance(function_call, Mapping) and "function_call" not in wire:
        # The legacy (pre-tools) function call of an older answer, replayed as it came.
        wire["function_call"] = {
            "name": function_call.get("name"),
            "arguments": function_call.get("arguments", ""),
        }
        if not wire.get("content"):
            wire["content"] = None
    audio = message.additional_kwargs.get("audio")
    if isinstance(audio, Mapping) and audio.get("id"):
        wire["audio"] = {"id": audio["id"]}  # only the id goes back (OpenAI's rule)
    return wire


def _block_to_wire(message: BaseMessage, block: Any) -> Any:
    """One block of a user or system message's list content. Text blocks keep
    ``cache_control`` (Anthropic prompt caching through the gateway); other blocks (images,
    files, audio, in LangChain's standard or OpenAI's format) go through langchain-core's
    converter, ``cache_control`` kept."""
    if isinstance(block, str):
        return {"type": "text", "text": block}
    if isinstance(block, Mapping) and block.get("type") == "text":
        out = {"type": "text", "text": block["text"]}
    else:
        converted = convert_to_openai_messages(
            message.model_copy(update={"content": [block]}), text_format="block"
        )["content"]
        if len(converted) != 1:
            raise ValueError(f"content block {block!r:.200} has no chat-completions form")
        out = converted[0]
    if isinstance(block, Mapping) and "cache_control" in block:
        out["cache_control"] = block["cache_control"]
    return out


def messages_to_wire(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as chat-completions message dicts, in order.

    A message LangChain's converters cannot read (a content block without a ``type``, say)
    raises :class:`~igris_core.IgrisInputError` naming its position and type, before any
    request.
    """
    wire = []
    for position, message in enumerate(messages):
        try:
            wire.append(message_to_wire(message))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, IgrisInputError):
                raise
            raise IgrisInputError(
                f"invalid message at position {position} ({type(message).__name__}, content "
                f"{message.content!r:.200}): {type(exc).__name__} {exc}; expected str content "
                "or a list of content blocks each with a 'type' (e.g. {'type': 'text', "
                "'text': ...})"
            ) from None
    return wire


# --------------------------------------------------------------------------------------------
# Outbound: tools, tool_choice, response_format
# --------------------------------------------------------------------------------------------


def tool_names(tools: Sequence[Mapping[str, Any]]) -> list[str]:
    """The function names of converted tools."""
    names = []
    for tool in tools:
        function = tool.get("function")
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            names.append(function["name"])
        elif isinstance(tool.get("name"), str):
            names.append(tool["name"])
    return names


def _force(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def tool_choice_to_wire(tool_choice: object, names: Sequence[str]) -> str | dict[str, Any] | None:
    """A LangChain ``tool_choice`` in chat-completions form.

    ``"auto"``, ``"none"``, ``"required"`` pass through; ``"any"`` becomes ``"required"``; a
    tool's name (or ``True`` with a single tool) forces that tool; ``True`` with several tools
    becomes ``"required"``; a dict passes through (its function name is checked); ``None`` and
    ``False`` set nothing. Anything else raises :class:`~igris_core.IgrisInputError` naming it.
    """
    if tool_choice is None or tool_choice is False:
        return None
    available = f"'auto', 'none', 'required', 'any', True or a bound tool name {list(names)}"
    if tool_choice is True:
        if not names:
            raise IgrisInputError("invalid tool_choice True: no tools are bound")
        return _force(names[0]) if len(names) == 1 else "required"
    if isinstance(tool_choice, str):
        if tool_choice in ("auto", "none", "required"):
            return tool_choice
        if tool_choice == "any":
            return "required"
        if tool_choice in names:
            return _force(tool_choice)
        raise IgrisInputError(f"invalid tool_choice {tool_choice!r}: expected {available}")
    if isinstance(tool_choice, Mapping):
        if tool_choice.get("type") == "function" and "function" not in tool_choice:
            # The Responses API's spelling, {"type": "function", "name": ...}
            name = tool_choice.get("name")
            if isinstance(name, str) and name in names:
                return _force(name)
        function = tool_choice.get("function")
        if tool_choice.get("type") == "function":
            name = function.get("name") if isinstance(function, Mapping) else None
            if name not in names:
                raise IgrisInputError(
                    f"invalid tool_choice {dict(tool_choice)!r}: function {name!r} is not a "
                    f"bound tool (bound: {list(names)})"
                )
        return dict(tool_choice)
    raise IgrisInputError(
        f"invalid tool_choice {tool_choice!r} ({type(tool_choice).__name__}): expected {available}"
        ", or a dict such as {'type': 'function', 'function': {'name': ...}}"
    )


def response_format_to_wire(schema: object, strict: bool | None = None) -> dict[str, Any]:
    """A ``response_format`` of type ``json_schema`` for a pydantic class, a TypedDict, a JSON
    schema dict or an OpenAI ``json_schema`` object (passed through)."""
    if isinstance(schema, Mapping):
        if schema.get("type") == "json_schema" and "json_schema" in schema:
            return dict(schema)
        if schema.get("type") == "json_object":
            return dict(schema)
        if "name" in schema and "schema" in schema:
            spec = dict(schema)
            if strict is not None:
                spec["strict"] = strict
            if strict:
                spec["schema"] = strict_schema(spec["schema"])
            return {"type": "json_schema", "json_schema": spec}
    function = convert_to_openai_function(schema)  # type: ignore[arg-type]
    function["schema"] = function.pop("parameters")
    if strict is not None:
        function["strict"] = strict
    if strict:
        function["schema"] = strict_schema(function["schema"])
    return {"type": "json_schema", "json_schema": function}


def json_schema_of(schema: object) -> dict[str, Any]:
    """The JSON schema of a pydantic class, TypedDict or JSON schema dict (as the model is asked
    to follow it, before any strict-mode rewriting)."""
    if (
        isinstance(schema, Mapping)
        and "name" in schema
        and isinstance(schema.get("schema"), Mapping)
    ):
        return dict(schema["schema"])
    return dict(convert_to_openai_function(schema)["parameters"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Inbound: usage, answers, stream chunks
# --------------------------------------------------------------------------------------------


def usage_to_metadata(usage: ChatCompletionUsage) -> UsageMetadata:
    """Token usage in LangChain's form. ``cache_read`` comes from
    ``prompt_tokens_details.cached_tokens``, ``reasoning`` from
    ``completion_tokens_details.reasoning_tokens``, when the provider sends them."""
    input_tokens = usage.prompt_tokens or 0
    output_tokens = usage.completion_tokens or 0
    metadata: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": usage.total_tokens or input_tokens + output_tokens,
    }
    prompt = usage.prompt_tokens_details
    if prompt is not None:
        input_details: dict[str, int] = {}
        if prompt.cached_tokens is not None:
            input_details["cache_read"] = prompt.cached_tokens
        if prompt.audio_tokens is not None:
            input_details["audio"] = prompt.audio_tokens
        written = (prompt.model_extra or {}).get("cache_write_tokens")
        if isinstance(written, int):
            input_details["cache_creation"] = written
        if input_details:
            metadata["input_token_details"] = input_details
    completion = usage.completion_tokens_details
    if completion is not None:
        output_details: dict[str, int] = {}
        if completion.reasoning_tokens is not None:
            output_details["reasoning"] = completion.reasoning_tokens
        if completion.audio_tokens is not None:
            output_details["audio"] = completion.audio_tokens
        if output_details:
            metadata["output_token_details"] = output_details
    return cast(UsageMetadata, metadata)


def qualified_model_name(slug: str, reported: str | None, requested: str) -> str:
    """``response_metadata["model_name"]``: ``@slug/<model the provider reported>`` (the
    requested model when it reported none), so the name says which connection served it."""
    return f"@{slug}/{reported or requested}"


def new_tool_call_id() -> str:
    """An id for a tool call the provider sent without one (LangChain's tool messages and
    LangGraph's tool node need one to pair each result with its call)."""
    return f"call_{uuid.uuid4().hex[:24]}"


def _tool_calls(raw: Sequence[Any]) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in raw:
        function = call.function
        wire = {
            "id": call.id or new_tool_call_id(),
            "function": {"name": function.name, "arguments": function.arguments},
        }
        try:
            parsed = parse_tool_call(wire, return_id=True)
        except Exception as exc:  # OutputParserException, or arguments of the wrong type
            invalid.append(make_invalid_tool_call(wire, str(exc)))
            continue
        if parsed is None or not isinstance(parsed.get("args"), dict):
            invalid.append(make_invalid_tool_call(wire, "arguments are not a JSON object"))
            continue
        calls.append(parsed)  # type: ignore[arg-type]
    return calls, invalid


def _ai_message(message: ChatMessage, response_metadata: dict[str, Any]) -> AIMessage:
    additional_kwargs: dict[str, Any] = {}
    if message.reasoning_content:
        additional_kwargs["reasoning_content"] = message.reasoning_content
    if message.refusal:
        additional_kwargs["refusal"] = message.refusal
    extra = message.model_extra
    if extra:
        if extra.get("audio"):
            additional_kwargs["audio"] = extra["audio"]
        if extra.get("function_call"):
            additional_kwargs["function_call"] = dict(extra["function_call"])
    tool_calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    if message.tool_calls:
        tool_calls, invalid = _tool_calls(message.tool_calls)
    return AIMessage(
        content=cast(Any, message.content or ""),
        additional_kwargs=additional_kwargs,
        response_metadata=response_metadata,
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        name=message.name,
    )


def chat_result(
    response: ChatCompletionResponse,
    requested_model: str,
    headers: Mapping[str, str] | None = None,
) -> ChatResult:
    """A whole answer as a ``ChatResult``: one generation per choice, tool calls parsed
    (invalid JSON arguments become ``invalid_tool_calls``), usage on the first generation;
    ``headers``, when given, in each message's ``response_metadata["headers"]``."""
    ref = parse_model(requested_model)
    model_name = qualified_model_name(ref.slug, response.model, ref.model)
    usage = response.usage
    usage_metadata = usage_to_metadata(usage) if usage is not None else None
    token_usage = usage.model_dump(exclude_none=True) if usage is not None else None
    common: dict[str, Any] = {
        "model_provider": MODEL_PROVIDER,
        "model_name": model_name,
        "system_fingerprint": response.system_fingerprint,
        "id": response.id or None,
        "igris_request_id": response.igris_request_id,
    }
    if token_usage is not None:
        common["token_usage"] = token_usage
    if headers is not None:
        common["headers"] = dict(headers)
    generations = []
    for position, choice in enumerate(response.choices):
        message = _ai_message(choice.message, dict(common))
        if position == 0 and usage_metadata is not None:
            message.usage_metadata = usage_metadata
        # logprobs even when None: the same response_metadata keys as ChatOpenAI's
        info: dict[str, Any] = {"finish_reason": choice.finish_reason, "logprobs": choice.logprobs}
        generations.append(ChatGeneration(message=message, generation_info=info))
    llm_output = {
        "token_usage": token_usage,
        "model_name": model_name,
        "system_fingerprint": response.system_fingerprint,
        "model_provider": MODEL_PROVIDER,
    }
    return ChatResult(generations=generations, llm_output=llm_output)


_CHUNK_METADATA = {"model_provider": MODEL_PROVIDER}  # copied by pydantic into each chunk


class StreamConverter:
    """Turns the normalised chunks of one stream into ``ChatGenerationChunk`` objects.

    Text, reasoning (``additional_kwargs["reasoning_content"]``), refusals, logprobs and tool
    calls (``tool_call_chunks`` with stable indices) come out as they arrive; chunks that carry
    nothing are skipped. :meth:`final` gives the closing chunk (``chunk_position="last"``) with
    what is only known at the end, each exactly once: usage (the last figures the stream sent),
    finish reason, model name, system fingerprint and the gateway's request id.
    """

    __slots__ = ("requested_model",)

    def __init__(self, requested_model: str) -> None:
        self.requested_model = requested_model

    @staticmethod
    def convert(chunk: ChatCompletionChunk) -> ChatGenerationChunk | None:
        """The generation chunk for one stream chunk, or ``None`` when it carries nothing."""
        choices = chunk.choices
        if not choices:
            return None
        choice = choices[0]
        if choice.index:  # n > 1 is refused before streaming; ignore strays
            return None
        delta = choice.delta
        content = delta.content or ""
        tool_calls = delta.tool_calls
        reasoning = delta.reasoning_content
        refusal = delta.refusal
        logprobs = choice.logprobs
        if not (tool_calls or reasoning or refusal or logprobs):
            if not content:
                return None
            return ChatGenerationChunk(
                message=AIMessageChunk(content=content, response_metadata=_CHUNK_METADATA)
            )
        additional_kwargs: dict[str, Any] = {}
        if reasoning:
            additional_kwargs["reasoning_content"] = reasoning
        if refusal:
            additional_kwargs["refusal"] = refusal
        chunks = []
        if tool_calls:
            for call in tool_calls:
                function = call.function
                arguments = function.arguments if function is not None else None
                chunks.append(
                    tool_call_chunk(
                        name=function.name if function is not None else None,
                        args=arguments if isinstance(arguments, str) else None,
                        # `type` marks a call's first delta (igris_core's accumulator)
                        id=call.id or (new_tool_call_id() if call.type else None),
                        index=call.index,
                    )
                )
        message = AIMessageChunk(
            content=content,
            additional_kwargs=additional_kwargs,
            tool_call_chunks=chunks,
            response_metadata=_CHUNK_METADATA,
        )
        return ChatGenerationChunk(
            message=message, generation_info={"logprobs": logprobs} if logprobs else None
        )

    def final(self, accumulator: StreamAccumulator, request_id: str | None) -> ChatGenerationChunk:
        """The closing chunk of the stream (see the class docstring)."""
        ref = parse_model(self.requested_model)
        finish_reason = accumulator.finish_reason(0)
        model_name = qualified_model_name(ref.slug, accumulator.model, ref.model)
        info: dict[str, Any] = {"finish_reason": finish_reason, "model_name": model_name}
        if accumulator.system_fingerprint:
            info["system_fingerprint"] = accumulator.system_fingerprint
        metadata: dict[str, Any] = {
            **info,
            "model_provider": MODEL_PROVIDER,
            "igris_request_id": request_id,
        }
        if accumulator.id:
            metadata["id"] = accumulator.id
        usage = accumulator.usage
        message = AIMessageChunk(
            content="",
            response_metadata=metadata,
            usage_metadata=usage_to_metadata(usage) if usage is not None else None,
            chunk_position="last",
        )
        return ChatGenerationChunk(message=message, generation_info=info)
