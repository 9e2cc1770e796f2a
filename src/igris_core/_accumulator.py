"""One stream accumulator for every consumer of chat streams (both framework packages use it).

Providers behind the gateway stream "OpenAI-compatible" chunks that differ from OpenAI's own:
tool-call deltas without ``index`` or with ``index`` as a string, deltas without ``function``,
arguments sent whole or as a JSON object, the same ``id`` (and name) repeated on every delta,
several calls interleaved, usage on every chunk, ``finish_reason`` beside content, chunks with no
choices, ``content: null``, reasoning in ``reasoning_content`` or ``reasoning``.

:meth:`StreamAccumulator.add` normalises each chunk in place as it arrives, so a streaming
consumer sees what OpenAI would have sent: a stable integer ``index`` per tool call, its ``id``,
``type`` and ``name`` once (on the call's first delta), ``arguments`` always a string piece, and
reasoning always in ``reasoning_content``. Meanwhile it assembles the whole answer: text, tool
calls, reasoning, finish reasons, logprobs and usage (the last figures seen, never a sum).
"""

from __future__ import annotations

import json
from typing import Any

from igris_core.types._chat import (
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionResponse,
    ChatCompletionUsage,
    ChatMessage,
    FunctionCall,
    FunctionCallDelta,
    ToolCall,
    ToolCallDelta,
)

__all__ = ["StreamAccumulator"]


class _ToolCallState:
    __slots__ = ("arguments", "id", "index", "name", "type")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id: str | None = None
        self.name: str | None = None
        self.type = "function"
        self.arguments: list[str] = []


class _ChoiceState:
    __slots__ = (
        "by_id",
        "by_raw_index",
        "content",
        "finish_reason",
        "logprobs",
        "reasoning",
        "refusal",
        "role",
        "tool_calls",
    )

    def __init__(self) -> None:
        self.role = "assistant"
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.finish_reason: str | None = None
        self.logprobs: list[Any] | None = None
        self.tool_calls: list[_ToolCallState] = []
        self.by_id: dict[str, _ToolCallState] = {}
        self.by_raw_index: dict[int, _ToolCallState] = {}

    def _new_call(self) -> _ToolCallState:
        call = _ToolCallState(len(self.tool_calls))
        self.tool_calls.append(call)
        return call

    def _locate(self, delta: ToolCallDelta) -> tuple[_ToolCallState, bool, bool]:
        """The call a delta belongs to; whether the delta opens it; whether it brings its id."""
        raw, call_id = delta.index, delta.id or None
        if call_id is not None:
            known = self.by_id.get(call_id)
            if known is not None:
                return known, False, False  # the same id repeated on a later delta
            call = self.by_raw_index.get(raw) if raw is not None else None
            fresh = call is None or call.id is not None
            if call is None or call.id is not None:
                # A new id is a new call, even at an index already used (some providers send
                # index 0 for every parallel call).
                call = self._new_call()
            call.id = call_id
            self.by_id[call_id] = call
            if raw is not None:
                self.by_raw_index[raw] = call
            return call, fresh, True
        if raw is not None:
            call = self.by_raw_index.get(raw)
            if call is not None:
                return call, False, False
            call = self.by_raw_index[raw] = self._new_call()
            return call, True, False
        if self.tool_calls:
            return self.tool_calls[-1], False, False  # no index, no id: the call in progress
        return self._new_call(), True, False

    def add_tool_call(self, delta: ToolCallDelta) -> ToolCallDelta:
        """Record a tool-call delta; return its normalised form."""
        call, fresh, brings_id = self._locate(delta)
        function = delta.function
        name_piece: str | None = None
        args_piece = ""
        if function is not None:
            if function.name and function.name != call.name:
                if call.name is None:
                    call.name = function.name
                else:
                    call.name += function.name  # a name streamed in pieces
                name_piece = function.name
            arguments = function.arguments
            if isinstance(arguments, dict):
                args_piece = json.dumps(arguments, ensure_ascii=False)
            elif arguments:
                args_piece = arguments
            if args_piece:
                call.arguments.append(args_piece)
        if delta.type:
            call.type = delta.type
        return ToolCallDelta(
            index=call.index,
            id=call.id if brings_id else None,
            type=call.type if fresh or brings_id else None,
            function=FunctionCallDelta(name=name_piece, arguments=args_piece),
        )


class StreamAccumulator:
    """Normalise chat-stream chunks as they arrive and assemble the complete answer.

    Example::

        acc = StreamAccumulator()
        for chunk in stream:          # raw chunks from any provider
            acc.add(chunk)            # normalised in place
        answer = acc.response()       # a ChatCompletionResponse: text, tool calls, usage
    """

    __slots__ = ("_choices", "created", "id", "model", "system_fingerprint", "usage")

    def __init__(self) -> None:
        self._choices: dict[int, _ChoiceState] = {}
        self.id = ""
        self.model = ""
        self.created = 0
        self.system_fingerprint: str | None = None
        self.usage: ChatCompletionUsage | None = None

    def add(self, chunk: ChatCompletionChunk) -> ChatCompletionChunk:
        """Record a chunk and normalise it in place (see the module docstring); returns it."""
        if not self.id and chunk.id:
            self.id = chunk.id
        if chunk.model:
            self.model = chunk.model
        if not self.created and chunk.created:
            self.created = chunk.created
        if chunk.system_fingerprint:
            self.system_fingerprint = chunk.system_fingerprint
        if chunk.usage is not None:
            self.usage = chunk.usage  # cumulative figures: the last one wins, never a sum
        for choice in chunk.choices:
            state = self._choices.get(choice.index)
            if state is None:
                state = self._choices[choice.index] = _ChoiceState()
            delta = choice.delta
            if delta.role:
                state.role = delta.role
            if delta.content:
                state.content.append(delta.content)
            if delta.reasoning_content is None and delta.reasoning:
                delta.reasoning_content = delta.reasoning
            if delta.reasoning_content:
                state.reasoning.append(delta.reasoning_content)
            if delta.refusal:
                state.refusal.append(delta.refusal)
            if delta.tool_calls:
                delta.tool_calls = [state.add_tool_call(tc) for tc in delta.tool_calls]
            if choice.finish_reason:
                state.finish_reason = choice.finish_reason
            if choice.logprobs is not None:
                content = (
                    choice.logprobs.get("content")
                    if isinstance(choice.logprobs, dict)
                    else getattr(choice.logprobs, "content", None)
                )
                if content:
                    state.logprobs = (state.logprobs or []) + list(content)
        return chunk

    @property
    def choice_indices(self) -> list[int]:
        """Indices of the choices seen so far, in order."""
        return sorted(self._choices)

    def text(self, index: int = 0) -> str:
        """The text of a choice so far."""
        state = self._choices.get(index)
        return "".join(state.content) if state else ""

    def reasoning(self, index: int = 0) -> str | None:
        """The reasoning text of a choice, or ``None`` when the provider sent none."""
        state = self._choices.get(index)
        return "".join(state.reasoning) if state and state.reasoning else None

    def finish_reason(self, index: int = 0) -> str | None:
        """The finish reason of a choice, once sent."""
        state = self._choices.get(index)
        return state.finish_reason if state else None

    def tool_calls(self, index: int = 0) -> list[ToolCall]:
        """The complete tool calls of a choice (``arguments`` is the concatenated JSON text)."""
        state = self._choices.get(index)
        if state is None:
            return []
        return [
            ToolCall(
                id=call.id or f"call_{index}_{call.index}",
                type=call.type,
                function=FunctionCall(name=call.name or "", arguments="".join(call.arguments)),
            )
            for call in state.tool_calls
        ]

    def response(self) -> ChatCompletionResponse:
        """The whole answer assembled from the chunks seen, as a non-streaming response."""
        choices = []
        for index in sorted(self._choices):
            state = self._choices[index]
            tool_calls = self.tool_calls(index)
            message = ChatMessage(
                role=state.role,
                content="".join(state.content) if state.content or not tool_calls else None,
                tool_calls=tool_calls or None,
                reasoning_content=self.reasoning(index),
                refusal="".join(state.refusal) if state.refusal else None,
            )
            logprobs = {"content": state.logprobs} if state.logprobs is not None else None
            choices.append(
                ChatCompletionChoice(
                    index=index,
                    message=message,
                    finish_reason=state.finish_reason,
                    logprobs=logprobs,
                )
            )
        return ChatCompletionResponse(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=choices,
            usage=self.usage,
            system_fingerprint=self.system_fingerprint,
        )
