"""An answer as the backends produce it, before it is written in a wire format."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ChatAnswer", "ChoiceOut", "ToolCallOut", "Usage"]


@dataclass(frozen=True)
class ToolCallOut:
    """One tool call of an answer; ``arguments`` is JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChoiceOut:
    """One choice: text and/or tool calls, why it ended, and the stop string that ended it."""

    text: str | None
    tool_calls: tuple[ToolCallOut, ...] = ()
    finish_reason: str = "stop"
    stop_sequence: str | None = None


@dataclass(frozen=True)
class Usage:
    """Token counts of one call."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def to_audit(self) -> dict[str, int]:
        """The three counts the audit trail keeps."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }

    def to_openai(self) -> dict[str, object]:
        """The ``usage`` object of an OpenAI chat answer."""
        return {
            **self.to_audit(),
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }


@dataclass(frozen=True)
class ChatAnswer:
    """A complete answer: its choices and its usage."""

    choices: tuple[ChoiceOut, ...]
    usage: Usage
