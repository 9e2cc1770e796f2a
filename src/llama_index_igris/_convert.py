"""LlamaIndex messages, tools and answers <-> the gateway's wire format (OpenAI's shape).

No I/O here: :mod:`llama_index_igris.llms` sends what these functions build through
``igris_core`` and hands the answers back to them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from json import JSONDecodeError
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    ChatResponse,
    CitableBlock,
    CitationBlock,
    DocumentBlock,
    ImageBlock,
    LogProb,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.llms.utils import parse_partial_json
from pydantic import BaseModel

from igris_core import StreamAccumulator
from igris_core.types import (
    ChatCompletionChunk,
    ChatCompletionResponse,
    ChatCompletionUsage,
    ToolCall,
)

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = [
    "REQUEST_ID_KEY",
    "ChatStreamConverter",
    "assistant_message",
    "chat_response",
    "force_single_tool_call",
    "resolve_tool_choice",
    "to_wire_message",
    "to_wire_messages",
    "to_wire_tools",
    "tool_call_blocks",
    "tool_selections",
    "usage_kwargs",
]

REQUEST_ID_KEY = "igris_request_id"
"""The key of the gateway's request id in a response's ``additional_kwargs``."""

_ASSISTANT = MessageRole.ASSISTANT
# Roles other frameworks use for the model's own turns; the wire knows them as "assistant".
_ROLE_ALIASES = {MessageRole.CHATBOT: "assistant", MessageRole.MODEL: "assistant"}
# Roles whose ``content`` must be a string on the wire (OpenAI refuses a list of parts there).
_STRING_ROLES = frozenset({"assistant", "system", "developer", "tool", "function"})


# --- LlamaIndex -> wire ----------------------------------------------------------------------


_IMAGE_MAGIC = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
)


def _mimetype(block: ImageBlock, data_b64: bytes) -> str:
    """The image's MIME type: the block's own, else sniffed from its first bytes."""
    if block.image_mimetype:
        return block.image_mimetype
    head = base64.b64decode(data_b64[:16])
    return next((mime for magic, mime in _IMAGE_MAGIC if head.startswith(magic)), "image/png")


def _image_part(block: ImageBlock) -> dict[str, Any]:
    url: dict[str, Any]
    if block.url is not None and block.image is None and block.path is None:
        url = {"url": str(block.url)}
    else:
        data = block.resolve_image(as_base64=True).read()
        url = {"url": f"data:{_mimetype(block, data)};base64,{data.decode('ascii')}"}
    if block.detail:
        url["detail"] = block.detail
    return {"type": "image_url", "image_url": url}


def _audio_part(block: AudioBlock) -> dict[str, Any]:
    data = block.resolve_audio(as_base64=True).read().decode("ascii")
    return {"type": "input_audio", "input_audio": {"data": data, "format": block.format}}


def _document_part(block: DocumentBlock) -> dict[str, Any]:
    data = block.resolve_document()
    b64 = block._get_b64_string(data)
    mimetype = block._guess_mimetype() or "application/pdf"
    part: dict[str, Any] = {"file_data": f"data:{mimetype};base64,{b64}"}
    if block.title:
        part["filename"] = block.title
    return {"type": "file", "file": part}


def _wire_tool_call(block: ToolCallBlock) -> dict[str, Any]:
    arguments = block.tool_kwargs
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    return {
        "id": block.tool_call_id or "",
        "type": "function",
        "function": {"name": block.tool_name, "arguments": arguments},
    }


def _legacy_tool_calls(calls: Any) -> list[Any]:
    """``additional_kwargs["tool_calls"]`` of older code: SDK objects or dicts."""
    return [c.model_dump(exclude_none=True) if isinstance(c, BaseModel) else c for c in calls]


def _text_of(block: CitableBlock | CitationBlock) -> str:
    inner = block.content if isinstance(block, CitableBlock) else block.cited_content
    items = inner if isinstance(inner, list) else [inner]
    return "".join(item.text for item in items if isinstance(item, TextBlock))


def to_wire_message(message: ChatMessage) -> dict[str, Any]:
    """One LlamaIndex ``ChatMessage`` as an OpenAI chat message dict.

    Text blocks become a string ``content`` (a list of parts only when the message also holds
    images, audio or files, and never for assistant, system or tool messages); ``ImageBlock``
    (url, path or bytes) becomes an ``image_url`` part; ``ToolCallBlock`` becomes
    ``tool_calls``; ``ThinkingBlock`` and cache points are not sent back. A tool message's
    ``additional_kwargs["tool_call_id"]`` becomes its ``tool_call_id``.
    """
    role = _ROLE_ALIASES.get(message.role, message.role.value)
    blocks = message.blocks
    extra = message.additional_kwargs
    # The hot path: one text block, nothing else.
    if len(blocks) == 1 and not extra:
        block = blocks[0]
        if isinstance(block, TextBlock):
            return {"role": role, "content": block.text}

    text = ""
    parts: list[dict[str, Any]] = []
    only_text = True
    tool_calls: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, TextBlock):
            text += block.text
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            only_text = False
            parts.append(_image_part(block))
        elif isinstance(block, ToolCallBlock):
            tool_calls.append(_wire_tool_call(block))
        elif isinstance(block, ThinkingBlock | CachePoint):
            continue  # not part of the chat-completions input
        elif isinstance(block, AudioBlock):
            only_text = False
            parts.append(_audio_part(block))
        elif isinstance(block, DocumentBlock):
            only_text = False
            parts.append(_document_part(block))
        elif isinstance(block, CitableBlock | CitationBlock):
            piece = _text_of(block)
            text += piece
            parts.append({"type": "text", "text": piece})
        else:
            raise ValueError(
                f"unsupported content block {type(block).__name__} in a {role} message: the "
                "gateway's chat route takes text, image, audio, document and tool-call blocks"
            )

    legacy_calls = extra.get("tool_calls") if not tool_calls else None
    wire: dict[str, Any] = {"role": role}
    if only_text or role in _STRING_ROLES:
        has_calls = bool(tool_calls or legacy_calls or extra.get("function_call"))
        wire["content"] = None if (text == "" and role == "assistant" and has_calls) else text
    else:
        wire["content"] = parts
    if tool_calls:
        wire["tool_calls"] = tool_calls
    elif legacy_calls:
        wire["tool_calls"] = _legacy_tool_calls(legacy_calls)
    if extra:
        if "function_call" in extra and not tool_calls:
            call = extra["function_call"]
            wire["function_call"] = call.model_dump() if isinstance(call, BaseModel) else call
        tool_call_id = extra.get("tool_call_id")
        if tool_call_id is not None and role in ("tool", "function"):
            wire["tool_call_id"] = tool_call_id
        name = extra.get("name")
        if isinstance(name, str) and name:
            wire["name"] = name
    return wire


def to_wire_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Every message of a conversation in wire form (see :func:`to_wire_message`)."""
    return [to_wire_message(m) for m in messages]


def to_wire_tools(tools: Sequence[BaseTool], strict: bool) -> list[dict[str, Any]]:
    """LlamaIndex tools as OpenAI ``tools`` (through each tool's own ``to_openai_tool``).

    With ``strict``, each function gets ``"strict": true`` and closed parameters, as OpenAI's
    structured outputs require; without it neither field is sent, since not every provider
    behind the gateway knows them.
    """
    specs = []
    for tool in tools:
        spec = tool.metadata.to_openai_tool(skip_length_check=True)
        if strict and spec.get("type") == "function":
            function = spec["function"]
            function["strict"] = True
            function["parameters"]["additionalProperties"] = False
        specs.append(spec)
    return specs


def resolve_tool_choice(tool_choice: str | dict[str, Any] | None, tool_required: bool) -> Any:
    """``tool_choice`` on the wire: ``"required"`` when a tool is required and none is named, a
    bare tool name becomes ``{"type": "function", "function": {"name": ...}}``."""
    if tool_choice is None:
        return "required" if tool_required else "auto"
    if isinstance(tool_choice, dict) or tool_choice in ("none", "auto", "required"):
        return tool_choice
    return {"type": "function", "function": {"name": tool_choice}}


# --- wire -> LlamaIndex ----------------------------------------------------------------------


def usage_kwargs(usage: ChatCompletionUsage | None, request_id: str | None) -> dict[str, Any]:
    """A response's ``additional_kwargs``: token counts (as llama-index-llms-openai reports
    them) and the gateway's request id."""
    kwargs: dict[str, Any] = {}
    if usage is not None:
        kwargs["prompt_tokens"] = usage.prompt_tokens
        kwargs["completion_tokens"] = usage.completion_tokens
        kwargs["total_tokens"] = usage.total_tokens
    if request_id is not None:
        kwargs[REQUEST_ID_KEY] = request_id
    return kwargs


def tool_call_blocks(calls: Sequence[ToolCall]) -> list[ToolCallBlock]:
    """Wire tool calls as ``ToolCallBlock``s (arguments kept as the JSON text received)."""
    return [
        ToolCallBlock(
            tool_call_id=call.id,
            tool_name=call.function.name,
            tool_kwargs=call.function.arguments,
        )
        for call in calls
    ]


def assistant_message(
    text: str | None,
    reasoning: str | None,
    tool_calls: Sequence[ToolCall] | None,
    refusal: str | None = None,
) -> ChatMessage:
    """The assistant's answer as a ``ChatMessage``: a ``ThinkingBlock`` for reasoning, a
    ``TextBlock`` for text, ``ToolCallBlock``s for tool calls (also listed, as wire objects, in
    ``additional_kwargs["tool_calls"]`` as llama-index-llms-openai does)."""
    blocks: list[Any] = []
    if reasoning:
        blocks.append(ThinkingBlock(content=reasoning))
    if text:
        blocks.append(TextBlock(text=text))
    extra: dict[str, Any] = {}
    if tool_calls:
        blocks.extend(tool_call_blocks(tool_calls))
        extra["tool_calls"] = list(tool_calls)
    if refusal:
        extra["refusal"] = refusal
    return ChatMessage.model_construct(role=_ASSISTANT, blocks=blocks, additional_kwargs=extra)


def _logprobs(raw: Any) -> list[list[LogProb]] | None:
    content = raw.get("content") if isinstance(raw, Mapping) else getattr(raw, "content", None)
    if not content:
        return None
    result = []
    for token in content:
        top = token.get("top_logprobs") if isinstance(token, Mapping) else None
        if top:
            result.append(
                [
                    LogProb(
                        token=t.get("token", ""),
                        logprob=t.get("logprob", 0.0),
                        bytes=t.get("bytes") or [],
                    )
                    for t in top
                ]
            )
    return result


def chat_response(response: ChatCompletionResponse) -> ChatResponse:
    """A non-streaming answer as a ``ChatResponse``: ``raw`` is the wire answer, token usage
    and the gateway request id go in ``additional_kwargs``."""
    extra = usage_kwargs(response.usage, response.igris_request_id)
    if not response.choices:
        message = ChatMessage.model_construct(role=_ASSISTANT, blocks=[], additional_kwargs={})
        return ChatResponse(message=message, raw=response, additional_kwargs=extra)
    choice = response.choices[0]
    wire = choice.message
    content = wire.content
    if isinstance(content, list):  # some providers answer with a list of text parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    message = assistant_message(content, wire.reasoning_content, wire.tool_calls, wire.refusal)
    logprobs = _logprobs(choice.logprobs) if choice.logprobs else None
    return ChatResponse(message=message, raw=response, additional_kwargs=extra, logprobs=logprobs)


def force_single_tool_call(response: ChatResponse) -> None:
    """Keep only the first tool call of an answer (when parallel tool calls are not allowed)."""
    blocks = response.message.blocks
    calls = [b for b in blocks if isinstance(b, ToolCallBlock)]
    if len(calls) > 1:
        response.message.blocks = [b for b in blocks if not isinstance(b, ToolCallBlock)] + [
            calls[0]
        ]
        legacy = response.message.additional_kwargs.get("tool_calls")
        if isinstance(legacy, list) and legacy:
            response.message.additional_kwargs["tool_calls"] = legacy[:1]


def _arguments(raw: dict[str, Any] | str) -> dict[str, Any]:
    if not isinstance(raw, str):
        return raw
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except (JSONDecodeError, RecursionError):  # a hostile answer may nest without end
        try:
            parsed = parse_partial_json(raw)  # a streamed call still in progress
        except (ValueError, TypeError, JSONDecodeError, RecursionError):
            return {}
    return parsed if isinstance(parsed, dict) else {}


def tool_selections(response: ChatResponse, error_on_no_tool_call: bool) -> list[ToolSelection]:
    """The tool calls of an answer as ``ToolSelection``s (arguments parsed; partial JSON of a
    call still streaming is parsed as far as it goes)."""
    selections = [
        ToolSelection(
            tool_id=block.tool_call_id or "",
            tool_name=block.tool_name,
            tool_kwargs=_arguments(block.tool_kwargs),
        )
        for block in response.message.blocks
        if isinstance(block, ToolCallBlock)
    ]
    if not selections:
        legacy = response.message.additional_kwargs.get("tool_calls") or []
        for call in legacy:
            data = call.model_dump() if isinstance(call, BaseModel) else call
            if not isinstance(data, Mapping):
                continue
            function = data.get("function") or {}
            selections.append(
                ToolSelection(
                    tool_id=data.get("id") or "",
                    tool_name=function.get("name") or "",
                    tool_kwargs=_arguments(function.get("arguments") or ""),
                )
            )
    if not selections and error_on_no_tool_call:
        raise ValueError("Expected at least one tool call, but got 0 tool calls.")
    return selections


class ChatStreamConverter:
    """Turns the (already normalised) chunks of one chat stream into ``ChatResponse``s, as
    llama-index-llms-openai does: each carries the text so far in ``message``, the new piece in
    ``delta``, the chunk in ``raw``; tool calls so far (assembled by the stream's
    :class:`~igris_core.StreamAccumulator`) as ``ToolCallBlock``s; reasoning in a
    ``ThinkingBlock`` (its new piece in ``additional_kwargs["thinking_delta"]``); token usage in
    ``additional_kwargs`` once the terminal chunk brings it. Chunks that bring nothing (a bare
    role or finish reason) produce no response.
    """

    __slots__ = ("_accumulator", "_extra", "_reasoning", "_request_id", "_text", "_tools", "sent")

    def __init__(self, accumulator: StreamAccumulator, request_id: str | None) -> None:
        self._accumulator = accumulator
        self._request_id = request_id
        self._extra: dict[str, Any] = {} if request_id is None else {REQUEST_ID_KEY: request_id}
        self._text = ""
        self._reasoning = ""
        self._tools: tuple[list[ToolCallBlock], list[ToolCall]] | None = None
        self.sent = 0

    def feed(self, chunk: ChatCompletionChunk) -> ChatResponse | None:
        """The response for one chunk, or ``None`` when the chunk brings nothing new."""
        piece = ""
        thinking = ""
        tools_changed = False
        for choice in chunk.choices:
            if choice.index:
                continue  # LlamaIndex reads the first choice only
            delta = choice.delta
            if delta.content:
                piece = delta.content
            if delta.reasoning_content:
                thinking = delta.reasoning_content
            if delta.tool_calls:
                tools_changed = True
        usage = chunk.usage
        if not (piece or thinking or tools_changed) and usage is None:
            return None
        self._text = text = self._text + piece
        blocks: list[Any] = []
        if thinking:
            self._reasoning += thinking
        if self._reasoning:
            blocks.append(ThinkingBlock(content=self._reasoning))
        blocks.append(TextBlock(text=text))
        message_extra: dict[str, Any] = {}
        if tools_changed:
            calls = self._accumulator.tool_calls()
            self._tools = (tool_call_blocks(calls), calls)
        if self._tools is not None:
            blocks.extend(self._tools[0])
            message_extra["tool_calls"] = self._tools[1]
        extra = self._extra if usage is None else usage_kwargs(usage, self._request_id)
        if thinking:
            extra = {**extra, "thinking_delta": thinking}
        self.sent += 1
        return ChatResponse(
            message=ChatMessage.model_construct(
                role=_ASSISTANT, blocks=blocks, additional_kwargs=message_extra
            ),
            delta=piece,
            raw=chunk,
            additional_kwargs=extra,  # validated: LlamaIndex copies the dict
        )

    def empty(self) -> ChatResponse:
        """The one response of a stream that brought nothing at all (an empty answer)."""
        self.sent += 1
        return ChatResponse(
            message=ChatMessage.model_construct(
                role=_ASSISTANT, blocks=[TextBlock(text="")], additional_kwargs={}
            ),
            delta="",
            raw=None,
            additional_kwargs=self._extra,
        )
