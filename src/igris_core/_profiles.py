"""What known models can do: context size, output size, tools, structured output, inputs.

One table, shared by ``langchain_igris`` (``ChatIgris.profile``, a LangChain ``ModelProfile``) and
``llama_index_igris`` (``IgrisLLM.metadata``: ``context_window``, ``is_function_calling_model``).
Entries are keyed by the provider's model name, the part after ``@slug/``, and matched by pattern
so that host spellings find them (``gpt-4o-2024-08-06``, ``meta-llama/Llama-3.3-70B-Instruct``,
``llama3.1:8b``, ``qwen2.5:7b-instruct``). The figures are the providers' published limits;
an unknown model has no profile.

Example::

    from igris_core._profiles import model_profile

    model_profile("@openai-prod/gpt-4o")["max_input_tokens"]  # 128000
    model_profile("@ollama/my-finetune") is None  # True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["PROFILE_FIELDS", "model_profile", "provider_model_name"]

#: The keys every profile has (a subset of LangChain's ``ModelProfile``).
PROFILE_FIELDS: tuple[str, ...] = (
    "max_input_tokens",
    "max_output_tokens",
    "text_inputs",
    "image_inputs",
    "image_url_inputs",
    "pdf_inputs",
    "audio_inputs",
    "video_inputs",
    "text_outputs",
    "tool_calling",
    "tool_choice",
    "structured_output",
    "reasoning_output",
    "open_weights",
)


@dataclass(frozen=True)
class _Entry:
    pattern: str
    max_in: int
    max_out: int
    inputs: str = ""  # letters: i = image (and image URL), p = PDF, a = audio, v = video
    tools: bool = True
    structured: bool = True
    reasoning: bool = False
    open_weights: bool = False

    def profile(self) -> dict[str, Any]:
        return {
            "max_input_tokens": self.max_in,
            "max_output_tokens": self.max_out,
            "text_inputs": True,
            "image_inputs": "i" in self.inputs,
            "image_url_inputs": "i" in self.inputs,
            "pdf_inputs": "p" in self.inputs,
            "audio_inputs": "a" in self.inputs,
            "video_inputs": "v" in self.inputs,
            "text_outputs": True,
            "tool_calling": self.tools,
            "tool_choice": self.tools,
            "structured_output": self.structured,
            "reasoning_output": self.reasoning,
            "open_weights": self.open_weights,
        }


# First match wins, so more specific patterns come first. Patterns match the whole normalised
# name (lower case, last path segment, ``:`` tags kept) from its start; a date or tag suffix is
# allowed after them.
_TABLE: tuple[_Entry, ...] = (
    # OpenAI (platform.openai.com/docs/models)
    _Entry(r"gpt-5(\.\d+)?(-(mini|nano|chat-latest))?", 272_000, 128_000, "ip", reasoning=True),
    _Entry(r"gpt-4\.1(-mini|-nano)?", 1_047_576, 32_768, "ip"),
    _Entry(r"gpt-4o-mini", 128_000, 16_384, "ip"),
    _Entry(r"gpt-4o", 128_000, 16_384, "ip"),
    _Entry(r"gpt-4-turbo", 128_000, 4_096, "i"),
    _Entry(r"gpt-4", 8_192, 8_192, structured=False),
    _Entry(r"gpt-3\.5-turbo", 16_385, 4_096, structured=False),
    _Entry(r"o1-mini", 128_000, 65_536, tools=False, structured=False, reasoning=True),
    _Entry(r"o3-mini", 200_000, 100_000, reasoning=True),
    _Entry(r"o(1|3|3-pro|4-mini)", 200_000, 100_000, "ip", reasoning=True),
    _Entry(r"gpt-oss-(20b|120b)", 131_072, 131_072, reasoning=True, open_weights=True),
    # Anthropic (docs.anthropic.com, models overview)
    _Entry(r"claude-opus-4-[56]", 200_000, 64_000, "ip", reasoning=True),
    _Entry(r"claude-opus-4(-1)?", 200_000, 32_000, "ip", reasoning=True),
    _Entry(r"claude-(sonnet-4|haiku-4-5)(-\d+)?", 200_000, 64_000, "ip", reasoning=True),
    _Entry(r"claude-3-7-sonnet", 200_000, 64_000, "ip", reasoning=True),
    _Entry(r"claude-3-5-(sonnet|haiku)", 200_000, 8_192, "ip"),
    _Entry(r"claude-3-(opus|sonnet|haiku)", 200_000, 4_096, "i"),
    # Google (ai.google.dev, Gemini models)
    _Entry(
        r"gemini-(2\.5|3)(\.\d+)?-(pro|flash|flash-lite)", 1_048_576, 65_536, "ipav", reasoning=True
    ),
    _Entry(r"gemini-2\.0-flash(-lite)?", 1_048_576, 8_192, "ipav"),
    _Entry(r"gemini-1\.5-pro", 2_097_152, 8_192, "ipav"),
    _Entry(r"gemini-1\.5-flash(-8b)?", 1_048_576, 8_192, "ipav"),
    # Mistral (docs.mistral.ai, models overview); the output may use the whole context
    _Entry(r"(mistral-large|pixtral-large)", 131_072, 131_072, "i"),
    _Entry(r"mistral-medium", 131_072, 131_072, "i"),
    _Entry(r"mistral-small", 131_072, 131_072, "i", open_weights=True),
    _Entry(r"codestral", 262_144, 262_144),
    _Entry(r"(open-)?mistral-nemo", 131_072, 131_072, open_weights=True),
    _Entry(r"ministral-(3b|8b)", 131_072, 131_072),
    # Meta Llama (llama.com model cards); hosts cap the output differently, the context is shared
    _Entry(r"(meta-)?llama-?4-scout", 10_000_000, 10_000_000, "i", open_weights=True),
    _Entry(r"(meta-)?llama-?4-maverick", 1_048_576, 1_048_576, "i", open_weights=True),
    _Entry(r"(meta-)?llama-?3\.[123]", 131_072, 131_072, open_weights=True),
    _Entry(r"(meta-)?llama-?3", 8_192, 8_192, tools=False, open_weights=True),
    # Qwen (qwen.readthedocs.io; Alibaba Model Studio for the hosted ones)
    _Entry(r"qwen-max", 32_768, 8_192),
    _Entry(r"qwen-plus", 131_072, 8_192),
    _Entry(r"qwen-turbo", 1_000_000, 8_192),
    _Entry(r"qwen3", 32_768, 32_768, reasoning=True, open_weights=True),
    _Entry(r"qwen-?2\.5", 32_768, 8_192, open_weights=True),
    # DeepSeek (api-docs.deepseek.com, models and pricing)
    _Entry(r"deepseek-reasoner", 128_000, 64_000, reasoning=True, open_weights=True),
    _Entry(r"deepseek-(chat|v3)", 128_000, 8_192, open_weights=True),
    _Entry(r"deepseek-r1", 128_000, 64_000, tools=False, reasoning=True, open_weights=True),
    # SmolLM2 (HuggingFaceTB model card), the local gateway's bundled model: tool calls and
    # structured output are forced by grammar-constrained decoding there.
    _Entry(r"smollm2(-\d+m)?(-instruct)?", 8_192, 8_192, open_weights=True),
)

_COMPILED = tuple((re.compile(entry.pattern + r"($|[-_.:@ ])"), entry) for entry in _TABLE)


def provider_model_name(model: str) -> str:
    """The provider's model name of a model string: ``@openai-prod/gpt-4o`` -> ``gpt-4o``.

    A string without the ``@slug/`` prefix is returned unchanged.
    """
    if model.startswith("@") and "/" in model:
        return model.split("/", 1)[1]
    return model


@lru_cache(maxsize=512)
def _lookup(name: str) -> dict[str, Any] | None:
    normalised = name.strip().lower().rsplit("/", 1)[-1]
    for pattern, entry in _COMPILED:
        if pattern.match(normalised):
            return entry.profile()
    return None


def model_profile(model: str) -> dict[str, Any] | None:
    """The profile of a known model (``@slug/model`` or bare), or ``None`` for an unknown one.

    Each call returns a new dict, so callers may change it.
    """
    found = _lookup(provider_model_name(model))
    return dict(found) if found is not None else None
