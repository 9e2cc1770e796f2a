"""The resources hanging off a client: ``chat.completions``, ``embeddings``, ``llm_providers``."""

from igris_core._resources.chat import AsyncChat, AsyncCompletions, Chat, Completions
from igris_core._resources.embeddings import AsyncEmbeddings, Embeddings
from igris_core._resources.providers import AsyncLlmProviders, LlmProviders

__all__ = [
    "AsyncChat",
    "AsyncCompletions",
    "AsyncEmbeddings",
    "AsyncLlmProviders",
    "Chat",
    "Completions",
    "Embeddings",
    "LlmProviders",
]
