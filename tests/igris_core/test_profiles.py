"""The shared model profile table: complete entries, lookups through ``@slug/model`` and host
spellings, ``None`` for unknown models."""

from __future__ import annotations

import pytest

from igris_core._profiles import _TABLE, PROFILE_FIELDS, model_profile, provider_model_name

# One spelling per provider family, as callers write them, with what the providers publish.
KNOWN = {
    "@openai-prod/gpt-4o": (128_000, 16_384),
    "@openai-prod/gpt-4o-2024-08-06": (128_000, 16_384),
    "@openai-prod/gpt-4o-mini": (128_000, 16_384),
    "@openai-prod/gpt-4.1": (1_047_576, 32_768),
    "@openai-prod/o3-mini": (200_000, 100_000),
    "@anthropic-prod/claude-3-5-sonnet-20241022": (200_000, 8_192),
    "@anthropic-prod/claude-sonnet-4-5": (200_000, 64_000),
    "@google-prod/gemini-1.5-pro": (2_097_152, 8_192),
    "@google-prod/gemini-2.5-flash": (1_048_576, 65_536),
    "@mistral/mistral-large-latest": (131_072, 131_072),
    "@together/meta-llama/Llama-3.3-70B-Instruct": (131_072, 131_072),
    "@ollama/llama3.1:8b": (131_072, 131_072),
    "@ollama/qwen2.5:7b-instruct": (32_768, 8_192),
    "@deepseek/deepseek-chat": (128_000, 8_192),
    "@local/smollm2-135m-instruct": (8_192, 8_192),
}


def test_every_entry_is_complete() -> None:
    for entry in _TABLE:
        profile = entry.profile()
        assert tuple(profile) == PROFILE_FIELDS, entry.pattern
        assert all(value is not None for value in profile.values()), entry.pattern
        assert profile["max_input_tokens"] > 0 and profile["max_output_tokens"] > 0
        assert profile["max_output_tokens"] <= profile["max_input_tokens"] + 128_000


@pytest.mark.parametrize(("model", "limits"), sorted(KNOWN.items()))
def test_known_models_are_found_through_their_slug(model: str, limits: tuple[int, int]) -> None:
    profile = model_profile(model)
    assert profile is not None
    assert (profile["max_input_tokens"], profile["max_output_tokens"]) == limits
    assert model_profile(provider_model_name(model)) == profile  # bare name, same entry


def test_every_family_is_present() -> None:
    for name in (
        "gpt-4o",
        "claude-3-opus",
        "gemini-2.0-flash",
        "codestral",
        "llama-4-scout",
        "qwen3-32b",
        "deepseek-reasoner",
    ):
        assert model_profile(f"@slug/{name}") is not None, name


@pytest.mark.parametrize(
    "model", ["@ollama/my-finetune", "@openai-prod/gpt-4ox", "@x/chatgpt-unknown", "@x/o5"]
)
def test_unknown_models_have_no_profile(model: str) -> None:
    assert model_profile(model) is None


def test_each_call_returns_a_new_dict() -> None:
    first = model_profile("@openai-prod/gpt-4o")
    assert first is not None
    first["max_input_tokens"] = 1
    assert model_profile("@openai-prod/gpt-4o") == model_profile("gpt-4o") != first
