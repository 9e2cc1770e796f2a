"""The built-in provider registry served on ``GET /llm/providers``.

Each connection names one of these providers. The provider fixes the connection's style: which
routes it serves (``supportedEndpoints``) and how a ``forward`` backend authenticates upstream
(``authStyle``). Self-hosted providers have no base URL (``baseUrl`` null).
"""

from __future__ import annotations

from dataclasses import dataclass

from igris_core import protocol

__all__ = ["PROVIDERS", "ProviderInfo", "provider_info"]

_CHAT = protocol.CHAT_COMPLETIONS_SUFFIX
_EMB = protocol.EMBEDDINGS_SUFFIX
_MSG = protocol.MESSAGES_SUFFIX


@dataclass(frozen=True)
class ProviderInfo:
    """One provider of the registry (the wire shape is camelCase, see :meth:`to_wire`)."""

    slug: str
    name: str
    base_url: str | None
    auth_style: str
    supported_endpoints: tuple[str, ...]

    @property
    def anthropic_style(self) -> bool:
        """True when the provider speaks Anthropic's Messages API (serves ``/v1/messages``)."""
        return _MSG in self.supported_endpoints

    def supports(self, suffix: str) -> bool:
        """Whether connections of this provider serve the route ending in ``suffix``."""
        return suffix in self.supported_endpoints

    def to_wire(self) -> dict[str, object]:
        """The provider object as ``GET /llm/providers`` answers it."""
        return {
            "slug": self.slug,
            "name": self.name,
            "baseUrl": self.base_url,
            "authStyle": self.auth_style,
            "supportedEndpoints": list(self.supported_endpoints),
        }


PROVIDERS: tuple[ProviderInfo, ...] = (
    ProviderInfo("openai", "OpenAI", "https://api.openai.com/v1", "bearer", (_CHAT, _EMB)),
    # Anthropic also serves an OpenAI-compatible chat route, so both are listed.
    ProviderInfo(
        "anthropic", "Anthropic", "https://api.anthropic.com/v1", "x-api-key", (_MSG, _CHAT)
    ),
    ProviderInfo(
        "google",
        "Google Gemini",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "query-param",
        (_CHAT, _EMB),
    ),
    ProviderInfo("mistral", "Mistral AI", "https://api.mistral.ai/v1", "bearer", (_CHAT, _EMB)),
    ProviderInfo("together", "Together AI", "https://api.together.xyz/v1", "bearer", (_CHAT, _EMB)),
    ProviderInfo("groq", "Groq", "https://api.groq.com/openai/v1", "bearer", (_CHAT,)),
    ProviderInfo("deepseek", "DeepSeek", "https://api.deepseek.com/v1", "bearer", (_CHAT,)),
    ProviderInfo(
        "fireworks",
        "Fireworks AI",
        "https://api.fireworks.ai/inference/v1",
        "bearer",
        (_CHAT, _EMB),
    ),
    ProviderInfo("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", "bearer", (_CHAT,)),
    ProviderInfo("xai", "xAI", "https://api.x.ai/v1", "bearer", (_CHAT,)),
    ProviderInfo(
        "cohere", "Cohere", "https://api.cohere.ai/compatibility/v1", "bearer", (_CHAT, _EMB)
    ),
    ProviderInfo("ollama", "Ollama", None, "none", (_CHAT, _EMB)),
    ProviderInfo("vllm", "vLLM", None, "bearer", (_CHAT, _EMB)),
    ProviderInfo("llamacpp", "llama.cpp server", None, "none", (_CHAT, _EMB)),
    ProviderInfo("lmstudio", "LM Studio", None, "none", (_CHAT, _EMB)),
    ProviderInfo(
        "openai-compatible", "Any OpenAI-compatible server", None, "bearer", (_CHAT, _EMB)
    ),
)

_BY_SLUG = {p.slug: p for p in PROVIDERS}


def provider_info(slug: str) -> ProviderInfo:
    """The registry entry of ``slug``; ``ValueError`` (listing the known ones) when unknown."""
    try:
        return _BY_SLUG[slug]
    except KeyError:
        known = ", ".join(sorted(_BY_SLUG))
        raise ValueError(f"unknown provider {slug!r}; known providers: {known}") from None
