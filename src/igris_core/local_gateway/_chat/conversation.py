"""A chat request as the backends see it, whichever wire format (OpenAI or Anthropic) it came in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from igris_core.local_gateway._chat.text import PER_MESSAGE_TOKENS, count_words

__all__ = ["Conversation", "Message", "ResponseFormat", "ToolSpec"]


@dataclass(frozen=True)
class Message:
    """One message reduced to its role and its text (text parts joined, tool calls spelled out)."""

    role: str
    text: str


@dataclass(frozen=True)
class ToolSpec:
    """A tool the caller offers: its name and the JSON schema of its arguments."""

    name: str
    parameters: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True)
class ResponseFormat:
    """The requested answer format: ``json_object``, or ``json_schema`` with its schema."""

    kind: Literal["json_object", "json_schema"]
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Conversation:
    """The parts of a chat request that decide the answer."""

    model: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    forced_tool: str | None = None
    response_format: ResponseFormat | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    n: int = 1
    stream: bool = False
    include_usage: bool = False
    tool_id_prefix: str = "call_"
    # Sampling settings: the echo backend ignores them, a model backend honours them.
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None

    def last_user_text(self) -> str:
        """The text of the last user message holding text (else of the last message)."""
        for message in reversed(self.messages):
            if message.role == "user" and message.text.strip():
                return message.text
        return self.messages[-1].text if self.messages else ""

    def all_text(self) -> str:
        """Every message's text, one per line: what policy patterns are searched in."""
        return "\n".join(m.text for m in self.messages)

    def prompt_tokens(self) -> int:
        """Deterministic prompt size: the words of every message plus a fixed cost per message."""
        return sum(count_words(m.text) + PER_MESSAGE_TOKENS for m in self.messages)

    def tool(self, name: str) -> ToolSpec | None:
        """The offered tool called ``name``, if any."""
        return next((t for t in self.tools if t.name == name), None)
