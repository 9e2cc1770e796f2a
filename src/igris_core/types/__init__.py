"""Wire types of the Igris protocol (pydantic v2). Unknown fields are always kept."""

from igris_core.types._base import GatewayResponse, IgrisModel
from igris_core.types._chat import (
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionChunkChoice,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatCompletionUsage,
    ChatMessage,
    ChoiceDelta,
    CompletionTokensDetails,
    FunctionCall,
    FunctionCallDelta,
    PromptTokensDetails,
    ToolCall,
    ToolCallDelta,
)
from igris_core.types._embeddings import (
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
)
from igris_core.types._providers import AuthStyle, LlmConnection, LlmProviderInfo

__all__ = [
    "AuthStyle",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionChunkChoice",
    "ChatCompletionRequest",
    "ChatCompletionResponse",
    "ChatCompletionUsage",
    "ChatMessage",
    "ChoiceDelta",
    "CompletionTokensDetails",
    "Embedding",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "EmbeddingUsage",
    "FunctionCall",
    "FunctionCallDelta",
    "GatewayResponse",
    "IgrisModel",
    "LlmConnection",
    "LlmProviderInfo",
    "PromptTokensDetails",
    "ToolCall",
    "ToolCallDelta",
]
