"""Chat-completion wire types: requests, responses and stream chunks (OpenAI's shape)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, field_validator

from igris_core.types._base import GatewayResponse, IgrisModel

__all__ = [
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionChunkChoice",
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "ChatCompletionUsage",
    "ChatMessage",
    "ChoiceDelta",
    "CompletionTokensDetails",
    "FunctionCall",
    "FunctionCallDelta",
    "PromptTokensDetails",
    "ToolCall",
    "ToolCallDelta",
]


class FunctionCall(IgrisModel):
    """The function a tool call invokes; ``arguments`` is a JSON text. Some providers send
    the arguments as a JSON object (or null): they are kept as JSON text, as in streams."""

    name: str
    arguments: str = ""

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments_as_text(cls, value: object) -> object:
        if value is None:
            return ""
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return value


class ToolCall(IgrisModel):
    """A complete tool call in an assistant message."""

    id: str = ""
    type: str = "function"
    function: FunctionCall


class ChatMessage(IgrisModel):
    """One message of a conversation, as sent and as answered."""

    role: Literal["system", "user", "assistant", "tool", "developer", "function"] | str
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None


class PromptTokensDetails(IgrisModel):
    """Breakdown of prompt tokens."""

    cached_tokens: int | None = None
    audio_tokens: int | None = None


class CompletionTokensDetails(IgrisModel):
    """Breakdown of completion tokens."""

    reasoning_tokens: int | None = None
    audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


class ChatCompletionUsage(IgrisModel):
    """Token counts of one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None


class ChatCompletionChoice(IgrisModel):
    """One choice of a non-streaming answer."""

    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionResponse(GatewayResponse):
    """A non-streaming chat-completion answer."""

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[ChatCompletionChoice] = Field(default_factory=list)
    usage: ChatCompletionUsage | None = None
    system_fingerprint: str | None = None


class FunctionCallDelta(IgrisModel):
    """A piece of a streamed function call. Some providers send ``arguments`` as an object."""

    name: str | None = None
    arguments: str | dict[str, Any] | None = None


class ToolCallDelta(IgrisModel):
    """A piece of a streamed tool call. Providers may omit ``index`` or send it as a string;
    :class:`~igris_core.StreamAccumulator` normalises both."""

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: FunctionCallDelta | None = None


class ChoiceDelta(IgrisModel):
    """The new part of a message carried by one stream chunk."""

    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None


class ChatCompletionChunkChoice(IgrisModel):
    """One choice of a stream chunk."""

    index: int = 0
    delta: ChoiceDelta = Field(default_factory=ChoiceDelta)
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(IgrisModel):
    """One ``data:`` event of a chat-completion stream. The terminal chunk carries ``usage``
    and may have no choices."""

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChatCompletionChunkChoice] = Field(default_factory=list)
    usage: ChatCompletionUsage | None = None
    system_fingerprint: str | None = None


class ChatCompletionRequest(IgrisModel):
    """A chat-completion request as the gateway receives it (``model`` is the bare model once
    the ``@slug/`` part is taken off for the route). Unknown fields pass through."""

    model: str
    messages: list[ChatMessage]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = None
    stream: bool | None = None
    stop: str | list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    user: str | None = None
    tools: list[Any] | None = None
    tool_choice: Any = None
    response_format: Any = None
